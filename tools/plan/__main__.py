"""`python -m tools.plan`: exit 0 when planned, 1 when an object fails its schema, 2 on bad input."""

import gc

if __name__ == "__main__":
    # A one-shot process that builds many small objects and frees few: the collector's passes
    # during the SDK imports and the program run cost ~20% of a plan and reclaim almost nothing.
    gc.disable()

import argparse  # noqa: E402
import copy  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Optional  # noqa: E402

import yaml  # noqa: E402

from tools.plan.core import EXIT_BAD_CONFIG, make_plan  # noqa: E402
from tools.plan.errors import PlanInputError  # noqa: E402


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__)
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, help="plan directory to (re)write (default: build/plan/<stack>)")
    parser.add_argument("--base", type=Path, help="an earlier plan directory to diff against")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                        help="override a config value for this plan, e.g. decode.replicas=2 (VALUE is YAML)")
    return parser.parse_args(argv)


def overrides_from(stack: str, sets: list[str]) -> dict[str, Any]:
    """`a.b=1` -> {"a": <the stack's `a` block with b set to 1>}: top-level overrides for stack_config."""
    from tools.mock_runtime import stack_config  # noqa: PLC0415

    overrides: dict[str, Any] = {}
    config = stack_config(stack) if sets else {}
    for item in sets:
        path, sep, raw = item.partition("=")
        if not sep or not path:
            raise PlanInputError(f"--set {item!r}: expected PATH=VALUE, e.g. decode.replicas=2")
        top, *rest = path.split(".")
        value = yaml.safe_load(raw)
        if not rest:
            overrides[top] = value
            continue
        block = overrides.setdefault(top, copy.deepcopy(config.get(top, {})))
        for key in rest[:-1]:
            block = block.setdefault(key, {}) if isinstance(block, dict) else None
        if not isinstance(block, dict):
            raise PlanInputError(f"--set {item!r}: {path.rsplit('.', 1)[0]} is not a mapping in the stack config")
        block[rest[-1]] = value
    return overrides


def same_folder(stack: str, out: Optional[Path], base: Optional[Path]) -> Optional[str]:
    """Why --base and --out may not name one folder (the plan empties --out first), or None."""
    from tools.mock_runtime import ROOT  # noqa: PLC0415

    target = out if out is not None else ROOT / "build" / "plan" / stack
    if base is None or Path(base).resolve() != Path(target).resolve():
        return None
    given = f"--out {out}" if out is not None else f"the default --out ({target})"
    return (f"--base {base} is {given}: the new plan would overwrite the baseline it is compared with. "
            f"Write the new plan elsewhere, e.g. --out {Path(base).parent / (Path(base).name + '-new')}")


def main(argv: Optional[list[str]] = None, secrets: Optional[dict[str, str]] = None) -> int:
    args = parse_args(argv)
    refused = same_folder(args.stack, args.out, args.base)
    if refused:
        print(f"plan: {refused}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        result = make_plan(args.stack, args.out, args.base, overrides_from(args.stack, args.sets), secrets)
    except (PlanInputError, yaml.YAMLError) as error:
        print(f"plan: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    if result.error is not None:
        print(result.error, file=sys.stderr)
        return result.exit_code
    print(result.report)
    print(f"\nWrote {len(result.files)} files and plan.json to {result.out}")
    if result.invalid:
        print(f"plan: {len(result.invalid)} Kubernetes object(s) failed schema validation (see above)", file=sys.stderr)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
