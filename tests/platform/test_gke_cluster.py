"""The GCP resources of the gke stack: APIs, VPCs, IAM, cluster, node pools, and the Kubernetes provider."""

import json
import re

import pytest

from components.platform.gke.project import NODE_ROLES, REQUIRED_APIS
from gke_runs import CA_CERTIFICATE, ENDPOINT, component, gke_stack, one, owned, run_gke, waits_for, with_platform
from tools.mock_runtime import ProgramRun

PROJECT, REGION, ZONE = "my-gcp-project", "europe-west1", "europe-west1-b"
NETWORK = "gcp:compute/network:Network"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
FIREWALL = "gcp:compute/firewall:Firewall"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
RDMA_SUBNETS = [f"192.168.{128 + 8 * i}.0/21" for i in range(8)]


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return gke_stack()


def minutes(duration: str) -> int:
    match = re.fullmatch(r"(\d+)([mh])", duration)
    return int(match[1]) * (60 if match[2] == "h" else 1)


def test_one_component_owns_every_platform_resource(run):
    root = component(run)
    assert root.type.startswith("llmd:platform:") and root.parent.endswith("pulumi:pulumi:Stack::llmd-gke")
    gcp = [r for r in run.registrations if r.type.startswith("gcp:") and r.parent == root.urn]
    assert {r.type for r in gcp} >= {NETWORK, SUBNET, FIREWALL, CLUSTER, NODE_POOL, "gcp:projects/service:Service"}
    assert all(r.inputs.get("project") == PROJECT for r in gcp if "project" in r.inputs)


def test_required_apis_are_enabled_and_left_on_at_destroy(run):
    services = owned(run, "gcp:projects/service:Service")
    assert sorted(s.inputs["service"] for s in services) == sorted(REQUIRED_APIS)
    assert {"container.googleapis.com", "compute.googleapis.com", "networkservices.googleapis.com"} <= set(REQUIRED_APIS)
    assert all(s.inputs["disableOnDestroy"] is False for s in services)


def test_three_vpcs_with_jumbo_mtu(run):
    networks = {n.inputs["name"]: n.inputs for n in owned(run, NETWORK)}
    assert set(networks) == {"llmd-pd-net", "llmd-pd-gvnic", "llmd-pd-rdma"}
    assert all(n["mtu"] == 8896 and n["autoCreateSubnetworks"] is False for n in networks.values())


def test_roce_vpc_uses_the_zone_profile_and_regional_routing(run):
    rdma = one(run, NETWORK, "gke-rdma").inputs
    assert rdma["networkProfile"] == f"projects/{PROJECT}/global/networkProfiles/{ZONE}-vpc-roce"
    assert rdma["routingMode"] == "REGIONAL"


def test_eight_rdma_subnets_in_the_region(run):
    rdma_id = f"{one(run, NETWORK, 'gke-rdma').name}-id"
    subnets = sorted((s for s in owned(run, SUBNET) if s.inputs["network"] == rdma_id), key=lambda s: s.inputs["name"])
    assert [s.inputs["name"] for s in subnets] == [f"llmd-pd-rdma-{i}" for i in range(8)]
    assert [s.inputs["ipCidrRange"] for s in subnets] == RDMA_SUBNETS
    assert all(s.inputs["region"] == REGION for s in subnets)


def test_primary_subnet_has_pod_and_service_ranges(run):
    subnet = one(run, SUBNET, "gke-subnet").inputs
    assert subnet["network"] == "gke-net-id" and subnet["ipCidrRange"] == "192.168.0.0/18"
    assert subnet["privateIpGoogleAccess"] is True
    ranges = {r["rangeName"]: r["ipCidrRange"] for r in subnet["secondaryIpRanges"]}
    assert ranges == {"pods": "10.4.0.0/14", "services": "10.0.32.0/20"}


