"""The gke platform config: defaults, the stack file, and every rule of check_gke with its message."""

import ipaddress

import pulumi
import pytest

from components.config.gke import (
    DEFAULT_GKE_VERSION,
    GkeClusterConfig,
    parse_gke_version,
    version_at_least,
)
from components.config.load import validate
from components.platform.gke.names import GPU_POOL, SYSTEM_POOL, GcpNames
from components.config.problems import InvalidConfig, Problem
from gke_runs import run_gke, stack_file, with_platform

MINIMAL_PLATFORM = {"kind": "gke", "project": "my-gcp-project", "region": "europe-west1", "zone": "europe-west1-b"}


def check(config: dict):
    return validate(config, set(), "gke", "llmd")


def problems(config: dict) -> list[Problem]:
    with pytest.raises(InvalidConfig) as caught:
        check(config)
    return caught.value.problems


def the_problem(config: dict, key: str) -> str:
    """The message of the one problem reported for `key`."""
    found = problems(config)
    messages = [p.message for p in found if p.key == key]
    assert len(messages) == 1, f"expected one problem at {key}, got {[(p.key, p.message) for p in found]}"
    return messages[0]


# --- what is accepted ---------------------------------------------------------------------------
def test_stack_file_is_the_benchmark_topology():
    config = check(stack_file())
    gke = config.platform
    assert (gke.project, gke.region, gke.zone) == ("my-gcp-project", "europe-west1", "europe-west1-b")
    assert gke.gpu_pool.machine_type == "a3-ultragpu-8g" and gke.gpus_per_node == 8
    assert gke.gpu_pool.flex_start and gke.gpu_pool.max_nodes == 2
    assert (config.prefill.replicas, config.prefill.tensor_parallel) == (1, 8)
    assert (config.decode.replicas, config.decode.tensor_parallel) == (1, 8)
    assert config.model.name == "openai/gpt-oss-120b"
    assert config.gateway.provider == "gke" and config.monitoring.enabled
    assert gke.manages_gateway_crds


def test_defaults_need_only_project_region_and_zone():
    gke = check({**stack_file(), "platform": MINIMAL_PLATFORM}).platform
    assert gke.cluster_name == "llmd-pd" and len(gke.cluster_name) < 16
    assert gke.release_channel == "REGULAR" and gke.gke_version == DEFAULT_GKE_VERSION
    assert gke.deletion_protection is False and gke.private_nodes is True
    assert gke.system_pool.machine_type == "e2-standard-16"
    pool = gke.gpu_pool
    assert (pool.machine_type, pool.accelerator_type, pool.accelerator_count) == ("a3-ultragpu-8g", "nvidia-h200-141gb", 8)
    assert (pool.boot_disk_type, pool.gpu_driver_version) == ("hyperdisk-balanced", "LATEST")
    assert pool.capacity.kind == "onDemand" and pool.node_count is None and pool.max_nodes == 2
    assert gke.network.master.endswith("/28") and gke.network.proxy_only.endswith("/23")


def test_one_rdma_range_is_split_into_8_equal_subnets():
    gke = check(with_platform({"network": {"rdma": "10.200.0.0/16"}})).platform
    assert gke.network.rdma == [f"10.200.{32 * i}.0/19" for i in range(8)]


def test_an_explicit_list_of_8_rdma_subnets_is_kept():
    subnets = [f"192.168.{200 + i}.0/24" for i in range(8)]
    assert check(with_platform({"network": {"rdma": subnets}})).platform.network.rdma == subnets


def test_default_ranges_are_disjoint():
    gke = check(stack_file()).platform
    net = gke.network
    ranges = [net.primary, net.pods, net.services, net.gvnic, net.proxy_only, net.master, *net.rdma]
    networks = [ipaddress.ip_network(r) for r in ranges]
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])


@pytest.mark.parametrize(
    "capacity",
    [
        {"kind": "reservation", "name": "a3u-dense", "project": "shared-capacity", "block": "block-1"},
        {"kind": "spot"},
        {"kind": "onDemand"},
    ],
    ids=lambda c: c["kind"],
)
def test_static_capacities_take_a_node_count(capacity):
    gke = check(with_platform({"gpuPool": {"capacity": capacity, "nodeCount": 3}})).platform
    assert gke.gpu_pool.capacity.kind == capacity["kind"] and gke.gpu_pool.max_nodes == 3


def test_without_private_nodes_the_master_range_is_unused():
    overlapping_master = {"privateNodes": False, "network": {"master": "10.4.0.0/28"}}  # inside pods
    assert check(with_platform(overlapping_master)).platform.private_nodes is False


def test_names_derived_from_the_longest_cluster_name_are_valid():
    names = GcpNames("a" * 15)
    properties = ("network", "subnet", "gvnic_network", "gvnic_subnet", "rdma_network", "proxy_only_subnet", "router", "nat")
    gce = [getattr(names, p) for p in properties]
    gce += [names.rdma_subnet(7), names.internal_firewall(names.gvnic_network)]
    assert all(len(n) <= 63 and n[0].isalpha() and n.replace("-", "").isalnum() for n in gce), gce
    assert 6 <= len(GcpNames("a").node_service_account) and len(names.node_service_account) <= 30  # account id limits
    assert all(len(n) <= 40 for n in (GPU_POOL, SYSTEM_POOL))


