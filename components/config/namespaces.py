"""Stack-config keys this program would never read: its own keys under another namespace.

Pulumi hands a program every key of the stack file as `<namespace>:<key>`, and `pulumi.Config`
reads one namespace. `decode:` written without `llmd:` (or as `llm-d:decode:`) is therefore
silently ignored; the program would deploy the defaults instead. Keys of providers (`gcp:project`,
`kubernetes:context`, ...) are theirs and are left alone.
"""

from typing import Iterable

from pydantic import BaseModel

from components.config.problems import Problem, did_you_mean

PROVIDER_NAMESPACES = {"pulumi", "kubernetes", "gcp", "google-beta", "random", "command", "tls"}
HF_TOKEN_KEY = "hfToken"


def misplaced(full_keys: Iterable[str], project: str, stack: str, model: type[BaseModel]) -> list[Problem]:
    ours = [info.alias or name for name, info in model.model_fields.items()] + [HF_TOKEN_KEY]
    problems = []
    for full_key in sorted(full_keys):
        namespace, sep, key = full_key.rpartition(":")
        if namespace == project or namespace in PROVIDER_NAMESPACES:
            continue
        top = key.split(".", 1)[0].split("[", 1)[0]
        if top not in ours and not did_you_mean(top, ours):
            continue
        where = f"`{namespace}:`" if sep else "no namespace"
        fixed = top if top in ours else did_you_mean(top, ours).split("`")[1]
        problems.append(Problem(
            full_key,
            f"has {where}, so this program never reads it (its keys live under `{project}:`). "
            f"Rename it to `{project}:{fixed}` in Pulumi.{stack}.yaml.",
            full_key=True,
        ))
    return problems