def test_proxy_only_subnet_for_the_regional_gateway(run):
    subnet = one(run, SUBNET, "gke-proxy-only").inputs
    assert (subnet["purpose"], subnet["role"]) == ("REGIONAL_MANAGED_PROXY", "ACTIVE")
    assert subnet["network"] == "gke-net-id" and subnet["region"] == REGION and subnet["ipCidrRange"] == "10.129.0.0/23"


def test_gvnic_subnet(run):
    subnet = one(run, SUBNET, "gke-gvnic-subnet").inputs
    assert subnet["network"] == "gke-gvnic-id" and subnet["ipCidrRange"] == "192.168.64.0/18"


def test_internal_firewalls_but_none_on_the_roce_vpc(run):
    firewalls = {f.inputs["network"]: f.inputs for f in owned(run, FIREWALL)}
    assert set(firewalls) == {"gke-net-id", "gke-gvnic-id"}
    primary = firewalls["gke-net-id"]
    assert primary["direction"] == "INGRESS"
    assert {a["protocol"] for a in primary["allows"]} == {"tcp", "udp", "icmp"}
    # nodes, pods, Gateway proxies, and the private control plane (webhooks)
    assert set(primary["sourceRanges"]) == {"192.168.0.0/18", "10.4.0.0/14", "10.129.0.0/23", "172.16.0.32/28"}
    assert firewalls["gke-gvnic-id"]["sourceRanges"] == ["192.168.64.0/18"]


def test_private_nodes_get_cloud_nat(run):
    router = one(run, "gcp:compute/router:Router").inputs
    nat = one(run, "gcp:compute/routerNat:RouterNat").inputs
    assert router["network"] == "gke-net-id" and router["region"] == REGION
    assert nat["router"] == router["name"] and nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"


def test_public_nodes_need_no_nat_nor_private_cluster():
    run = run_gke(with_platform({"privateNodes": False}))
    assert owned(run, "gcp:compute/router:Router") == [] and owned(run, "gcp:compute/routerNat:RouterNat") == []
    assert "privateClusterConfig" not in one(run, CLUSTER).inputs
    assert "172.16.0.32/28" not in one(run, FIREWALL, "gke-net-internal").inputs["sourceRanges"]


def test_authorized_networks_limit_the_control_plane():
    run = run_gke(with_platform({"authorizedNetworks": ["203.0.113.0/24"]}))
    config = one(run, CLUSTER).inputs["masterAuthorizedNetworksConfig"]
    assert [b["cidrBlock"] for b in config["cidrBlocks"]] == ["203.0.113.0/24"]
    assert "masterAuthorizedNetworksConfig" not in one(gke_stack(), CLUSTER).inputs


def test_node_service_account_has_least_privilege_roles(run):
    account = one(run, "gcp:serviceaccount/account:Account").inputs
    assert account["accountId"] == "llmd-pd-nodes"
    email = f"llmd-pd-nodes@{PROJECT}.iam.gserviceaccount.com"
    bindings = owned(run, "gcp:projects/iAMMember:IAMMember")
    assert sorted(b.inputs["role"] for b in bindings) == sorted(NODE_ROLES)
    assert set(NODE_ROLES) == {"roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader"}
    assert all(b.inputs["member"] == f"serviceAccount:{email}" for b in bindings)
    for pool in owned(run, NODE_POOL):
        assert pool.inputs["nodeConfig"]["serviceAccount"] == email
        assert all(waits_for(run, pool, b) for b in bindings)