# --- GKE versions -------------------------------------------------------------------------------
def test_gke_versions_parse_and_compare_numerically():
    assert parse_gke_version("1.33.5-gke.1080000") == (1, 33, 5, 1080000)
    assert version_at_least("1.31.10-gke.1000", "1.31.4-gke.1183000")  # 10 > 4, though "10" < "4" as text
    assert version_at_least("1.31.4-gke.1183000", "1.31.4-gke.1183000")
    assert not version_at_least("1.31.4-gke.999999", "1.31.4-gke.1183000")
    with pytest.raises(ValueError):
        parse_gke_version("1.33")


@pytest.mark.parametrize(
    ("version", "managed"), [("1.34.0-gke.1625999", False), ("1.34.0-gke.1626000", True), ("1.33.5-gke.1080000", False)]
)
def test_gke_manages_the_gateway_crds_from_1_34_0_gke_1626000(version, managed):
    gke = GkeClusterConfig.model_validate({**MINIMAL_PLATFORM, "gkeVersion": version})
    assert gke.manages_gateway_crds is managed


# --- every rule, with its key and message -------------------------------------------------------
def rdma_list(**replace: str) -> list[str]:
    """The 8 default RDMA subnets with some replaced, e.g. rdma_list(**{"3": "10.4.0.0/24"})."""
    subnets = [f"192.168.{128 + 8 * i}.0/21" for i in range(8)]
    for index, cidr in replace.items():
        subnets[int(index)] = cidr
    return subnets


