"""Every invariant in tools/invariants.py can fail: each is fed a deliberately broken deployment.

The base is the real ib stack (and, for the GKE rules, the same objects wired the GKE way); every
test breaks exactly one thing and asserts the specific violation, so no check is vacuous.
"""

import copy
import json

import pytest

from components.config.load import validate
from conftest import HF_TOKEN, run_stack
from tools import invariants as inv
from tools.invariants import Context, NodePool
from tools.mock_runtime import stack_config

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
RDMA_NETWORKS = [f"rdma-{i}" for i in range(8)]


@pytest.fixture(scope="module")
def ib_run():
    return run_stack("ib")


@pytest.fixture(scope="module")
def ib_context():
    return Context.from_stack_config(validate(stack_config("ib"), {"hfToken"}, "ib", "llmd"), [HF_TOKEN])


@pytest.fixture
def objects(ib_run):
    """A fresh, mutable copy of the ib stack's Kubernetes objects."""
    return copy.deepcopy([r.inputs for r in ib_run.kube()])


def find(objects, kind, name_part=""):
    found = [o for o in objects if o["kind"] == kind and name_part in o["metadata"]["name"]]
    assert found, f"no {kind} *{name_part}*"
    return found[0]


def pod(obj):
    return obj["spec"]["template"]["spec"]


def container(obj, name):
    spec = pod(obj)
    return next(c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name)


def metrics_auth_role(objects):
    """The picker's ClusterRole for metrics authentication (token and access reviews)."""
    return next(o for o in objects if o["kind"] == "ClusterRole" and any("tokenreviews" in r.get("resources", []) for r in o["rules"]))


def decode(objects):
    return find(objects, "Deployment", "decode")


def prefill(objects):
    return find(objects, "Deployment", "prefill")


def violations(objects, context=Context()):
    return inv.check_objects(objects, context)


def assert_one_kind(found, tag, fragment):
    """At least one violation of `tag` mentioning `fragment`, and no violation of any other invariant."""
    assert any(v.startswith(f"[{tag}]") and fragment in v for v in found), found
    assert all(v.startswith(f"[{tag}]") for v in found), found


# --- the unbroken deployments pass -------------------------------------------------------------
def test_the_ib_stack_satisfies_every_invariant(ib_run, ib_context):
    assert inv.check_run(ib_run, ib_context) == []


def test_the_gke_wiring_below_satisfies_every_invariant(objects):
    gke_objects, context = gke_wired(objects)
    assert violations(gke_objects, context) == []


