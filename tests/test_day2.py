"""Day 2 under the real engine: a stack changed and updated again, a failed Job, a storage change.

Each test compares what two runs register (before and after a config change) and derives the step
the engine takes for each object (tests/engine_steps.py, pulumi-kubernetes' own replace rules).
"""

import pytest

from components import cold_start, scheduler_config
from components.kube import content_hash
from components.versions import HF_HUB_REQUIREMENT
from conftest import run_stack
from engine_steps import CREATE, DELETE, REPLACE_CREATE_FIRST, REPLACE_DELETE_FIRST, SAME, UPDATE, by_name, step, steps
from tools.mock_runtime import ProgramRun, run_program, stack_config

ROLES = ("prefill", "decode")
BENCH = {"benchmark": {"enabled": True}}


def template(r):
    return r.inputs["spec"]["template"]


def annotations(r) -> dict:
    return r.inputs["metadata"].get("annotations") or {}


@pytest.fixture(scope="module")
def gke() -> ProgramRun:
    return run_program("gke", stack_config("gke"))


# --- 1. a failed Job never blocks the next update ----------------------------------------------
@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_every_awaited_job_is_replaced_when_not_ready(stack, ib, gke):
    """pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/provider.go `Diff`: with
    `pulumi.com/replaceUnready: "true"` a Job whose live status is not complete is replaced, so the
    next `pulumi up` runs it again instead of awaiting the failed one (metadata/annotations.go
    AnnotationReplaceUnready)."""
    run = run_stack(stack, BENCH) if stack == "ib" else run_program("gke", stack_config("gke", BENCH))
    jobs = run.kube("Job")
    awaited = [j for j in jobs if annotations(j).get("pulumi.com/skipAwait") != "true"]
    assert {j.name for j in awaited} == {"model-cache-fill", "verification"}
    for job in awaited:
        assert annotations(job).get("pulumi.com/replaceUnready") == "true", job.object_name
    # Not awaited, not replaced while it runs: the benchmark.
    (bench,) = [j for j in jobs if j not in awaited]
    assert "pulumi.com/replaceUnready" not in annotations(bench)


# --- 2. the benchmark ------------------------------------------------------------------------------
def test_a_benchmark_change_is_a_new_run_under_a_new_name():
    """skipAwait also skips awaiting a Job's deletion (provider/pkg/metadata/overrides.go
    `DeletedCondition`), so the same name replaced would race; a new name cannot."""
    base = run_stack("ib", BENCH)
    again = run_stack("ib", BENCH)
    changes = {
        "stages": {"benchmark": {"enabled": True, "stages": [{"concurrency": 8, "requests": 80}]}},
        "tokens": {"benchmark": {"enabled": True, "outputTokens": 200}},
        "image": {**BENCH, "versions": {"inferencePerfImage": "quay.io/inference-perf/inference-perf:v0.3.0"}},
    }
    job, config_map = by_name(base, "benchmark", "Job"), by_name(base, "benchmark-config", "ConfigMap")
    assert job.object_name == config_map.object_name
    assert template(job)["spec"]["volumes"][0] == {"name": "config", "configMap": {"name": config_map.object_name}}
    assert job.delete_before_replace, "the old run stops before the new one loads the Gateway"
    assert steps(base, again)[job.urn] == SAME, "an unchanged stack does not re-run it"
    for what, overrides in changes.items():
        changed = run_stack("ib", overrides)
        new_job = by_name(changed, "benchmark", "Job")
        assert new_job.object_name != job.object_name, what
        assert step(job, new_job) == REPLACE_DELETE_FIRST, what
        assert step(config_map, by_name(changed, "benchmark-config", "ConfigMap")) == REPLACE_CREATE_FIRST, what
    assert base.outputs["benchmark"]["follow"].endswith(f"job/{job.object_name}")


def test_a_new_results_class_is_a_new_claim_and_a_new_run():
    """A running benchmark mounts its results claim: replaced under its name, the delete would wait
    for the run (pvc-protection); a new claim, created first, and a new run do not."""
    base = run_stack("ib", BENCH)
    after = run_stack("ib", {"benchmark": {"enabled": True, "storageClass": "fast-rwo"}})
    old_claim, new_claim = by_name(base, "benchmark-results"), by_name(after, "benchmark-results")
    assert step(old_claim, new_claim) == REPLACE_CREATE_FIRST
    job = by_name(after, "benchmark", "Job")
    assert template(job)["spec"]["volumes"][1]["persistentVolumeClaim"]["claimName"] == new_claim.object_name
    assert step(by_name(base, "benchmark", "Job"), job) == REPLACE_DELETE_FIRST


