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

CONFIG_FILE = "pd-config.yaml"
CONFIG_DIR = "/config"
# On the picker's pod template: a digest of the config it reads at start.
CONFIG_HASH_ANNOTATION = "llm-d.ai/config-sha256"
PREFILL_PROFILE, DECODE_PROFILE = "prefill", "decode"


def plugins_config(scheduler: SchedulerConfig, profile: SchedulerProfile) -> dict:
    return BUILDERS[profile.profile_handler](scheduler, profile)


def _pd_profile_handler(scheduler: SchedulerConfig, profile: SchedulerProfile) -> dict:
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
                    "maxPrefixBlocksToMatch": 256,
                    "lruCapacityPerServer": 31250,
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


def _disagg_profile_handler(scheduler: SchedulerConfig, profile: SchedulerProfile) -> dict:
    """llm-d Router >= v0.9 (`disagg-profile-handler`): decode first, then a decider says whether to prefill.

    Threshold 0 keeps every request disaggregated (the always decider); above 0 the prefix-based decider
    skips prefill when the prompt's part not cached on the chosen decode pod is under the threshold,
    converted from bytes to the picker's estimated tokens.
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


def plugins_config_yaml(scheduler: SchedulerConfig, profile: SchedulerProfile) -> str:
    return yaml.safe_dump(plugins_config(scheduler, profile), sort_keys=False)
