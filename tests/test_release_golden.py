"""The default release profile (llm-d v0.5.0) emits exactly what the program emitted before profiles.

tests/golden/v0.5.0-*.json were written from main before release profiles existed
(`python -m tests.golden.snapshot`); every resource's inputs must match them byte for byte.
"""

import json

import pytest

from tests.golden.snapshot import STACKS, dumps, path, run, snapshot


@pytest.mark.parametrize("stack", STACKS)
def test_v050_profile_is_unchanged(stack):
    expected = json.loads(path(stack).read_text())
    actual = json.loads(dumps(snapshot(run(stack))))
    assert sorted(actual) == sorted(expected), "resources added or removed"
    changed = [urn for urn in expected if actual[urn] != expected[urn]]
    assert changed == []


def test_explicit_v050_is_the_default():
    """Naming the profile changes nothing either."""
    expected = json.loads(path("ib").read_text())
    actual = json.loads(dumps(snapshot(run("ib", {"versions": {"llmd": "v0.5.0"}}))))
    assert actual == expected
