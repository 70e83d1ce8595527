"""The program and the policy pack use public SDK APIs only (issue #11, item 18).

A name with a leading underscore read from a `pulumi*` module (or imported from one) is private:
the next SDK release may change it without notice. Where the SDK has no public way, the use is
isolated in one function whose contract is tested here, so an SDK change fails a test, not a deploy.
"""

import ast
from pathlib import Path

import pulumi

from components.config import load

ROOT = Path(__file__).resolve().parent.parent
SCANNED = [ROOT / "__main__.py", *sorted((ROOT / "components").rglob("*.py")), *sorted((ROOT / "policy").glob("*.py"))]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_sdk_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    sdk_names: set[str] = set()  # local names bound to pulumi* modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0].startswith("pulumi"):
                    sdk_names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi"):
            for alias in node.names:
                if _is_private(alias.name):
                    found.append(f"from {node.module} import {alias.name}")
                else:
                    sdk_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in sdk_names:
                found.append(ast.unparse(node))
    return found


def test_no_private_sdk_names_in_the_program_or_the_policy_pack():
    uses = {str(p.relative_to(ROOT)): u for p in SCANNED if (u := private_sdk_uses(p))}
    assert uses == {}


def test_the_scan_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from pulumi.runtime import config as rc\nfrom pulumi_policy.proxy import _is_unknown\n"
        "import pulumi\nx = rc._SECRET_KEYS.get()\ny = pulumi.runtime.config._SECRET_KEYS\nz = rc.CONFIG\n"
    )
    assert set(private_sdk_uses(sample)) == {
        "from pulumi_policy.proxy import _is_unknown",
        "rc._SECRET_KEYS",
        "pulumi.runtime.config._SECRET_KEYS",
    }


def test_config_set_in_process_is_listed_and_its_secrets_known():
    """The one SDK detail the loader relies on beyond `pulumi.runtime`'s exports: `set_all_config`
    (mock runtime, Automation API) fills `pulumi.runtime.config.CONFIG`, and `is_config_secret`
    reports the secret keys it was given."""
    before = dict(pulumi.runtime.config.CONFIG.get())
    try:
        pulumi.runtime.set_all_config({"llmd:a": "1", "llmd:hfToken": "hf_x", "other:b": "2"}, ["llmd:hfToken"])
        raw, secret = load.raw_stack_config("llmd")
        assert raw == {"a": 1, "hfToken": "hf_x"} and secret == {"hfToken"}
    finally:
        pulumi.runtime.set_all_config(before, [])
