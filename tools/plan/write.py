"""Writing a plan directory: one file per resource, under one directory per component.

    <out>/plan.json                          every registration (what --base reads)
    <out>/diff.json                          with --base: the step `pulumi up` takes for each resource
    <out>/summary.txt                        the printed summary, without the diff against --base
    <out>/<component>/<Kind>.<name>.yaml     a Kubernetes object as sent to the API server
    <out>/<component>/<Type>.<name>.yaml     other kubernetes:* inputs (Helm charts, YAML bundles)
    <out>/<component>/<module>.<Type>.<name>.json   a cloud resource's inputs (gcp:*), a provider's

Components nest as directories (e.g. gateway/); keys are sorted, so plans diff cleanly.
"""

import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from tools.plan.errors import PlanInputError
from tools.plan.records import FORMAT_VERSION, READABLE_VERSIONS

PLAN_FILE = "plan.json"
DIFF_FILE = "diff.json"  # with --base: each resource's step (tools/plan/steps.py)
SUMMARY_FILE = "summary.txt"
ROOT_DIR = "_stack"  # resources parented directly to the stack
_OBJECT_HEAD = ("apiVersion", "kind", "metadata")


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    pass


def _str(dumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def prepare(out: Path) -> None:
    """Empty `out` for a new plan; refuse a non-empty directory that is not a plan."""
    if out.exists():
        if any(out.iterdir()) and not (out / PLAN_FILE).is_file():
            raise PlanInputError(f"{out} is not empty and holds no {PLAN_FILE}; choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def read_plan(base: Path) -> list[dict]:
    path = base / PLAN_FILE if base.is_dir() else base
    if not path.is_file():
        raise PlanInputError(f"--base {base}: no {PLAN_FILE} there; pass a directory an earlier plan wrote")
    data = json.loads(path.read_text())
    if data.get("formatVersion") not in READABLE_VERSIONS:
        raise PlanInputError(f"--base {base}: plan format {data.get('formatVersion')}, expected {FORMAT_VERSION}")
    return data["registrations"]


def write_summary(out: Path, summary: str) -> None:
    (out / SUMMARY_FILE).write_text(summary + "\n")


def write(out: Path, stack: str, records: list[dict], kube_urns: set[str]) -> dict[str, str]:
    """Write plan.json and one file per resource; returns each file's path relative to `out`, by URN."""
    (out / PLAN_FILE).write_text(json.dumps({"formatVersion": FORMAT_VERSION, "stack": stack,
                                             "registrations": records}, indent=1, ensure_ascii=False) + "\n")
    dirs = _component_dirs(records)
    taken: set[str] = set()
    files: dict[str, str] = {}
    for rec in records:
        if not rec["inputs"]:
            continue  # our own components: nothing to show but their children
        is_object = rec["urn"] in kube_urns
        yaml_file = is_object or rec["type"].startswith("kubernetes:")
        stem = f"{dirs.get(rec['parent'], ROOT_DIR)}/{_file_stem(rec, is_object)}"
        rel = _unique(stem, ".yaml" if yaml_file else ".json", taken)
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if yaml_file:
            body = _object(rec["inputs"]) if is_object else rec["inputs"]
            path.write_text(f"# {rec['urn']}\n" + yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True))
        else:
            body = {"urn": rec["urn"], "inputs": rec["inputs"]}
            path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        files[rec["urn"]] = rel
    return files


def _object(inputs: dict[str, Any]) -> dict[str, Any]:
    head = {k: inputs[k] for k in _OBJECT_HEAD if k in inputs}
    return {**head, **{k: v for k, v in inputs.items() if k not in head}}


def _component_dirs(records: list[dict]) -> dict[str, str]:
    """URN of each component -> its directory, nested like the component tree."""
    by_urn = {r["urn"]: r for r in records}
    dirs: dict[str, str] = {}
    taken: set[str] = set()

    def dir_of(urn: str) -> str:
        if urn not in dirs:
            rec = by_urn[urn]
            parent = dir_of(rec["parent"]) if rec["parent"] in by_urn else ""
            dirs[urn] = _unique(f"{parent}/{_safe(rec['name'])}".lstrip("/"), "", taken)
        return dirs[urn]

    for rec in records:
        if not rec["custom"]:
            dir_of(rec["urn"])
    return dirs


def _file_stem(rec: dict, is_object: bool) -> str:
    inputs = rec["inputs"]
    if is_object:
        return _safe(f"{inputs['kind']}.{(inputs.get('metadata') or {}).get('name') or rec['name']}")
    package, module, kind = (rec["type"].split(":") + ["", ""])[:3]
    if package == "pulumi" and module == "providers":
        return _safe(f"provider.{kind}.{rec['name']}")
    if package == "kubernetes":
        return _safe(f"{kind}.{rec['name']}")
    return _safe(f"{module.split('/')[0]}.{kind}.{rec['name']}")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _unique(stem: str, suffix: str, taken: set[str]) -> str:
    candidate, n = stem + suffix, 1
    while candidate.lower() in taken:  # case-insensitive file systems
        n += 1
        candidate = f"{stem}~{n}{suffix}"
    taken.add(candidate.lower())
    return candidate
