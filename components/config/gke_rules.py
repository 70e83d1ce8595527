"""Rules of the gke platform that involve several keys: GPU shape, zone vs region, versions,
capacity options, disjoint ranges, and one RDMA pod per node."""

import ipaddress
import re
from typing import TYPE_CHECKING

from components.config.gke import (
    DEFAULT_DRIVER_MIN_VERSION,
    DEFAULT_GKE_VERSION,
    FLEX_START_MIN_VERSION,
    GPU_SHAPES,
    MANAGED_GATEWAY_CRDS_VERSION,
    MAX_CLUSTER_NAME,
    MIN_GIB_VERSION,
    RDMA_MIN_VERSION,
    RDMA_SUBNET_COUNT,
    GkeClusterConfig,
    GpuPoolConfig,
    SystemPoolConfig,
    parse_gke_version,
    straddles,
    version_at_least,
)
from components.config.problems import Problem

if TYPE_CHECKING:
    from components.config.model import StackConfig


def check_gke(config: "StackConfig") -> list[Problem]:
    """Rules of the gke platform that involve several keys (zone vs region, capacity options...)."""
    gke: GkeClusterConfig = config.platform
    machine = _machine(gke.gpu_pool)
    versions = _versions(gke)
    return [
        # Selectors are checked against a valid GPU shape only: a wrong shape is the one problem to fix.
        *(_node_selectors(config, gke) if not machine else []),
        *_cluster_name(gke),
        *_zone(gke),
        *machine,
        *versions,
        *([] if versions else _release_driver(config, gke)),  # one problem per key
        *_capacity(gke),
        *_system_pool(gke.system_pool),
        *_ranges(gke),
        *_one_pod_per_node(config, gke.gpu_pool),
        *_gib(config.versions.gib_installer_image),
    ]


def _cluster_name(gke: GkeClusterConfig) -> list[Problem]:
    name = gke.cluster_name
    if len(name) <= MAX_CLUSTER_NAME:
        return []
    return [
        Problem(
            "platform.clusterName",
            f"is {name!r} ({len(name)} characters); A3 Ultra clusters need a name shorter than 16 characters, "
            f"and the network, subnet and service account names derive from it. Use at most {MAX_CLUSTER_NAME}.",
        )
    ]


def _zone(gke: GkeClusterConfig) -> list[Problem]:
    zone_region = gke.zone.rsplit("-", 1)[0]
    if zone_region == gke.region:
        return []
    return [
        Problem(
            "platform.zone",
            f"{gke.zone} is not in region {gke.region}. The RoCE network profile ({gke.zone}-vpc-roce) is zonal, "
            f"its subnets and the cluster live in the zone's region. Set platform.region to {zone_region}, or "
            f"pick a zone of {gke.region} that offers a3-ultragpu-8g.",
        )
    ]


def _machine(pool: GpuPoolConfig) -> list[Problem]:
    if pool.machine_type not in GPU_SHAPES:
        supported = ", ".join(GPU_SHAPES)
        return [
            Problem(
                "platform.gpuPool.machineType",
                f"is {pool.machine_type!r}; RDMA path A is set up for {supported} (8 RoCE NICs, one per GPU). "
                f"Set it to {supported}.",
            )
        ]
    accelerator, count = GPU_SHAPES[pool.machine_type]
    problems = []
    if pool.accelerator_type != accelerator:
        problems.append(
            Problem(
                "platform.gpuPool.acceleratorType",
                f"is {pool.accelerator_type!r}, but {pool.machine_type} carries {accelerator}; set it to {accelerator}.",
            )
        )
    if pool.accelerator_count != count:
        problems.append(
            Problem(
                "platform.gpuPool.acceleratorCount",
                f"is {pool.accelerator_count}, but {pool.machine_type} has {count} GPUs; set it to {count}.",
            )
        )
    return problems


def _versions(gke: GkeClusterConfig) -> list[Problem]:
    problems = []
    if not version_at_least(gke.gke_version, RDMA_MIN_VERSION):
        problems.append(
            Problem(
                "platform.gkeVersion",
                f"is {gke.gke_version}, older than {RDMA_MIN_VERSION}, the first GKE version with GPUDirect RDMA "
                f"on A3 Ultra. Set a newer version, e.g. {DEFAULT_GKE_VERSION}.",
            )
        )
    elif gke.gpu_pool.gpu_driver_version == "DEFAULT" and not version_at_least(
        gke.gke_version, DEFAULT_DRIVER_MIN_VERSION
    ):
        problems.append(
            Problem(
                "platform.gpuPool.gpuDriverVersion",
                f"is DEFAULT, which before GKE {DEFAULT_DRIVER_MIN_VERSION} installs a driver older than the R550 "
                f"that A3 Ultra needs. Set it to LATEST, or raise platform.gkeVersion.",
            )
        )
    return problems