def floats(value):
    """Numbers the way they arrive over Pulumi's gRPC (protobuf Struct): all floats."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [floats(v) for v in value]
    return value


def test_numbers_as_floats_are_read_as_integers(objects, ib_context):
    assert violations(floats(objects), ib_context) == []
    broken = floats(objects)
    find(broken, "HTTPRoute")["spec"]["rules"][0]["backendRefs"][0]["port"] = 8001.0
    assert_one_kind(violations(broken), "route-refs", "backend port 8001.0 is not a target port")


# --- object checks -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "image, fragment",
    [
        ("ghcr.io/llm-d/llm-d-cuda:latest", "uses :latest"),
        ("ghcr.io/llm-d/llm-d-cuda", "has no tag"),
        ("localhost:5000/llm-d-cuda", "has no tag"),  # a registry port is not a tag
        ("ghcr.io/llm-d/llm-d-cuda@sha256:abc", "malformed digest"),
    ],
)
def test_pinned_image(objects, image, fragment):
    container(decode(objects), "vllm")["image"] = image
    assert_one_kind(violations(objects), "pinned-image", fragment)


def test_pinned_image_covers_init_containers(objects):
    container(decode(objects), "routing-proxy")["image"] = "ghcr.io/llm-d/llm-d-routing-sidecar:latest"
    assert_one_kind(violations(objects), "pinned-image", "initContainers 'routing-proxy'")


def test_digests_and_tags_are_pinned():
    assert inv.image_problem("gke.gcr.io/pause:3.8@sha256:" + "a" * 64) is None
    assert inv.image_problem("registry:5000/team/img:v1") is None
    assert inv.image_problem(inv.UNKNOWN) is None


@pytest.mark.parametrize("missing", ["cpu", "memory"])
def test_resource_requests(objects, missing):
    del container(find(objects, "Deployment", "epp"), "epp")["resources"]["requests"][missing]
    assert_one_kind(violations(objects), "resource-requests", f"requests no {missing}")


def test_resource_requests_cover_init_containers(objects):
    del container(decode(objects), "routing-proxy")["resources"]
    assert_one_kind(violations(objects), "resource-requests", "'routing-proxy' requests no cpu or memory")


def test_resource_requests_cover_jobs(objects):
    job = find(objects, "Job")
    del pod(job)["containers"][0]["resources"]["requests"]["memory"]
    assert_one_kind(violations(objects), "resource-requests", f"Job/llm-d-pd/{job['metadata']['name']}")


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_vllm_probes(objects, probe):
    del container(prefill(objects), "vllm")[probe]
    assert_one_kind(violations(objects), "vllm-probes", f"has no {probe}")


def test_no_privileged_container(objects):
    container(decode(objects), "vllm")["securityContext"] = {"privileged": True}
    assert_one_kind(violations(objects), "no-privileged", "'vllm' runs privileged")


def test_no_sys_admin(objects):
    container(prefill(objects), "vllm")["securityContext"] = {"capabilities": {"add": ["IPC_LOCK", "SYS_ADMIN"]}}
    assert_one_kind(violations(objects), "no-privileged", "adds ['SYS_ADMIN']")


def test_no_host_namespaces(objects):
    pod(find(objects, "Deployment", "epp"))["hostNetwork"] = True
    assert_one_kind(violations(objects), "no-privileged", "uses hostNetwork")


def test_only_the_rdma_installer_may_be_privileged(objects):
    installer = rdma_installer()
    assert violations(objects + [installer]) == []
    renamed = copy.deepcopy(installer)
    pod(renamed)["initContainers"][0]["image"] = "alpine:3.20"
    assert_one_kind(violations(objects + [renamed]), "no-privileged", "'installer' runs privileged")
    as_deployment = {**copy.deepcopy(installer), "kind": "Deployment"}
    assert_one_kind(violations(objects + [as_deployment]), "no-privileged", "uses hostNetwork")


def test_plaintext_secret_env(objects):
    container(prefill(objects), "vllm")["env"].append({"name": "WANDB_API_KEY", "value": "0123456789abcdef"})
    assert_one_kind(violations(objects), "secret-env", "sets WANDB_API_KEY as a plain value")


@pytest.mark.parametrize(
    "rule, fragment",
    [
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "patch"]}, "grants ['patch']"),
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}, "uses '*' in verbs"),
        ({"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}, "uses '*' in apiGroups"),
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}, "reads every Secret"),
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}, "grants ['create']"),
        ({"nonResourceURLs": ["/metrics"], "verbs": ["get", "post"]}, "grants ['post'] on ['/metrics']"),
    ],
)
def test_rbac_read_only(objects, rule, fragment):
    find(objects, "Role", "epp")["rules"].append(rule)
    found = violations(objects)
    assert any(v.startswith("[rbac-read-only]") and fragment in v for v in found), found


def test_rbac_allows_review_creates_for_metrics_auth(objects):
    assert inv.check_rbac_read_only(metrics_auth_role(objects)) == []


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("nodeSelector", {"bad key!": "x"}, "is not a valid label key"),
        ("nodeSelector", {"gpu": "has space"}, "is not a valid label value"),
        ("tolerations", [{"operator": "Equal"}], "operator must be Exists"),
        ("tolerations", [{"key": "k", "operator": "Exists", "value": "v"}], "Exists and a value"),
    ],
)
def test_pod_scheduling_fields(objects, field, value, fragment):
    pod(decode(objects))[field] = value
    assert_one_kind(violations(objects), "pod-scheduling", fragment)


def test_env_names_are_unique(objects):
    container(decode(objects), "vllm")["env"].append({"name": "HF_HUB_OFFLINE", "value": "0"})
    assert_one_kind(violations(objects), "env-unique", "sets HF_HUB_OFFLINE twice")


# --- relation checks ---------------------------------------------------------------------------
def test_unique_objects(objects):
    objects.append(copy.deepcopy(find(objects, "ConfigMap", "epp")))
    assert_one_kind(violations(objects), "unique-objects", "ConfigMap/llm-d-pd/gaie-pd-epp: defined 2 times")


def test_pool_must_select_every_model_server(objects):
    prefill(objects)["spec"]["template"]["metadata"]["labels"]["llm-d.ai/pool"] = "gaie-other"
    found = violations(objects)
    assert any(v.startswith("[pool-selector]") and "prefill: model-server pods are not selected" in v for v in found)


def test_pool_must_not_select_other_pods(objects):
    selector = find(objects, "InferencePool")["spec"]["selector"]["matchLabels"]
    find(objects, "Deployment", "epp")["spec"]["template"]["metadata"]["labels"].update(selector)
    found = violations(objects)
    assert any(v.startswith("[pool-selector]") and "epp, which is not a model server" in v for v in found), found


def test_pool_that_selects_nothing(objects):
    find(objects, "InferencePool")["spec"]["selector"]["matchLabels"]["llm-d.ai/guide"] = "other"
    found = violations(objects)
    assert any(v.startswith("[pool-selector]") and "selects no model-server pods" in v for v in found), found


def test_epp_pool_name(objects):
    args = container(find(objects, "Deployment", "epp"), "epp")["args"]
    args[args.index("--pool-name") + 1] = "gaie-other"
    assert_one_kind(violations(objects), "epp-pool", "serves pool 'gaie-other'")


def test_epp_service_missing(objects):
    find(objects, "InferencePool")["spec"]["endpointPickerRef"]["name"] = "nope"
    found = violations(objects)
    assert any(v.startswith("[epp-pool]") and "Service 'nope', which does not exist" in v for v in found), found


def test_epp_service_port(objects):
    find(objects, "InferencePool")["spec"]["endpointPickerRef"]["port"]["number"] = 9999
    found = violations(objects)
    assert any(v.startswith("[epp-pool]") and "has no port 9999" in v for v in found), found


def test_epp_grpc_port(objects):
    args = container(find(objects, "Deployment", "epp"), "epp")["args"]
    args[args.index("--grpc-port") + 1] = "9100"
    assert_one_kind(violations(objects), "epp-pool", "serves gRPC on 9100")


def test_route_gateway_missing(objects):
    find(objects, "HTTPRoute")["spec"]["parentRefs"][0]["name"] = "elsewhere"
    assert_one_kind(violations(objects), "route-refs", "Gateway llm-d-pd/elsewhere does not exist")


def test_route_listener(objects):
    find(objects, "HTTPRoute")["spec"]["parentRefs"][0]["sectionName"] = "https"
    assert_one_kind(violations(objects), "route-refs", "has no listener 'https'")


def test_route_listener_namespaces(objects):
    route = find(objects, "HTTPRoute")
    route["metadata"]["namespace"] = "other"
    route["spec"]["parentRefs"][0]["namespace"] = "llm-d-pd"
    route["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "llm-d-pd"
    assert_one_kind(violations(objects), "route-refs", "accepts HTTPRoutes from namespace other")


def test_route_pool_name(objects):
    find(objects, "HTTPRoute")["spec"]["rules"][0]["backendRefs"][0]["name"] = "gaie-other"
    assert_one_kind(violations(objects), "route-refs", "InferencePool inference.networking.k8s.io/llm-d-pd/gaie-other does not exist")


def test_route_pool_port(objects):
    find(objects, "HTTPRoute")["spec"]["rules"][0]["backendRefs"][0]["port"] = 8200
    assert_one_kind(violations(objects), "route-refs", "backend port 8200 is not a target port")


def test_ports_sidecar_vllm(objects):
    args = container(decode(objects), "routing-proxy")["args"]
    args[args.index("--vllm-port=8200")] = "--vllm-port=8300"
    assert_one_kind(violations(objects), "ports", "routing sidecar forwards to 8300, vLLM listens on 8200")


def test_ports_sidecar_pool(objects):
    args = container(decode(objects), "routing-proxy")["args"]
    args[args.index("--port=8000")] = "--port=8001"
    assert_one_kind(violations(objects), "ports", "routing sidecar listens on 8001")


def test_ports_prefill_vllm_pool(objects):
    vllm = container(prefill(objects), "vllm")
    vllm["args"][vllm["args"].index("--port") + 1] = "8100"
    vllm["ports"][0]["containerPort"] = 8100
    assert_one_kind(violations(objects), "ports", "vLLM listens on 8100, the pool gaie-pd targets 8000")


def test_ports_vllm_declares_its_port(objects):
    container(prefill(objects), "vllm")["ports"][0]["containerPort"] = 8100
    found = violations(objects)
    assert any(v.startswith("[ports]") and "does not declare that port" in v for v in found), found


def test_ports_every_nixl_rank_is_declared(objects):
    vllm = container(decode(objects), "vllm")
    vllm["args"] += ["--data-parallel-size", "2"]
    found = violations(objects)
    assert any(v.startswith("[ports]") and "NIXL side channel listens on 5601" in v for v in found), found


def test_vllm_reads_flags_like_vllm_does():
    """vLLM accepts `--a_b` for `--a-b`, `=` or a separate value, and the last occurrence wins."""
    flags = inv.parse_flags(["m", "--port", "8000", "--tensor-parallel-size", "2", "--tensor_parallel_size=8", "-dp", "2"])
    assert flags["--port"] == "8000"
    assert flags["--tensor-parallel-size"] == "8"
    assert flags["--data-parallel-size"] == "2"


def test_gpus_equal_tp_times_dp(objects):
    # The GPUs change, not DP: a second DP rank would also need its NIXL port declared and admitted.
    resources = container(decode(objects), "vllm")["resources"]
    resources["limits"]["nvidia.com/gpu"] = resources["requests"]["nvidia.com/gpu"] = "8"
    assert_one_kind(violations(objects), "gpus", "limit is 8, vLLM runs TP 4 x DP 1 = 4")


def test_gpus_extra_arg_that_overrides_tp(objects):
    """An override spelt with underscores is still read (vLLM normalises it), so the mismatch is caught."""
    container(prefill(objects), "vllm")["args"].append("--tensor_parallel_size=2")
    assert_one_kind(violations(objects), "gpus", "vLLM runs TP 2 x DP 1 = 2")


def test_gpus_fit_a_node(objects):
    assert_one_kind(violations(objects, Context(gpus_per_node=2)), "gpus", "pods need 4 GPUs, a node has 2")


def test_gpu_request_equals_limit(objects):
    container(decode(objects), "vllm")["resources"]["requests"]["nvidia.com/gpu"] = "2"
    assert_one_kind(violations(objects), "gpus", "request 2 differs from its limit 4")


def test_rdma_resource_requested(objects, ib_context):
    del container(prefill(objects), "vllm")["resources"]["limits"]["rdma/ib"]
    assert_one_kind(violations(objects, ib_context), "rdma", "vLLM limits rdma/ib=None")


def test_declared_tolerations_reach_pods(objects):
    declared = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    context = Context(tolerations={"decode": [declared]})
    assert_one_kind(violations(objects, context), "scheduling", "declared toleration")
    pod(decode(objects))["tolerations"] = [declared]
    assert violations(objects, context) == []


def test_declared_node_selector_reaches_pods(objects):
    context = Context(node_selectors={"prefill": {"gpu.nvidia.com/model": "H200"}})
    assert_one_kind(violations(objects, context), "scheduling", "declared nodeSelector gpu.nvidia.com/model=H200")


def test_epp_rbac_extra_resource(objects):
    find(objects, "Role", "epp")["rules"].append({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]})
    assert_one_kind(violations(objects), "epp-rbac", "grants ['get'] on core/configmaps")


def test_epp_rbac_binding_to_missing_role(objects):
    find(objects, "RoleBinding", "epp")["roleRef"]["name"] = "gone"
    assert_one_kind(violations(objects), "epp-rbac", "Role 'gone', which does not exist")


def test_epp_rbac_write_verb(objects):
    metrics_auth_role(objects)["rules"].append({"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]})
    found = violations(objects)
    assert any(v.startswith("[epp-rbac]") and "grants ['delete'] on core/pods" in v for v in found), found


def test_secret_value_in_a_plain_field(objects):
    find(objects, "ConfigMap", "epp")["data"]["leak"] = f"token={HF_TOKEN}"
    assert_one_kind(violations(objects), "secrets", "data.leak holds a Secret's value")


def test_secret_key_ref_must_resolve(objects):
    env = container(decode(objects), "vllm")["env"]
    env.append({"name": "OTHER", "valueFrom": {"secretKeyRef": {"name": "missing", "key": "k"}}})
    assert_one_kind(violations(objects), "secrets", "reads Secret 'missing', which does not exist")


# --- who may call the model ----------------------------------------------------------------------
def test_public_gateway_without_authentication(objects):
    """The ib stack's Gateway made public (a LoadBalancer data plane) with nothing checking keys."""
    find(objects, "ConfigMap", "inference-gateway")["data"]["service"] = "spec:\n  type: LoadBalancer\n"
    assert_one_kind(violations(objects), "public-gateway-auth", "is public")