CASES = {
    "machine type without RoCE NICs": (
        {"gpuPool": {"machineType": "a3-highgpu-8g"}},
        "platform.gpuPool.machineType",
        "Set it to a3-ultragpu-8g",
    ),
    "accelerator not the machine's": (
        {"gpuPool": {"acceleratorType": "nvidia-h100-80gb"}},
        "platform.gpuPool.acceleratorType",
        "a3-ultragpu-8g carries nvidia-h200-141gb",
    ),
    "accelerator count not the machine's": (
        {"gpuPool": {"acceleratorCount": 4}},
        "platform.gpuPool.acceleratorCount",
        "a3-ultragpu-8g has 8 GPUs",
    ),
    "zone outside the region": ({"zone": "us-central1-a"}, "platform.zone", "not in region europe-west1"),
    "fewer than 8 RDMA subnets": (
        {"network": {"rdma": rdma_list()[:7]}},
        "platform.network.rdma",
        "needs exactly 8, one per RDMA NIC",
    ),
    "more than 8 RDMA subnets": (
        {"network": {"rdma": [*rdma_list(), "192.168.250.0/24"]}},
        "platform.network.rdma",
        "needs exactly 8",
    ),
    "RDMA range too small to split": ({"network": {"rdma": "192.168.128.0/27"}}, "platform.network.rdma", "/26 or larger"),
    "RDMA subnets overlap each other": (
        {"network": {"rdma": rdma_list(**{"1": "192.168.128.0/24"})}},
        "platform.network.rdma[1]",
        "overlaps platform.network.rdma[0]",
    ),
    "RDMA subnet smaller than a GCP subnet": (
        {"network": {"rdma": rdma_list(**{"7": "192.168.250.0/30"})}},
        "platform.network.rdma[7]",
        "/29 or larger",
    ),
    "not a CIDR": ({"network": {"pods": "10.4.0.1/14"}}, "platform.network.pods", "host bits set"),
    "IPv6 range": ({"network": {"services": "fd00::/64"}}, "platform.network.services", "IPv4"),
    "control plane range not a /28": ({"network": {"master": "172.16.0.0/24"}}, "platform.network.master", "must be a /28"),
    "proxy-only subnet too small": ({"network": {"proxyOnly": "10.129.0.0/27"}}, "platform.network.proxyOnly", "/23 is recommended"),
    "GKE older than RDMA on A3 Ultra": ({"gkeVersion": "1.31.3-gke.1000000"}, "platform.gkeVersion", "1.31.4-gke.1183000"),
    "GKE version neither exact nor a prefix": ({"gkeVersion": "1.34.x"}, "platform.gkeVersion", "pattern"),
    "GKE prefix wholly older than RDMA on A3 Ultra": ({"gkeVersion": "1.30"}, "platform.gkeVersion", "1.31.4-gke.1183000"),
    "DEFAULT driver older than R550": (
        {"gkeVersion": "1.31.4-gke.1183000", "gpuPool": {"gpuDriverVersion": "DEFAULT"}},
        "platform.gpuPool.gpuDriverVersion",
        "R550",
    ),
    "flex-start before GKE supports it": (
        {"gkeVersion": "1.32.2-gke.1651999"},
        "platform.gpuPool.capacity.kind",
        "needs GKE 1.32.2-gke.1652000",
    ),
    "flex-start with a static size": (
        {"gpuPool": {"nodeCount": 2}},
        "platform.gpuPool.nodeCount",
        "must not be set with capacity flexStart",
    ),
    "spot with a reservation name": (
        {"gpuPool": {"capacity": {"kind": "spot", "name": "a3u"}}},
        "platform.gpuPool.capacity.name",
        "unknown key. Allowed keys here: kind",
    ),
    "flex-start with a reservation": (
        {"gpuPool": {"capacity": {"kind": "flexStart", "maxNodes": 2, "name": "a3u"}}},
        "platform.gpuPool.capacity.name",
        "Allowed keys here: kind, maxNodes",
    ),
    "reservation without a name": (
        {"gpuPool": {"capacity": {"kind": "reservation"}, "nodeCount": 2}},
        "platform.gpuPool.capacity.name",
        "is required",
    ),
    "unknown capacity": (
        {"gpuPool": {"capacity": {"kind": "preemptible"}}},
        "platform.gpuPool.capacity",
        "'reservation', 'flexStart', 'spot', 'onDemand'",
    ),
    "cluster name of 16 characters": ({"clusterName": "llmd-pd-cluster1"}, "platform.clusterName", "shorter than 16"),
    "cluster name not a GCE name": ({"clusterName": "LLMD_pd"}, "platform.clusterName", "pattern"),
    "boot disk not hyperdisk": ({"gpuPool": {"bootDiskType": "pd-ssd"}}, "platform.gpuPool.bootDiskType", "hyperdisk-balanced"),
    "system pool min above max": ({"systemPool": {"minNodes": 5, "maxNodes": 3}}, "platform.systemPool.minNodes", "maxNodes (3)"),
    "missing project": ({"project": None}, "platform.project", "is required"),
    "unknown platform key": ({"nodeCount": 2}, "platform.nodeCount", "unknown key"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_platform_config(case):
    changes, key, gist = CASES[case]
    assert gist in the_problem(with_platform(changes), key)


@pytest.mark.parametrize("other", ["primary", "pods", "services", "gvnic", "proxyOnly", "master"])
def test_rdma_subnets_must_not_overlap_any_other_range(other):
    inside = str(next(ipaddress.ip_network(getattr(check(stack_file()).platform.network, _field(other))).subnets(new_prefix=29)))
    found = problems(with_platform({"network": {"rdma": rdma_list(**{"0": inside})}}))
    overlaps = [p for p in found if "overlaps" in p.message]
    assert len(overlaps) == 1, found
    mentioned = overlaps[0].key + overlaps[0].message
    assert "platform.network.rdma[0]" in mentioned and f"platform.network.{other}" in mentioned


def _field(key: str) -> str:
    return {"proxyOnly": "proxy_only"}.get(key, key)


def test_gke_ranges_must_not_overlap_each_other():
    message = the_problem(with_platform({"network": {"services": "10.5.0.0/20"}}), "platform.network.services")
    assert "overlaps platform.network.pods (10.4.0.0/14)" in message and "Pick a range outside" in message


# --- one pod per node (RDMA path A) ---------------------------------------------------------------
def test_more_model_server_pods_than_static_nodes_is_refused():
    config = with_platform({"gpuPool": {"capacity": {"kind": "spot"}, "nodeCount": 2}})
    config["prefill"] = {**config["prefill"], "replicas": 2}
    message = the_problem(config, "platform.gpuPool.nodeCount")
    assert "prefill.replicas + decode.replicas = 3" in message
    assert "rdma-0..rdma-7" in message and "one pod only" in message  # why
    assert "tensorParallel x dataParallel = 8" in message and "at least 3" in message  # what to do


def test_narrow_pods_still_take_a_whole_node():
    config = with_platform({"gpuPool": {"capacity": {"kind": "onDemand"}}})  # 2 nodes by default
    config["prefill"] = {**config["prefill"], "replicas": 2, "tensorParallel": 4}
    message = the_problem(config, "platform.gpuPool.nodeCount")
    assert "fewer than 8 GPUs leaves the rest idle" in message


def test_more_pods_than_flex_start_nodes_is_refused():
    config = with_platform({"gpuPool": {"capacity": {"kind": "flexStart", "maxNodes": 1}}})
    message = the_problem(config, "platform.gpuPool.capacity.maxNodes")
    assert "allows 1 GPU node(s)" in message and "2 model-server pods" in message


def test_gib_installer_older_than_v1_1_0_is_refused():
    old = "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib:v1.0.6"
    config = {**stack_file(), "versions": {"gibInstallerImage": old}}
    assert "NCCL 2.27" in the_problem(config, "versions.gibInstallerImage")


def test_every_problem_is_reported_at_once():
    changes = {"zone": "us-east4-b", "clusterName": "a-very-long-cluster", "gpuPool": {"acceleratorCount": 4}}
    found = problems(with_platform(changes))
    assert {"platform.zone", "platform.clusterName", "platform.gpuPool.acceleratorCount"} <= {p.key for p in found}


def test_the_program_stops_before_any_resource():
    run = run_gke(with_platform({"zone": "us-central1-b"}), expect_error=True)
    assert isinstance(run.error, pulumi.RunError)
    assert "llmd:platform.zone: us-central1-b is not in region europe-west1" in str(run.error)
    assert run.registrations == []