def test_cluster(run):
    cluster = one(run, CLUSTER)
    spec = cluster.inputs
    assert (spec["name"], spec["location"]) == ("llmd-pd", REGION)
    assert (spec["network"], spec["subnetwork"]) == ("gke-net-id", "gke-subnet-id")
    assert spec["networkingMode"] == "VPC_NATIVE"
    assert spec["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"}
    assert spec["datapathProvider"] == "ADVANCED_DATAPATH" and spec["enableMultiNetworking"] is True
    assert spec["networkPolicy"]["enabled"] is False
    assert spec["gatewayApiConfig"] == {"channel": "CHANNEL_STANDARD"}
    addons = spec["addonsConfig"]
    assert addons["httpLoadBalancing"] == {"disabled": False}
    assert addons["gcsFuseCsiDriverConfig"] == {"enabled": True}
    assert spec["workloadIdentityConfig"] == {"workloadPool": f"{PROJECT}.svc.id.goog"}
    assert spec["monitoringConfig"]["managedPrometheus"]["enabled"] is True
    assert spec["enableShieldedNodes"] is True
    assert spec["releaseChannel"] == {"channel": "REGULAR"} and spec["minMasterVersion"] == "1.34.1-gke.1829001"
    assert spec["deletionProtection"] is False
    assert spec["removeDefaultNodePool"] is True
    private = spec["privateClusterConfig"]
    assert private["enablePrivateNodes"] is True and private["masterIpv4CidrBlock"] == "172.16.0.32/28"
    assert all(minutes(cluster.custom_timeouts[op]) >= 45 for op in ("create", "update", "delete"))


def test_system_pool_is_untainted_cpu(run):
    pool = one(run, NODE_POOL, "gke-system-pool")
    spec, node = pool.inputs, pool.inputs["nodeConfig"]
    assert spec["name"] == "system" and spec["nodeLocations"] == [ZONE] and spec["cluster"] == "gke-cluster-id"
    assert node["machineType"] == "e2-standard-16" and "taints" not in node and "guestAccelerators" not in node
    assert spec["autoscaling"] == {"totalMinNodeCount": 2, "totalMaxNodeCount": 10}