def test_public_gke_class_without_cloud_armor(objects):
    gateway = find(objects, "Gateway")
    gateway["spec"]["gatewayClassName"] = "gke-l7-regional-external-managed"
    gateway["spec"].pop("infrastructure", None)
    assert_one_kind(violations(objects), "public-gateway-auth", "class gke-l7-regional-external-managed")


def test_public_gateway_authenticated_by_an_istio_policy_passes(objects):
    """The check can pass too: the same public Gateway with a CUSTOM AuthorizationPolicy on it."""
    find(objects, "ConfigMap", "inference-gateway")["data"]["service"] = "spec:\n  type: LoadBalancer\n"
    gateway = find(objects, "Gateway")
    objects.append({
        "apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
        "metadata": {"name": "k", "namespace": gateway["metadata"]["namespace"]},
        "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway["metadata"]["name"]}],
                 "action": "CUSTOM", "provider": {"name": "p"}, "rules": [{}]},
    })
    assert inv.check_public_gateway_authenticated(objects) == []


def test_model_server_without_network_policy(objects):
    objects[:] = [o for o in objects if not (o["kind"] == "NetworkPolicy" and o["metadata"]["name"].endswith("-prefill"))]
    assert_one_kind(violations(objects), "model-server-netpol", "no NetworkPolicy selects its pods")


