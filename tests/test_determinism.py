"""The same config registers the same resources with the same inputs, every time.

A difference between two runs would show up in `pulumi preview` as a change nobody made (a
reordered list, a renamed child, a new dependency). Checked three ways: two runs in one process,
runs in fresh interpreters with different hash seeds (set/dict iteration order), and pairs of
runs of generated configs.

Compared per URN, with each resource's dependencies as a set. Two things vary between runs and are
not the program's: the order in which the Python SDK registers resources (each registration is an
asyncio task that waits for its inputs), and the order of a resource's `dependencies` (the SDK
collects them in a set). The engine uses neither: it orders operations by the dependency graph.
Everything else, including the order inside every input list (args, env, rules, ports...), must be
identical.
"""

import json
import os
import subprocess
import sys
from typing import Any, Optional

import pytest
from hypothesis import given

from tools.mock_runtime import ROOT, ProgramRun, run_program, stack_config

TOKEN = "hf_determinism_token_123456"
VARIANTS = {
    "ib": ("ib", {}),
    "ib, kgateway, monitoring off, download cache": (
        "ib",
        {"gateway": {"provider": "kgateway"}, "monitoring": {"enabled": False}, "modelCache": {"mode": "download"}},
    ),
    "ib, second release, benchmark, tolerations": (
        "ib",
        {
            "releaseSuffix": "canary",
            "createNamespace": False,
            "benchmark": {"enabled": True},
            "decode": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
        },
    ),
    "gke": ("gke", {}),
}


def record(run: ProgramRun) -> list[dict[str, Any]]:
    """Everything Pulumi would compare between two previews, one entry per URN (sorted)."""
    entries = [
        {
            "urn": r.urn,
            "type": r.type,
            "parent": r.parent,
            "custom": r.custom,
            "inputs": r.inputs,
            "secret_inputs": sorted(r.secret_inputs),
            "dependencies": sorted(r.dependencies),
            "provider": r.provider,
            "custom_timeouts": r.custom_timeouts,
            "retain_on_delete": r.retain_on_delete,
            "delete_before_replace": r.delete_before_replace,
        }
        for r in run.registrations
    ]
    urns = [e["urn"] for e in entries]
    assert len(urns) == len(set(urns)), "two resources share a URN"
    return sorted(entries, key=lambda e: e["urn"]) + [{"outputs": run.outputs}]


def canonical(run: ProgramRun) -> str:
    return json.dumps(record(run), sort_keys=True, default=str)


def gke_available() -> bool:
    if not (ROOT / "Pulumi.gke.yaml").exists():
        return False
    return run_program("gke", stack_config("gke"), expect_error=True).error is None


def run_variant(name: str) -> ProgramRun:
    stack, overrides = VARIANTS[name]
    return run_program(stack, stack_config(stack, overrides), {"hfToken": TOKEN})


def first_difference(a: list, b: list) -> Optional[str]:
    if [r.get("urn") for r in a] != [r.get("urn") for r in b]:
        return f"different resources: {sorted(set(map(str, (r.get('urn') for r in a))) ^ set(map(str, (r.get('urn') for r in b))))}"
    for left, right in zip(a, b):
        for key in left:
            if left[key] != right.get(key):
                return f"{left.get('urn', 'stack outputs')}: {key} differs"
    return None


@pytest.mark.parametrize("name", list(VARIANTS))
def test_two_runs_register_the_same_resources(name):
    if VARIANTS[name][0] == "gke" and not gke_available():
        pytest.skip("the gke stack does not run under mocks")
    first, second = record(run_variant(name)), record(run_variant(name))
    assert first_difference(first, second) is None
    assert first == second


SCRIPT = """
import json, sys
sys.path[:0] = [".", "tests"]
import test_determinism as t
out = {}
for name in sys.argv[1:]:
    out[name] = t.canonical(t.run_variant(name))
print(json.dumps(out))
"""


def test_runs_in_fresh_interpreters_with_different_hash_seeds_agree():
    """Set and dict iteration order must not leak into names, input lists or dependencies."""
    names = ["ib", "ib, second release, benchmark, tolerations"] + (["gke"] if gke_available() else [])
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, *names],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in ("1", "4242")  # in parallel: each interpreter spends most of its time importing
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    here = {name: canonical(run_variant(name)) for name in names}
    for name in names:
        a, b, c = (json.loads(r[name]) for r in (*results, here))
        assert first_difference(a, b) is None, f"{name}: {first_difference(a, b)}"
        assert first_difference(a, c) is None, f"{name}: {first_difference(a, c)}"
        assert a == b == c, name


try:
    from test_properties import examples, ib_configs, run
except ImportError:  # pragma: no cover - the property module is the source of generated configs
    ib_configs = None


@pytest.mark.skipif(ib_configs is None, reason="tests/test_properties.py is not importable")
@examples(8)
@given(ib_configs())
def test_generated_configs_register_deterministically(case):
    config, token = case
    first, second = record(run("ib", config, token)), record(run("ib", config, token))
    assert first_difference(first, second) is None
    assert first == second
