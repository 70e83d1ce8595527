"""Selective P/D sees whole prompts: the prefix scorer hashes as far as the handler divides.

Upstream arithmetic, restated:
- kubernetes-sigs/gateway-api-inference-extension@v1.3.0:pkg/epp/scheduling/framework/plugins/multi/prefix/plugin.go
  hashPrompt: bytes of the prompt (or of the chat messages' JSON), truncated to
  blockSize x maxPrefixBlocksToMatch, one hash per whole block;
- llm-d/llm-d-inference-scheduler@v0.5.0:pkg/plugins/profile/pd_profile_handler.go: hit = matched
  blocks - 1, hitPercentage = hit x hashBlockSize / len(prompt bytes); prefill is skipped when
  (1 - hitPercentage) x len < threshold.
"""

import pytest

from components.config.model import SchedulerConfig
from components.releases import v0_5_0
from components.scheduler_config import PROMPT_BYTES_PER_TOKEN, plugins_config


def params(scheduler: SchedulerConfig, max_model_len: int) -> dict:
    return {p["type"]: p.get("parameters", {}) for p in plugins_config(scheduler, v0_5_0.PROFILE.scheduler, max_model_len)["plugins"]}


def runs_prefill(prompt_bytes: int, scorer: dict, handler: dict) -> bool:
    """The handler's decision for a prompt whose every hashed block is cached on the decode pod."""
    hashed = min(prompt_bytes, scorer["blockSize"] * scorer["maxPrefixBlocksToMatch"]) // scorer["blockSize"]
    hit = max(hashed - 1, 0)
    hit_percentage = hit * handler["hashBlockSize"] / prompt_bytes
    return (1.0 - hit_percentage) * prompt_bytes >= handler["threshold"]


@pytest.mark.parametrize("max_model_len", [256, 8192, 32000, 131072])
@pytest.mark.parametrize("block", [5, 64, 128])
def test_a_fully_cached_prompt_up_to_max_model_len_skips_prefill(max_model_len, block):
    scheduler = SchedulerConfig.model_validate({"selectivePdThreshold": 512, "hashBlockSize": block})
    p = params(scheduler, max_model_len)
    scorer, handler = p["prefix-cache-scorer"], p["pd-profile-handler"]
    longest = max_model_len * PROMPT_BYTES_PER_TOKEN
    assert scorer["blockSize"] * scorer["maxPrefixBlocksToMatch"] >= longest
    assert scorer["lruCapacityPerServer"] >= 2 * scorer["maxPrefixBlocksToMatch"]
    for prompt in (p for p in (1800, 4096, longest // 2, longest) if p <= longest):
        # At most the handler's one block plus the unhashed tail stay uncached.
        assert not runs_prefill(prompt, scorer, handler), (prompt, scorer)


def test_the_issue_example_the_old_limit_split_a_cached_1800_byte_prompt():
    old = {"blockSize": 5, "maxPrefixBlocksToMatch": 256}
    assert runs_prefill(1800, old, {"hashBlockSize": 5, "threshold": 512})
    new = params(SchedulerConfig.model_validate({"selectivePdThreshold": 512, "hashBlockSize": 5}), 32000)["prefix-cache-scorer"]
    assert new["maxPrefixBlocksToMatch"] == 32000 * 8 // 5  # 51200 blocks of 5 bytes: 256000 bytes
