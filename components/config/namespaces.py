"""Stack-config keys this program would never read: its own keys under another namespace.

Pulumi hands a program every key of the stack file as `<namespace>:<key>`, and `pulumi.Config`
reads one namespace. `llm-d:decode:` (or a bare `decode:`, which the offline plan refuses) is
therefore silently ignored: the program would deploy the defaults instead.

A namespace that is a slip of the project's (`lmd`, `llm-d`, `LLMD`) is an error naming the key to
use. One of our key names under an unrelated namespace is only a warning: providers have keys of their
own (`vault:namespace`), and known providers (`gcp:`, `kubernetes:`, ...) are left alone.
"""

import difflib
from typing import Iterable

from pydantic import BaseModel

from components.config.problems import Problem, did_you_mean

PROVIDER_NAMESPACES = {"pulumi", "kubernetes", "gcp", "google-beta", "random", "command", "tls"}
HF_TOKEN_KEY = "hfToken"


def _norm(text: str) -> str:
    return text.replace("_", "").replace("-", "").lower()


def misplaced(full_keys: Iterable[str], project: str, stack: str, model: type[BaseModel]) -> tuple[list[Problem], list[str]]:
    """(errors, warnings) for keys outside `<project>:` that look like ours."""
    ours = [info.alias or name for name, info in model.model_fields.items()] + [HF_TOKEN_KEY]
    by_norm = {_norm(k): k for k in ours}
    errors, warnings = [], []
    for full_key in sorted(full_keys):
        namespace, sep, key = full_key.rpartition(":")
        if namespace == project or namespace in PROVIDER_NAMESPACES:
            continue
        top = key.split(".", 1)[0].split("[", 1)[0]
        slip = not sep or difflib.SequenceMatcher(None, _norm(namespace), _norm(project)).ratio() >= 0.75
        exact = by_norm.get(_norm(top))
        if not slip and not exact:
            continue
        hint = did_you_mean(top, ours)
        fixed = exact or (hint.split("`")[1] if hint else top)
        where = f"`{namespace}:`" if sep else "no namespace"
        message = (f"has {where}, so this program never reads it (its keys live under `{project}:`). "
                   f"Rename it to `{project}:{fixed}` in Pulumi.{stack}.yaml.")
        if slip:
            errors.append(Problem(full_key, message, full_key=True))
        else:
            warnings.append(f"{full_key}: {message} (Ignore this if `{namespace}:` is a provider's own key.)")
    return errors, warnings
