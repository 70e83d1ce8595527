"""Config that is valid but probably not what the user meant: warnings, never errors.

`load()` sends each through `pulumi.log.warn` (shown by `pulumi preview` and `pulumi up`), and the
offline plan lists them in its "Before `pulumi up`" block. A warning never stops the program.
"""

from typing import TYPE_CHECKING

from components.model_catalog import DEFAULT_SIZE_GB, KNOWN_MODELS, is_gated

if TYPE_CHECKING:
    from components.config.model import StackConfig

PLACEHOLDER_PROJECT = "my-gcp-project"  # what Pulumi.gke.yaml ships with
# Zones with a RoCE network profile (`<zone>-vpc-roce`), for A3 Ultra, A4 and A4X combined: an older
# revision of https://cloud.google.com/vpc/docs/rdma-network-profiles, as recorded in
# /work/shared/reference/gke-a3ultra-rdma.md ("Allowed zones"). New zones appear: hence a warning.
ROCE_ZONES = ("europe-west1-b", "us-central1-a", "us-central1-b", "us-east4-b", "us-west1-c")
ZONES_COMMAND = 'gcloud compute network-profiles list --filter="name~vpc-roce"'


def check(config: "StackConfig", token_present: bool) -> list[str]:
    notes: list[str] = []
    if config.platform.kind == "gke":
        notes += _placeholder_project(config.platform.project)
        notes += _zone(config.platform.zone)
    notes += _model(config, token_present)
    notes += _release(config)
    return notes


def _release(config: "StackConfig") -> list[str]:
    """What the chosen llm-d release needs that the config cannot show (its profile's data)."""
    profile, notes = config.versions.profile, []
    if profile.min_nvidia_driver and config.platform.kind == "existing":
        notes.append(f"llmd:versions.llmd is {profile.name}, whose model-server images are CUDA 13: the GPU nodes need "
                     f"NVIDIA driver {profile.min_nvidia_driver} or newer (`nvidia-smi` on a node; on the GPU Operator, "
                     f"its driver version). This program cannot check or change the driver of an existing cluster.")
    scheduler = config.scheduler
    for field in sorted(set(profile.scheduler.unused_keys) & scheduler.model_fields_set):
        key = type(scheduler).model_fields[field].alias
        notes.append(f"llmd:scheduler.{key} has no effect with versions.llmd {profile.name} (its scheduler config has "
                     f"no such parameter); remove it.")
    return notes


def _placeholder_project(project: str) -> list[str]:
    if project != PLACEHOLDER_PROJECT:
        return []
    return [f"llmd:platform.project is the placeholder `{PLACEHOLDER_PROJECT}`: `pulumi up` would fail or "
            f"create resources in someone else's project. Set yours: `pulumi config set --path platform.project <id>`."]


def _zone(zone: str) -> list[str]:
    if zone in ROCE_ZONES:
        return []
    return [f"llmd:platform.zone {zone} is not one of the zones known to have an A3 Ultra RoCE network profile "
            f"({', '.join(ROCE_ZONES)}). New zones appear: check that `{zone}-vpc-roce` exists with `{ZONES_COMMAND}`."]


def _model(config: "StackConfig", token_present: bool) -> list[str]:
    model, notes = config.model, []
    if model.name not in KNOWN_MODELS and "size_gb" not in model.model_fields_set:
        notes.append(f"llmd:model.sizeGb is not set for {model.name}, a model of unknown size: the startup probes and "
                     f"Pulumi's timeouts are sized for the default {DEFAULT_SIZE_GB:g} GB of weights. Set model.sizeGb "
                     f"to the repository's size (e.g. `pulumi config set --path model.sizeGb 140`).")
    p, d = config.prefill.tensor_parallel, config.decode.tensor_parallel
    if p != d and model.kv_heads is None:
        notes.append(f"llmd:model.numKvHeads is not set for {model.name}, a model of unknown KV heads: prefill.tensorParallel "
                     f"({p}) and decode.tensorParallel ({d}) differ, which vLLM's NIXL connector supports only for some "
                     f"head counts, so this could not be checked. Set model.numKvHeads to num_key_value_heads from the "
                     f"model's config.json (e.g. `pulumi config set --path model.numKvHeads 8`).")
    if is_gated(model.name) and not token_present:
        notes.append(f"llmd:hfToken is not set and {model.name} is gated on Hugging Face: the download will be refused. "
                     f"Accept the license on its page, then `pulumi config set --secret hfToken <token>` "
                     f"(and `pulumi config set --path model.requiresToken true`).")
    return notes
