"""Relations between objects that must hold by construction, for every variant of the ib stack."""

import pytest

from conftest import HF_TOKEN, run_stack
from tools.mock_runtime import ProgramRun

VARIANTS = {
    "guide": {},
    "second release in the namespace": {"releaseSuffix": "pd-2", "createNamespace": False},
    "per-pod download, as upstream": {"modelCache": {"mode": "download"}},
    "kgateway, 2P2D at TP2/TP4 with DP2 decode": {
        "gateway": {"provider": "kgateway"},
        "prefill": {"replicas": 2, "tensorParallel": 2},
        "decode": {"replicas": 2, "tensorParallel": 4, "dataParallel": 2},
    },
}


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def run(request) -> ProgramRun:
    return run_stack("ib", VARIANTS[request.param])


def pod_templates(run):
    return {d.object_name: d.inputs["spec"]["template"] for d in run.kube("Deployment")}


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def containers(template):
    spec = template["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def arg_after(args, flag):
    return args[args.index(flag) + 1]


def flag_value(args, name):
    return next(a.split("=", 1)[1] for a in args if a.startswith(f"{name}="))


def model_servers(run):
    return {d.object_name: d for d in run.kube("Deployment") if "llm-d.ai/role" in d.inputs["spec"]["template"]["metadata"]["labels"]}


def test_pool_selects_exactly_the_model_server_pods(run):
    pool = run.one("InferencePool")
    selector = pool.inputs["spec"]["selector"]["matchLabels"]
    selected = {name for name, t in pod_templates(run).items() if selects(selector, t["metadata"]["labels"])}
    assert selected == set(model_servers(run)) and len(selected) == 2


def test_each_deployment_selects_its_own_pods_only(run):
    templates = pod_templates(run)
    for deployment in run.kube("Deployment"):
        selector = deployment.inputs["spec"]["selector"]["matchLabels"]
        matched = {name for name, t in templates.items() if selects(selector, t["metadata"]["labels"])}
        assert matched == {deployment.object_name}


def test_picker_serves_the_pool(run):
    pool, epp = run.one("InferencePool"), run.one("Deployment", run.one("InferencePool").inputs["spec"]["endpointPickerRef"]["name"])
    args = epp.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    assert arg_after(args, "--pool-name") == pool.object_name
    assert arg_after(args, "--pool-namespace") == pool.inputs["metadata"]["namespace"]
    ref = pool.inputs["spec"]["endpointPickerRef"]
    service = run.one("Service", ref["name"])
    assert ref["port"]["number"] in {p["port"] for p in service.inputs["spec"]["ports"]}
    assert arg_after(args, "--grpc-port") == str(ref["port"]["number"])
    assert selects(service.inputs["spec"]["selector"], epp.inputs["spec"]["template"]["metadata"]["labels"])


def test_route_refs_resolve(run):
    route = run.one("HTTPRoute")
    gateway, pool = run.one("Gateway"), run.one("InferencePool")
    parent = route.inputs["spec"]["parentRefs"][0]
    assert parent["name"] == gateway.object_name
    assert parent["sectionName"] in {l["name"] for l in gateway.inputs["spec"]["listeners"]}
    backend = route.inputs["spec"]["rules"][0]["backendRefs"][0]
    assert (backend["kind"], backend["name"]) == ("InferencePool", pool.object_name)
    assert backend["port"] == pool.inputs["spec"]["targetPorts"][0]["number"]
    namespaces = {r.inputs["metadata"]["namespace"] for r in (route, gateway, pool)}
    assert len(namespaces) == 1


def test_ports_agree_between_pool_sidecar_and_vllm(run):
    target = run.one("InferencePool").inputs["spec"]["targetPorts"][0]["number"]
    for name, deployment in model_servers(run).items():
        template = deployment.inputs["spec"]["template"]
        by_name = {c["name"]: c for c in containers(template)}
        vllm_port = int(arg_after(by_name["vllm"]["args"], "--port"))
        assert {p["name"]: p["containerPort"] for p in by_name["vllm"]["ports"]}["vllm"] == vllm_port
        if "routing-proxy" in by_name:
            sidecar = by_name["routing-proxy"]["args"]
            assert int(flag_value(sidecar, "--port")) == target
            assert int(flag_value(sidecar, "--vllm-port")) == vllm_port != target
        else:
            assert vllm_port == target, f"{name}: prefill vLLM must listen on the pool port"


def test_gpus_and_rdma_per_pod(run):
    for deployment in model_servers(run).values():
        vllm = next(c for c in containers(deployment.inputs["spec"]["template"]) if c["name"] == "vllm")
        args = vllm["args"]
        tp = int(arg_after(args, "--tensor-parallel-size"))
        dp = int(arg_after(args, "--data-parallel-size")) if "--data-parallel-size" in args else 1
        limits = vllm["resources"]["limits"]
        assert int(limits["nvidia.com/gpu"]) == tp * dp <= 8
        assert limits["rdma/ib"] == "1"
        assert vllm["resources"]["requests"] == limits


def test_hf_token_reaches_containers_only_through_secret_key_ref(run):
    secret = run.one("Secret", next(s.object_name for s in run.kube("Secret") if s.object_name.startswith("llm-d-hf-token")))
    assert "stringData" in secret.secret_inputs
    downloaders = []
    for workload in run.kube("Deployment") + run.kube("Job"):
        for c in containers(workload.inputs["spec"]["template"]):
            env = {e["name"]: e for e in c.get("env", [])}
            if "HF_TOKEN" not in env:
                continue
            downloaders.append(workload.object_name)
            assert env["HF_TOKEN"] == {
                "name": "HF_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": secret.object_name, "key": "HF_TOKEN"}},
            }
            assert secret.urn in workload.dependencies or any(secret.urn in r.dependencies for r in run.ancestors(workload))
    # Exactly the workloads that pull from the hub hold the token: the fill Job, or every server in download mode.
    expected = {j.object_name for j in run.kube("Job") if j.object_name.endswith("-model-fill")} or set(model_servers(run))
    assert set(downloaders) == expected
    leaks = [r.urn for r in run.registrations if HF_TOKEN in repr(r.inputs) and r.urn != secret.urn]
    assert leaks == []
    assert HF_TOKEN not in repr(run.outputs)


