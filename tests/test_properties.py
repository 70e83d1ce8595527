"""Property-based tests over the whole stack-config space, run through the real program under mocks.

Validity is decided by construction: the strategies below generate only configs that are valid
(every value in its real range, and the cross-key rules respected), so for every one of them the
program must register a deployment whose Kubernetes objects validate against the real schemas and
satisfy every invariant in tools/invariants.py. An invalid config is a valid one with exactly one
known mutation applied (an unknown key at some depth, a wrong type, an out-of-range value, or a
broken cross-key rule), so the program must stop with a `pulumi.RunError` that names exactly that
key (`llmd:<dotted.key>`), one problem, no traceback, and nothing registered.

Reproducible: examples are derandomized (the same cases on every run, no example database).
`LLMD_PROPERTY_SCALE=10` runs ten times as many cases; `LLMD_PROPERTY_EXPLORE=1` draws new random
cases each run (for local bug hunting; a failure prints the config to reproduce it).
The number of cases each test ran is printed in pytest's terminal summary.
"""

import copy
import ipaddress
import math
import os
import re
import time
import types
import typing
from collections import Counter
from typing import Any, Callable, Optional

import pulumi
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import note as _note
from hypothesis.errors import InvalidArgument
from hypothesis import strategies as st
from pydantic import BaseModel

from components.config.gke import (
    DEFAULT_DRIVER_MIN_VERSION,
    FLEX_START_MIN_VERSION,
    RDMA_MIN_VERSION,
    version_at_least,
)
from components.config.base import QUANTITY
from components.config.load import validate
from components.config.model import ROLE_DEFAULTS, StackConfig
from components.config.rules import CONTROL_PLANE_NAMESPACES, SYSTEM_NAMESPACES
from components.model_catalog import KNOWN_MODELS
from components.security import AUTH_PROVIDERS
from components.vllm import MANAGED_ENV, MANAGED_FLAGS
from conftest import validator_for
from tools.invariants import SECRET_ENV_NAME, Context, check_run, parse_flags, vllm_containers
from tools.mock_runtime import ROOT, ProgramRun, run_program, stack_config

SCALE = float(os.environ.get("LLMD_PROPERTY_SCALE", "1"))
EXPLORE = os.environ.get("LLMD_PROPERTY_EXPLORE") == "1"
PROJECT = "llmd"
ROLES = ("prefill", "decode")

CASES: Counter = Counter()  # test -> examples run
KINDS: Counter = Counter()  # (test, mutation family) -> examples
SECONDS: Counter = Counter()


def examples(n: int) -> settings:
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        derandomize=not EXPLORE,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# --- the terminal summary line -----------------------------------------------------------------
class _Summary:
    def pytest_terminal_summary(self, terminalreporter):
        if not CASES:
            return
        terminalreporter.write_sep("-", "property tests (tests/test_properties.py)")
        for test, n in sorted(CASES.items()):
            families = ", ".join(f"{k} {v}" for (t, k), v in sorted(KINDS.items()) if t == test)
            terminalreporter.write_line(
                f"{test}: {n} cases in {SECONDS[test]:.1f}s" + (f" ({families})" if families else "")
            )
        terminalreporter.write_line(f"total: {sum(CASES.values())} generated stack configs")


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    manager = request.config.pluginmanager
    if not manager.has_plugin("llmd-property-summary"):
        manager.register(_Summary(), "llmd-property-summary")
    yield


@pytest.fixture(autouse=True)
def _timed(request):
    start = time.perf_counter()
    yield
    SECONDS[request.node.originalname] += time.perf_counter() - start


def note(text: str) -> None:
    """hypothesis.note inside a property test (printed with a failing case); nothing elsewhere."""
    try:
        _note(text)
    except InvalidArgument:
        pass


def count(test: str, family: Optional[str] = None) -> None:
    CASES[test] += 1
    if family:
        KINDS[(test, family)] += 1
        event(family)


# --- the gke platform, if it can be run offline ------------------------------------------------
def _gke_runner() -> tuple[Optional[Callable[..., ProgramRun]], str]:
    """How to run the gke stack under mocks, or why it cannot be run (yet)."""
    if not (ROOT / "Pulumi.gke.yaml").exists():
        return None, "Pulumi.gke.yaml does not exist yet"
    runner = lambda config, **kw: run_program("gke", config, **kw)  # noqa: E731
    try:
        probe = runner(stack_config("gke"), expect_error=True)
    except Exception as error:  # noqa: BLE001 - reported as the skip reason
        return None, f"run_program('gke', stack_config('gke')) raised {error!r}"
    if probe.error is not None:
        return None, f"run_program('gke', stack_config('gke')) failed: {str(probe.error).splitlines()[0]}"
    return runner, ""


GKE_RUN, GKE_SKIP = _gke_runner()
needs_gke = pytest.mark.skipif(GKE_RUN is None, reason=f"gke generation skipped: {GKE_SKIP}")


def run(platform: str, config: dict, token: Optional[str], plaintext_token: bool = False, **kwargs) -> ProgramRun:
    secrets = {"hfToken": token} if token and not plaintext_token else None
    if token and plaintext_token:
        config = {**config, "hfToken": token}
    if needs_api_key(config):
        secrets = {**(secrets or {}), "gatewayApiKey": API_KEY}
    if platform == "gke":
        return GKE_RUN(config, secrets=secrets, **kwargs)
    return run_program(platform, config, secrets, **kwargs)


# --- value strategies --------------------------------------------------------------------------
LOWER, DIGITS = "abcdefghijklmnopqrstuvwxyz", "0123456789"


def dns_label(max_len: int, first: str = LOWER + DIGITS) -> st.SearchStrategy[str]:
    edge = st.sampled_from(LOWER + DIGITS)
    body = st.text(LOWER + DIGITS + "-", max_size=max(0, max_len - 2))
    return st.one_of(st.sampled_from(first), st.builds(lambda a, m, z: a + m + z, st.sampled_from(first), body, edge))


def label_name() -> st.SearchStrategy[str]:
    alnum = LOWER + LOWER.upper() + DIGITS
    return st.one_of(
        st.sampled_from(alnum),
        st.builds(lambda a, m, z: a + m + z, st.sampled_from(alnum), st.text(alnum + "-_.", max_size=20), st.sampled_from(alnum)),
    )


def label_key() -> st.SearchStrategy[str]:
    prefix = st.lists(dns_label(12), min_size=1, max_size=3).map(".".join)
    return st.one_of(
        st.sampled_from(["gpu.nvidia.com/model", "node.kubernetes.io/instance-type", "nvidia.com/gpu.product", "pool"]),
        label_name(),
        st.builds(lambda p, n: f"{p}/{n}", prefix, label_name()),
    )


def label_value() -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), st.sampled_from(["H200", "true", "a3-ultragpu-8g"]), label_name())


_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def bytes_of(quantity: str) -> float:
    """A Kubernetes quantity as a number (the test's own reading, independent of the program's)."""
    if isinstance(quantity, (int, float)):
        return float(quantity)
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", quantity).groups()
    return float(number) * _UNITS[unit]


def quantity(values: list[str], units=("", "m", "k", "M", "G", "Ki", "Mi", "Gi", "Ti")) -> st.SearchStrategy[str]:
    random = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 4096), st.sampled_from(units))
    return st.one_of(st.sampled_from(values), random)


# `pulumi config set --path decode.cpu 16` stores a number: accepted as Kubernetes accepts it.
CPU = st.one_of(quantity(["1", "4", "8", "16", "32", "128", "500m", "1500m", "2.5"]), st.sampled_from([1, 16, 0.5, 2.5, 128]))
MEMORY = st.one_of(quantity(["512Mi", "16Gi", "64Gi", "128Gi", "1Ti", "64G"]), st.sampled_from([68719476736, 17179869184]))
DURATION = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 3600), st.sampled_from("smh"))
PRINTABLE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)
ENV_NAME = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,20}\Z")


def env_name(vocabulary: list[str]) -> st.SearchStrategy[str]:
    # Names the program sets itself are refused by the config (role env) or collide (rdma env, see the
    # known-gap tests); credential-looking names would be plaintext secrets (policy: secret-env).
    return st.one_of(st.sampled_from(vocabulary), ENV_NAME).filter(
        lambda n: n not in MANAGED_ENV and not SECRET_ENV_NAME.search(n)
    )


def env_map(vocabulary: list[str]) -> st.SearchStrategy[dict]:
    return st.dictionaries(env_name(vocabulary), PRINTABLE, max_size=4)


ROLE_ENV = ["UCX_TLS", "NCCL_DEBUG", "VLLM_LOGGING_LEVEL", "PYTHONUNBUFFERED", "VLLM_USE_V1", "UCX_LOG_LEVEL"]
RDMA_ENV = ["UCX_TLS", "UCX_NET_DEVICES", "UCX_IB_ADDR_TYPE", "NCCL_IB_HCA", "NCCL_SOCKET_IFNAME"]
EXTRA_ARGS = [
    ["--enable-prefix-caching"],
    ["--gpu-memory-utilization=0.9"],
    ["--max-num-seqs", "256"],
    ["--enforce-eager"],
    ["--kv-cache-dtype=fp8"],
    ["--max-num-batched-tokens=8192"],
    ["--disable-log-stats"],
    ["--async-scheduling"],
]
RANDOM_FLAG = st.builds(
    lambda word, value: f"--x-{word}" + (f"={value}" if value else ""),
    st.text(LOWER + "-", min_size=1, max_size=12),
    st.one_of(st.none(), st.text(LOWER + DIGITS + ".", min_size=1, max_size=6)),
)
EXTRA = st.lists(st.one_of(st.sampled_from(EXTRA_ARGS), RANDOM_FLAG.map(lambda f: [f])), max_size=3).map(
    lambda groups: [a for g in groups for a in g]
)


