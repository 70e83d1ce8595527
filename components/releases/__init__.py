"""Release profiles: everything that differs between the llm-d releases this program deploys.

One module per release (`v0_5_0.py`, `v0_9_0.py`) holds that release's facts as data, each naming
its upstream source (repo@tag:path); `Profile` below is the contract they fill in. Components read
the profile chosen by `versions.llmd` (`config.versions.profile`) and never test a version string.
"""

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Optional

# Versions fields whose value is tied to one release: an image of another release is refused.
RELEASE_BOUND_IMAGES = ("vllm_image", "scheduler_image", "routing_sidecar_image")


@dataclass(frozen=True)
class SchedulerProfile:
    """The endpoint picker's EndpointPickerConfig: apiVersion, profile handler, deciders, plugins."""

    api_version: str
    profile_handler: str
    # v0.9.0: the decider behind `scheduler.selectivePdThreshold: 0` (always P/D) and above 0 (selective).
    always_decider: Optional[str] = None
    selective_decider: Optional[str] = None
    # The selective decider counts tokens where v0.5.0's threshold counted bytes: bytes per token
    # of the estimate the picker uses when no tokenizer is configured.
    bytes_per_token: int = 1
    # Plugins (type + parameters) beside the handler and decider, and each profile's plugin refs.
    plugins: tuple[Mapping, ...] = ()
    prefill_profile: tuple[Mapping, ...] = ()
    decode_profile: tuple[Mapping, ...] = ()
    # Added to `plugins` and to the decode profile when P/D is selective.
    selective_plugins: tuple[Mapping, ...] = ()
    selective_decode_refs: tuple[Mapping, ...] = ()
    # `scheduler.*` keys (snake_case field names) this release's config has no place for.
    unused_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class EppProfile:
    """The endpoint picker's command line, resources and API reads."""

    # Flags this release needs beyond the ones every release takes (pool, ports, config file, logs).
    extra_flags: tuple[str, ...]
    # Flags this release refuses at start (the picker exits): never emitted, checked by the invariants.
    rejected_flags: tuple[str, ...]
    cpu_request: str
    memory_request: str
    memory_limit: str
    # API groups whose InferenceObjectives / InferenceModelRewrites the picker watches.
    objective_groups: tuple[str, ...]


@dataclass(frozen=True)
class PoolProfile:
    """InferencePool spec fields that differ (GAIE bundle of the release)."""

    failure_mode: str
    app_protocol: Optional[str]  # None: not in this release's CRD


@dataclass(frozen=True)
class SidecarProfile:
    """The decode pod's routing sidecar: its arguments, as format strings over
    {port} (the pool target port), {model_server_port} (local vLLM) and {log_level}."""

    args: tuple[str, ...]
    # Flags that name the local model server's port (the invariants find the sidecar by them).
    model_server_port_flags: tuple[str, ...]


@dataclass(frozen=True)
class VllmProfile:
    # Added after the managed flags (port, model, TP, block size, KV transfer), before --max-model-len.
    flags: tuple[str, ...]
    # Environment per role ("prefill" / "decode"), ahead of the platform's and the stack's.
    env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Metrics:
    """Metric names verification reads."""

    pd_decision: str  # EPP counter with decision_type="prefill-decode"


@dataclass(frozen=True)
class Profile:
    name: str
    # Defaults of `Versions` fields (images, charts, CRD bundles); per-field overrides apply on top.
    versions: Mapping[str, str]
    inference_extension_crd_file: str  # the GAIE release asset the release installs
    # Schema sets under the CRD directory's `_alt/` (a set, or one group folder of a set) that replace
    # the default schemas of their API groups, and default groups this release does not install.
    crd_sets: tuple[str, ...]
    crd_groups_removed: tuple[str, ...]
    scheduler: SchedulerProfile
    epp: EppProfile
    pool: PoolProfile
    sidecar: SidecarProfile
    vllm: VllmProfile
    metrics: Metrics
    # The guide's topology (merged under each role block of the stack).
    role_defaults: Mapping[str, Mapping]
    # NVIDIA driver the release's CUDA needs, and the GKE node-pool driver setting that provides it.
    min_nvidia_driver: Optional[str] = None
    gke_gpu_driver_versions: tuple[str, ...] = ("LATEST", "DEFAULT")
    notes: tuple[str, ...] = ()


def _frozen(value):
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def thaw(value):
    """A plain (mutable, YAML/JSON-dumpable) copy of profile data."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def frozen(value):
    return _frozen(value)


DEFAULT = "v0.5.0"


def profiles() -> dict[str, Profile]:
    from components.releases import v0_5_0, v0_9_0  # noqa: PLC0415 (the modules import this contract)

    return {p.name: p for p in (v0_5_0.PROFILE, v0_9_0.PROFILE)}


def profile(name: str) -> Profile:
    return profiles()[name]


def repository(image: str) -> str:
    """`registry/path` of an image reference, without tag or digest."""
    image = image.split("@", 1)[0]
    head, _, last = image.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def release_of_image(field_name: str, image: str, current: str) -> Optional[str]:
    """Another release whose pinned image (exactly, or by a repository only it uses) this is."""
    own = profile(current).versions[field_name]
    for other in profiles().values():
        if other.name == current:
            continue
        theirs = other.versions[field_name]
        if image == theirs and image != own:
            return other.name
        if repository(image) == repository(theirs) != repository(own):
            return other.name
    return None
