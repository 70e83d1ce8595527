"""Bad stack config stops the real program with one clear RunError naming the key, before any resource."""

import pulumi
import pytest

from conftest import run_stack

CASES = {
    "unknown top-level key": ({"gpuCount": 8}, "llmd:gpuCount", "unknown key"),
    "unknown nested key": ({"platform": {"kind": "existing", "rdma": {"resource": "rdma/ib"}}}, "llmd:platform.rdma.resource", "Allowed keys here: resourceName, count"),
    "unknown key in a list item": (
        {"decode": {"tolerations": [{"key": "nvidia.com/gpu", "effects": "NoSchedule"}]}},
        "llmd:decode.tolerations[0].effects",
        "unknown key",
    ),
    "snake_case spelling": ({"decode": {"tensor_parallel": 4}}, "llmd:decode.tensor_parallel", "tensorParallel"),
    "wrong type": ({"prefill": {"replicas": "four"}}, "llmd:prefill.replicas", "valid integer"),
    "bool where a number goes": ({"prefill": {"replicas": True}}, "llmd:prefill.replicas", "valid integer"),
    "fraction": ({"decode": {"tensorParallel": 4.5}}, "llmd:decode.tensorParallel", "valid integer"),
    "object expected": ({"monitoring": "yes"}, "llmd:monitoring", "valid dictionary"),
    "tensor parallel not a power of two": ({"decode": {"tensorParallel": 3}}, "llmd:decode.tensorParallel", "power of two"),
    "more GPUs per pod than a node has": ({"decode": {"tensorParallel": 16}}, "llmd:decode.tensorParallel", "more than a node has (8)"),
    "TP x DP over the node": ({"decode": {"tensorParallel": 4, "dataParallel": 4}}, "llmd:decode.tensorParallel", "4 x 4 = 16 GPUs"),
    "prefill TP at or above the KV heads, wider than decode": ({"prefill": {"tensorParallel": 8}}, "llmd:prefill.tensorParallel", "at or above the model's 8 KV heads"),
    "decode replicates KV heads, prefill does not": (
        {"platform": {"kind": "existing", "context": "test", "gpusPerNode": 16}, "decode": {"tensorParallel": 16}},
        "llmd:decode.tensorParallel",
        "above the model's 8 KV heads",
    ),
    "no replicas": ({"prefill": {"replicas": 0}}, "llmd:prefill.replicas", "greater than or equal to 1"),
    "unknown gateway provider": ({"gateway": {"provider": "nginx"}}, "llmd:gateway.provider", "'istio', 'kgateway', 'agentgateway' or 'gke'"),
    "managed gateway off GKE": ({"gateway": {"provider": "gke"}}, "llmd:gateway.provider", "platform.kind: gke"),
    "unknown platform": ({"platform": {"kind": "eks"}}, "llmd:platform", "'existing', 'gke'"),
    "managed vLLM flag in extraArgs": ({"decode": {"extraArgs": ["--max-model-len=8192"]}}, "llmd:decode.extraArgs[0]", "from model.maxModelLen"),
    "managed env var": ({"prefill": {"env": {"HF_TOKEN": "x"}}}, "llmd:prefill.env.HF_TOKEN", "set by the program"),
    "unpinned image": ({"versions": {"vllmImage": "vllm/vllm-openai:latest"}}, "llmd:versions.vllmImage", ":latest"),
    "unknown llm-d release": ({"versions": {"llmd": "v0.7.0"}}, "llmd:versions.llmd", "'v0.5.0' or 'v0.9.0'"),
    "v0.5.0 sidecar with the v0.9.0 profile": (
        {"versions": {"llmd": "v0.9.0", "routingSidecarImage": "ghcr.io/llm-d/llm-d-routing-sidecar:v0.5.0"}},
        "llmd:versions.routingSidecarImage",
        "llm-d v0.5.0 image, but versions.llmd is v0.9.0",
    ),
    "v0.9.0 EPP with the v0.5.0 scheduler config": (
        {"versions": {"schedulerImage": "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0"}},
        "llmd:versions.schedulerImage",
        "scheduler config (EndpointPickerConfig) and flags",
    ),
    "v0.5.0 model server with the v0.9.0 profile": (
        {"versions": {"llmd": "v0.9.0", "vllmImage": "ghcr.io/llm-d/llm-d-cuda:v0.5.0"}},
        "llmd:versions.vllmImage",
        "set versions.llmd: v0.5.0",
    ),
    "bad quantity": ({"decode": {"memory": "64 GB"}}, "llmd:decode.memory", "pattern"),
    "bad namespace": ({"namespace": "LLM_D"}, "llmd:namespace", "pattern"),
    "model volume smaller than the weights": (
        {"modelCache": {"mode": "download", "size": "5Mi"}},
        "llmd:modelCache.size",
        "smaller than the model's weights",
    ),
    "shared cache claim smaller than the weights": ({"modelCache": {"size": "50Gi"}}, "llmd:modelCache.size", "at least 82Gi"),
}


def assert_stopped_cleanly(run, key, gist):
    assert isinstance(run.error, pulumi.RunError), run.error
    message = str(run.error)
    assert key + ":" in message, message
    assert gist in message, message
    assert "Traceback" not in message
    assert run.registrations == [], "a resource was registered before the config was checked"


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case):
    overrides, key, gist = CASES[case]
    assert_stopped_cleanly(run_stack("ib", overrides, expect_error=True), key, gist)


def test_missing_token_for_a_gated_model():
    run = run_stack("ib", {"model": {"name": "meta-llama/Llama-3.3-70B-Instruct", "requiresToken": True}}, token=None, expect_error=True)
    assert_stopped_cleanly(run, "llmd:hfToken", "pulumi config set --secret hfToken")


def test_plaintext_token_is_refused():
    from tools.mock_runtime import run_program, stack_config

    config = {**stack_config("ib"), "hfToken": "hf_plain"}
    run = run_program("ib", config, expect_error=True)
    assert_stopped_cleanly(run, "llmd:hfToken", "--secret")


def test_all_problems_are_reported_at_once():
    run = run_stack("ib", {"prefill": {"replicas": 0}, "decode": {"tensorParallel": 3}, "colour": "blue"}, expect_error=True)
    message = str(run.error)
    for key in ("llmd:prefill.replicas", "llmd:decode.tensorParallel", "llmd:colour"):
        assert key in message