def test_model_server_port_forgotten_by_its_policy(objects):
    policy = find(objects, "NetworkPolicy", "modelservice-prefill")
    # Drop the other role's rule (every port, for NIXL's side channel and UCX over TCP).
    policy["spec"]["ingress"] = [r for r in policy["spec"]["ingress"] if "ports" in r]
    assert_one_kind(violations(objects), "model-server-netpol", "port 5600 (nixl) is in no NetworkPolicy ingress rule")


def test_model_server_port_open_to_everyone(objects):
    policy = find(objects, "NetworkPolicy", "modelservice-decode")
    policy["spec"]["ingress"][0].pop("from")
    assert_one_kind(violations(objects), "model-server-netpol", "is open to every source")


def test_secret_values_unmarked_in_pulumi_state(ib_run):
    run = copy.deepcopy(ib_run)
    secret = next(r for r in run.registrations if r.is_kube_object and r.kind == "Secret" and "stringData" in r.inputs)
    secret.secret_inputs.discard("stringData")
    found = inv.check_secrets_in_state(run)
    assert any("stringData is not marked secret" in v for v in found), found
    run = copy.deepcopy(ib_run)
    component = next(r for r in run.registrations if not r.custom)
    component.inputs["note"] = HF_TOKEN
    found = inv.check_secrets_in_state(run, Context(secret_values=frozenset({HF_TOKEN})))
    assert any("input note holds a secret value unmarked" in v for v in found), found
    run.outputs["curl"] = f"-H 'Authorization: Bearer {HF_TOKEN}'"
    assert any("stack output curl" in v for v in inv.check_secrets_in_state(run, Context(secret_values=frozenset({HF_TOKEN}))))


