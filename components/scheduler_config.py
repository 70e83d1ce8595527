"""The llm-d inference scheduler's P/D plugin config (EndpointPickerConfig), generated from typed input.

Scheduler v0.5.0 semantics: `pd-profile-handler` always runs the `decode` profile first; with a
threshold above 0 it reads the prefix-cache state of the chosen decode pod and skips prefill when
the uncached part of the prompt (in bytes) is shorter than the threshold. That state only exists
when a `prefix-cache-scorer` runs, which the upstream guide's config leaves out; we add it whenever
selective P/D is on.
"""

import yaml

from components.config.model import SchedulerConfig

CONFIG_FILE = "pd-config.yaml"
CONFIG_DIR = "/config"
# On the picker's pod template: a digest of the config it reads at start.
CONFIG_HASH_ANNOTATION = "llm-d.ai/config-sha256"
PREFILL_PROFILE, DECODE_PROFILE = "prefill", "decode"


def plugins_config(scheduler: SchedulerConfig) -> dict:
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
        "apiVersion": "inference.networking.x-k8s.io/v1alpha1",
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


def plugins_config_yaml(scheduler: SchedulerConfig) -> str:
    return yaml.safe_dump(plugins_config(scheduler), sort_keys=False)
