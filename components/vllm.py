"""The vLLM server command line and environment: pure functions of the config.

Flags and variables listed in MANAGED_* are derived here from the config; a stack may not set
them again through `extraArgs` or `env`, so there is one place each value comes from.
"""

import json
from typing import Sequence

from components.config.model import ModelConfig, RoleConfig
from components.names import NIXL_SIDE_CHANNEL_PORT

MANAGED_FLAGS = (
    "--port",
    "--served-model-name",
    "--tensor-parallel-size",
    "-tp",
    "--data-parallel-size",
    "-dp",
    "--block-size",
    "--kv-transfer-config",
    "--max-model-len",
)
MANAGED_ENV = (
    "VLLM_NIXL_SIDE_CHANNEL_HOST",
    "VLLM_NIXL_SIDE_CHANNEL_PORT",
    "HF_HOME",
    "HF_TOKEN",
    "HF_HUB_OFFLINE",
    "VLLM_CACHE_ROOT",
)

# NIXL moves KV blocks from prefill to decode; both sides run the same connector.
KV_TRANSFER_CONFIG = json.dumps({"kv_connector": "NixlConnector", "kv_role": "kv_both"}, separators=(",", ":"))


def serve_args(model_ref: str, model: ModelConfig, role: RoleConfig, port: int, release_flags: Sequence[str]) -> list[str]:
    """Arguments after `vllm serve`; `model_ref` is the hub id or the local path of the weights,
    `release_flags` the release profile's own (access logs, KV cache manager)."""
    args = [
        model_ref,
        "--port", str(port),
        "--served-model-name", model.served,
        "--tensor-parallel-size", str(role.tensor_parallel),
    ]
    if role.data_parallel > 1:
        args += ["--data-parallel-size", str(role.data_parallel)]
    args += [
        "--block-size", str(model.block_size),
        "--kv-transfer-config", KV_TRANSFER_CONFIG,
        *release_flags,
        "--max-model-len", str(model.max_model_len),
    ]
    return args + list(role.extra_args)


def serve_command(prelude: str | None) -> list[str]:
    """The container command; with a prelude, a shell runs it and then execs vLLM with the args."""
    if prelude is None:
        return ["vllm", "serve"]
    return ["/bin/bash", "-c", f'{prelude}\nexec vllm serve "$@"', "vllm-serve"]


def nixl_env() -> list[dict]:
    return [
        {"name": "VLLM_NIXL_SIDE_CHANNEL_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "VLLM_NIXL_SIDE_CHANNEL_PORT", "value": str(NIXL_SIDE_CHANNEL_PORT)},
    ]


def managed_flag(arg: str) -> str | None:
    """The managed flag an extra argument would set again, if any (vLLM reads `_` in flags as `-`)."""
    name = arg.split("=", 1)[0]
    if name.startswith("--"):
        name = "--" + name[2:].replace("_", "-")
    return name if name in MANAGED_FLAGS else None
