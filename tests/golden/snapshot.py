"""Golden snapshots of the v0.5.0 profile: every resource's inputs of the ib and gke stacks.

`python -m tests.golden.snapshot` rewrites them from the current program. They were first written
from main before release profiles existed, so the test comparing against them proves the default
profile emits the same objects as before, byte for byte. Regenerate only for an intended change to
the v0.5.0 objects, and review the diff.
"""

import json
import sys
from pathlib import Path
from typing import Any, Optional

from tools.mock_runtime import ProgramRun, run_program, stack_config

HERE = Path(__file__).resolve().parent
STACKS = ("ib", "gke")
TOKEN = "hf_golden_token_0123456789"


def run(stack: str, overrides: Optional[dict[str, Any]] = None) -> ProgramRun:
    return run_program(stack, stack_config(stack, overrides), {"hfToken": TOKEN})


def snapshot(program: ProgramRun) -> dict[str, Any]:
    """urn -> the resource's inputs: the objects themselves (options such as dependencies are not objects)."""
    return {r.urn: r.inputs for r in sorted(program.registrations, key=lambda r: r.urn)}


def dumps(snap: dict[str, Any]) -> str:
    # One resource per line: a changed object shows as one changed line in a diff.
    lines = [f"{json.dumps(urn)}: {json.dumps(body, sort_keys=True, separators=(',', ':'))}" for urn, body in snap.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def path(stack: str) -> Path:
    return HERE / f"v0.5.0-{stack}.json"


def main() -> int:
    for stack in STACKS:
        path(stack).write_text(dumps(snapshot(run(stack))))
        print(f"wrote {path(stack)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