def _release_driver(config: "StackConfig", gke: GkeClusterConfig) -> list[Problem]:
    """The release's CUDA needs a driver branch that only some GKE driver settings install."""
    profile = config.versions.profile
    setting = gke.gpu_pool.gpu_driver_version
    if setting in profile.gke_gpu_driver_versions:
        return []
    return [
        Problem(
            "platform.gpuPool.gpuDriverVersion",
            f"is {setting}, but llm-d {profile.name}'s images are CUDA 13 and need NVIDIA driver "
            f"{profile.min_nvidia_driver}+; set it to {' or '.join(profile.gke_gpu_driver_versions)}.",
        )
    ]


def version_thresholds(gke: GkeClusterConfig) -> list[tuple[str, str, str]]:
    """(key, version, what needs it) for every GKE version this config relies on reaching."""
    thresholds = [
        ("platform.gkeVersion", RDMA_MIN_VERSION, "the first GKE version with GPUDirect RDMA on A3 Ultra"),
        # Decided from the pin alone, so a later resolution can never flip it (and delete CRDs the
        # program installed): a prefix straddling it counts as managed, and `up` checks the resolution.
        (
            "platform.gkeVersion",
            MANAGED_GATEWAY_CRDS_VERSION,
            "from which GKE installs the Inference Extension CRDs, which the program then does not",
        ),
    ]
    if gke.gpu_pool.gpu_driver_version == "DEFAULT":
        thresholds.append(("platform.gpuPool.gpuDriverVersion", DEFAULT_DRIVER_MIN_VERSION, "whose DEFAULT driver is R550"))
    if gke.gpu_pool.flex_start:
        thresholds.append(("platform.gpuPool.capacity.kind", FLEX_START_MIN_VERSION, "the first with flex-start"))
    return thresholds


def resolved_version_problems(gke: GkeClusterConfig, resolved: str) -> list[Problem]:
    """At `up`: a prefix that straddles a threshold must not resolve below it (checked offline as its newer side)."""
    return [
        Problem(
            key,
            f"platform.gkeVersion {gke.gke_version} resolves to {resolved}, the newest version the {gke.release_channel} "
            f"channel offers in {gke.region}, which is older than {threshold}, {why}. Pin a prefix or an exact "
            f"version at least {threshold} in platform.gkeVersion.",
        )
        for key, threshold, why in version_thresholds(gke)
        if straddles(gke.gke_version, threshold) and parse_gke_version(resolved) < parse_gke_version(threshold)
    ]


def _capacity(gke: GkeClusterConfig) -> list[Problem]:
    pool = gke.gpu_pool
    if not pool.flex_start:
        return []
    problems = []
    if pool.node_count is not None:
        problems.append(
            Problem(
                "platform.gpuPool.nodeCount",
                "must not be set with capacity flexStart: a flex-start pool has no static size, it scales from 0 "
                "to capacity.maxNodes as pods ask for GPUs. Remove nodeCount and set "
                "platform.gpuPool.capacity.maxNodes.",
            )
        )
    if not version_at_least(gke.gke_version, FLEX_START_MIN_VERSION):
        problems.append(
            Problem(
                "platform.gpuPool.capacity.kind",
                f"is flexStart, which needs GKE {FLEX_START_MIN_VERSION} or newer; platform.gkeVersion is "
                f"{gke.gke_version}. Raise platform.gkeVersion, or use a reservation, spot or onDemand capacity.",
            )
        )
    return problems


def _system_pool(pool: SystemPoolConfig) -> list[Problem]:
    if pool.min_nodes <= pool.max_nodes:
        return []
    return [
        Problem(
            "platform.systemPool.minNodes",
            f"is {pool.min_nodes}, more than platform.systemPool.maxNodes ({pool.max_nodes}); lower it or raise maxNodes.",
        )
    ]


def _named_ranges(gke: GkeClusterConfig) -> list[tuple[str, ipaddress.IPv4Network]]:
    net = gke.network
    named = [("primary", net.primary), ("gvnic", net.gvnic), *[(f"rdma[{i}]", c) for i, c in enumerate(net.rdma)]]
    named += [("pods", net.pods), ("services", net.services), ("proxyOnly", net.proxy_only)]
    if gke.private_nodes:
        named.append(("master", net.master))
    return [(f"platform.network.{key}", ipaddress.ip_network(cidr)) for key, cidr in named]


