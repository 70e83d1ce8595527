"""Rules that involve more than one key, checked after each value passed on its own."""

from dataclasses import dataclass

from components.config import security_rules
from components.config.base import quantity_value
from components.config.credentials import CREDENTIAL_ENV_NAME
from components.config.model import RoleConfig, StackConfig
from components.config.problems import Problem
from components.gateway import crds as crd_bundles
from components.gateway.select import PROVIDERS, gateway_backend
from components.vllm import MANAGED_ENV, managed_flag

# Where each managed vLLM flag comes from, for the message.
MANAGED_FLAG_SOURCE = {
    "--model": "model.name (the hub id, or the shared cache's path; it is vLLM's first argument)",
    "--port": "the release's ports (the pool and the routing sidecar must agree on it)",
    "--served-model-name": "model.servedName",
    "--tensor-parallel-size": "{role}.tensorParallel",
    "--data-parallel-size": "{role}.dataParallel",
    "--block-size": "model.blockSize",
    "--kv-transfer-config": "the NIXL KV connector the P/D path needs (a dotted key replaces the whole JSON)",
    "--max-model-len": "model.maxModelLen",
}


@dataclass(frozen=True)
class SecretInput:
    """What is known about the HF token without reading it."""

    present: bool
    is_secret: bool
    well_formed: bool = True  # for values with a required format (the gateway API key)


def check(config: StackConfig, hf_token: SecretInput, api_key: SecretInput = SecretInput(False, False)) -> list[Problem]:
    problems: list[Problem] = []
    problems += _nixl_tp_ratio(config)
    for role_name in ("prefill", "decode"):
        role: RoleConfig = getattr(config, role_name)
        problems += _fits_node(role_name, role, config.platform.gpus_per_node)
        problems += _managed_inputs(role_name, role)
    problems += _hf_token(config, hf_token)
    problems += [Problem(key, why) for key, why in config.versions.release_mismatches()]
    problems += security_rules.check(config, api_key)
    problems += _gateway_fits_platform(config)
    problems += gateway_backend(config.gateway.provider).config_problems(config)
    problems += crd_bundles.config_problems(config)
    problems += _cache_holds_the_weights(config)
    problems += _namespace_is_ours(config)
    if config.platform.kind == "existing":
        problems += _env_block("platform.rdma.env", config.platform.rdma.env)
    if config.platform.kind == "gke":
        from components.config.gke_rules import check_gke  # noqa: PLC0415

        problems += check_gke(config)
    return problems


def _nixl_tp_ratio(config: StackConfig) -> list[Problem]:
    """Heterogeneous TP as vLLM 0.14.1's NIXL connector allows it (decode reads prefill's KV).

    vllm-project/vllm@v0.14.1:vllm/distributed/kv_transfer/kv_connector/v1/nixl_connector.py,
    NixlConnectorWorker._validate_remote_agent_handshake, with TpKVTopology in
    vllm/distributed/kv_transfer/kv_connector/utils.py: the TP sizes must divide each other (powers
    of two here); a TP at or above the model's KV heads replicates them (one per GPU,
    `is_kv_replicated`); prefill wider than decode fails when prefill replicates ("Num kv_heads >
    tp_size and P TP > D TP case, not supported"); decode wider than prefill needs the KV block
    sizes to line up, which fails when only decode replicates (prefill TP < KV heads < decode TP).
    For MLA models vLLM counts num_key_value_heads the same way; only the last case is stricter here
    than vLLM (MLA skips that block check), and it needs a decode TP above e.g. DeepSeek's 128 heads.
    """
    p, d = config.prefill.tensor_parallel, config.decode.tensor_parallel
    if p == d:
        return []
    heads = config.model.kv_heads
    if heads is None:
        return []  # unknown model: config/advice.py warns that the rule could not be checked
    if p > d and p >= heads:
        return [
            Problem(
                "prefill.tensorParallel",
                f"is {p}, wider than decode.tensorParallel ({d}) and at or above the model's {heads} KV heads: each "
                f"prefill GPU then holds a replicated KV head, and vLLM 0.14.1's NIXL connector cannot split "
                f"replicated KV for a narrower decode (the KV handshake fails). Set prefill.tensorParallel to at "
                f"most {max(d, heads // 2)}, or raise decode.tensorParallel to {p}.",
            )
        ]
    if d > p and p < heads < d:
        return [
            Problem(
                "decode.tensorParallel",
                f"is {d}, above the model's {heads} KV heads while prefill.tensorParallel ({p}) is below them: "
                f"decode GPUs then hold replicated KV heads and prefill GPUs several, KV blocks vLLM 0.14.1's "
                f"NIXL connector cannot map onto each other (the KV handshake fails). Set decode.tensorParallel "
                f"to at most {heads}, or prefill.tensorParallel to at least {heads}.",
            )
        ]
    return []


