"""The verification Job: wired to the same names, selectors and ports as what it verifies."""

from components.verification import script_text
from components.verification.job import serving_fingerprint
from components.config.load import validate
from conftest import run_stack
from tools.mock_runtime import stack_config

JOB = "ms-pd-llm-d-modelservice-verify"


def env_of(job):
    return {e["name"]: e["value"] for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_on_by_default_and_waits_for_everything_that_serves(ib):
    job = ib.one("Job", JOB)
    waits_for = set(job.dependencies)
    assert ib.one("HTTPRoute").urn in waits_for and ib.one("InferencePool").urn in waits_for
    for role in ("prefill", "decode"):
        assert ib.one("Deployment", f"ms-pd-llm-d-modelservice-{role}").urn in waits_for
    assert job.custom_timeouts["create"], "pulumi up waits for the Job with a sized timeout"
    assert ib.outputs["verification"]["logs"] == f"kubectl -n llm-d-pd logs job/{JOB}"


def test_checks_exactly_the_deployed_pods_ports_and_picker(ib):
    env = env_of(ib.one("Job", JOB))
    for role in ("prefill", "decode"):
        deployment = ib.one("Deployment", f"ms-pd-llm-d-modelservice-{role}")
        selector = deployment.inputs["spec"]["selector"]["matchLabels"]
        assert set(env[f"{role.upper()}_SELECTOR"].split(",")) == {f"{k}={v}" for k, v in selector.items()}
        vllm = next(c for c in deployment.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm")
        assert env[f"{role.upper()}_METRICS_PORT"] == str(next(p["containerPort"] for p in vllm["ports"] if p["name"] == "vllm"))
    service = ib.one("Service", "gaie-pd-epp")
    metrics_port = next(p["port"] for p in service.inputs["spec"]["ports"] if p["name"] == "http-metrics")
    assert env["EPP_METRICS_URL"] == f"http://gaie-pd-epp.llm-d-pd.svc.cluster.local:{metrics_port}/metrics"
    assert env["MODEL"] == "openai/gpt-oss-120b"
    assert env["GATEWAY_URL"] == "http://infra-pd-inference-gateway-istio.llm-d-pd.svc.cluster.local:80"


def test_runs_our_script_with_least_privilege(ib):
    assert ib.one("ConfigMap", JOB).inputs["data"] == {"verify_pd.py": script_text()}
    assert ib.one("Role", JOB).inputs["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    reader = ib.one("ClusterRole", "gaie-pd-llm-d-pd-epp-metrics-reader")
    assert reader.inputs["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    container = ib.one("Job", JOB).inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}


def test_can_be_turned_off():
    run = run_stack("ib", {"verification": {"enabled": False}})
    assert not run.kube("Job", JOB) and "verification" not in run.outputs


def test_a_serving_change_runs_it_again():
    base = validate(stack_config("ib"), set(), "ib", "llmd")
    scaled = validate(stack_config("ib", {"decode": {"replicas": 2}}), set(), "ib", "llmd")
    unrelated = validate(stack_config("ib", {"monitoring": {"enabled": False}}), set(), "ib", "llmd")
    fabric = validate(
        stack_config("ib", {"platform": {"kind": "existing", "context": "my-ib-cluster", "rdma": {"env": {"UCX_TLS": "rc,cuda_ipc"}}}}), set(), "ib", "llmd"
    )
    assert serving_fingerprint(base) != serving_fingerprint(scaled)
    assert serving_fingerprint(base) != serving_fingerprint(fabric)
    assert serving_fingerprint(base) == serving_fingerprint(unrelated)


def test_benchmark_runs_after_verification():
    run = run_stack("ib", {"benchmark": {"enabled": True}})
    assert run.one("Job", JOB).urn in next(j for j in run.kube("Job") if j.name == "benchmark").dependencies
