"""The vLLM server command line and environment: pure functions of the config.

Flags and variables listed in MANAGED_* are derived here from the config; a stack may not set
them again through `extraArgs` or `env`, so there is one place each value comes from.
"""

import json
from typing import Sequence

from components.config.model import ModelConfig, RoleConfig
from components.names import NIXL_SIDE_CHANNEL_PORT
from components.vllm_cli_0_14_1 import SERVE_OPTIONS

# Canonical spellings (each flag's first `--` option string in vLLM's parser). `--model` is managed
# too: vLLM moves its value to the front, so the model path becomes an unrecognized argument.
MANAGED_FLAGS = (
    "--model",
    "--port",
    "--served-model-name",
    "--tensor-parallel-size",
    "--data-parallel-size",
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
    "TIKTOKEN_ENCODINGS_BASE",
    "TIKTOKEN_RS_CACHE_DIR",
    "DP_SIZE",
    "TP_SIZE",
    "DP_SIZE_LOCAL",
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


def parallelism_env(role: RoleConfig) -> list[dict]:
    """As upstream's chart sets them (llm-d-incubation/llm-d-modelservice@llm-d-modelservice-v0.4.5:
    charts/llm-d-modelservice/templates/_helpers.tpl, "llm-d-modelservice.parallelismEnv"); every DP
    rank of a pod is local to it, so DP_SIZE_LOCAL is DP_SIZE."""
    return [
        {"name": "DP_SIZE", "value": str(role.data_parallel)},
        {"name": "TP_SIZE", "value": str(role.tensor_parallel)},
        {"name": "DP_SIZE_LOCAL", "value": str(role.data_parallel)},
    ]


def nixl_env() -> list[dict]:
    return [
        {"name": "VLLM_NIXL_SIDE_CHANNEL_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "VLLM_NIXL_SIDE_CHANNEL_PORT", "value": str(NIXL_SIDE_CHANNEL_PORT)},
    ]


def managed_flag(arg: str) -> str | None:
    """The managed flag an extra argument would set, by vLLM 0.14.1's own argv rules, if any.

    Each spelling resolves as `vllm serve` would resolve it (a name that could set several flags,
    one of them managed, is reported too: vLLM would stop on it as ambiguous):
    - vllm-project/vllm@v0.14.1:vllm/utils/argparse_utils.py, FlexibleArgumentParser.parse_args:
      `--model`/`--model=` is moved to the front as the model; in a `--` name, `_` is read as `-` up
      to the first `.`; `--json-arg.key[.key...][+]=v` (or `-x.key v`) becomes `--json-arg '{...}'`,
      replacing the whole JSON value; `-O<n>`/`-O=<n>` is `--optimization-level`;
    - then argparse (Python 3.12, vLLM's image; allow_abbrev on): an exact option string, the name
      before `=`, else every option string the name is a prefix of (a short option also matches
      its first two characters with the value attached).
    """
    matches = _resolve(arg)
    managed = [flag for flag in MANAGED_FLAGS if flag in matches]
    if not managed:
        return None
    return managed[0] if len(matches) == 1 else f"{managed[0]} (ambiguous: {arg.split('=', 1)[0]} could be {', '.join(sorted(matches))})"


def _resolve(arg: str) -> set[str]:
    """The canonical flags an argv element may set (empty: a value, a positional or an unknown flag)."""
    if len(arg) < 2 or not arg.startswith("-"):
        return set()
    if arg == "--model" or arg.startswith("--model="):
        return {"--model"}
    if arg.startswith("--"):
        name = arg.split("=", 1)[0]
        head, dot, rest = name[2:].partition(".")
        name = "--" + head.replace("_", "-")
        if dot:  # a dotted JSON key: vLLM passes `name` on with the merged JSON as its value
            return _argparse_match(name)
        return _argparse_match(name + arg[len(arg.split("=", 1)[0]):])
    if arg.startswith("-O"):
        return {"--optimization-level"}
    if "." in arg.split("=", 1)[0]:
        return _argparse_match(arg.split("=", 1)[0].split(".", 1)[0])
    return _argparse_match(arg)


def _argparse_match(arg: str) -> set[str]:
    """argparse's ArgumentParser._parse_optional / _get_option_tuples (CPython 3.12)."""
    if arg in SERVE_OPTIONS:
        return {SERVE_OPTIONS[arg]}
    name = arg.split("=", 1)[0]
    if "=" in arg and name in SERVE_OPTIONS:
        return {SERVE_OPTIONS[name]}
    if arg.startswith("--"):
        return {flag for option, flag in SERVE_OPTIONS.items() if option.startswith(name)}
    return {flag for option, flag in SERVE_OPTIONS.items() if option == arg[:2] or option.startswith(arg)}
