"""The llm-d inference scheduler's P/D plugin config (EndpointPickerConfig), generated from typed input.

The release profile (components/releases/) names the profile handler; `BUILDERS` maps it to the
function that writes that handler's config, with the plugins and parameters from the profile.

Scheduler v0.5.0 semantics (`pd-profile-handler`): `pd-profile-handler` always runs the `decode` profile first; with a
threshold above 0 it reads the prefix-cache state of the chosen decode pod and skips prefill when
the uncached part of the prompt (in bytes) is shorter than the threshold. That state only exists
when a `prefix-cache-scorer` runs, which the upstream guide's config leaves out; we add it whenever
selective P/D is on.
"""

import math

import yaml

from components.config.model import SchedulerConfig
from components.releases import SchedulerProfile, thaw

# Both plugins measure the prompt in bytes: GAIE v1.3.0 hashes the completion prompt, or the JSON of
# the chat messages (getUserInputBytes in kubernetes-sigs/gateway-api-inference-extension@v1.3.0:
# pkg/epp/scheduling/framework/plugins/multi/prefix/plugin.go), and only its first
# blockSize x maxPrefixBlocksToMatch bytes (hashPrompt truncates); pd-profile-handler
# (llm-d/llm-d-inference-scheduler@v0.5.0:pkg/plugins/profile/pd_profile_handler.go) divides the
# matched blocks x hashBlockSize by the whole prompt's bytes. The upstream plugin assumes 4
# characters per token (averageCharactersPerToken); we bound it at twice that to cover JSON
# escaping of chat messages and multi-byte UTF-8, so a prompt up to maxModelLen tokens is hashed whole.
PROMPT_BYTES_PER_TOKEN = 8
# GAIE v1.3.0's DefaultLRUCapacityPerServer (blocks the picker remembers per server).
DEFAULT_LRU_CAPACITY_PER_SERVER = 31250
CONFIG_FILE = "pd-config.yaml"
CONFIG_DIR = "/config"
# On the picker's pod template: a digest of the config it reads at start.
CONFIG_HASH_ANNOTATION = "llm-d.ai/config-sha256"
PREFILL_PROFILE, DECODE_PROFILE = "prefill", "decode"


def prefix_blocks(scheduler: SchedulerConfig, max_model_len: int) -> int:
    """Blocks the prefix scorer must hash so that a prompt of up to max_model_len tokens is hashed whole."""
    return -(-max_model_len * PROMPT_BYTES_PER_TOKEN // scheduler.hash_block_size)


def plugins_config(scheduler: SchedulerConfig, profile: SchedulerProfile, max_model_len: int) -> dict:
    return BUILDERS[profile.profile_handler](scheduler, profile, max_model_len)


def _pd_profile_handler(scheduler: SchedulerConfig, profile: SchedulerProfile, max_model_len: int) -> dict:
    selective = scheduler.selective_pd_threshold > 0
    plugins: list[dict] = [
        {"type": "prefill-header-handler"},
        {"type": "prefill-filter"},
        {"type": "decode-filter"},
        {"type": "queue-scorer"},
        {"type": "max-score-picker"},
        {
            "type": "pd-profile-handler",
            "parameters": {
                "threshold": scheduler.selective_pd_threshold,
                "hashBlockSize": scheduler.hash_block_size,
            },
        },
    ]
    decode_plugins = [{"pluginRef": "decode-filter"}, {"pluginRef": "queue-scorer", "weight": 1.0}]
    if selective:
        plugins.append(
            {
                "type": "prefix-cache-scorer",
                # GAIE v1.3.0 reads `blockSize` (characters per hashed block); auto-tuning would
                # size blocks from vLLM's block size and no longer match the handler's hashBlockSize.
                "parameters": {
                    "autoTune": False,
                    "blockSize": scheduler.hash_block_size,
                    "maxPrefixBlocksToMatch": prefix_blocks(scheduler, max_model_len),
                    # The LRU evicts a prompt's first blocks first, and matching starts there: it
                    # must hold at least a couple of the longest prompts.
                    "lruCapacityPerServer": max(DEFAULT_LRU_CAPACITY_PER_SERVER, 2 * prefix_blocks(scheduler, max_model_len)),
                },
            }
        )
        decode_plugins.append({"pluginRef": "prefix-cache-scorer", "weight": 1.0})
    decode_plugins.append({"pluginRef": "max-score-picker"})
    return {
        "apiVersion": profile.api_version,
        "kind": "EndpointPickerConfig",
        "plugins": plugins,
        "schedulingProfiles": [
            {
                "name": PREFILL_PROFILE,
                "plugins": [
                    {"pluginRef": "prefill-filter"},
                    {"pluginRef": "queue-scorer", "weight": 1.0},
                    {"pluginRef": "max-score-picker"},
                ],
            },
            {"name": DECODE_PROFILE, "plugins": decode_plugins},
        ],
    }


def _disagg_profile_handler(scheduler: SchedulerConfig, profile: SchedulerProfile, max_model_len: int) -> dict:
    """llm-d Router >= v0.9 (`disagg-profile-handler`): decode first, then a decider says whether to prefill.

    Threshold 0 keeps every request disaggregated (the always decider); above 0 the prefix-based decider
    skips prefill when the prompt's part not cached on the chosen decode pod is under the threshold,
    converted from bytes to the picker's estimated tokens. The prefix match is counted in tokens up to
    the producer's maxPrefixTokensToMatch (in the profile), which already covers any maxModelLen here.
    """
    selective = scheduler.selective_pd_threshold > 0
    if selective:
        tokens = math.ceil(scheduler.selective_pd_threshold / profile.bytes_per_token)
        decider = {"type": profile.selective_decider, "parameters": {"nonCachedTokens": tokens}}
    else:
        decider = {"type": profile.always_decider}
    handler = {
        "type": profile.profile_handler,
        "parameters": {
            "profiles": {"prefill": PREFILL_PROFILE, "decode": DECODE_PROFILE},
            "deciders": {"prefill": decider["type"]},
        },
    }
    # A plugin the handler names must be declared before it.
    plugins = [decider, handler, *thaw(profile.plugins)]
    decode = thaw(profile.decode_profile)
    if selective:
        plugins += thaw(profile.selective_plugins)
        decode[-1:-1] = thaw(profile.selective_decode_refs)  # before the picker
    return {
        "apiVersion": profile.api_version,
        "kind": "EndpointPickerConfig",
        "plugins": plugins,
        "schedulingProfiles": [
            {"name": PREFILL_PROFILE, "plugins": thaw(profile.prefill_profile)},
            {"name": DECODE_PROFILE, "plugins": decode},
        ],
    }


BUILDERS = {"pd-profile-handler": _pd_profile_handler, "disagg-profile-handler": _disagg_profile_handler}


def plugins_config_yaml(scheduler: SchedulerConfig, profile: SchedulerProfile, max_model_len: int) -> str:
    return yaml.safe_dump(plugins_config(scheduler, profile, max_model_len), sort_keys=False)
