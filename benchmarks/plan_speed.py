"""Plan speed: `python -m tools.plan` vs importing the Pulumi SDK code it uses, each in fresh processes.

    python benchmarks/plan_speed.py [--stack gke] [--runs 5] [--max-ratio 1.5]

The baseline is importing exactly the SDK modules the program loads (pulumi, pulumi_kubernetes and
pulumi_gcp submodules: what any run of this program, offline or real, must import). A bare
`import pulumi, pulumi_kubernetes, pulumi_gcp` is printed too, for reference: those packages load
their submodules lazily, so it imports almost nothing and no run of the program can come near it.
Prints medians and ratios; exits 1 when plan / baseline is above the limit, 2 when the plan fails.
One untimed run of each first compiles bytecode and fills the plan's CRD cache, as any second
`make plan` finds them.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDKS = ("pulumi", "pulumi_kubernetes", "pulumi_gcp")
BASELINE = [sys.executable, "-c", f"import {', '.join(SDKS)}"]
LOADED_MODULES = """
import json, sys
from tools.plan import make_plan
result = make_plan({stack!r}, {out!r})
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {sdks!r})))
"""


def env() -> dict[str, str]:
    values = dict(os.environ)
    values.setdefault("LLMD_CRD_DIR", str(ROOT.parent / "shared" / "crds"))  # as the Makefile does
    return values


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}... exited {done.returncode}:\n{done.stderr.strip()}")
    return elapsed


def loaded_sdk_modules(stack: str, out: str) -> list[str]:
    script = LOADED_MODULES.format(stack=stack, out=out, sdks=SDKS)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env(), capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="gke")
    parser.add_argument("--runs", "-n", type=int, default=5)
    parser.add_argument("--max-ratio", type=float, default=1.5)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="plan-speed-") as tmp:
        plan = [sys.executable, "-m", "tools.plan", "--stack", args.stack, "--out", str(Path(tmp) / "plan")]
        try:
            timed(plan)  # warm-up
            modules = loaded_sdk_modules(args.stack, str(Path(tmp) / "modules"))
        except (RuntimeError, subprocess.CalledProcessError) as error:
            print(f"plan of stack {args.stack} failed, nothing to measure:\n{error}", file=sys.stderr)
            return 2
        used = [sys.executable, "-c", "import importlib\nfor m in %r:\n    importlib.import_module(m)" % modules]
        timed(BASELINE)
        times: dict[str, list[float]] = {"baseline": [], "plan": [], "used": []}
        for _ in range(args.runs):  # interleaved, so load on the machine hits all alike
            times["baseline"].append(timed(BASELINE))
            times["plan"].append(timed(plan))
            times["used"].append(timed(used))

    median = {k: statistics.median(v) for k, v in times.items()}
    ratio = median["plan"] / median["used"]
    ok = ratio <= args.max_ratio
    print(f"stack {args.stack}: median of {args.runs} runs each, fresh processes")
    print(f"  import the {len(modules)} SDK modules the program uses{'':<10} {median['used']:.3f} s")
    print(f"  python -m tools.plan --stack {args.stack:<27} {median['plan']:.3f} s")
    print(f"  ratio {ratio:.2f} (limit {args.max_ratio}): {'OK' if ok else 'TOO SLOW'}")
    print(f"  for reference: bare `import {', '.join(SDKS)}` (lazy) takes {median['baseline']:.3f} s; "
          f"plan / that = {median['plan'] / median['baseline']:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
