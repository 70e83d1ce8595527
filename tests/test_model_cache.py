"""The shared model cache: one hub download per cluster, read-only in every pod, waited for by dependency."""

from components import cold_start
from components.model_cache import fill_script
from conftest import run_stack

MODEL = "openai/gpt-oss-120b"
FILL = "ms-pd-llm-d-modelservice-model-fill"


def claim_of(run, purpose: str):
    """The cache's claim by its Pulumi name; its object name carries a digest of its storage spec."""
    return next(r for r in run.kube("PersistentVolumeClaim") if r.name == f"model-cache-{purpose}")


def vllm_of(deployment):
    return next(c for c in deployment.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm")


def test_ib_cache_is_a_readwritemany_claim_filled_by_one_job():
    run = run_stack("ib", {"modelCache": {"storageClass": "cephfs", "size": "300Gi"}})
    claim = claim_of(run, "models")
    assert claim.inputs["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "300Gi"}},
        "storageClassName": "cephfs",
    }
    job = run.one("Job", "ms-pd-llm-d-modelservice-model-fill")
    pod = job.inputs["spec"]["template"]["spec"]
    assert pod["volumes"][0] == {"name": "model-cache", "persistentVolumeClaim": {"claimName": claim.object_name}}
    script = pod["containers"][0]["command"][-1]
    assert f'target="/model-cache/models/{MODEL}"' in script and '"$target/.complete"' in script
    assert "nvidia.com/gpu" not in repr(pod), "the fill Job must not wait for or hold GPUs"


def test_servers_mount_the_cache_read_only_and_never_reach_the_hub():
    run = run_stack("ib")
    for role in ("prefill", "decode"):
        deployment = run.one("Deployment", f"ms-pd-llm-d-modelservice-{role}")
        vllm = vllm_of(deployment)
        assert vllm["args"][0] == f"/model-cache/models/{MODEL}"
        env = {e["name"]: e.get("value") for e in vllm["env"]}
        assert env["HF_HUB_OFFLINE"] == "1" and "HF_TOKEN" not in env
        mounts = {m["mountPath"]: m for m in vllm["volumeMounts"]}
        assert mounts["/model-cache"]["readOnly"] is True
        volumes = {v["name"]: v for v in deployment.inputs["spec"]["template"]["spec"]["volumes"]}
        assert volumes["model-cache"]["persistentVolumeClaim"] == {"claimName": claim_of(run, "models").object_name, "readOnly": True}
        assert volumes["compile-cache"]["persistentVolumeClaim"]["claimName"] == claim_of(run, "compile").object_name
        assert env["VLLM_CACHE_ROOT"] == "/compile-cache"


def test_servers_wait_for_the_fill_job_by_dependency():
    run = run_stack("ib")
    job = run.one("Job", FILL)
    for role in ("prefill", "decode"):
        deployment = run.one("Deployment", f"ms-pd-llm-d-modelservice-{role}")
        assert job.urn in deployment.dependencies


def test_waits_are_sized_from_model_size_and_load_path():
    small, large = run_stack("ib", {"model": {"sizeGb": 16}}), run_stack("ib", {"model": {"sizeGb": 400}, "modelCache": {"size": "600Gi"}})
    thresholds = [vllm_of(r.one("Deployment", "ms-pd-llm-d-modelservice-decode"))["startupProbe"]["failureThreshold"] for r in (small, large)]
    assert thresholds == [
        cold_start.startup_failure_threshold(16, "pvc"),
        cold_start.startup_failure_threshold(400, "pvc"),
    ]
    assert thresholds[0] < thresholds[1]
    decode = large.one("Deployment", "ms-pd-llm-d-modelservice-decode")
    assert decode.custom_timeouts == {"create": cold_start.rollout_wait(400, "pvc"), "update": cold_start.rollout_wait(400, "pvc")}
    job = large.one("Job", FILL)
    assert job.inputs["spec"]["activeDeadlineSeconds"] == cold_start.fill_seconds(400)
    assert job.custom_timeouts["create"] == cold_start.minutes(cold_start.fill_seconds(400))
    # Per-pod download must budget for the hub's slower path.
    assert cold_start.startup_failure_threshold(65, "hub") > cold_start.startup_failure_threshold(65, "pvc")


def test_download_mode_reproduces_upstream():
    run = run_stack("ib", {"modelCache": {"mode": "download"}})
    assert not run.kube("Job", FILL) and not run.kube("PersistentVolumeClaim")
    vllm = vllm_of(run.one("Deployment", "ms-pd-llm-d-modelservice-prefill"))
    assert vllm["args"][0] == MODEL
    env = {e["name"]: e for e in vllm["env"]}
    assert env["HF_HOME"]["value"] == "/model-cache" and "secretKeyRef" in env["HF_TOKEN"]["valueFrom"]



def test_fill_script_is_idempotent():
    script = fill_script(MODEL)
    skip = script.index("exit 0")
    assert script.index(".complete") < skip < script.index("snapshot_download"), "re-runs must skip the download"


def test_fill_script_installs_the_pinned_hub_client_only_when_the_image_lacks_it(tmp_path):
    """Run the real script under bash with stand-ins for python3 and pip (no network)."""
    import os
    import subprocess

    from components.model_cache import FILL_PYTHONPATH
    from components.versions import HF_HUB_REQUIREMENT

    calls = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pip").write_text(f'#!/bin/sh\necho "pip $*" >> {calls}\n')
    # `import huggingface_hub` fails unless HAS_HUB is set; snapshot_download "downloads" one file.
    (bin_dir / "python3").write_text(
        f'#!/bin/sh\ncase "$2" in\n  "import huggingface_hub") [ -n "$HAS_HUB" ] || exit 1 ;;\n'
        f'  *) echo "download" >> {calls}; mkdir -p "$TARGET"; touch "$TARGET/model.safetensors" ;;\nesac\n'
    )
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    for has_hub, expect_pip in (("", True), ("1", False)):
        target = tmp_path / f"cache{has_hub}" / MODEL
        script = fill_script(MODEL).replace(f"/model-cache/models/{MODEL}", str(target))
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TARGET": str(target), "HAS_HUB": has_hub}
        calls.write_text("")
        subprocess.run(["bash", "-c", script], env=env, check=True, capture_output=True)
        lines = calls.read_text().splitlines()
        pip = [line for line in lines if line.startswith("pip ")]
        assert bool(pip) == expect_pip
        if expect_pip:
            assert f"--target {FILL_PYTHONPATH} {HF_HUB_REQUIREMENT}" in pip[0]
        assert lines[-1] == "download" and (target / ".complete").exists()
        # Run again: the cache is complete, nothing is installed or downloaded.
        calls.write_text("")
        subprocess.run(["bash", "-c", script], env=env, check=True, capture_output=True)
        assert calls.read_text() == ""
