"""Stack config of the `gke` platform: a GKE cluster with a3-ultragpu-8g nodes and GPUDirect RDMA (RoCE).

Path A of the reference (classic multi-networking): one RoCE VPC with 8 subnets, attached to every GPU
node as 8 extra NICs, and handed to pods as the device networks rdma-0..rdma-7.
"""

import ipaddress
import re
from typing import TYPE_CHECKING, Annotated, Literal, Optional, Union

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from components.config.base import Strict
from components.config.problems import Problem

if TYPE_CHECKING:
    from components.config.model import StackConfig

# GKE versions that matter here (reference §3, "GKE version" rows).
RDMA_MIN_VERSION = "1.31.4-gke.1183000"  # GPUDirect RDMA on A3 Ultra
DEFAULT_DRIVER_MIN_VERSION = "1.31.5-gke.1169000"  # first version whose DEFAULT driver is R550
FLEX_START_MIN_VERSION = "1.32.2-gke.1652000"
MANAGED_GATEWAY_CRDS_VERSION = "1.34.0-gke.1626000"  # GKE installs GA Gateway API + GAIE CRDs itself
# An exact version: GKE creates the control plane at it, so a cluster is reproducible. It must still be
# offered in the release channel when the cluster is created:
#   gcloud container get-server-config --region REGION --flatten=channels --filter=channels.channel=REGULAR
DEFAULT_GKE_VERSION = "1.34.1-gke.1829001"
# vLLM >= 0.11 needs NCCL 2.27, which gIB supports from v1.1.0 (reference §2.2).
MIN_GIB_VERSION = (1, 1, 0)

# Machine type -> (accelerator type, count) for the machines whose 8 RoCE NICs path A wires up.
GPU_SHAPES = {"a3-ultragpu-8g": ("nvidia-h200-141gb", 8)}
RDMA_SUBNET_COUNT = 8
DEFAULT_GPU_NODES = 2
MAX_CLUSTER_NAME = 15  # "shorter than 16 characters" (gpu-recipes); derived resource names build on it

_GKE_VERSION = r"^(\d+)\.(\d+)\.(\d+)-gke\.(\d+)$"
_GCE_NAME = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"

GceName = Annotated[str, StringConstraints(pattern=_GCE_NAME, max_length=63)]
ProjectId = Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")]
GkeVersion = Annotated[str, StringConstraints(pattern=_GKE_VERSION)]


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"must be an IPv4 CIDR range such as 10.0.0.0/16 ({error})") from None
    if network.version != 4:
        raise ValueError(f"must be an IPv4 CIDR range such as 10.0.0.0/16; got {value}")
    return value


def _split_rdma_range(value):
    """One range becomes the 8 equal subnets the RDMA NICs need; a list is kept as given."""
    if not isinstance(value, str):
        return value
    network = ipaddress.ip_network(_cidr(value))
    if network.prefixlen > 26:
        raise ValueError(
            f"is split into {RDMA_SUBNET_COUNT} subnets of at least /29 (the smallest GCP subnet), so it must "
            f"be /26 or larger; got /{network.prefixlen}"
        )
    return [str(s) for s in network.subnets(prefixlen_diff=RDMA_SUBNET_COUNT.bit_length() - 1)]


Cidr = Annotated[str, AfterValidator(_cidr)]


class NetworkRanges(Strict):
    """Every IPv4 range the cluster uses; no two may overlap."""

    primary: Cidr = "192.168.0.0/18"  # nodes' first NIC
    pods: Cidr = "10.4.0.0/14"
    services: Cidr = "10.0.32.0/20"
    gvnic: Cidr = "192.168.64.0/18"  # nodes' second host NIC
    # One range split into 8 equal subnets, or a list of exactly 8 (one per RDMA NIC).
    rdma: Annotated[list[Cidr], BeforeValidator(_split_rdma_range)] = Field(
        default_factory=lambda: _split_rdma_range("192.168.128.0/18")
    )
    proxy_only: Cidr = "10.129.0.0/23"  # regional Envoy proxies of the GKE Gateway
    master: Cidr = "172.16.0.32/28"  # control plane of a cluster with private nodes


class SystemPoolConfig(Strict):
    """CPU nodes without taints, for the gateway, the endpoint picker and monitoring."""

    machine_type: str = "e2-standard-16"
    min_nodes: int = Field(default=2, ge=0, le=100)
    max_nodes: int = Field(default=10, ge=1, le=100)
    disk_size_gb: int = Field(default=200, ge=10)