def _fits_node(name: str, role: RoleConfig, gpus_per_node: int) -> list[Problem]:
    if role.gpus <= gpus_per_node:
        return []
    return [
        Problem(
            f"{name}.tensorParallel",
            f"{name} pods need tensorParallel x dataParallel = {role.tensor_parallel} x {role.data_parallel} "
            f"= {role.gpus} GPUs, more than a node has ({gpus_per_node}); multi-node pods are not "
            f"supported. Lower tensorParallel or dataParallel so the product is at most {gpus_per_node}.",
        )
    ]


def _managed_inputs(name: str, role: RoleConfig) -> list[Problem]:
    problems = []
    for i, arg in enumerate(role.extra_args):
        flag = managed_flag(arg)
        if flag:
            source = MANAGED_FLAG_SOURCE[flag.split(" ", 1)[0]].format(role=name)
            problems.append(
                Problem(
                    f"{name}.extraArgs[{i}]",
                    f"is {arg!r}, which vLLM 0.14.1 reads as {flag}; the program sets that flag from {source}. "
                    "Set it there instead, or remove the argument.",
                )
            )
    problems += _env_block(f"{name}.env", role.env)
    for key in role.secret_env:
        if key in MANAGED_ENV or key in role.env:
            problems.append(Problem(f"{name}.secretEnv.{key}", f"is also set by the program or by {name}.env; set it once."))
    return problems


def _env_block(path: str, env: dict[str, str]) -> list[Problem]:
    problems = []
    for key in env:
        if key in MANAGED_ENV:
            problems.append(Problem(f"{path}.{key}", "is set by the program (NIXL side channel, model cache, Harmony encoding, HF token); remove it."))
        elif CREDENTIAL_ENV_NAME.search(key):
            where = path.rsplit(".", 1)[0]
            problems.append(
                Problem(
                    f"{path}.{key}",
                    "looks like a credential; a plain value would be written into the Deployment and the stack "
                    f"state. Put it in a Secret and reference it: `{where}.secretEnv.{key}: {{secret: <name>, key: <key>}}`"
                    + ("" if where.startswith(("prefill", "decode")) else " on each role") + ".",
                )
            )
    return problems


SYSTEM_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease", "gmp-system", "gmp-public"}
CONTROL_PLANE_NAMESPACES = {
    name: backend.control_plane_namespace for name, backend in PROVIDERS.items() if backend.control_plane_namespace
}


def _namespace_is_ours(config: StackConfig) -> list[Problem]:
    """The release's namespace must not be one the cluster or the gateway control plane owns."""
    ns, gateway = config.namespace, config.gateway
    control_plane = CONTROL_PLANE_NAMESPACES.get(gateway.provider) if gateway.install_control_plane else None
    if ns == control_plane:
        return [Problem("namespace", f"is {ns}, where this stack installs the {gateway.provider} control plane; use a namespace of its own, e.g. llm-d-pd.")]
    if ns in SYSTEM_NAMESPACES and config.create_namespace:
        return [Problem("namespace", f"is {ns}, a system namespace Pulumi must not own (it would delete it on destroy); use a namespace of its own, or set createNamespace: false.")]
    return []


def _hf_token(config: StackConfig, token: SecretInput) -> list[Problem]:
    if token.present and not token.is_secret:
        return [
            Problem(
                "hfToken",
                "is stored in plaintext. Store it encrypted: `pulumi config rm hfToken && "
                "pulumi config set --secret hfToken <token>`.",
            )
        ]
    if config.model.requires_token and not token.present:
        return [
            Problem(
                "hfToken",
                f"is required because model.requiresToken is true for {config.model.name}. "
                "Set it with `pulumi config set --secret hfToken <token>`.",
            )
        ]
    return []


def _gateway_fits_platform(config: StackConfig) -> list[Problem]:
    provider = config.gateway.provider
    needs = gateway_backend(provider).platform_kind
    if needs is None or needs == config.platform.kind:
        return []
    usable = [name for name, backend in PROVIDERS.items() if backend.platform_kind in (None, config.platform.kind)]
    return [
        Problem(
            "gateway.provider",
            f"is {provider}, which needs platform.kind: {needs} (the managed GKE Gateway). On this platform "
            f"use {' or '.join(usable)}.",
        )
    ]


def _cache_holds_the_weights(config: StackConfig) -> list[Problem]:
    """The weights must fit where they are written (the upstream GKE variant shipped a 5Mi volume)."""
    cache = config.model_cache
    writes_to_size = cache.mode == "download" or config.platform.kind != "gke"
    needed = config.model.size_gb * 1e9
    if not writes_to_size or quantity_value(cache.size) >= needed:
        return []
    return [
        Problem(
            "modelCache.size",
            f"is {cache.size}, smaller than the model's weights (model.sizeGb: {config.model.size_gb:g} GB). "
            f"Set it to at least {int(-(-config.model.size_gb * 1.25 // 1))}Gi.",
        )
    ]