@st.composite
def toleration(draw) -> dict:
    operator = draw(st.sampled_from(["Equal", "Exists"]))
    tol: dict = {}
    if operator == "Exists":
        key = draw(st.one_of(st.none(), label_key()))
        if key:
            tol["key"] = key
        tol["operator"] = "Exists"
    else:
        tol["key"] = draw(label_key())
        if draw(st.booleans()):
            tol["operator"] = "Equal"
        value = draw(label_value())
        if value:
            tol["value"] = value
    effect = draw(st.one_of(st.none(), st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"])))
    if effect:
        tol["effect"] = effect
    return tol


MODELS = [
    "openai/gpt-oss-120b",
    "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic",
    "meta-llama/Llama-3.1-8B-Instruct",
    "Qwen/Qwen3-32B",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
]
HF_PART = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,40}\Z")
MODEL_NAME = st.one_of(st.sampled_from(MODELS), st.builds(lambda a, b: f"{a}/{b}", HF_PART, HF_PART))
TOKEN = st.builds(lambda s: "hf_" + s, st.text(LOWER + LOWER.upper() + DIGITS, min_size=12, max_size=37))
IMAGES = {
    "vllmImage": ["ghcr.io/llm-d/llm-d-cuda:v0.5.0", "ghcr.io/llm-d/llm-d-cuda:v0.4.0", "vllm/vllm-openai:v0.11.0"],
    "schedulerImage": ["ghcr.io/llm-d/llm-d-inference-scheduler:v0.5.0", "registry.local:5000/llm-d/scheduler:v0.5.0"],
    "routingSidecarImage": ["ghcr.io/llm-d/llm-d-routing-sidecar:v0.5.0", "ghcr.io/llm-d/llm-d-routing-sidecar:v0.4.0"],
    "verifierImage": ["python:3.12-slim", "python:3.13-slim"],
    "fillImage": ["python:3.12-slim", "python:3.13-slim", "registry.local:5000/hf-downloader:1.28"],
    "inferencePerfImage": ["quay.io/inference-perf/inference-perf:v0.4.0"],
}
# Images of another release than versions.llmd are refused: a stack on v0.9.0 draws its own.
LLMD_RELEASES = ["v0.5.0", "v0.9.0"]
RELEASE_IMAGES = {
    "v0.9.0": {
        "vllmImage": ["ghcr.io/llm-d/llm-d-cuda:v0.9.0", "vllm/vllm-openai:v0.26.0"],
        "schedulerImage": ["ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0", "registry.local:5000/llm-d/epp:v0.10.0"],
        "routingSidecarImage": ["ghcr.io/llm-d/llm-d-router-disagg-sidecar:v0.10.0"],
    }
}
DIGEST = st.text("0123456789abcdef", min_size=64, max_size=64)


def image(choices: list[str]) -> st.SearchStrategy[str]:
    pinned_by_digest = st.builds(lambda i, d: i.split(":")[0] + "@sha256:" + d, st.sampled_from(choices), DIGEST)
    return st.one_of(st.sampled_from(choices), pinned_by_digest)


SECRET_KEY_NAME = st.one_of(st.sampled_from(["api-key", "ci", "key.v2"]), st.from_regex(r"\A[-._a-zA-Z0-9]{1,30}\Z").filter(lambda k: k not in (".", "..")))
SOURCE_RANGE = st.one_of(
    st.sampled_from(["203.0.113.0/24", "198.51.100.7/32", "10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32"]),
    st.builds(lambda a, b, n: str(ipaddress.ip_network(f"{a}.{b}.0.0/{n}", strict=False)), st.integers(1, 223), st.integers(0, 255), st.integers(8, 32)),
)
API_KEY = "sk-property-test-key-0123456789"


def needs_api_key(config: dict) -> bool:
    """The Pulumi secret gatewayApiKey is the key source: authenticated, and no operator Secret named."""
    gateway = config.get("gateway")
    gateway = gateway if isinstance(gateway, dict) else {}  # a mutation may make it any type
    auth = gateway.get("auth") if isinstance(gateway.get("auth"), dict) else {}
    mode = auth.get("mode") or ("apiKey" if gateway.get("exposure") == "public" else "none")
    return mode == "apiKey" and not auth.get("secret") and gateway.get("provider", "istio") in AUTH_PROVIDERS


def secure(draw, config: dict, provider: str) -> None:
    """Make the drawn gateway.exposure/auth/allowedSourceRanges a combination the provider supports."""
    gateway = config.get("gateway")
    if not gateway:
        return
    auth = gateway.get("auth")
    if provider == "kgateway":  # no API-key authentication at v2.1.1: internal, unauthenticated only
        gateway.pop("exposure", None)
        gateway.pop("allowedSourceRanges", None)
        if auth:
            auth.pop("secret", None)
            if "mode" in auth:
                auth["mode"] = "none"
        return
    if provider == "gke" and "exposure" not in gateway and draw(st.booleans()):
        gateway["exposure"] = "public"  # the Cloud Armor path, otherwise rarely drawn
    public = gateway.get("exposure") == "public"
    if provider == "gke":
        if "gkeClass" in gateway:
            gateway["gkeClass"] = "gke-l7-regional-external-managed" if public else "gke-l7-rilb"
        if not public:
            gateway.pop("allowedSourceRanges", None)
            if auth:
                auth.pop("secret", None)
                auth.pop("mode", None)
        else:
            if auth:
                auth.pop("secret", None)
                if auth.get("mode") == "none":
                    auth.pop("mode")
            if "allowedSourceRanges" not in gateway and draw(st.booleans()):  # rare otherwise: only here it is valid
                gateway["allowedSourceRanges"] = draw(st.lists(SOURCE_RANGE, min_size=1, max_size=3))
        return
    gateway.pop("allowedSourceRanges", None)
    if auth:
        if public and auth.get("mode") == "none":
            auth.pop("mode")
        mode = auth.get("mode") or ("apiKey" if public else "none")
        if mode == "none":
            auth.pop("secret", None)


def block(required: dict, optional: dict) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(required, optional=optional)


def maybe(strategy):
    """Optional top-level blocks: None means leave the key out."""
    return st.one_of(st.none(), strategy)


# --- stack configs -----------------------------------------------------------------------------
POW2 = [1, 2, 4, 8, 16]


REPLICAS = st.one_of(st.integers(1, 8), st.integers(1, 256))
SECRET_ENV = st.dictionaries(
    st.sampled_from(["WANDB_API_KEY", "HF_MIRROR_TOKEN", "S3_SECRET_ACCESS_KEY", "OTEL_EXPORTER_OTLP_HEADERS"]),
    st.fixed_dictionaries({"secret": dns_label(30), "key": st.sampled_from(["token", "api-key", "HEADERS", "key.txt"])}),
    max_size=2,
)
ROLE_FIELDS = {
    "secretEnv": SECRET_ENV,
    "cpu": CPU,
    "memory": MEMORY,
    "shmSize": MEMORY,
    "extraArgs": EXTRA,
    "env": env_map(ROLE_ENV),
    "nodeSelector": st.dictionaries(label_key(), label_value(), max_size=2),
    "tolerations": st.lists(toleration(), max_size=2),
}
IB_ROLE_FIELDS = block({}, ROLE_FIELDS)
# On GKE the program creates the GPU pool, so a nodeSelector can only name labels its nodes carry
# (see test_known_gap_gke_node_selector_the_gpu_pool_lacks).
GKE_NODE_LABELS = {
    "cloud.google.com/gke-accelerator": "nvidia-h200-141gb",
    "node.kubernetes.io/instance-type": "a3-ultragpu-8g",
}
GKE_ROLE_FIELDS = block(
    {},
    {
        **ROLE_FIELDS,
        "nodeSelector": st.lists(st.sampled_from(sorted(GKE_NODE_LABELS)), unique=True, max_size=2).map(
            lambda keys: {k: GKE_NODE_LABELS[k] for k in keys}
        ),
    },
)


@st.composite
def roles(draw, gpus_per_node: int, max_pods: Optional[int] = None) -> dict:
    """Both role blocks: TP a power of two, TP x DP fits a node (`finish` makes the TPs fit the KV heads)."""
    decode_tp = draw(st.sampled_from([p for p in POW2 if p <= gpus_per_node]))
    decode_dp = draw(st.integers(1, min(8, gpus_per_node // decode_tp)))
    prefill_tp = draw(st.sampled_from([p for p in POW2 if p <= gpus_per_node]))
    prefill_dp = draw(st.integers(1, min(8, gpus_per_node // prefill_tp)))
    if max_pods is None:
        prefill_replicas, decode_replicas = draw(REPLICAS), draw(REPLICAS)
    else:
        prefill_replicas = draw(st.integers(1, max_pods - 1))
        decode_replicas = draw(st.integers(1, max_pods - prefill_replicas))
    out = {}
    for role, tp, dp, reps in (("prefill", prefill_tp, prefill_dp, prefill_replicas), ("decode", decode_tp, decode_dp, decode_replicas)):
        spec = {"tensorParallel": tp, **draw(IB_ROLE_FIELDS if max_pods is None else GKE_ROLE_FIELDS)}
        if max_pods is not None or draw(st.integers(0, 4)):
            spec["replicas"] = reps  # left out: the role's default (prefill 4, decode 1)
        if dp > 1 or draw(st.booleans()):
            spec["dataParallel"] = dp
        out[role] = spec
    # A role block may be left out where the guide's defaults fit: prefill (4 x TP1) always on an
    # existing cluster; decode (1 x TP4) when a node has 4 GPUs and prefill's TP is at most 4.
    if max_pods is None and draw(st.integers(0, 9)) == 0:
        out["prefill"] = None
    prefill_tp = (out["prefill"] or {"tensorParallel": 1})["tensorParallel"]
    if max_pods is None and gpus_per_node >= 4 and prefill_tp <= 4 and draw(st.integers(0, 9)) == 0:
        out["decode"] = None
    return {k: v for k, v in out.items() if v is not None}


def common_blocks(gke: bool = False) -> dict:
    gateway = block(
        {},
        {
            "gkeClass": st.sampled_from(["gke-l7-regional-external-managed", "gke-l7-rilb"]),
            "exposure": st.sampled_from(["internal", "public"]),
            "auth": block({}, {"mode": st.sampled_from(["none", "apiKey"]), "secret": dns_label(30), "key": SECRET_KEY_NAME}),
            "allowedSourceRanges": st.lists(SOURCE_RANGE, min_size=1, max_size=3),
            "installControlPlane": st.booleans(),
            "proxyLogLevel": st.sampled_from(["trace", "debug", "info", "warning", "error", "critical", "off"]),
            "proxyResources": block({}, {"cpuRequest": CPU, "memoryRequest": MEMORY, "cpuLimit": CPU, "memoryLimit": MEMORY}),
            "listenerPort": st.one_of(st.sampled_from([80, 8080, 443]), st.integers(1, 65535)),
        },
    )
    model = block(
        {},
        {
            "name": MODEL_NAME,
            "servedName": st.one_of(st.sampled_from(["gpt", "my-model", "Llama 3 (70B)"]), PRINTABLE.filter(lambda s: "'" not in s and s)),
            "maxModelLen": st.one_of(st.sampled_from([256, 8192, 32000, 131072]), st.integers(256, 10**6)),
            "blockSize": st.sampled_from([16, 32, 64, 128]),
            "sizeGb": st.floats(min_value=0.01, max_value=5000, allow_nan=False, allow_infinity=False),
            "numKvHeads": st.sampled_from([1, 2, 4, 8, 16, 64, 128]),
            "harmony": st.booleans(),
        },
    )
    storage_class = st.lists(dns_label(20), min_size=1, max_size=2).map(".".join)
    model_cache = block(
        {},
        {
            "mode": st.sampled_from(["shared", "download"]),
            "size": MEMORY,
            "storageClass": storage_class,
            "persistentCompileCache": st.just(False),
            **({"bucket": st.from_regex(r"\A[a-z0-9][-a-z0-9_]{1,40}[a-z0-9]\Z")} if gke else {}),
        },
    )
    scheduler = block(
        {},
        {
            "selectivePdThreshold": st.one_of(st.just(0), st.integers(0, 10**6)),
            "hashBlockSize": st.integers(1, 1024),
            "logVerbosity": st.integers(0, 5),
        },
    )
    monitoring = block(
        {},
        {
            "enabled": st.booleans(),
            "modelServerInterval": DURATION,
            "schedulerInterval": DURATION,
            "namespaces": st.lists(dns_label(30), min_size=1, max_size=3),
        },
    )
    verification = block({}, {"enabled": st.booleans(), "timeoutSeconds": st.integers(30, 7200)})
    stage = st.fixed_dictionaries({"concurrency": st.integers(1, 10000), "requests": st.integers(1, 10**6)})
    benchmark = block(
        {},
        {
            "enabled": st.booleans(),
            "stages": st.lists(stage, min_size=1, max_size=5),
            "inputTokens": st.integers(1, 32000),
            "outputTokens": st.integers(1, 32000),
            "numWorkers": st.integers(1, 256),
            "workerMaxConcurrency": st.integers(1, 256),
            "resultsSize": MEMORY,
            "storageClass": storage_class,
        },
    )
    versions = block({}, {key: image(choices) for key, choices in IMAGES.items()})
    price = st.one_of(st.integers(0, 200), st.floats(min_value=0, max_value=500, allow_nan=False, allow_infinity=False))
    pricing = block({}, {"gpuNodeHour": price, "gpuHour": price, "systemNodeHour": price})
    blocks = {
        "namespace": st.one_of(st.sampled_from(["llm-d-pd", "llm-d", "default", "team-a-inference"]), dns_label(63)),
        "createNamespace": st.booleans(),
        "releaseSuffix": st.one_of(st.sampled_from(["pd", "pd-2", "canary", "a"]), dns_label(20)),
        "gateway": gateway,
        "model": model,
        "modelCache": model_cache,
        "scheduler": scheduler,
        "monitoring": monitoring,
        "verification": verification,
        "benchmark": benchmark,
        "versions": versions,
        "pricing": pricing,
    }
    return {key: maybe(strategy) for key, strategy in blocks.items()}


def known_size(model: dict) -> float:
    """The weights' size the config model assumes when model.sizeGb is left out."""
    name = model.get("name")
    return KNOWN_MODELS[name].size_gb if isinstance(name, str) and name in KNOWN_MODELS else 65.0


@st.composite
def finish(draw, config: dict, blocks: dict, providers: list[str]) -> tuple[dict, Optional[str]]:
    """Add the optional top-level blocks, a gateway provider, and a token (always when the model needs one)."""
    for key, strategy in blocks.items():
        value = draw(strategy)
        if value is not None:
            config[key] = value
    llmd = draw(st.one_of(st.none(), st.sampled_from(LLMD_RELEASES)))
    if llmd is not None:
        versions = config.setdefault("versions", {})
        versions["llmd"] = llmd
        for key, choices in RELEASE_IMAGES.get(llmd, {}).items():
            if key in versions:
                versions[key] = draw(image(choices))
        pool = config["platform"].get("gpuPool", {})
        if llmd == "v0.9.0" and pool.get("gpuDriverVersion") == "DEFAULT":
            pool["gpuDriverVersion"] = "LATEST"  # CUDA 13 needs the 580 branch (rules._release_driver)
    provider = draw(st.sampled_from(providers))  # drawn on its own so that every provider is well covered
    if provider != "istio" or draw(st.booleans()):
        config.setdefault("gateway", {})["provider"] = provider
    # The vendored CRD bundles are static data (tests/gateway/test_crds.py checks them) and cost ~0.5 s of
    # mock serialization per run: most runs skip them, two in five install or adopt them.
    config.setdefault("gateway", {})["crds"] = draw(st.sampled_from(["skip", "skip", "skip", "install", "adopt"]))
    secure(draw, config, provider)
    # A namespace the cluster or the control plane owns is refused (see rules._namespace_is_ours).
    namespace = config.get("namespace", "llm-d-pd")
    installs_control_plane = config.get("gateway", {}).get("installControlPlane", True)
    if installs_control_plane and namespace == CONTROL_PLANE_NAMESPACES.get(provider):
        config["namespace"] = "llm-d-pd"
    elif namespace in SYSTEM_NAMESPACES and config.get("createNamespace", True):
        config["createNamespace"] = False
    # The cache must hold the weights wherever the pods write them (download mode, or a PVC).
    model = config.get("model", {})
    size_gb = model.get("sizeGb", known_size(model))
    cache = config.get("modelCache", {})
    if cache.get("mode", "shared") == "download" or config["platform"]["kind"] != "gke":
        if bytes_of(cache.get("size", "250Gi")) < size_gb * 1e9:
            config.setdefault("modelCache", {})["size"] = f"{math.ceil(size_gb * draw(st.sampled_from([1, 1.25, 2])))}G"
    # Prefill and decode TP must fit the model's KV heads (rules._nixl_tp_ratio); where they do
    # not, or the model's KV heads are unknown, state enough heads for both.
    p, d = role_spec(config, "prefill")["tensorParallel"], role_spec(config, "decode")["tensorParallel"]
    model = config.get("model", {})
    heads = model.get("numKvHeads") or getattr(KNOWN_MODELS.get(model.get("name", "openai/gpt-oss-120b")), "kv_heads", None)
    if p != d and (heads is None or (p > d and p >= heads) or (p < heads < d)):
        config.setdefault("model", {})["numKvHeads"] = 2 * max(p, d)
    needs_token = draw(st.booleans()) and draw(st.booleans())
    if needs_token:
        config.setdefault("model", {})["requiresToken"] = True
    token = draw(TOKEN) if needs_token or draw(st.booleans()) else None
    return config, token


IB_BLOCKS = common_blocks()
GKE_BLOCKS = {
    **common_blocks(gke=True),
    "versions": maybe(
        block(
            {},
            {
                **{key: image(choices) for key, choices in IMAGES.items()},
                "gibInstallerImage": image(
                    [
                        "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib:v1.1.1",
                        "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib:v1.1.0",
                    ]
                ),
            },
        )
    ),
}
IB_RDMA = block(
    {},
    {
        "resourceName": st.one_of(
            st.sampled_from(["rdma/ib", "rdma/roce_gdr", "rdma/rdma_shared_device_a", "rdma/shared_ib"]),
            st.builds(lambda p, n: f"{p}/{n}", st.lists(dns_label(10), min_size=1, max_size=2).map(".".join), label_name()),
        ),
        "count": st.one_of(st.integers(1, 4), st.integers(1, 64)),
        "capabilities": st.lists(st.sampled_from(["IPC_LOCK", "SYS_RAWIO", "NET_ADMIN", "NET_RAW", "SYS_RESOURCE"]), unique=True),
        "env": env_map(RDMA_ENV),
    },
)
IB_PLATFORM = block(
    {"kind": st.just("existing"), "context": dns_label(20)},
    {
        "kubeconfig": st.sampled_from(["~/.kube/config", "/etc/kube/config"]),
        "gpuResource": st.sampled_from(["nvidia.com/gpu", "amd.com/gpu"]),
        "rdma": IB_RDMA,
    },
)
GPUS_PER_NODE = st.one_of(st.none(), st.sampled_from([8, 4, 16, 2, 1]), st.integers(1, 16))


@st.composite
def ib_configs(draw) -> tuple[dict, Optional[str]]:
    platform = draw(IB_PLATFORM)
    gpus = draw(GPUS_PER_NODE)
    if gpus is None:
        gpus = 8  # the default
    else:
        platform["gpusPerNode"] = gpus
    config = {"platform": platform, **draw(roles(gpus))}
    return draw(finish(config, IB_BLOCKS, ["istio", "kgateway", "agentgateway"]))


GKE_ZONES = ["europe-west1-b", "us-central1-a", "us-central1-b", "us-east4-b", "us-west1-c"]
# Exact pins and prefixes (resolved by the mock's engine-versions lookup, tools/mock_runtime.ENGINE_VERSIONS).
GKE_VERSIONS = ["1.31.4-gke.1183000", "1.31.7-gke.1265000", "1.32.2-gke.1652000", "1.33.5-gke.1080000", "1.34.1-gke.1829001", "1.35.0-gke.1000", "1.31", "1.32", "1.33", "1.34", "1.34.1", "1.35"]
RANGE_NAMES = ["primary", "gvnic", "rdma", "pods", "services", "proxyOnly", "master"]
# Prefix lengths each range may take (rdma: one range split into 8 subnets of at least /29).
PREFIXES = {"primary": (16, 29), "gvnic": (16, 29), "rdma": (16, 26), "pods": (14, 21), "services": (16, 24), "proxyOnly": (20, 26), "master": (28, 28)}


@st.composite
def network_ranges(draw) -> dict:
    """Non-overlapping by construction: each range lives in its own /14 of 10.0.0.0/8."""
    # Not the /14s holding the defaults a partial block keeps (10.0.32.0/20, 10.4.0.0/14, 10.129.0.0/23).
    blocks = draw(st.permutations([k for k in range(64) if k not in (0, 1, 32)]))[: len(RANGE_NAMES)]
    out = {}
    for name, index in zip(RANGE_NAMES, blocks):
        low, high = PREFIXES[name]
        prefix = draw(st.integers(low, high))
        out[name] = f"10.{index * 4}.0.0/{prefix}"
    if draw(st.booleans()):
        return out  # every range set
    return draw(block({}, {k: st.just(v) for k, v in out.items()}))


@st.composite
def system_pool(draw) -> dict:
    high = draw(st.integers(1, 100))
    pool = {"minNodes": draw(st.integers(0, high)), "maxNodes": high}
    return {**pool, **draw(SYSTEM_POOL_FIELDS)}


SYSTEM_POOL_FIELDS = block(
    {}, {"machineType": st.sampled_from(["e2-standard-16", "e2-standard-4", "n2-standard-8"]), "diskSizeGb": st.integers(10, 2000)}
)
GPU_POOL_FIELDS = block(
    {},
    {
        "machineType": st.just("a3-ultragpu-8g"),
        "acceleratorType": st.just("nvidia-h200-141gb"),
        "acceleratorCount": st.just(8),
        "bootDiskSizeGb": st.integers(10, 2000),
        "localSsdEphemeralStorage": st.booleans(),
    },
)
PROJECT_ID = st.one_of(st.sampled_from(["my-gcp-project", "llm-d-prod"]), st.from_regex(r"\A[a-z][-a-z0-9]{4,28}[a-z0-9]\Z"))
RESERVATION = block({"name": dns_label(30, LOWER)}, {"project": PROJECT_ID, "block": dns_label(20, LOWER)})
GKE_PLATFORM_FIELDS = block(
    {"project": PROJECT_ID},
    {
        "clusterName": dns_label(15, LOWER),
        "releaseChannel": st.sampled_from(["UNSPECIFIED", "RAPID", "REGULAR", "STABLE", "EXTENDED"]),
        "deletionProtection": st.booleans(),
        "privateNodes": st.booleans(),
        "authorizedNetworks": st.lists(st.sampled_from(["203.0.113.0/24", "198.51.100.7/32", "192.0.2.0/28"]), max_size=2, unique=True),
        "network": network_ranges(),
        "systemPool": system_pool(),
    },
)
ZONE = st.one_of(st.sampled_from(GKE_ZONES), st.from_regex(r"\A[a-z]{2,8}-[a-z]{2,8}[1-9]-[a-f]\Z"))
MAX_NODES = st.one_of(st.integers(2, 4), st.integers(2, 64))


@st.composite
def gke_configs(draw) -> tuple[dict, Optional[str]]:
    zone = draw(ZONE)
    capacity_kind = draw(st.sampled_from(["flexStart", "reservation", "spot", "onDemand"]))
    max_nodes = draw(MAX_NODES)
    pool: dict = draw(GPU_POOL_FIELDS)
    if capacity_kind == "flexStart":
        pool["capacity"] = {"kind": "flexStart", "maxNodes": max_nodes}
    else:
        if capacity_kind == "reservation":
            pool["capacity"] = {"kind": "reservation", **draw(RESERVATION)}
        elif capacity_kind != "onDemand" or draw(st.booleans()):
            pool["capacity"] = {"kind": capacity_kind}
        if max_nodes != 2 or draw(st.booleans()):
            pool["nodeCount"] = max_nodes  # left out: 2
    platform = {"kind": "gke", "region": zone.rsplit("-", 1)[0], "zone": zone, **draw(GKE_PLATFORM_FIELDS)}
    # gkeVersion left out is 1.34 (resolved to the newest 1.34), new enough for everything.
    versions = [v for v in GKE_VERSIONS if capacity_kind != "flexStart" or version_at_least(v, FLEX_START_MIN_VERSION)]
    version = draw(st.one_of(st.none(), st.sampled_from(versions)))
    if version:
        platform["gkeVersion"] = version
    drivers = ["LATEST"] + (["DEFAULT"] if version_at_least(version or GKE_VERSIONS[-2], DEFAULT_DRIVER_MIN_VERSION) else [])
    driver = draw(st.one_of(st.none(), st.sampled_from(drivers)))
    if driver:
        pool["gpuDriverVersion"] = driver
    platform["gpuPool"] = pool
    config = {"platform": platform, **draw(roles(8, max_pods=max_nodes))}
    return draw(finish(config, GKE_BLOCKS, ["gke", "istio", "kgateway", "agentgateway"]))


# --- valid configs deploy correctly ------------------------------------------------------------
def typed(platform: str, config: dict, token: Optional[str]) -> StackConfig:
    """The config model's reading of `config` (the same call the program makes)."""
    raw = {**config, "hfToken": token} if token else dict(config)
    secret = {"hfToken"} if token else set()
    if needs_api_key(config):
        raw, secret = {**raw, "gatewayApiKey": API_KEY}, secret | {"gatewayApiKey"}
    return validate(raw, secret, platform, PROJECT)


SEEN_KEYS: set[str] = set()  # every config key the valid tests generated (for the coverage test)


def assert_deploys_correctly(platform: str, config: dict, token: Optional[str]) -> None:
    note(f"config: {config!r}, token: {token!r}")
    _walk_keys(config, SEEN_KEYS)
    stack = typed(platform, config, token)  # a generator bug if this raises
    result = run(platform, config, token)
    objects = result.kube()
    # Against the CRD versions of the config's release profile and its gateway provider's CRDs.
    errors = [e for obj in objects for e in validator_for(stack).errors(obj.inputs)]
    assert errors == [], errors
    context = Context.from_stack_config(stack, ([token] if token else []) + ([API_KEY] if needs_api_key(config) else []))
    assert check_run(result, context) == []
    assert_follows_config(result, stack)


def assert_follows_config(result: ProgramRun, stack: StackConfig) -> None:
    """The deployment is the one the config asked for (not merely a self-consistent one)."""
    servers = {}
    for deployment in result.kube("Deployment"):
        template = deployment.inputs["spec"]["template"]
        found = vllm_containers(template["spec"])
        if found:
            servers[template["metadata"]["labels"]["llm-d.ai/role"]] = (deployment, found[0])
    assert set(servers) == set(ROLES)
    for role, (deployment, vllm) in servers.items():
        spec = getattr(stack, role)
        flags = parse_flags(vllm["args"])
        assert deployment.inputs["spec"]["replicas"] == spec.replicas
        assert int(flags["--tensor-parallel-size"]) == spec.tensor_parallel
        assert int(flags.get("--data-parallel-size", "1")) == spec.data_parallel
        assert flags["--served-model-name"] == stack.model.served
        assert int(flags["--max-model-len"]) == stack.model.max_model_len
        assert deployment.inputs["metadata"]["namespace"] == stack.namespace
    for kind in ("InferencePool", "HTTPRoute", "Gateway"):
        assert [o.inputs["metadata"]["namespace"] for o in result.kube(kind)] == [stack.namespace]
    assert bool(result.kube("Namespace", stack.namespace)) == stack.create_namespace


@examples(40)
@given(ib_configs())
def test_every_valid_ib_config_deploys_correctly(case):
    config, token = case
    count("test_every_valid_ib_config_deploys_correctly", config.get("gateway", {}).get("provider", "istio"))
    assert_deploys_correctly("ib", config, token)


@needs_gke
@examples(20)
@given(gke_configs())
def test_every_valid_gke_config_deploys_correctly(case):
    config, token = case
    capacity = config["platform"]["gpuPool"].get("capacity", {}).get("kind", "onDemand")
    count("test_every_valid_gke_config_deploys_correctly", f"{config.get('gateway', {}).get('provider', 'istio')}/{capacity}")
    assert_deploys_correctly("gke", config, token)


# --- one mutation makes a config invalid -------------------------------------------------------
MISSING = object()


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_for(annotation: Any, value: Any) -> Optional[type[BaseModel]]:
    """The model a field's value is read with (for a tagged union, the member its `kind` names)."""
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is dict:
        return None  # a map (e.g. secretEnv): its values are read per key, not as one block
    members = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
    if members and isinstance(value, dict):
        for member in members:
            if value.get("kind") in typing.get_args(member.model_fields["kind"].annotation):
                return member
    return None


def _alias(name: str, info) -> str:
    return info.alias or name


def config_blocks(config: dict, model: type[BaseModel] = StackConfig, path: tuple = ()) -> list[tuple[tuple, type[BaseModel], bool]]:
    """(path, model, present) of every object in `config` that a model reads, and of absent optional ones."""
    out = [(path, model, True)]
    for name, info in model.model_fields.items():
        alias = _alias(name, info)
        value = config.get(alias, MISSING) if isinstance(config, dict) else MISSING
        sub = _model_for(info.annotation, value)
        if sub is not None:
            if isinstance(value, dict):
                out += config_blocks(value, sub, (*path, alias))
            elif value is MISSING and not any(f.is_required() for f in sub.model_fields.values()):
                out.append(((*path, alias), sub, False))
            continue
        inner = _unwrap(info.annotation)
        if typing.get_origin(inner) is list and isinstance(value, list):
            item = _model_for(typing.get_args(inner)[0], None)
            if item is not None:
                for i, element in enumerate(value):
                    if isinstance(element, dict):
                        out += config_blocks(element, item, (*path, alias, i))
    return out


def dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def set_path(config: dict, path: tuple, value: Any) -> None:
    target = config
    for i, part in enumerate(path[:-1]):
        empty = [] if isinstance(path[i + 1], int) else {}
        if isinstance(target, dict) and part not in target:
            target[part] = empty
        elif isinstance(target, list):
            while len(target) <= part:
                target.append({})
        target = target[part]
    if isinstance(target, list):
        while len(target) <= path[-1]:
            target.append({})
    target[path[-1]] = value


def get_path(config: dict, path: tuple, default: Any = MISSING) -> Any:
    target = config
    for part in path:
        try:
            target = target[part]
        except (KeyError, IndexError, TypeError):
            return default
    return target


class Mutation:
    """One way to break a valid config, and the key the error must name."""

    def __init__(self, family: str, applies: Callable, apply: Callable, platforms: tuple, weight: int):
        self.family, self.applies, self.apply, self.platforms, self.weight = family, applies, apply, platforms, weight


ALWAYS = lambda platform, config, token: True  # noqa: E731
MUTATIONS: list[Mutation] = []


def mutation(family: str, applies=ALWAYS, platforms=("ib", "gke"), weight: int = 1):
    """Register a mutation; `applies` says whether a given valid config can take it."""

    def register(apply):
        MUTATIONS.append(Mutation(family, applies, apply, platforms, weight))
        return apply

    return register


WORD = st.from_regex(r"\A[a-z][a-zA-Z0-9]{0,15}\Z")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@mutation("unknown key", weight=4)
def _unknown_key(data, platform, config, token):
    path, model, present = data.draw(st.sampled_from(config_blocks(config)))
    allowed = {_alias(n, i) for n, i in model.model_fields.items()}
    typos = [_snake(a) for a in allowed if _snake(a) != a]
    key = data.draw(st.one_of(st.sampled_from(typos), WORD) if typos else WORD)
    if key in allowed or (not path and key in ("hfToken", "gatewayApiKey")):
        key += "Typo"
    value = data.draw(st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.just({"a": 1})))
    set_path(config, (*path, key), value)
    return config, token, dotted((*path, key))


WRONG = {
    int: ["four", 4.5, [4], {"n": 4}, True],
    float: ["big", [1.5], {"x": 1}, True],
    bool: ["maybe", 1, [True]],
    str: [5, ["x"], {"a": "b"}, True],
    "literal": [12345, ["x"]],
    list: ["x", {"a": 1}, 5],
    dict: ["x", [1], 5],
    "model": ["x", [1], 5],
    "quantity": [["x"], {"a": "b"}, True],  # a number is a quantity (as Kubernetes reads it)
}


def _kind(annotation: Any, metadata: tuple = ()) -> Any:
    if any(getattr(m, "pattern", None) == QUANTITY for m in metadata):
        return "quantity"
    inner = _unwrap(annotation)
    if typing.get_origin(inner) is typing.Literal:
        return "literal"
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return "model"
    if typing.get_origin(inner) in (list, dict):
        return typing.get_origin(inner)
    return inner if inner in (int, float, bool, str) else None


def _typed_fields(config):
    fields = []
    for path, model, present in config_blocks(config):
        for name, info in model.model_fields.items():
            alias = _alias(name, info)
            kind = _kind(info.annotation, tuple(info.metadata))
            if kind is None or alias == "kind":
                continue
            if not path and (kind is str or kind == "literal"):
                continue  # top-level scalars arrive as text from `pulumi config set`: 5 is "5"
            fields.append(((*path, alias), kind))
    return fields


@mutation("wrong type", weight=3)
def _wrong_type(data, platform, config, token):
    path, kind = data.draw(st.sampled_from(_typed_fields(config)))
    set_path(config, path, copy.deepcopy(data.draw(st.sampled_from(WRONG[kind]))))
    return config, token, dotted(path)


def _maps(config):
    return [p for p in (("prefill", "env"), ("decode", "env"), ("prefill", "nodeSelector"), ("decode", "nodeSelector"), ("platform", "rdma", "env")) if isinstance(get_path(config, p[:-1]), dict)]


@mutation("wrong type in a map", lambda p, c, t: bool(_maps(c)))
def _wrong_map_value(data, platform, config, token):
    path = (*data.draw(st.sampled_from(_maps(config))), "UCX_TLS")
    set_path(config, path, data.draw(st.sampled_from([5, True, ["rc"], {"a": "b"}])))
    return config, token, dotted(path)


BAD_QUANTITY = st.sampled_from(["64 GB", "lots", "-1", "1.5.5Gi", "", "8gb"])
BAD_DURATION = st.sampled_from(["30 s", "1d", "30", "-5s", "5 m"])
BAD_IMAGE = st.sampled_from(["ghcr.io/llm-d/llm-d-cuda:latest", "ghcr.io/llm-d/llm-d-cuda", "localhost:5000/vllm", "vllm:latest"])
# (path, bad values, applies to) for single values checked on their own.
OUT_OF_RANGE: list[tuple] = [
    *[((role, "replicas"), st.sampled_from([0, -1, 257]), ("ib", "gke")) for role in ROLES],
    *[((role, "dataParallel"), st.sampled_from([0, -2, 9]), ("ib", "gke")) for role in ROLES],
    *[((role, "tensorParallel"), st.sampled_from([0, 3, 6, 12, -4]), ("ib", "gke")) for role in ROLES],
    *[((role, field), BAD_QUANTITY, ("ib", "gke")) for role in ROLES for field in ("cpu", "memory", "shmSize")],
    *[((role, "tolerations", 0, "operator"), st.sampled_from(["Maybe", "exists"]), ("ib", "gke")) for role in ROLES],
    *[((role, "tolerations", 0, "effect"), st.sampled_from(["Sometimes", "noSchedule"]), ("ib", "gke")) for role in ROLES],
    (("namespace",), st.sampled_from(["LLM_D", "-x", "a" * 64, "x_y", "x.y"]), ("ib", "gke")),
    (("releaseSuffix",), st.sampled_from(["a" * 21, "Pd", "-", "pd."]), ("ib", "gke")),
    (("gateway", "provider"), st.sampled_from(["nginx", "Istio", "envoy"]), ("ib", "gke")),
    (("gateway", "gkeClass"), st.sampled_from(["gke-l7-global-external-managed", "istio"]), ("ib", "gke")),
    (("gateway", "proxyLogLevel"), st.sampled_from(["verbose", "ERROR"]), ("ib", "gke")),
    (("gateway", "crds"), st.sampled_from(["delete", "Install", True]), ("ib", "gke")),
    (("gateway", "exposure"), st.sampled_from(["external", "Public", "private"]), ("ib", "gke")),
    (("gateway", "auth", "mode"), st.sampled_from(["basic", "apikey", "jwt"]), ("ib", "gke")),
    (("gateway", "auth", "secret"), st.sampled_from(["Team_Keys", "-x", "a" * 64]), ("ib", "gke")),
    (("gateway", "auth", "key"), st.sampled_from(["a b", "k/y", ""]), ("ib", "gke")),
    (("gateway", "allowedSourceRanges", 0), st.sampled_from(["10.0.0.1/8", "office", "10.0.0.0/33", "203.0.113.0/"]), ("ib", "gke")),
    (("monitoring", "namespaces", 0), st.sampled_from(["Monitoring", "-x", "gmp_system"]), ("ib", "gke")),
    (("gateway", "listenerPort"), st.sampled_from([0, -80, 65536]), ("ib", "gke")),
    (("gateway", "proxyResources", "cpuRequest"), BAD_QUANTITY, ("ib", "gke")),
    (("model", "name"), st.sampled_from(["gpt-oss-120b", "a/b/c", "/x", "-a/b", "a b/c"]), ("ib", "gke")),
    (("model", "maxModelLen"), st.sampled_from([255, 0, -1]), ("ib", "gke")),
    (("model", "blockSize"), st.sampled_from([48, 256, 0]), ("ib", "gke")),
    (("model", "sizeGb"), st.sampled_from([0, -1.5, 0.0]), ("ib", "gke")),
    (("model", "numKvHeads"), st.sampled_from([0, -8, 1025]), ("ib", "gke")),
    (("modelCache", "persistentCompileCache"), st.just(True), ("ib", "gke")),
    (("modelCache", "mode"), st.sampled_from(["lazy", "Shared"]), ("ib", "gke")),
    (("modelCache", "size"), BAD_QUANTITY, ("ib", "gke")),
    (("modelCache", "bucket"), st.sampled_from(["UPPER", "a", "has space"]), ("ib", "gke")),
    (("scheduler", "selectivePdThreshold"), st.sampled_from([-1, -512]), ("ib", "gke")),
    (("scheduler", "hashBlockSize"), st.sampled_from([0, -5]), ("ib", "gke")),
    (("scheduler", "logVerbosity"), st.sampled_from([-1, 6]), ("ib", "gke")),
    (("monitoring", "modelServerInterval"), BAD_DURATION, ("ib", "gke")),
    (("monitoring", "schedulerInterval"), BAD_DURATION, ("ib", "gke")),
    (("verification", "timeoutSeconds"), st.sampled_from([29, 0]), ("ib", "gke")),
    (("benchmark", "stages"), st.just([]), ("ib", "gke")),
    (("benchmark", "stages", 0), st.sampled_from([{"concurrency": 0, "requests": 5}, {"concurrency": 10001, "requests": 5}]), ("ib", "gke"), "benchmark.stages[0].concurrency"),
    (("benchmark", "inputTokens"), st.sampled_from([0, -1]), ("ib", "gke")),
    (("benchmark", "resultsSize"), BAD_QUANTITY, ("ib", "gke")),
    (("pricing", "gpuNodeHour"), st.sampled_from([-1, -0.01]), ("ib", "gke")),
    (("pricing", "gpuHour"), st.sampled_from([-10.5]), ("ib", "gke")),
    (("pricing", "systemNodeHour"), st.sampled_from([-1]), ("ib", "gke")),
    *[(("versions", key), BAD_IMAGE, ("ib", "gke")) for key in IMAGES],
    (("versions", "llmd"), st.sampled_from(["v0.7.0", "0.9.0", "latest", "v0.10.0"]), ("ib", "gke")),
    (("platform", "context"), st.sampled_from(["", "  "]), ("ib",)),
    (("platform", "gpusPerNode"), st.sampled_from([0, 17]), ("ib",)),
    (("platform", "gpuResource"), st.sampled_from(["gpu", "NVIDIA.com/GPU", "nvidia.com/"]), ("ib",)),
    (("platform", "rdma", "resourceName"), st.sampled_from(["ib", "rdma/", "RDMA/ib"]), ("ib",)),
    (("platform", "rdma", "count"), st.sampled_from([0, 65]), ("ib",)),
    (("platform", "rdma", "capabilities", 0), st.sampled_from(["SYS_ADMIN", "ALL", "ipc_lock"]), ("ib",)),
    (("platform", "project"), st.sampled_from(["My-Project", "abc", "p" * 31]), ("gke",)),
    (("platform", "region"), st.sampled_from(["europe west1", "EU", "europe-west"]), ("gke",)),
    (("platform", "zone"), st.sampled_from(["europe-west1", "europe-west1-B", "b"]), ("gke",)),
    (("platform", "clusterName"), st.sampled_from(["LLMD", "1abc", "a-"]), ("gke",)),
    (("platform", "releaseChannel"), st.sampled_from(["regular", "BETA"]), ("gke",)),
    (("platform", "gkeVersion"), st.sampled_from(["1", "1.34.x", "v1.34.1-gke.1", "latest", 1.34]), ("gke",)),
    (("platform", "network", "pods"), st.sampled_from(["10.0.0.0/33", "10.0.0.1/8", "fd00::/64", "not-a-cidr"]), ("gke",)),
    (("platform", "gpuPool", "bootDiskType"), st.sampled_from(["pd-ssd", "hyperdisk-extreme"]), ("gke",)),
    (("platform", "gpuPool", "gpuDriverVersion"), st.sampled_from(["R550", "latest"]), ("gke",)),
    (("platform", "gpuPool", "capacity"), st.just({"kind": "dedicated"}), ("gke",)),
    (("platform", "systemPool", "minNodes"), st.sampled_from([-1, 101]), ("gke",)),
    (("platform", "authorizedNetworks", 0), st.sampled_from(["anywhere", "10.0.0.1/8"]), ("gke",)),
]


def _range_cases(platform):
    return [(entry[0], entry[1], entry[3] if len(entry) > 3 else dotted(entry[0])) for entry in OUT_OF_RANGE if platform in entry[2]]


@mutation("out of range", weight=8)
def _out_of_range(data, platform, config, token):
    path, values, key = data.draw(st.sampled_from(_range_cases(platform)))
    if 0 in path:
        set_path(config, path[: path.index(0)], [])  # a list element: make it the only element
    set_path(config, path, data.draw(values))
    return config, token, key


@mutation("bad env name")
def _bad_env_name(data, platform, config, token):
    where = data.draw(st.sampled_from([("prefill", "env"), ("decode", "env")] + ([("platform", "rdma", "env")] if platform == "ib" else [])))
    name = data.draw(st.sampled_from(["1BAD", "A-B", "has space", "x.y"]))
    current = get_path(config, where, {})
    set_path(config, where, {**(current if isinstance(current, dict) else {}), name: "x"})
    return config, token, dotted((*where, name))


def role_spec(config: dict, role: str) -> dict:
    return {**ROLE_DEFAULTS[role], **config.get(role, {})}


def gpus_per_node(platform: str, config: dict) -> int:
    return 8 if platform == "gke" else config["platform"].get("gpusPerNode", 8)


@mutation("prefill TP wider than decode and at or above the KV heads", lambda p, c, t: 2 * role_spec(c, "decode")["tensorParallel"] * role_spec(c, "prefill").get("dataParallel", 1) <= gpus_per_node(p, c))
def _nixl(data, platform, config, token):
    wider = 2 * role_spec(config, "decode")["tensorParallel"]
    config.setdefault("prefill", {})["tensorParallel"] = wider
    config.setdefault("model", {})["numKvHeads"] = data.draw(st.sampled_from([h for h in (1, 2, 4, 8, 16) if h <= wider]))
    return config, token, "prefill.tensorParallel"


def _overflow_dp(platform, config, role):
    spec = role_spec(config, role)
    need = gpus_per_node(platform, config) // spec["tensorParallel"] + 1
    return need if need <= 8 else None


@mutation("TP x DP > gpus per node", lambda p, c, t: any(_overflow_dp(p, c, r) for r in ROLES) or p == "ib")
def _too_wide(data, platform, config, token):
    choices = [r for r in ROLES if _overflow_dp(platform, config, r)]
    if choices:
        role = data.draw(st.sampled_from(choices))
        config.setdefault(role, {})["dataParallel"] = _overflow_dp(platform, config, role)
        return config, token, f"{role}.tensorParallel"
    # gpusPerNode below decode's TP x DP (decode is at least as wide as prefill in TP)
    spec = role_spec(config, "decode")
    config["platform"]["gpusPerNode"] = spec["tensorParallel"] * spec.get("dataParallel", 1) - 1
    if config["platform"]["gpusPerNode"] < 1 or role_spec(config, "prefill")["tensorParallel"] * role_spec(config, "prefill").get("dataParallel", 1) > config["platform"]["gpusPerNode"]:
        config["platform"]["gpusPerNode"] = 0  # out of range instead: still exactly one problem
        return config, token, "platform.gpusPerNode"
    return config, token, "decode.tensorParallel"


MANAGED_ARGS = [[f"{f}=1"] for f in MANAGED_FLAGS] + [[f, "1"] for f in MANAGED_FLAGS]


@mutation("managed vLLM flag")
def _managed_flag(data, platform, config, token):
    role = data.draw(st.sampled_from(ROLES))
    spec = config.setdefault(role, {})
    args = list(spec.get("extraArgs", []))
    at = data.draw(st.integers(0, len(args)))
    flag = data.draw(st.sampled_from(MANAGED_ARGS))
    spec["extraArgs"] = args[:at] + flag + args[at:]
    return config, token, f"{role}.extraArgs[{at}]"


@mutation("managed env var")
def _managed_env(data, platform, config, token):
    role = data.draw(st.sampled_from(ROLES))
    name = data.draw(st.sampled_from(MANAGED_ENV))
    config.setdefault(role, {}).setdefault("env", {})[name] = "x"
    return config, token, f"{role}.env.{name}"


@mutation("managed gateway off GKE", lambda p, c, t: p == "ib", platforms=("ib",))
def _gke_gateway_on_ib(data, platform, config, token):
    gateway = config.setdefault("gateway", {})
    for key in ("exposure", "auth", "allowedSourceRanges", "gkeClass"):
        gateway.pop(key, None)
    gateway["provider"] = "gke"
    return config, token, "gateway.provider"


def _istio(platform, config, token):
    return (config.get("gateway") or {}).get("provider", "istio") == "istio"


@mutation("public gateway with authentication turned off", _istio)
def _public_without_auth(data, platform, config, token):
    config.setdefault("gateway", {}).update(exposure="public", auth={"mode": "none"})
    config["gateway"].pop("allowedSourceRanges", None)
    return config, token, "gateway.auth.mode"


@mutation("public kgateway (no API-key auth at v2.1.1)", lambda p, c, t: (c.get("gateway") or {}).get("provider") == "kgateway")
def _public_kgateway(data, platform, config, token):
    config["gateway"].update(exposure="public")
    config["gateway"].pop("auth", None)
    return config, token, "gateway.exposure"


@mutation("source allowlist where no Cloud Armor applies", lambda p, c, t: not ((c.get("gateway") or {}).get("provider") == "gke" and c["gateway"].get("exposure") == "public"))
def _allowlist_off_public_gke(data, platform, config, token):
    config.setdefault("gateway", {})["allowedSourceRanges"] = [data.draw(SOURCE_RANGE)]
    return config, token, "gateway.allowedSourceRanges"


@mutation("API key on the internal GKE class", lambda p, c, t: p == "gke" and (c.get("gateway") or {}).get("provider") == "gke", platforms=("gke",))
def _gke_internal_api_key(data, platform, config, token):
    gateway = config["gateway"]
    for key in ("exposure", "allowedSourceRanges", "gkeClass"):
        gateway.pop(key, None)
    gateway["auth"] = {"mode": "apiKey"}
    return config, token, "gateway.auth.mode"


def _cache_written(platform, config, token):
    return platform == "ib" or config.get("modelCache", {}).get("mode") == "download"


@mutation("cache smaller than the weights", _cache_written)
def _small_cache(data, platform, config, token):
    model = config.setdefault("model", {})
    model["sizeGb"] = max(model.get("sizeGb", known_size(model)), 2.0)
    config.setdefault("modelCache", {})["size"] = data.draw(st.sampled_from(["1Gi", "512Mi", "1G"]))
    return config, token, "modelCache.size"


@mutation("token missing for a gated model")
def _token_missing(data, platform, config, token):
    config.setdefault("model", {})["requiresToken"] = True
    return config, None, "hfToken"


@mutation("token in plaintext")
def _plaintext_token(data, platform, config, token):
    return config, ("plaintext", token or "hf_plaintext_token_1234"), "hfToken"


# gke cross-key rules
def _gke(platform, config, token):
    return platform == "gke"


def _pool(config):
    return config["platform"].setdefault("gpuPool", {})


def _version(config):
    return config["platform"].get("gkeVersion", "1.34")


def _flex(config):
    return _pool(config).get("capacity", {}).get("kind") == "flexStart"


@mutation("zone outside region", _gke, platforms=("gke",))
def _zone(data, platform, config, token):
    region = config["platform"]["region"]
    zone = data.draw(st.sampled_from(GKE_ZONES).filter(lambda z: not z.startswith(region + "-")))
    config["platform"]["zone"] = zone
    return config, token, "platform.zone"


@mutation("cluster name too long", _gke, platforms=("gke",))
def _cluster_name(data, platform, config, token):
    config["platform"]["clusterName"] = data.draw(st.builds(lambda s: "llmd-" + s, st.text(LOWER, min_size=11, max_size=40)))
    return config, token, "platform.clusterName"


@mutation("machine without RDMA path A", _gke, platforms=("gke",))
def _machine(data, platform, config, token):
    _pool(config)["machineType"] = data.draw(st.sampled_from(["a3-highgpu-8g", "a2-ultragpu-8g", "g2-standard-96"]))
    return config, token, "platform.gpuPool.machineType"


@mutation("accelerator not the machine's", _gke, platforms=("gke",))
def _accelerator(data, platform, config, token):
    if data.draw(st.booleans()):
        _pool(config)["acceleratorType"] = data.draw(st.sampled_from(["nvidia-h100-80gb", "nvidia-b200"]))
        return config, token, "platform.gpuPool.acceleratorType"
    _pool(config)["acceleratorCount"] = 16  # >= every role's TP x DP, so only the count is wrong
    return config, token, "platform.gpuPool.acceleratorCount"


@mutation("GKE too old for RDMA", lambda p, c, t: p == "gke" and not _flex(c), platforms=("gke",))
def _old_gke(data, platform, config, token):
    config["platform"]["gkeVersion"] = data.draw(st.sampled_from(["1.30.5-gke.1000", "1.31.4-gke.1182999", "1.29.1-gke.1"]))
    return config, token, "platform.gkeVersion"


@mutation("DEFAULT driver on old GKE", lambda p, c, t: p == "gke" and not _flex(c), platforms=("gke",))
def _old_driver(data, platform, config, token):
    config["platform"]["gkeVersion"] = RDMA_MIN_VERSION
    _pool(config)["gpuDriverVersion"] = "DEFAULT"
    return config, token, "platform.gpuPool.gpuDriverVersion"


@mutation("flex-start with a node count", lambda p, c, t: p == "gke" and _flex(c), platforms=("gke",))
def _flex_count(data, platform, config, token):
    _pool(config)["nodeCount"] = _pool(config)["capacity"]["maxNodes"]
    return config, token, "platform.gpuPool.nodeCount"


@mutation("flex-start on old GKE", lambda p, c, t: p == "gke" and _flex(c), platforms=("gke",))
def _flex_old(data, platform, config, token):
    config["platform"]["gkeVersion"] = "1.32.1-gke.1000"
    return config, token, "platform.gpuPool.capacity.kind"


@mutation("system pool min > max", _gke, platforms=("gke",))
def _system_pool(data, platform, config, token):
    pool = config["platform"].setdefault("systemPool", {})
    high = data.draw(st.integers(1, 99))
    pool["maxNodes"], pool["minNodes"] = high, high + 1
    return config, token, "platform.systemPool.minNodes"


def _ranges(config):
    defaults = {"primary": "192.168.0.0/18", "gvnic": "192.168.64.0/18", "pods": "10.4.0.0/14", "services": "10.0.32.0/20", "proxyOnly": "10.129.0.0/23", "master": "172.16.0.32/28"}
    return {**defaults, **config["platform"].get("network", {})}


@mutation("overlapping ranges", _gke, platforms=("gke",))
def _overlap(data, platform, config, token):
    target = data.draw(st.sampled_from(["gvnic", "pods", "services"]))
    config["platform"].setdefault("network", {})[target] = _ranges(config)["primary"]
    return config, token, f"platform.network.{target}"


@mutation("RDMA subnets not 8", _gke, platforms=("gke",))
def _rdma_count(data, platform, config, token):
    n = data.draw(st.sampled_from([1, 7, 9]))
    config["platform"].setdefault("network", {})["rdma"] = [f"172.{20 + i}.0.0/24" for i in range(n)]
    return config, token, "platform.network.rdma"


@mutation("control plane range not /28", _gke, platforms=("gke",))
def _master(data, platform, config, token):
    base = _ranges(config)["master"].split("/")[0]
    config["platform"].setdefault("network", {})["master"] = f"{base}/{data.draw(st.sampled_from([29, 30]))}"
    return config, token, "platform.network.master"


@mutation("proxy-only subnet too small", _gke, platforms=("gke",))
def _proxy_only(data, platform, config, token):
    base = _ranges(config)["proxyOnly"].split("/")[0]
    config["platform"].setdefault("network", {})["proxyOnly"] = f"{base}/{data.draw(st.sampled_from([27, 28]))}"
    return config, token, "platform.network.proxyOnly"


@mutation("more pods than GPU nodes", _gke, platforms=("gke",))
def _too_many_pods(data, platform, config, token):
    pool = _pool(config)
    nodes = pool["capacity"]["maxNodes"] if _flex(config) else pool.get("nodeCount", 2)
    prefill = role_spec(config, "prefill")["replicas"]
    config.setdefault("decode", {})["replicas"] = max(1, nodes - prefill + 1)
    return config, token, "platform.gpuPool.capacity.maxNodes" if _flex(config) else "platform.gpuPool.nodeCount"


@mutation("gIB installer too old", _gke, platforms=("gke",))
def _old_gib(data, platform, config, token):
    config.setdefault("versions", {})["gibInstallerImage"] = "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib:v1.0.6"
    return config, token, "versions.gibInstallerImage"


def assert_stops_cleanly(platform: str, config: dict, token, key: str) -> None:
    plaintext = isinstance(token, tuple)
    secret = token[1] if plaintext else token
    note(f"config: {config!r}, token: {token!r}, expected key: {key}")
    result = run(platform, config, secret, plaintext_token=plaintext, expect_error=True)
    error = result.error
    assert type(error) is pulumi.RunError, repr(error)
    message = str(error)
    assert re.search(rf"^  {PROJECT}:{re.escape(key)}(\.\[key\])?: ", message, re.M), message
    assert "(1 problem(s))" in message, message
    assert "Traceback" not in message and 'File "' not in message, message
    assert result.registrations == [], "a resource was registered before the config was checked"


@st.composite
def broken(draw, valid: st.SearchStrategy, platform: str, chosen: Mutation):
    config, token = draw(valid)
    assume(chosen.applies(platform, config, token))
    config, token, key = chosen.apply(_Drawer(draw), platform, copy.deepcopy(config), token)
    return config, token, key


class _Drawer:
    """`data.draw` for mutations, inside a composite strategy."""

    def __init__(self, draw):
        self.draw = draw


def families(platform: str) -> list[Mutation]:
    return [m for m in MUTATIONS if platform in m.platforms]


def budget(platform: str, total: int, chosen: Mutation) -> int:
    """The family's share of `total` cases (each family gets its own test, so all are covered)."""
    weights = sum(m.weight for m in families(platform))
    return max(3, round(total * chosen.weight / weights))


def check_family(platform: str, valid: st.SearchStrategy, total: int, chosen: Mutation, test: str) -> None:
    @examples(budget(platform, total, chosen))
    @given(broken(valid, platform, chosen))
    def one_case(case):
        config, token, key = case
        count(test, chosen.family)
        assert_stops_cleanly(platform, config, token, key)

    one_case()


@pytest.mark.parametrize("family", families("ib"), ids=lambda m: m.family.replace(" ", "-"))
def test_every_invalid_ib_config_stops_cleanly(family):
    check_family("ib", ib_configs(), 400, family, "test_every_invalid_ib_config_stops_cleanly")


@needs_gke
@pytest.mark.parametrize("family", families("gke"), ids=lambda m: m.family.replace(" ", "-"))
def test_every_invalid_gke_config_stops_cleanly(family):
    check_family("gke", gke_configs(), 300, family, "test_every_invalid_gke_config_stops_cleanly")


def _walk_keys(value, seen: set, path=()) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            seen.add(dotted((*path, k)))
            _walk_keys(v, seen, (*path, k))
    elif isinstance(value, list):
        for v in value:
            _walk_keys(v, seen, (*path, 0))


def _model_keys(model: type[BaseModel], wanted: set, path=()) -> None:
    for name, info in model.model_fields.items():
        alias = _alias(name, info)
        wanted.add(dotted((*path, alias)))
        inner = _unwrap(info.annotation)
        where = (*path, alias)
        if typing.get_origin(inner) is list:
            inner, where = typing.get_args(inner)[0], (*where, 0)
        if typing.get_origin(inner) is dict:
            continue  # a map keyed by user-chosen names: covered as one key
        members = [inner] if isinstance(inner, type) and issubclass(inner, BaseModel) else [
            a for a in typing.get_args(inner) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        for member in members:
            if member.__name__ == "GkeClusterConfig" and GKE_RUN is None:
                continue
            _model_keys(member, wanted, where)


# Not generated on purpose: pinned chart/CRD versions stay at their defaults (another version is another
# deployment, tested when it is pinned), and the boot disk type has a single allowed value.
NOT_GENERATED = {
    "versions.gatewayApiCrds",
    "versions.inferenceExtensionCrds",
    "versions.istioChart",
    "versions.kgatewayChart",
    "versions.agentgatewayChart",
    "versions.pauseImage",
    "platform.gpuPool.bootDiskType",
}


def test_the_generators_cover_every_config_key():
    """A key added to the config model without a generator (or an out-of-range case) shows up here."""
    seen: set[str] = {dotted(entry[0]) for entry in OUT_OF_RANGE} | SEEN_KEYS

    # Plus configs generated without running the program (cheap), for keys the valid tests' sample missed.
    @examples(60)
    @given(ib_configs())
    def collect_ib(case):
        _walk_keys(case[0], seen)

    @examples(60)
    @given(gke_configs())
    def collect_gke(case):
        _walk_keys(case[0], seen)

    # The reservation block's optional keys sit behind two draws (capacity kind, then each key): walk
    # the block's own generator too, so derandomized sampling cannot hide a key that is generated.
    @examples(30)
    @given(RESERVATION)
    def collect_reservation(reservation):
        _walk_keys(reservation, seen, ("platform", "gpuPool", "capacity"))

    collect_ib()
    if GKE_RUN is not None:
        collect_gke()
        collect_reservation()
    wanted: set[str] = set()
    _model_keys(StackConfig, wanted)
    missing = sorted(wanted - seen - NOT_GENERATED)
    assert missing == [], f"keys no generator produces: {missing}"


# --- closed gaps: configs the model once accepted that did not deploy correctly --------------------
# Found by these tests; each must now either stop with a clear error naming the key, or deploy
# correctly. Kept as regression tests.
def accepted_correctly_or_refused(platform: str, config: dict, key: str, token: Optional[str] = None) -> None:
    result = run(platform, config, token, expect_error=True)
    if result.error is None:
        assert_deploys_correctly(platform, config, token)
        return
    assert type(result.error) is pulumi.RunError, repr(result.error)
    assert f"{PROJECT}:{key}" in str(result.error), str(result.error)
    assert result.registrations == []


def closed_gap(reason: str):
    """A gap these tests found and the program then closed; kept as a regression test."""
    return lambda test: test


IB = {"platform": {"kind": "existing", "context": "ib"}}


@closed_gap("components/config/base.quantity_value misreads Ki ('100Ki'.rstrip('kMGTPEimn') is '100K'): ValueError, not a RunError")
def test_known_gap_cache_size_in_kibibytes():
    accepted_correctly_or_refused("ib", {**IB, "modelCache": {"size": "100Ki"}}, "modelCache.size")


@closed_gap("nodeSelector keys and values are not checked as label syntax; the API server rejects the pods")
def test_known_gap_node_selector_label_syntax():
    accepted_correctly_or_refused("ib", {**IB, "decode": {"nodeSelector": {"bad key!": "x"}}}, "decode.nodeSelector")


@closed_gap("a toleration without a key must have operator Exists; the API server rejects the pods")
def test_known_gap_toleration_without_key():
    accepted_correctly_or_refused("ib", {**IB, "decode": {"tolerations": [{}]}}, "decode.tolerations")


@closed_gap("a toleration with operator Exists must not have a value; the API server rejects the pods")
def test_known_gap_toleration_exists_with_value():
    config = {**IB, "prefill": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "value": "present"}]}}
    accepted_correctly_or_refused("ib", config, "prefill.tolerations")


@closed_gap("platform.rdma.env is not checked against the managed env vars; the vLLM container gets HF_HUB_OFFLINE twice")
def test_known_gap_rdma_env_overrides_a_managed_variable():
    config = {"platform": {"kind": "existing", "context": "ib", "rdma": {"env": {"HF_HUB_OFFLINE": "0"}}}}
    accepted_correctly_or_refused("ib", config, "platform.rdma.env")


@closed_gap("vLLM reads --tensor_parallel_size as --tensor-parallel-size; the managed-flag check does not, so GPUs != TP x DP")
def test_known_gap_managed_flag_spelt_with_underscores():
    accepted_correctly_or_refused("ib", {**IB, "prefill": {"extraArgs": ["--tensor_parallel_size=2"]}}, "prefill.extraArgs[0]")


@closed_gap("a credential-looking env var is accepted as plain text (Deployment and state); there is no secretKeyRef path")
def test_known_gap_plaintext_credential_env():
    accepted_correctly_or_refused("ib", {**IB, "prefill": {"env": {"WANDB_API_KEY": "0123456789abcdef"}}}, "prefill.env.WANDB_API_KEY")


@closed_gap("namespace istio-system with the istio provider defines the Namespace twice (release and control plane)")
def test_known_gap_namespace_of_the_control_plane():
    accepted_correctly_or_refused("ib", {**IB, "namespace": "istio-system"}, "namespace")


@needs_gke
@closed_gap("on GKE a role nodeSelector may name labels the program's GPU pool does not carry; the pods never schedule")
def test_known_gap_gke_node_selector_the_gpu_pool_lacks():
    config = copy.deepcopy(stack_config("gke"))
    config["decode"] = {**config["decode"], "nodeSelector": {"gpu.nvidia.com/model": "H200"}}
    accepted_correctly_or_refused("gke", config, "decode.nodeSelector")


@closed_gap("components/outputs.chat_curl puts the served name inside single quotes unescaped")
def test_known_gap_served_name_with_a_quote_breaks_the_curl_output():
    import json
    import shlex

    result = run("ib", {**IB, "model": {"servedName": "it's-mine"}}, None)
    words = shlex.split(result.outputs["chatCompletionsCurl"])
    assert json.loads(words[words.index("-d") + 1])["model"] == "it's-mine"
