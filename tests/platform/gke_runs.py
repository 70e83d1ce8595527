"""The gke stack run offline, with the outputs GCP itself computes, and helpers to read the result.

Not a conftest.py on purpose: a second rootless conftest module would replace `conftest` in
sys.modules, and the tests that `from conftest import ...` would then import this one.
"""

import copy
import functools
from typing import Any, Optional


from tools import mock_runtime
from tools.mock_runtime import ProgramRun, Registration, run_program, stack_config
from tools.plan import order

COMPONENT = "llmd:platform:GkeCluster"
ENDPOINT, CA_CERTIFICATE = mock_runtime.CLUSTER_ENDPOINT, mock_runtime.CLUSTER_CA


def stack_file() -> dict[str, Any]:
    return stack_config("gke")


def with_platform(changes: dict[str, Any], base: Optional[dict] = None) -> dict[str, Any]:
    """The stack's config with `changes` deep-merged into `platform`.

    A None value removes a key; a dict with a `kind` (a tagged union such as capacity) replaces the old one.
    """
    config = copy.deepcopy(base if base is not None else stack_file())
    _merge(config["platform"], changes)
    return config


def _merge(target: dict, changes: dict) -> None:
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict) and "kind" not in value:
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def run_gke(config: Optional[dict[str, Any]] = None, **kwargs) -> ProgramRun:
    return run_program("gke", config if config is not None else stack_file(), **kwargs)


@functools.lru_cache(maxsize=None)
def gke_stack() -> ProgramRun:
    """The gke stack exactly as Pulumi.gke.yaml describes it."""
    return run_gke()


# --- reading a run ------------------------------------------------------------------------------
def component(run: ProgramRun) -> Registration:
    (found,) = run.of_type(COMPONENT)
    return found


def owned(run: ProgramRun, type_: str) -> list[Registration]:
    """Resources of `type_` that the GkeCluster component created (not the P/D stack's own)."""
    root = component(run).urn
    return [r for r in run.of_type(type_) if root in {a.urn for a in run.ancestors(r)}]


def one(run: ProgramRun, type_: str, name: Optional[str] = None) -> Registration:
    found = [r for r in owned(run, type_) if name in (None, r.name)]
    assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
    return found[0]


def waits_for(run: ProgramRun, resource: Registration, target: Registration) -> bool:
    """Whether Pulumi creates `resource` only after `target` (and so deletes it before).

    The plan's definition: dependencies, the provider's, and every ancestor component's, transitively;
    a dependency on a component covers all of its descendants.
    """
    return resource.urn in {r.urn for r in order.Graph(run.registrations).waits_on(target.urn)}
