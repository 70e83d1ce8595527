"""The shared model cache: one hub download per cluster, read-only in every pod, waited for by dependency."""

import hashlib
import json
import os
import subprocess

from components import cold_start, harmony
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
        # Each pod's own (see test_the_compile_cache_is_each_pods_own).
        assert volumes["compile-cache"] == {"name": "compile-cache", "emptyDir": {}}
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


# --- gpt-oss's Harmony encoding (components/harmony.py cites openai/harmony@v0.0.8 and vLLM 0.14.1) ---
def env_of(container):
    return {e["name"]: e.get("value") for e in container["env"]}


def test_gpt_oss_servers_read_the_harmony_encoding_from_the_cache():
    """openai-harmony reads $TIKTOKEN_ENCODINGS_BASE/o200k_base.tiktoken (src/tiktoken_ext/public_encodings.rs)."""
    run = run_stack("ib")
    fill = run.one("Job", FILL).inputs["spec"]["template"]["spec"]["containers"][0]
    fill_env = env_of(fill)
    assert fill_env["ENCODINGS_URL"] == "https://openaipublic.blob.core.windows.net/encodings/"
    assert json.loads(fill_env["ENCODINGS"]) == {"o200k_base.tiktoken": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"}
    script = fill["command"][-1]
    assert script.index("ENCODINGS_URL") < script.index("exit 0"), "a cache filled before must still get the encoding"
    for role in ("prefill", "decode"):
        env = env_of(vllm_of(run.one("Deployment", f"ms-pd-llm-d-modelservice-{role}")))
        assert env["TIKTOKEN_ENCODINGS_BASE"] == fill_env["ENCODINGS_DIR"] == "/model-cache/tiktoken-encodings"
        assert env["HF_HUB_OFFLINE"] == "1"


def test_models_without_harmony_get_no_encoding():
    run = run_stack("ib", {"model": {"name": "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"}})
    fill = run.one("Job", FILL).inputs["spec"]["template"]["spec"]["containers"][0]
    assert "ENCODINGS" not in env_of(fill) and "ENCODINGS_URL" not in fill["command"][-1]
    assert "TIKTOKEN_ENCODINGS_BASE" not in env_of(vllm_of(run.one("Deployment", "ms-pd-llm-d-modelservice-decode")))


def test_download_mode_keeps_upstreams_per_pod_encoding_download():
    run = run_stack("ib", {"modelCache": {"mode": "download"}})
    env = env_of(vllm_of(run.one("Deployment", "ms-pd-llm-d-modelservice-prefill")))
    assert "TIKTOKEN_ENCODINGS_BASE" not in env
    # An existing directory: openai-harmony creates only its default cache directory.
    mounts = {m["mountPath"] for m in vllm_of(run.one("Deployment", "ms-pd-llm-d-modelservice-prefill"))["volumeMounts"]}
    assert env["TIKTOKEN_RS_CACHE_DIR"] in mounts


def _stage(tmp_path, content: bytes, expected: str):
    source = tmp_path / "source"
    source.mkdir(exist_ok=True)
    (source / "o200k_base.tiktoken").write_bytes(content)
    env = {
        **os.environ,
        "ENCODINGS_URL": source.as_uri() + "/",
        "ENCODINGS_DIR": str(tmp_path / "cache"),
        "ENCODINGS": json.dumps({"o200k_base.tiktoken": expected}),
    }
    return subprocess.run(["bash", "-c", "set -euo pipefail\n" + harmony.FILL_STEP], env=env, capture_output=True, text=True)


def test_the_staging_step_checks_the_sha256_and_never_leaves_a_partial_file(tmp_path):
    good = b"aGVsbG8= 0\n"
    bad = _stage(tmp_path, good, "0" * 64)
    assert bad.returncode != 0 and "expected " + "0" * 64 in bad.stderr
    assert list((tmp_path / "cache").iterdir()) == []
    ok = _stage(tmp_path, good, hashlib.sha256(good).hexdigest())
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "cache" / "o200k_base.tiktoken").read_bytes() == good
    again = _stage(tmp_path, good, hashlib.sha256(good).hexdigest())
    assert "already staged" in again.stdout


def test_which_models_use_harmony():
    from components.config.model import ModelConfig  # noqa: PLC0415

    assert ModelConfig().uses_harmony  # openai/gpt-oss-120b: model_type gpt_oss
    assert ModelConfig.model_validate({"name": "unsloth/gpt-oss-20b-BF16"}).uses_harmony
    assert not ModelConfig.model_validate({"name": "Qwen/Qwen3-32B"}).uses_harmony
    assert not ModelConfig.model_validate({"harmony": False}).uses_harmony
    assert ModelConfig.model_validate({"name": "acme/renamed-finetune", "harmony": True}).uses_harmony


def test_the_compile_cache_is_each_pods_own():
    """vLLM 0.14.1 hashes every VLLM_* variable but an ignore list into the torch.compile cache key
    (vllm-project/vllm@v0.14.1:vllm/envs.py compile_factors, used by vllm/compilation/backends.py);
    VLLM_NIXL_SIDE_CHANNEL_HOST is the pod IP and not ignored, so a shared cache would never be reused."""
    for run in (run_stack("ib"), run_stack("ib", {"modelCache": {"mode": "download"}})):
        assert not [c for c in run.kube("PersistentVolumeClaim") if "compile" in c.object_name]
        for role in ("prefill", "decode"):
            deployment = run.one("Deployment", f"ms-pd-llm-d-modelservice-{role}")
            volumes = {v["name"]: v for v in deployment.inputs["spec"]["template"]["spec"]["volumes"]}
            assert volumes["compile-cache"] == {"name": "compile-cache", "emptyDir": {}}
            env = env_of(vllm_of(deployment))
            assert env["VLLM_CACHE_ROOT"] == "/compile-cache"
            assert next(e for e in vllm_of(deployment)["env"] if e["name"] == "VLLM_NIXL_SIDE_CHANNEL_HOST")["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"


def test_a_shared_compile_cache_is_refused_with_the_reason():
    from test_bad_input import assert_stopped_cleanly  # noqa: PLC0415

    run = run_stack("ib", {"modelCache": {"persistentCompileCache": True}}, expect_error=True)
    assert_stopped_cleanly(run, "llmd:modelCache.persistentCompileCache", "VLLM_NIXL_SIDE_CHANNEL_HOST (the pod IP)")


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