def test_gpu_pool_hardware(run):
    pool = one(run, NODE_POOL, "gke-gpu-pool")
    spec, node = pool.inputs, pool.inputs["nodeConfig"]
    assert spec["name"] == "gpu" and spec["location"] == REGION and spec["nodeLocations"] == [ZONE]
    assert node["machineType"] == "a3-ultragpu-8g" and node["imageType"] == "COS_CONTAINERD"
    assert node["diskType"] == "hyperdisk-balanced" and node["gvnic"] == {"enabled": True}
    assert node["guestAccelerators"] == [
        {"type": "nvidia-h200-141gb", "count": 8, "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}}
    ]
    assert node["ephemeralStorageLocalSsdConfig"] == {"localSsdCount": 32}
    assert node["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert pool.custom_timeouts == {"create": "90m", "update": "90m", "delete": "60m"}


def test_gpu_pool_attaches_one_gvnic_and_the_8_rdma_subnets_in_order(run):
    extra = one(run, NODE_POOL, "gke-gpu-pool").inputs["networkConfig"]["additionalNodeNetworkConfigs"]
    assert len(extra) == 9
    assert extra[0] == {"network": "llmd-pd-gvnic", "subnetwork": "llmd-pd-gvnic"}
    assert extra[1:] == [{"network": "llmd-pd-rdma", "subnetwork": f"llmd-pd-rdma-{i}"} for i in range(8)]


def test_flex_start_pool_scales_from_zero_without_repair(run):
    spec = one(run, NODE_POOL, "gke-gpu-pool").inputs
    assert spec["nodeConfig"]["flexStart"] is True and "spot" not in spec["nodeConfig"]
    assert spec["nodeConfig"]["reservationAffinity"] == {"consumeReservationType": "NO_RESERVATION"}
    assert "nodeCount" not in spec
    assert spec["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 2, "locationPolicy": "ANY"}
    assert spec["management"]["autoRepair"] is False


CAPACITIES = {
    "reservation": (
        {"kind": "reservation", "name": "a3u-dense", "project": "capacity-host", "block": "block-7"},
        {
            "consumeReservationType": "SPECIFIC_RESERVATION",
            "key": "compute.googleapis.com/reservation-name",
            "values": ["projects/capacity-host/reservations/a3u-dense/reservationBlocks/block-7"],
        },
    ),
    "spot": ({"kind": "spot"}, {"consumeReservationType": "NO_RESERVATION"}),
    "onDemand": ({"kind": "onDemand"}, {"consumeReservationType": "ANY_RESERVATION"}),
}


@pytest.mark.parametrize("kind", list(CAPACITIES))
def test_static_capacities(kind):
    capacity, affinity = CAPACITIES[kind]
    spec = one(run_gke(with_platform({"gpuPool": {"capacity": capacity, "nodeCount": 2}})), NODE_POOL, "gke-gpu-pool").inputs
    assert spec["nodeConfig"]["reservationAffinity"] == affinity
    assert spec["nodeCount"] == 2 and "autoscaling" not in spec
    assert spec["management"] == {"autoRepair": True, "autoUpgrade": True}
    assert "flexStart" not in spec["nodeConfig"]
    assert spec["nodeConfig"].get("spot", False) is (kind == "spot")


def test_reservation_defaults_to_the_cluster_project():
    capacity = {"kind": "reservation", "name": "a3u-dense"}
    spec = one(run_gke(with_platform({"gpuPool": {"capacity": capacity}})), NODE_POOL, "gke-gpu-pool").inputs
    assert spec["nodeConfig"]["reservationAffinity"]["values"] == [f"projects/{PROJECT}/reservations/a3u-dense"]


def test_kubernetes_provider_uses_the_gke_auth_plugin(run):
    provider = one(run, "pulumi:providers:kubernetes")
    config = json.loads(provider.inputs["kubeconfig"])
    context = f"gke_{PROJECT}_{REGION}_llmd-pd"
    assert config["current-context"] == context
    assert config["clusters"][0]["cluster"] == {"server": f"https://{ENDPOINT}", "certificate-authority-data": CA_CERTIFICATE}
    user = config["users"][0]["user"]
    assert set(user) == {"exec"}  # no token or key in the stack state
    assert user["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert waits_for(run, provider, one(run, CLUSTER))
    assert not waits_for(run, provider, one(run, NODE_POOL, "gke-gpu-pool"))


def test_every_kubernetes_object_goes_to_the_new_cluster(run):
    provider = one(run, "pulumi:providers:kubernetes")
    kube = [r for r in run.registrations if r.custom and r.type.startswith("kubernetes:")]
    assert kube and all(r.provider.rsplit("::", 1)[0] == provider.urn for r in kube)


def test_preview_needs_no_cluster_outputs():
    """In a preview of a new stack the endpoint and CA are unknown; nothing may read them."""
    run = run_gke(preview=True)
    assert one(run, CLUSTER) and one(run, "pulumi:providers:kubernetes")


# --- what the P/D stack waits for, and so what `pulumi destroy` removes first ----------------------
def test_gateway_pool_and_route_go_before_the_proxy_only_subnet_and_cluster(run):
    cluster, subnet = one(run, CLUSTER), one(run, SUBNET, "gke-proxy-only")
    system_pool = one(run, NODE_POOL, "gke-system-pool")
    for kind in ("Gateway", "InferencePool", "HTTPRoute"):
        obj = run.one(kind)
        assert waits_for(run, obj, subnet), f"{kind} would outlive the proxy-only subnet"
        assert waits_for(run, obj, cluster) and waits_for(run, obj, system_pool)
        assert not waits_for(run, obj, one(run, NODE_POOL, "gke-gpu-pool")), f"{kind} waits for GPUs it does not use"


def test_model_servers_wait_for_the_gpu_pool(run):
    gpu_pool = one(run, NODE_POOL, "gke-gpu-pool")
    for deployment in run.kube("Deployment"):
        if "llm-d.ai/role" in deployment.inputs["spec"]["template"]["metadata"]["labels"]:
            assert waits_for(run, deployment, gpu_pool)