class ReservationCapacity(Strict):
    """A specific (e.g. DENSE) reservation of a3-ultragpu-8g in the zone."""

    kind: Literal["reservation"]
    name: GceName
    project: Optional[ProjectId] = None  # default: platform.project
    block: Optional[GceName] = None


class FlexStartCapacity(Strict):
    """Dynamic Workload Scheduler flex-start: nodes appear when pods ask for GPUs, live at most 7 days."""

    kind: Literal["flexStart"]
    max_nodes: int = Field(default=DEFAULT_GPU_NODES, ge=1, le=64)


class SpotCapacity(Strict):
    kind: Literal["spot"]


class OnDemandCapacity(Strict):
    """Plain on-demand VMs (which also use a matching automatic reservation, if one exists)."""

    kind: Literal["onDemand"]


Capacity = Annotated[
    Union[ReservationCapacity, FlexStartCapacity, SpotCapacity, OnDemandCapacity], Field(discriminator="kind")
]


class GpuPoolConfig(Strict):
    machine_type: str = "a3-ultragpu-8g"
    accelerator_type: str = "nvidia-h200-141gb"
    accelerator_count: int = Field(default=8, ge=1, le=16)
    # Nodes of a static pool (reservation, spot, onDemand); default 2. Flex-start uses capacity.maxNodes.
    node_count: Optional[int] = Field(default=None, ge=1, le=64)
    boot_disk_type: Literal["hyperdisk-balanced"] = "hyperdisk-balanced"
    boot_disk_size_gb: int = Field(default=200, ge=10)
    # Put ephemeral storage (emptyDirs, the GCS FUSE file cache, images) on the bundled local SSDs.
    local_ssd_ephemeral_storage: bool = True
    gpu_driver_version: Literal["LATEST", "DEFAULT"] = "LATEST"
    capacity: Capacity = Field(default_factory=lambda: OnDemandCapacity(kind="onDemand"))

    @property
    def flex_start(self) -> bool:
        return isinstance(self.capacity, FlexStartCapacity)

    @property
    def max_nodes(self) -> int:
        """The most GPU nodes the pool can have."""
        if isinstance(self.capacity, FlexStartCapacity):
            return self.capacity.max_nodes
        return self.node_count or DEFAULT_GPU_NODES


class GkeClusterConfig(Strict):
    """A new GKE cluster created by this program (path A: classic multi-networking)."""

    kind: Literal["gke"]
    project: ProjectId
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+[0-9]+$")]
    zone: Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")]
    cluster_name: GceName = "llmd-pd"
    release_channel: Literal["UNSPECIFIED", "RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    gke_version: GkeVersion = DEFAULT_GKE_VERSION
    # Off so that `pulumi destroy` can delete the cluster; turn on for clusters that must survive it.
    deletion_protection: bool = False
    # Nodes without external IPs, reaching the internet through Cloud NAT.
    private_nodes: bool = True
    # CIDRs allowed to reach the control plane; empty allows any address (requests still need IAM).
    authorized_networks: list[Cidr] = Field(default_factory=list)
    network: NetworkRanges = Field(default_factory=NetworkRanges)
    system_pool: SystemPoolConfig = Field(default_factory=SystemPoolConfig)
    gpu_pool: GpuPoolConfig = Field(default_factory=GpuPoolConfig)

    @property
    def gpus_per_node(self) -> int:
        return self.gpu_pool.accelerator_count

    @property
    def manages_gateway_crds(self) -> bool:
        return version_at_least(self.gke_version, MANAGED_GATEWAY_CRDS_VERSION)


def parse_gke_version(version: str) -> tuple[int, ...]:
    """(1, 33, 5, 1080000) for "1.33.5-gke.1080000"."""
    match = re.fullmatch(_GKE_VERSION, version)
    if not match:
        raise ValueError(f"{version!r} is not a GKE version like 1.33.5-gke.1080000")
    return tuple(int(part) for part in match.groups())


def version_at_least(version: str, minimum: str) -> bool:
    return parse_gke_version(version) >= parse_gke_version(minimum)


def check_gke(config: "StackConfig") -> list[Problem]:
    """Rules of the gke platform that involve several keys (zone vs region, capacity options...)."""
    gke: GkeClusterConfig = config.platform
    return [
        *_cluster_name(gke),
        *_zone(gke),
        *_machine(gke.gpu_pool),
        *_versions(gke),
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
