"""Prefill and decode TP may differ as far as vLLM 0.14.1's NIXL connector allows, no further.

Upstream: vllm-project/vllm@v0.14.1:vllm/distributed/kv_transfer/kv_connector/v1/nixl_connector.py
(NixlConnectorWorker._validate_remote_agent_handshake) and
vllm/distributed/kv_transfer/kv_connector/utils.py (TpKVTopology.tp_ratio, is_kv_replicated).
gpt-oss-120b has 8 KV heads (num_key_value_heads in its config.json on huggingface.co).
"""

import pytest

from components.config.load import InvalidConfig, validate
from components.model_catalog import KNOWN_MODELS
from tools.mock_runtime import stack_config


def problems(prefill_tp: int, decode_tp: int, model: dict | None = None) -> list[str]:
    raw = stack_config("ib", {
        "platform": {"kind": "existing", "context": "test", "gpusPerNode": 16},
        "prefill": {"tensorParallel": prefill_tp},
        "decode": {"tensorParallel": decode_tp},
        **({"model": model} if model else {}),
    })
    try:
        validate(raw, set(), "ib", "llmd")
    except InvalidConfig as error:
        return [p.key for p in error.problems]
    return []


def vllm_accepts(p: int, d: int, heads: int) -> bool:
    """The handshake checks of the NIXL connector, for a non-MLA model (decode is the local side)."""
    replicated = lambda tp: tp // heads >= 1  # noqa: E731  TpKVTopology.is_kv_replicated
    if p > d:  # tp_ratio < 0: `assert not (tp_ratio < 0 and is_kv_replicated(remote))`
        return not replicated(p)
    if replicated(p):  # block lengths must match: one replicated head per GPU on both sides
        return replicated(d)
    heads_per_gpu = lambda tp: max(1, heads // tp)  # noqa: E731  ModelConfig.get_num_kv_heads
    return heads_per_gpu(p) == heads_per_gpu(d) * (d // p)  # remote block_len == local * tp_ratio


@pytest.mark.parametrize("p", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("d", [1, 2, 4, 8, 16])
def test_the_rule_is_vllms_for_gpt_oss(p, d):
    assert (problems(p, d) == []) == vllm_accepts(p, d, KNOWN_MODELS["openai/gpt-oss-120b"].kv_heads)


def test_prefill_wider_than_decode_is_fine_below_the_kv_heads():
    assert problems(4, 2) == []  # the old rule refused any prefill TP above decode TP


@pytest.mark.parametrize("heads", [1, 2, 4, 8, 16, 32])
def test_the_rule_follows_model_num_kv_heads(heads):
    for p in (1, 2, 4, 8, 16):
        for d in (1, 2, 4, 8, 16):
            refused = problems(p, d, {"name": "acme/custom-model", "numKvHeads": heads}) != []
            assert refused != vllm_accepts(p, d, heads), (p, d, heads)


def test_an_unknown_models_kv_heads_are_asked_for_by_a_warning():
    """Most models pass; one of unknown heads is not refused, the check it could not make is named."""
    from conftest import run_stack  # noqa: PLC0415

    assert problems(2, 4, {"name": "acme/custom-model"}) == []
    run = run_stack("ib", {"model": {"name": "acme/custom-model", "sizeGb": 60}})
    [warning] = run.warnings
    assert warning.startswith("llmd:model.numKvHeads is not set for acme/custom-model") and "num_key_value_heads" in warning
    assert run_stack("ib", {"model": {"name": "acme/custom-model", "sizeGb": 60, "numKvHeads": 8}}).warnings == []
    same_tp = {"model": {"name": "acme/custom-model", "sizeGb": 60}, "prefill": {"tensorParallel": 4}}
    assert run_stack("ib", same_tp).warnings == []