# --- 4. rolling updates --------------------------------------------------------------------------
@pytest.mark.parametrize("replicas, batch", [(4, 1), (5, 2), (16, 4)])
def test_rolling_update_budget_covers_every_serial_round(replicas, batch):
    run = run_stack("ib", {"prefill": {"replicas": replicas}})
    prefill = by_name(run, "prefill", "Deployment")
    assert prefill.inputs["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": batch}
    rounds = -(-replicas // batch)
    assert rounds <= 4
    per_round = cold_start.startup_budget_seconds(65, "pvc") + cold_start.IMAGE_PULL_SECONDS
    assert prefill.custom_timeouts == {
        "create": cold_start.rollout_wait(65, "pvc"),
        "update": cold_start.minutes(rounds * per_round),
    }


def test_gke_update_budget_includes_node_provisioning_once(gke):
    decode = by_name(gke, "decode", "Deployment")
    assert decode.custom_timeouts["update"] == cold_start.update_wait(65, "gcs", 1, 90 * 60)


# --- 5. GPU workloads are replaced delete-first ------------------------------------------------------
@pytest.mark.parametrize("rename", [{"releaseSuffix": "pd2"}, {"namespace": "llm-d-team-b"}])
def test_a_rename_frees_the_gpus_before_new_pods_ask_for_them(ib, rename):
    after = run_stack("ib", rename)
    for role in ROLES:
        before_d, after_d = by_name(ib, role, "Deployment"), by_name(after, role, "Deployment")
        assert after_d.delete_before_replace
        assert step(before_d, after_d) == REPLACE_DELETE_FIRST
    # Nothing else holds GPUs: every other replaced object may be created first.
    gpu_holders = {
        r.urn
        for r in after.kube()
        if "nvidia.com/gpu" in repr((r.inputs.get("spec") or {}).get("template", {}).get("spec", {}).get("containers"))
    }
    assert gpu_holders == {by_name(after, role, "Deployment").urn for role in ROLES}


def test_gke_gpu_deployments_are_replaced_delete_first(gke):
    assert all(by_name(gke, role, "Deployment").delete_before_replace for role in ROLES)


# --- 14. config read at start rolls its reader -----------------------------------------------------
def test_a_scheduler_config_change_rolls_the_picker(ib):
    after = run_stack("ib", {"scheduler": {"selectivePdThreshold": 100}})
    before_epp, after_epp = by_name(ib, "pool-epp", "Deployment"), by_name(after, "pool-epp", "Deployment")
    for run, epp in ((ib, before_epp), (after, after_epp)):
        config_map = by_name(run, "pool-epp", "ConfigMap")
        digest = template(epp)["metadata"]["annotations"][scheduler_config.CONFIG_HASH_ANNOTATION]
        assert digest == content_hash(config_map.inputs["data"][scheduler_config.CONFIG_FILE])
    assert template(before_epp) != template(after_epp), "a new pod template: the Deployment rolls"
    assert step(before_epp, after_epp) == UPDATE
    # The ConfigMap (read by the new pod) is replaced before the Deployment that depends on it updates.
    config_map = by_name(after, "pool-epp", "ConfigMap")
    assert step(by_name(ib, "pool-epp", "ConfigMap"), config_map) == REPLACE_DELETE_FIRST
    assert config_map.urn in after_epp.dependencies


def test_the_verifier_runs_again_when_its_script_changes(ib, monkeypatch):
    from components.verification import job as verification_job

    job = by_name(ib, "verification", "Job")
    script = by_name(ib, "verification-script", "ConfigMap")
    (text,) = script.inputs["data"].values()
    assert template(job)["metadata"]["annotations"][verification_job.SCRIPT_HASH_ANNOTATION] == content_hash(text)
    monkeypatch.setattr(verification_job, "script_text", lambda *metrics: text + "\n# changed\n")
    after = by_name(run_stack("ib"), "verification", "Job")
    assert step(job, after) == REPLACE_DELETE_FIRST


# --- 15. the fill follows the model and the storage only -------------------------------------------
@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_a_vllm_image_bump_leaves_the_fill_job_alone(stack, ib, gke):
    base = ib if stack == "ib" else gke
    bump = {"versions": {"vllmImage": "ghcr.io/llm-d/llm-d-cuda:v0.5.1"}}
    if stack == "ib":  # and nothing else that serves touches it either
        prefill = {**stack_config("ib")["prefill"], "replicas": 2, "extraArgs": ["--enforce-eager"]}
        serving = {"prefill": prefill, "scheduler": {"selectivePdThreshold": 64}, "monitoring": {"enabled": False}}
        after = run_stack("ib", {**bump, **serving, "verification": {"timeoutSeconds": 900}})
    else:
        after = run_program("gke", stack_config("gke", bump))
    fill = by_name(base, "model-cache-fill", "Job")
    assert step(fill, by_name(after, "model-cache-fill", "Job")) == SAME
    for role in ROLES:
        assert step(by_name(base, role, "Deployment"), by_name(after, role, "Deployment")) == UPDATE
    container = template(fill)["spec"]["containers"][0]
    assert container["image"] == "python:3.12-slim"
    assert HF_HUB_REQUIREMENT in container["command"][-1] and HF_HUB_REQUIREMENT.startswith("huggingface_hub==")


def test_a_new_model_fills_again(ib):
    after = run_stack("ib", {"model": {"name": "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"}})
    assert step(by_name(ib, "model-cache-fill", "Job"), by_name(after, "model-cache-fill", "Job")) == REPLACE_DELETE_FIRST


# --- 16. a cache storage change goes through in order ------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [{"storageClass": "cephfs-fast"}, {"size": "400Gi"}],
    ids=["storageClass", "size"],
)
def test_a_storage_change_gets_a_new_claim_created_first(ib, change):
    """A PVC's class is immutable (replace), a shrink is refused, and pvc-protection holds a claim
    while pods mount it: a new claim, filled, rolled onto, and the old one deleted last."""
    after = run_stack("ib", {"modelCache": change})
    all_steps = steps(ib, after)
    old_claim, new_claim = by_name(ib, "model-cache-models", "PersistentVolumeClaim"), by_name(after, "model-cache-models", "PersistentVolumeClaim")
    assert new_claim.object_name != old_claim.object_name
    assert all_steps[new_claim.urn] == REPLACE_CREATE_FIRST, "the old claim is deleted after its readers moved"
    fill = by_name(after, "model-cache-fill", "Job")
    assert template(fill)["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == new_claim.object_name
    assert all_steps[fill.urn] == REPLACE_DELETE_FIRST, "the fill runs again on the new claim"
    assert new_claim.urn in fill.dependencies
    for role in ROLES:
        deployment = by_name(after, role, "Deployment")
        volumes = {v["name"]: v for v in template(deployment)["spec"]["volumes"]}
        assert volumes["model-cache"]["persistentVolumeClaim"]["claimName"] == new_claim.object_name
        assert all_steps[deployment.urn] == UPDATE, "the pods roll onto the new claim"
        assert {new_claim.urn, fill.urn} <= set(deployment.dependencies)


def test_an_unchanged_cache_keeps_its_claims(ib):
    again = run_stack("ib")
    for purpose in ("models",):  # the compile cache is each pod's own (tests/test_model_cache.py)
        claim = by_name(ib, f"model-cache-{purpose}", "PersistentVolumeClaim")
        assert step(claim, by_name(again, f"model-cache-{purpose}", "PersistentVolumeClaim")) == SAME


def test_switching_to_download_mode_deletes_the_claims_after_the_rollout(ib):
    after = run_stack("ib", {"modelCache": {"mode": "download"}})
    all_steps = steps(ib, after)
    claims = [r.urn for r in ib.kube("PersistentVolumeClaim") if r.name.startswith("model-cache-")]
    assert claims and all(all_steps[urn] == DELETE for urn in claims)  # the engine deletes them last
    assert all(all_steps[by_name(after, role, "Deployment").urn] == UPDATE for role in ROLES)


def test_gke_bucket_change_is_a_new_bucket_filled_before_the_rollout(gke):
    after = run_program("gke", stack_config("gke", {"modelCache": {"bucket": "team-b-llmd-models"}}))
    (bucket,) = [r for r in after.registrations if r.type == "gcp:storage/bucket:Bucket" and r.name == "model-cache-models"]
    assert bucket.inputs["name"] == "team-b-llmd-models" and not bucket.delete_before_replace
    fill = by_name(after, "model-cache-fill", "Job")
    assert template(fill)["spec"]["volumes"][0]["csi"]["volumeAttributes"]["bucketName"] == "team-b-llmd-models"
    assert step(by_name(gke, "model-cache-fill", "Job"), fill) == REPLACE_DELETE_FIRST
    for role in ROLES:
        assert step(by_name(gke, role, "Deployment"), by_name(after, role, "Deployment")) == UPDATE


def test_steps_helper_knows_create_and_delete():
    assert step(None, object()) == CREATE and step(object(), None) == DELETE
