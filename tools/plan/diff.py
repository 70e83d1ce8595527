"""Differences between two plans, by URN, down to the field (like `pulumi preview --diff`)."""

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

ABSENT = object()
# Options compared besides the inputs, shown as "options.<name>".
OPTIONS = ("dependencies", "provider", "customTimeouts")


@dataclass(frozen=True)
class Change:
    # Dotted; list items as [i], or [name=x] where every item has a unique name, e.g.
    # "spec.template.spec.containers[name=vllm].image".
    path: str
    old: Any  # ABSENT when added
    new: Any  # ABSENT when removed


@dataclass
class Diff:
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    changed: dict[str, list[Change]] = field(default_factory=dict)  # urn -> changes
    unchanged: int = 0
    labels: dict[str, str] = field(default_factory=dict)  # urn -> "Kind name  [type]", for the report

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_plans(base: list[dict], new: list[dict]) -> Diff:
    old_by_urn = {r["urn"]: r for r in base}
    new_by_urn = {r["urn"]: r for r in new}
    result = Diff(
        added=[new_by_urn[u] for u in sorted(new_by_urn.keys() - old_by_urn.keys())],
        removed=[old_by_urn[u] for u in sorted(old_by_urn.keys() - new_by_urn.keys())],
    )
    for urn in sorted(old_by_urn.keys() & new_by_urn.keys()):
        old, cur = old_by_urn[urn], new_by_urn[urn]
        changes = fields(old.get("inputs", {}), cur.get("inputs", {}))
        for option in OPTIONS:
            before, after = old.get(option, ABSENT), cur.get(option, ABSENT)
            if option == "dependencies" and isinstance(before, list) and isinstance(after, list):
                changes += [Change("options.dependsOn", u, ABSENT) for u in sorted(set(before) - set(after))]
                changes += [Change("options.dependsOn", ABSENT, u) for u in sorted(set(after) - set(before))]
            elif before != after:
                changes.append(Change(f"options.{option}", before, after))
        if "options" in old:  # a version-1 base did not record them
            before, after = old["options"], cur.get("options", {})
            changes += [Change(f"options.{key}", before.get(key, ABSENT), after.get(key, ABSENT))
                        for key in sorted(before.keys() | after.keys()) if before.get(key) != after.get(key)]
        if changes:
            result.changed[urn] = changes
            result.labels[urn] = _label(cur)
        else:
            result.unchanged += 1
    return result


def fields(old: Any, new: Any, path: str = "") -> list[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(old.keys() | new.keys()):
            sub = f"{path}.{key}" if path else key
            changes += fields(old.get(key, ABSENT), new.get(key, ABSENT), sub)
        return changes
    if isinstance(old, list) and isinstance(new, list):
        old_named, new_named = _by_name(old), _by_name(new)
        if old_named is not None and new_named is not None:
            return _named_fields(old_named, new_named, path)
        changes = []
        for i in range(max(len(old), len(new))):
            changes += fields(old[i] if i < len(old) else ABSENT, new[i] if i < len(new) else ABSENT, f"{path}[{i}]")
        return changes
    return [] if old == new and type(old) is type(new) else [Change(path, old, new)]


def _by_name(items: list) -> Optional[dict[str, Any]]:
    """Items keyed by their unique `name` (containers, env, ports, volumes), else None."""
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    if not items or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        return None
    return dict(zip(names, items, strict=True))


def _named_fields(old: dict[str, Any], new: dict[str, Any], path: str) -> list[Change]:
    changes = []
    for name in [*old, *(n for n in new if n not in old)]:
        changes += fields(old.get(name, ABSENT), new.get(name, ABSENT), f"{path}[name={name}]")
    common_old = [n for n in old if n in new]
    common_new = [n for n in new if n in old]
    if common_old != common_new:  # order matters for some lists (initContainers)
        changes.append(Change(f"{path} (order)", common_old, common_new))
    return changes


def _value(value: Any, limit: int = 160) -> str:
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(record: dict) -> str:
    inputs = record.get("inputs") or {}
    kind = inputs.get("kind") if record.get("custom") else None
    name = (inputs.get("metadata") or {}).get("name") if kind else None
    short = f"{kind} {name}" if kind and name else f"{record['type'].rsplit(':', 1)[-1]} {record['name']}"
    return f"{short}  [{record['type']}]"


def format_change(change: Change) -> list[str]:
    old, new = change.old, change.new
    if isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
        lines = [f"{change.path}: (text)"]
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1):
            if not line.startswith(("---", "+++")):
                lines.append(f"    {line}")
        return lines
    return [f"{change.path}: {_value(old)} → {_value(new)}"]


def report(diff: Diff) -> list[str]:
    lines = []
    for r in diff.added:
        lines.append(f"+ {_label(r)}")
        lines.append(f"    urn: {r['urn']}")
    for r in diff.removed:
        lines.append(f"- {_label(r)}")
        lines.append(f"    urn: {r['urn']}")
    for urn, changes in diff.changed.items():
        lines.append(f"~ {diff.labels.get(urn, urn)}")
        lines.append(f"    urn: {urn}")
        lines += [f"    {line}" for change in changes for line in format_change(change)]
    lines.append(f"{len(diff.added)} to add, {len(diff.changed)} to change, {len(diff.removed)} to delete, "
                 f"{diff.unchanged} unchanged")
    return lines