# --- GKE wiring --------------------------------------------------------------------------------
def rdma_installer() -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "nccl-rdma-installer", "namespace": "kube-system"},
        "spec": {
            "selector": {"matchLabels": {"name": "nccl-rdma-installer"}},
            "template": {
                "metadata": {"labels": {"name": "nccl-rdma-installer"}},
                "spec": {
                    "hostNetwork": True,
                    "hostPID": True,
                    "tolerations": [{"operator": "Exists"}],
                    "initContainers": [
                        {
                            "name": "installer",
                            "image": "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib:v1.1.1",
                            "securityContext": {"privileged": True},
                            "resources": {"requests": {"cpu": "150m", "memory": "64Mi"}},
                        }
                    ],
                    "containers": [
                        {
                            "name": "pause",
                            "image": "gke.gcr.io/pause:3.8@sha256:880e63f94b145e46f1b1082bb71b85e21f16b99b180b9996407d61240ceb9830",
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ],
                },
            },
        },
    }


def gke_wired(objects):
    """The ib objects wired the way the gke platform wires pods (path A), with its GPU pool."""
    interfaces = [{"interfaceName": "eth0", "network": "default"}] + [
        {"interfaceName": f"eth{i + 2}", "network": n} for i, n in enumerate(RDMA_NETWORKS)
    ]
    for deployment in (prefill(objects), decode(objects)):
        template = deployment["spec"]["template"]
        template["metadata"]["annotations"] = {
            inv.GKE_DEFAULT_INTERFACE: "eth0",
            inv.GKE_INTERFACES: json.dumps(interfaces),
        }
        template["spec"]["nodeSelector"] = {"cloud.google.com/gke-nodepool": "gpu"}
        template["spec"]["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        for resources in container(deployment, "vllm")["resources"].values():
            resources.pop("rdma/ib", None)
    for name in RDMA_NETWORKS:
        objects.append({"apiVersion": inv.GKE_NETWORK_API, "kind": "GKENetworkParamSet", "metadata": {"name": name}, "spec": {"vpc": "rdma", "vpcSubnet": name, "deviceMode": "RDMA"}})
        objects.append(
            {
                "apiVersion": inv.GKE_NETWORK_API,
                "kind": "Network",
                "metadata": {"name": name},
                "spec": {"type": "Device", "parametersRef": {"group": "networking.gke.io", "kind": "GKENetworkParamSet", "name": name}},
            }
        )
    objects.append(rdma_installer())
    pools = (
        inv.node_pool_from_gcp("gke-gpu", {"name": "gpu", "nodeConfig": {"machineType": "a3-ultragpu-8g", "guestAccelerators": [{"type": "nvidia-h200-141gb", "count": 8}], "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]}, "nodeLocations": ["europe-west1-b"]}),
        inv.node_pool_from_gcp("gke-system", {"name": "system", "nodeConfig": {"machineType": "e2-standard-16"}}),
    )
    return objects, Context(gpus_per_node=8, platform="gke", node_pools=pools)


def test_node_pool_from_gcp_inputs():
    pool = inv.node_pool_from_gcp("res", {"name": "gpu", "nodeConfig": {"machineType": "a3-ultragpu-8g", "spot": True, "labels": {"team": "ml"}, "guestAccelerators": [{"type": "nvidia-h200-141gb", "count": 8}], "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]}, "nodeLocations": ["us-central1-a"]})
    assert pool == NodePool(
        name="gpu",
        labels={
            "team": "ml",
            "cloud.google.com/gke-nodepool": "gpu",
            "cloud.google.com/gke-accelerator": "nvidia-h200-141gb",
            "node.kubernetes.io/instance-type": "a3-ultragpu-8g",
            "topology.kubernetes.io/zone": "us-central1-a",
            "cloud.google.com/gke-spot": "true",
        },
        taints=[GPU_TAINT],
        gpus=8,
    )
    autonamed = inv.node_pool_from_gcp("res", {"nodeConfig": {}})
    assert "cloud.google.com/gke-nodepool" not in autonamed.labels  # its real name is not known


def test_gke_network_object_missing(objects):
    gke_objects, context = gke_wired(objects)
    gke_objects.remove(next(o for o in gke_objects if o["kind"] == "Network" and o["metadata"]["name"] == "rdma-3"))
    assert_one_kind(violations(gke_objects, context), "rdma", "uses network 'rdma-3', which has no Network object")


def test_gke_network_params_missing(objects):
    gke_objects, context = gke_wired(objects)
    gke_objects.remove(next(o for o in gke_objects if o["kind"] == "GKENetworkParamSet" and o["metadata"]["name"] == "rdma-0"))
    assert_one_kind(violations(gke_objects, context), "rdma", "GKENetworkParamSet 'rdma-0', which does not exist")


@pytest.mark.parametrize(
    "interfaces, fragment",
    [
        ("not json", "is not JSON"),
        ('[{"interfaceName": "eth2", "network": "rdma-0"}]', "leaves out the default pod network"),
        ('[{"interfaceName": "eth0", "network": "default"}, {"interfaceName": "eth0", "network": "rdma-0"}]', "repeats an interface name"),
    ],
)
def test_gke_interfaces_annotation(objects, interfaces, fragment):
    gke_objects, context = gke_wired(objects)
    decode(gke_objects)["spec"]["template"]["metadata"]["annotations"][inv.GKE_INTERFACES] = interfaces
    found = violations(gke_objects, context)
    assert any(v.startswith("[rdma]") and fragment in v for v in found), found


def test_gke_pods_without_rdma_networks(objects):
    gke_objects, context = gke_wired(objects)
    del prefill(gke_objects)["spec"]["template"]["metadata"]["annotations"][inv.GKE_INTERFACES]
    found = violations(gke_objects, context)
    assert any(v.startswith("[rdma]") and "get no RDMA NICs" in v for v in found), found


def test_gke_gpu_taint_not_tolerated(objects):
    gke_objects, context = gke_wired(objects)
    pod(decode(gke_objects))["tolerations"] = []
    assert_one_kind(violations(gke_objects, context), "scheduling", "do not tolerate the GPU pool taints ['nvidia.com/gpu=present:NoSchedule']")


def test_gke_node_selector_matches_no_pool(objects):
    gke_objects, context = gke_wired(objects)
    pod(prefill(gke_objects))["nodeSelector"] = {"cloud.google.com/gke-nodepool": "gpu-old"}
    assert_one_kind(violations(gke_objects, context), "scheduling", "matches no GPU node pool (gpu)")


def test_gke_pods_fit_the_pool_they_land_on(objects):
    gke_objects, context = gke_wired(objects)
    small = NodePool("gpu", {"cloud.google.com/gke-nodepool": "gpu"}, [GPU_TAINT], gpus=2)
    context = Context(platform="gke", node_pools=(small,))
    assert_one_kind(violations(gke_objects, context), "gpus", "pods need 4 GPUs, a node has 2")


def test_every_invariant_is_exercised_above():
    """A new invariant needs a failing case here too."""
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    for tag in [*inv.OBJECT_CHECKS, *inv.RELATION_CHECKS]:
        assert f'"{tag}"' in source or f'"[{tag}]' in source, f"no test makes [{tag}] fail"