def _ranges(gke: GkeClusterConfig) -> list[Problem]:
    net = gke.network
    problems = []
    if len(net.rdma) != RDMA_SUBNET_COUNT:
        problems.append(
            Problem(
                "platform.network.rdma",
                f"lists {len(net.rdma)} subnets; the RoCE VPC needs exactly {RDMA_SUBNET_COUNT}, one per RDMA NIC "
                f"(rdma-0..rdma-{RDMA_SUBNET_COUNT - 1}). List 8 ranges, or give one range to split into 8.",
            )
        )
    if ipaddress.ip_network(net.master).prefixlen != 28:
        problems.append(Problem("platform.network.master", f"is {net.master}; the GKE control plane range must be a /28."))
    if ipaddress.ip_network(net.proxy_only).prefixlen > 26:
        problems.append(
            Problem(
                "platform.network.proxyOnly",
                f"is {net.proxy_only}; a proxy-only subnet needs at least 64 addresses (/26), /23 is recommended.",
            )
        )
    named = _named_ranges(gke)
    subnets = 2 + len(net.rdma)  # primary, gvnic and the RDMA subnets come first
    for key, network in named[:subnets]:
        if network.prefixlen > 29:
            problems.append(Problem(key, f"is {network}; a GCP subnet must be /29 or larger."))
    for i, (key, network) in enumerate(named):
        clash = next(((k, other) for k, other in named[:i] if network.overlaps(other)), None)
        if clash:
            problems.append(
                Problem(
                    key,
                    f"{network} overlaps {clash[0]} ({clash[1]}); the node, pod, service, proxy-only, control plane "
                    f"and RDMA ranges must all be distinct. Pick a range outside {clash[1]}.",
                )
            )
    return problems


def _one_pod_per_node(config: "StackConfig", pool: GpuPoolConfig) -> list[Problem]:
    pods = config.prefill.replicas + config.decode.replicas
    if pods <= pool.max_nodes:
        return []
    key = "platform.gpuPool.capacity.maxNodes" if pool.flex_start else "platform.gpuPool.nodeCount"
    return [
        Problem(
            key,
            f"allows {pool.max_nodes} GPU node(s), but prefill.replicas + decode.replicas = {pods} model-server pods. "
            "On GKE (RDMA path A) every pod attaches all 8 RDMA networks rdma-0..rdma-7, and a node's RDMA NICs "
            "can be attached to one pod only, so each model-server pod takes a whole node (a pod with fewer than "
            f"8 GPUs leaves the rest idle). Use fewer, wider pods (tensorParallel x dataParallel = 8), or set {key} "
            f"to at least {pods}.",
        )
    ]


def _gib(image: str) -> list[Problem]:
    match = re.search(r":v(\d+)\.(\d+)\.(\d+)(@|$)", image)
    if not match or tuple(int(g) for g in match.groups()[:3]) >= MIN_GIB_VERSION:
        return []
    minimum = "v" + ".".join(map(str, MIN_GIB_VERSION))
    return [
        Problem(
            "versions.gibInstallerImage",
            f"is {image}; the vLLM in llm-d needs NCCL 2.27, which the gIB plugin supports from {minimum}. "
            f"Use nccl-plugin-gib:{minimum} or newer (the default is v1.1.1).",
        )
    ]


def gpu_node_labels(gke: GkeClusterConfig) -> dict[str, str]:
    """Labels GKE puts on every node of the program's GPU pool."""
    from components.platform.gke.names import GPU_POOL  # noqa: PLC0415 - a plain constant

    pool = gke.gpu_pool
    return {
        "cloud.google.com/gke-nodepool": GPU_POOL,
        "cloud.google.com/gke-accelerator": pool.accelerator_type,
        "node.kubernetes.io/instance-type": pool.machine_type,
        "topology.kubernetes.io/zone": gke.zone,
        "topology.kubernetes.io/region": gke.region,
    }


def _node_selectors(config: "StackConfig", gke: GkeClusterConfig) -> list[Problem]:
    """A selector the GPU pool's nodes do not match leaves the pods Pending forever."""
    labels = gpu_node_labels(gke)
    problems = []
    for role in ("prefill", "decode"):
        for key, value in getattr(config, role).node_selector.items():
            if labels.get(key) != value:
                known = ", ".join(f"{k}={v}" for k, v in labels.items())
                problems.append(
                    Problem(f"{role}.nodeSelector.{key}", f"matches no node of the GPU pool (its nodes carry {known}); remove it.")
                )
    return problems
