"""Turning bad input into one message that names each key and what is allowed."""

import difflib
import typing
from dataclasses import dataclass
from typing import Any, Optional

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class Problem:
    key: str  # dotted path as written in the stack file, e.g. "prefill.tensorParallel"
    message: str  # what is wrong, and what to do about it
    full_key: bool = False  # `key` already names its namespace (a key outside `<project>:`)


class InvalidConfig(Exception):
    def __init__(self, problems: list[Problem], stack: str, project: str):
        self.problems = problems
        lines = [f"Invalid stack config for stack '{stack}' ({len(problems)} problem(s)):"]
        lines += [f"  {p.key if p.full_key else f'{project}:{p.key}'}: {p.message}" for p in problems]
        lines.append(f"Fix the stack file (Pulumi.{stack}.yaml) or use `pulumi config set --path <key> <value> -s {stack}`.")
        super().__init__("\n".join(lines))


def problems_from_validation(error: ValidationError, root: type[BaseModel]) -> list[Problem]:
    return [_problem(err, root) for err in error.errors()]


def _problem(err: dict[str, Any], root: type[BaseModel]) -> Problem:
    key, parent = _walk(root, err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _aliases(parent) if parent else []
        return Problem(key, f"unknown key.{did_you_mean(key.rsplit('.', 1)[-1], allowed)} "
                            f"Allowed keys here: {', '.join(allowed) or 'none'}")
    if kind == "missing":
        return Problem(key, "is required")
    message = err["msg"].removeprefix("Value error, ")
    if err["loc"] and err["loc"][-1] == "[key]":
        message = f"is not a valid name here: {message[0].lower()}{message[1:]}"
    if kind != "value_error" and not isinstance(err.get("input"), (dict, list, type(None))):
        message += f" (got {err['input']!r})"
    return Problem(key, message)


def did_you_mean(key: str, known: list[str]) -> str:
    """" Did you mean `x`?" for the closest known key (case and `_`/`-` ignored), or ""."""
    def norm(text: str) -> str:
        return text.replace("_", "").replace("-", "").lower()

    by_norm = {norm(k): k for k in known}
    if norm(key) in by_norm:
        return f" Did you mean `{by_norm[norm(key)]}`?"
    close = difflib.get_close_matches(norm(key), list(by_norm), n=1, cutoff=0.6)
    return f" Did you mean `{by_norm[close[0]]}`?" if close else ""


def _walk(root: type[BaseModel], loc: tuple) -> tuple[str, Optional[type[BaseModel]]]:
    """Dotted key for `loc`, and the model that holds its last part (for listing allowed keys)."""
    parts: list[str] = []
    current: Any = root
    holder: Optional[type[BaseModel]] = None
    for item in loc:
        if item == "[key]":  # pydantic's marker for a bad dict key: the key itself is the location
            continue
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
            current = _element_type(current)
            continue
        models = _models_in(current)
        if len(models) > 1:
            # A tagged union: pydantic puts the tag in the location; keep only the chosen member.
            chosen = [m for m in models if item in _tags(m)]
            if chosen:
                current = chosen[0]
                continue
        model = models[0] if models else None
        if model is None:
            parts.append(str(item))
            holder, current = None, None
            continue
        holder = model
        field = _field_by_key(model, str(item))
        parts.append(str(item))
        current = field[1] if field else None
    return ".".join(parts), holder


def _field_by_key(model: type[BaseModel], key: str) -> Optional[tuple[str, Any]]:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.alias or name, info.annotation
    return None


def _aliases(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _tags(model: type[BaseModel]) -> tuple:
    kind = model.model_fields.get("kind")
    return typing.get_args(kind.annotation) if kind else ()


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _element_type(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    for arg in args:
        origin = typing.get_origin(arg)
        if origin in (list, dict):
            return typing.get_args(arg)[-1]
    return args[-1] if args else None
