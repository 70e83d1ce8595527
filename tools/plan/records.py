"""What a plan stores about each registration: plain JSON, secrets redacted, stable order.

A record is what `plan.json` holds and what a later plan diffs against (`--base`).
"""

from typing import Any, Iterable

from pulumi.runtime.rpc import UNKNOWN

from tools.mock_runtime import Registration

SECRET = "[secret]"
COMPUTED = "[computed]"  # an output of another resource not known offline
FORMAT_VERSION = 2  # 2: "options" and "propertyDependencies"
READABLE_VERSIONS = (1, 2)  # a version-1 base reads as if every option had its default


def redact(value: Any) -> Any:
    """Every leaf replaced, keys kept: a reviewer still sees *which* keys a secret holds."""
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return SECRET


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every occurrence of a secret value replaced, at any depth and inside any string."""
    needles = [s for s in secrets if s]
    if not needles:
        return value
    return _scrub(value, needles)


def _scrub(value: Any, needles: list[str]) -> Any:
    if isinstance(value, str):
        for needle in needles:
            value = value.replace(needle, SECRET)
        return value
    if isinstance(value, dict):
        return {_scrub(k, needles): _scrub(v, needles) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, needles) for v in value]
    return value


def _plain(value: Any) -> Any:
    """JSON types only, dict keys sorted, unknowns marked."""
    if isinstance(value, dict):
        return {str(k): _plain(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value == UNKNOWN:
        return COMPUTED
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def record(r: Registration, secrets: Iterable[str]) -> dict[str, Any]:
    inputs = {k: redact(v) if k in r.secret_inputs else v for k, v in r.inputs.items()}
    return scrub(
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "custom": r.custom,
            "provider": r.provider,
            "dependencies": sorted(set(r.dependencies)),
            "customTimeouts": dict(sorted(r.custom_timeouts.items())),
            "options": options(r),
            "propertyDependencies": {k: r.property_dependencies[k] for k in sorted(r.property_dependencies)},
            "secretInputs": sorted(r.secret_inputs),
            "inputs": _plain(inputs),
        },
        secrets,
    )


def options(r: Registration) -> dict[str, Any]:
    """Every option that changes the engine's steps (provider, parent, dependencies and timeouts sit beside)."""
    return {
        "aliases": r.aliases,
        # null: not set, so the provider decides create-first or delete-first; true/false overrides it.
        "deleteBeforeReplace": r.delete_before_replace if r.delete_before_replace_defined else None,
        "deletedWith": r.deleted_with or None,
        "ignoreChanges": sorted(r.ignore_changes),
        "protect": r.protect,
        "remote": r.remote,
        "replaceOnChanges": sorted(r.replace_on_changes),
        "retainOnDelete": r.retain_on_delete,
        # A Chart's or ConfigFile's children are rendered by the provider at preview, not offline:
        # transforms on the component are what would rewrite their options (ignoreChanges, ...).
        "transforms": r.transforms,
        "transformEffects": r.transform_effects,
    }


def records(registrations: Iterable[Registration], secrets: Iterable[str]) -> list[dict[str, Any]]:
    secrets = list(secrets)
    return sorted((record(r, secrets) for r in registrations), key=lambda rec: rec["urn"])
