"""The guide's inference-perf benchmark as an optional Job, wired to the stack's Gateway and model."""

import yaml

from conftest import run_stack


def named(run, kind: str, pulumi_name: str):
    """By Pulumi name: a run's object names carry a digest of what it reads."""
    return next(r for r in run.kube(kind) if r.name == pulumi_name)


def test_off_by_default(ib):
    assert not [j for j in ib.kube("Job") if "-bench" in j.object_name]
    assert "benchmark" not in ib.outputs


def test_sanity_random_through_the_gateway():
    run = run_stack("ib", {"benchmark": {"enabled": True}})
    workload = yaml.safe_load(named(run, "ConfigMap", "benchmark-config").inputs["data"]["config.yml"])
    stages = workload["load"]["stages"]
    assert [s["concurrency_level"] for s in stages] == [50, 100, 200, 300, 400]
    assert sum(s["num_requests"] for s in stages) == 10500
    assert workload["data"]["input_distribution"] == {"min": 1000, "max": 1000, "mean": 1000, "std": 0}
    assert workload["server"]["model_name"] == "openai/gpt-oss-120b"
    assert workload["server"]["base_url"] == "http://infra-pd-inference-gateway-istio.llm-d-pd.svc.cluster.local:80"
    assert workload["report"]["request_lifecycle"] == {"summary": True, "per_stage": True, "per_request": True}

    job = named(run, "Job", "benchmark")
    pod = job.inputs["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "quay.io/inference-perf/inference-perf:v0.4.0"
    results = next(v for v in pod["volumes"] if v["name"] == "results")
    claim = named(run, "PersistentVolumeClaim", "benchmark-results")
    assert claim.object_name.startswith("ms-pd-llm-d-modelservice-bench-results-")
    assert results["persistentVolumeClaim"]["claimName"] == claim.object_name
    assert claim.object_name in run.outputs["benchmark"]["fetch"]
    waits_for = set(job.dependencies)
    assert run.one("HTTPRoute").urn in waits_for
    assert {run.one("Deployment", f"ms-pd-llm-d-modelservice-{r}").urn for r in ("prefill", "decode")} <= waits_for
    assert "make bench-report" in run.outputs["benchmark"]["report"]


def test_follows_the_model_and_stages_of_the_stack():
    run = run_stack(
        "ib",
        {"benchmark": {"enabled": True, "stages": [{"concurrency": 8, "requests": 80}], "inputTokens": 4000},
         "model": {"name": "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"}},
    )
    workload = yaml.safe_load(named(run, "ConfigMap", "benchmark-config").inputs["data"]["config.yml"])
    assert workload["load"]["stages"] == [{"num_requests": 80, "concurrency_level": 8}]
    assert workload["data"]["input_distribution"]["mean"] == 4000
    assert workload["tokenizer"]["pretrained_model_name_or_path"] == "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"
