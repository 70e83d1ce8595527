"""The README's "What healthy looks like" and plan excerpt agree with what the program and the tools produce."""

import re
import sys
import tempfile
from pathlib import Path

import pytest

from components.verification import verify_pd
from tools.mock_runtime import ROOT, run_program, stack_config
from tools.plan import make_plan

README = (ROOT / "README.md").read_text()
GCSFUSE_ANNOTATION = "gke-gcsfuse/volumes"  # the GCS FUSE CSI webhook injects gke-gcsfuse-sidecar


def section(title: str) -> str:
    start = README.index(f"## {title}")
    return README[start:README.index("\n## ", start + 1)]


def ready_counts(stack: str) -> dict[str, str]:
    """READY column of each model server, as kubectl counts it: containers + native sidecars (+ GCS FUSE's)."""
    counts = {}
    for d in run_program(stack, stack_config(stack)).kube("Deployment"):
        template = d.inputs["spec"]["template"]
        role = template["metadata"]["labels"].get("llm-d.ai/role")
        if role:
            spec = template["spec"]
            n = len(spec["containers"]) + sum(1 for c in spec.get("initContainers", []) if c.get("restartPolicy") == "Always")
            n += (template["metadata"].get("annotations") or {}).get(GCSFUSE_ANNOTATION) == "true"
            counts[role] = f"{n}/{n}"
    return counts


@pytest.mark.parametrize("stack, block", [("ib", 0), ("gke", 1)])
def test_readme_ready_counts_match_the_pods_the_program_creates(stack, block):
    listing = re.findall(r"```\n\$ kubectl -n llm-d-pd get pods\n(.*?)```", section("What healthy looks like"), re.S)[block]
    shown = {}
    for line in listing.split("\n\n")[0].splitlines()[1:]:
        name, ready, status = line.split()[:3]
        role = re.match(r"ms-pd-llm-d-modelservice-(prefill|decode)-", name)
        if role:
            shown.setdefault(role.group(1), set()).add((ready, status))
    assert {role: {(count, "Running")} for role, count in ready_counts(stack).items()} == shown


def test_readme_verification_output_is_the_scripts_real_output(capsys):
    sys.path.insert(0, str(ROOT / "tests"))
    from verification.fakes import FakeCluster, Scenario  # noqa: PLC0415

    with FakeCluster(Scenario(prefill_pods=1, decode_pods=1)) as cluster:
        assert verify_pd.main(cluster.env(Path(tempfile.mkdtemp()))) == 0
    real = capsys.readouterr().out.strip()
    shown = re.search(r"```\n(PASS \[pods\].*?)\n```", section("What healthy looks like"), re.S).group(1)

    def timeless(text: str) -> str:
        return re.sub(r"HTTP 200 in [0-9.]+s", "HTTP 200 in Xs", text)

    assert timeless(shown) == timeless(real)


def test_readme_plan_excerpt_lines_come_from_a_real_plan(tmp_path):
    report = make_plan("gke", tmp_path / "gke").report
    excerpt = re.search(r"  ```\n  (Before `pulumi up`.*?)\n  ```", README, re.S).group(1)
    for line in excerpt.splitlines():
        text = line.strip()
        if text and "..." not in text:
            assert text in report, text
        elif "..." in text:
            for part in (p.strip() for p in text.split("...") if p.strip() not in ("", "[", "]", "(", ")")):
                assert part.strip(" []():") in report, part