def test_custom_resources_wait_for_their_crds(run):
    bundles = {r.urn for r in run.kube("CustomResourceDefinition")}
    assert bundles
    for kind in ("InferencePool", "Gateway"):
        assert bundles <= set(run.one(kind).dependencies), kind


def test_release_suffix_renames_everything():
    default, second = run_stack("ib"), run_stack("ib", VARIANTS["second release in the namespace"])
    names = lambda r: {(o.kind, o.object_name) for o in r.kube() if o.kind not in ("Namespace", "CustomResourceDefinition")}  # noqa: E731
    assert names(default).isdisjoint(names(second))
    first_pool = default.one("InferencePool").inputs["spec"]["selector"]["matchLabels"]
    for template in pod_templates(second).values():
        assert not selects(first_pool, template["metadata"]["labels"]), "one release's pool selects the other's pods"


def test_every_nixl_side_channel_port_is_declared(run):
    """vLLM listens on VLLM_NIXL_SIDE_CHANNEL_PORT + DP rank (vllm-project/vllm@v0.14.1:
    vllm/distributed/kv_transfer/kv_connector/v1/nixl_connector.py, NixlConnectorScheduler)."""
    for deployment in model_servers(run).values():
        vllm = next(c for c in containers(deployment.inputs["spec"]["template"]) if c["name"] == "vllm")
        env = {e["name"]: e.get("value") for e in vllm["env"]}
        dp = int(arg_after(vllm["args"], "--data-parallel-size")) if "--data-parallel-size" in vllm["args"] else 1
        declared = {p["containerPort"] for p in vllm["ports"]}
        wanted = {int(env["VLLM_NIXL_SIDE_CHANNEL_PORT"]) + rank for rank in range(dp)}
        assert wanted <= declared, (deployment.object_name, wanted, declared)
        assert len({p["name"] for p in vllm["ports"]}) == len(vllm["ports"])


def test_pods_carry_upstreams_parallelism_env_and_hardware_labels(run):
    """As llm-d-incubation/llm-d-modelservice@llm-d-modelservice-v0.4.5:charts/llm-d-modelservice/
    templates/_helpers.tpl sets them (parallelismEnv; pdlabels from the guide's modelArtifacts.labels)."""
    for deployment in model_servers(run).values():
        template = deployment.inputs["spec"]["template"]
        labels = template["metadata"]["labels"]
        assert labels["llm-d.ai/accelerator-vendor"] == "nvidia" and labels["llm-d.ai/hardware-vairant"] == "gpu"
        assert "llm-d.ai/hardware-vairant" not in deployment.inputs["spec"]["selector"]["matchLabels"]
        vllm = next(c for c in containers(template) if c["name"] == "vllm")
        env = {e["name"]: e.get("value") for e in vllm["env"]}
        args = vllm["args"]
        tp = arg_after(args, "--tensor-parallel-size")
        dp = arg_after(args, "--data-parallel-size") if "--data-parallel-size" in args else "1"
        assert (env["TP_SIZE"], env["DP_SIZE"], env["DP_SIZE_LOCAL"]) == (tp, dp, dp)
