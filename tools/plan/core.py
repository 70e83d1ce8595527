"""make_plan: run the program offline with a stack's config, then summarize, validate, write and diff."""

import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi

from components.config.load import validate as validate_config
from components.config.model import StackConfig
from components.config.problems import InvalidConfig, Problem
from components.gateway.select import crd_schema_sets
from tools.mock_runtime import PROJECT, ROOT, ProgramRun, bare_keys, run_program, stack_config
from tools.plan import before_up, coldstart, order, steps as engine_steps, summary, validate, write
from tools.plan.diff import Diff, diff_plans
from tools.plan.diff import report as diff_report
from tools.plan.errors import PlanInputError
from tools.plan.records import records as make_records
from tools.plan.records import COMPUTED, scrub

PLACEHOLDER_SECRET = "<redacted>"  # stands in for a secret the stack file holds encrypted
HF_TOKEN_KEY = "hfToken"
EXIT_OK, EXIT_INVALID_OBJECTS, EXIT_BAD_CONFIG = 0, 1, 2


@dataclass
class PlanResult:
    stack: str
    out: Path
    exit_code: int
    report: str  # what `python -m tools.plan` prints on stdout; secrets scrubbed
    error: Optional[str] = None  # the program's message for a bad stack config
    run: Optional[ProgramRun] = None  # unredacted: for tests and tools, never for printing
    records: list[dict] = field(default_factory=list)  # as in plan.json (redacted)
    files: dict[str, str] = field(default_factory=dict)  # urn -> path under `out`
    checked: int = 0
    invalid: list[validate.ObjectErrors] = field(default_factory=list)
    diff: Optional[Diff] = None
    steps: list[engine_steps.Step] = field(default_factory=list)  # with a base: each resource's step
    notes: list[str] = field(default_factory=list)


def make_plan(
    stack: str,
    out: Optional[Path] = None,
    base: Optional[Path] = None,
    overrides: Optional[dict[str, Any]] = None,
    secrets: Optional[dict[str, str]] = None,
    validator=None,
) -> PlanResult:
    """Plan `stack` into `out` (default build/plan/<stack>), diffing against the plan in `base`.

    `overrides` replace top-level config keys (as `stack_config` does). `secrets` are passed to the
    program as Pulumi secrets; by default each secret the stack file holds encrypted, and the HF
    token where the model requires one, is a placeholder. No secret value is printed or written.
    Raises PlanInputError for a missing stack file or CRD directory, or an unusable `out` or `base`.
    """
    out = Path(out) if out is not None else ROOT / "build" / "plan" / stack
    if not (ROOT / f"Pulumi.{stack}.yaml").is_file():
        raise PlanInputError(f"no stack file Pulumi.{stack}.yaml in {ROOT}")
    bare = bare_keys(stack)
    if bare:  # the program never sees them: Pulumi passes `<namespace>:<key>` only
        problems = [Problem(k, f"has no namespace, so this program never reads it. Write it as `{PROJECT}:{k}:` in "
                               f"Pulumi.{stack}.yaml (as `pulumi config set` does).", full_key=True) for k in bare]
        return PlanResult(stack, out, EXIT_BAD_CONFIG, "", error=str(InvalidConfig(problems, stack, PROJECT)))
    config, secrets, notes = _inputs(stack, overrides, secrets)
    hidden = [*secrets.values(), *([config[HF_TOKEN_KEY]] if isinstance(config.get(HF_TOKEN_KEY), str) else [])]
    base_records = write.read_plan(Path(base)) if base is not None else None  # before `out` is emptied
    run = _run(stack, config, secrets)
    if run.error is not None:
        if not isinstance(run.error, pulumi.RunError):
            raise run.error
        message = scrub(str(run.error), hidden)
        return PlanResult(stack, out, EXIT_BAD_CONFIG, "", error=message, run=run, notes=notes)

    run.registrations.sort(key=lambda r: r.urn)  # registration order varies from run to run
    # The same typed config the program built (placeholders: only the secrets' presence matters).
    own = {k: v for k, v in config.items() if ":" not in k}  # not the providers' keys (gcp:project, ...)
    typed = validate_config({**own, **dict.fromkeys(secrets, PLACEHOLDER_SECRET)}, set(secrets), stack, PROJECT)
    records = make_records(run.registrations, hidden)
    # The CRD versions of the stack's release profile, plus the gateway provider's own CRDs.
    profile = typed.versions.profile
    sets = tuple(dict.fromkeys((*profile.crd_sets, *crd_schema_sets(typed))))
    validator = validator or validate.default_validator(crd_sets=sets, groups_removed=profile.crd_groups_removed)
    checked, invalid = validate.check(run.registrations, validator)
    kube_urns = {r.urn for r in run.registrations if r.is_kube_object}
    write.prepare(out)
    files = write.write(out, stack, records, kube_urns)
    sections = [*_sections(run, typed, notes), _validation_section(checked, invalid, files),
                ("Before `pulumi up`", before_up.report(stack, run, typed))]
    write.write_summary(out, scrub(_text(sections), hidden))
    diff, steps = None, []
    if base_records is not None:
        steps = engine_steps.plan_steps(base_records, records)
        (out / write.DIFF_FILE).write_text(engine_steps.to_json(steps))
        sections.append((f"Steps `pulumi up` takes against {base}", engine_steps.report(steps, base_records, records)))
        costly = engine_steps.warnings(steps, {r["urn"]: r for r in [*base_records, *records]})
        if costly:  # the first thing a reviewer reads
            sections.insert(0, ("`pulumi up` LOSES DATA, GPUs OR HOURS (see Steps below)", [f"! {w}" for w in costly]))
        diff = diff_plans(base_records, records)
        sections.append((f"Diff against {base}", diff_report(diff)))
    return PlanResult(
        stack, out, EXIT_INVALID_OBJECTS if invalid else EXIT_OK, scrub(_text(sections), hidden), run=run,
        records=records, files=files, checked=checked, invalid=invalid, diff=diff, steps=steps, notes=notes,
    )


def plan_records(stack: str, overrides: Optional[dict[str, Any]] = None,
                 secrets: Optional[dict[str, str]] = None) -> list[dict]:
    """The records plan.json would hold, without validating or writing anything (tests, tools).

    Raises the program's error for a bad config.
    """
    config, secrets, _ = _inputs(stack, overrides, secrets)
    hidden = [*secrets.values(), *([config[HF_TOKEN_KEY]] if isinstance(config.get(HF_TOKEN_KEY), str) else [])]
    run = _run(stack, config, secrets)
    if run.error is not None:
        raise run.error
    return make_records(run.registrations, hidden)


def _inputs(stack: str, overrides, secrets) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    config = stack_config(stack, overrides)
    # `pulumi config set --secret` stores {secure: <ciphertext>}: the CLI would decrypt it, we cannot.
    encrypted = [k for k, v in config.items() if isinstance(v, dict) and set(v) == {"secure"}]
    for key in encrypted:
        del config[key]
    notes = []
    if secrets is None:
        secrets = {key: PLACEHOLDER_SECRET for key in encrypted}
        requires_token = isinstance(config.get("model"), dict) and config["model"].get("requiresToken") is True
        if requires_token and HF_TOKEN_KEY not in secrets and HF_TOKEN_KEY not in config:
            secrets[HF_TOKEN_KEY] = PLACEHOLDER_SECRET
            notes.append(f"{HF_TOKEN_KEY} is not in Pulumi.{stack}.yaml but model.requiresToken is true: planned "
                         f"with a placeholder; `pulumi up` needs `pulumi config set --secret {HF_TOKEN_KEY} <token>`")
    return config, dict(secrets), notes


def _run(stack: str, config: dict, secrets: dict[str, str]) -> ProgramRun:
    # A short-lived run that allocates many small objects: collection costs ~20% and frees nothing.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return run_program(stack, config, secrets or None, expect_error=True, unknown_outputs=COMPUTED)
    finally:
        if was_enabled:
            gc.enable()


def _sections(run: ProgramRun, config: StackConfig, notes: list[str]) -> list[tuple[str, list[str]]]:
    registrations = run.registrations
    size_gb = config.model.size_gb
    sections = [
        ("Components", summary.component_tree(registrations)),
        ("Resources by type", summary.type_counts(registrations)),
        ("Deployment", summary.key_facts(registrations, config)),
        ("Bring-up order", order.report(registrations, size_gb)),
        ("Cold start (model hub downloads)", coldstart.report(coldstart.cold_start(registrations, size_gb))),
    ]
    if notes:
        sections.insert(0, ("Notes", notes))
    if run.warnings:  # what `pulumi preview` will warn about, first so nobody misses it
        sections.insert(0, ("Warnings (pulumi preview shows them too)", run.warnings))
    return sections


def _validation_section(checked: int, invalid: list[validate.ObjectErrors], files: dict[str, str]):
    title = f"Schema validation: {checked} Kubernetes objects, {len(invalid)} failed"
    lines = []
    for item in invalid:
        lines.append(f"FAIL {files.get(item.urn, item.urn)}")
        lines.append(f"     urn: {item.urn}")
        lines += [f"     {error}" for error in item.errors]
    return title, lines or ["all valid"]


def _text(sections: list[tuple[str, list[str]]]) -> str:
    return "\n\n".join(f"{title}\n" + "\n".join(f"  {line}" for line in lines) for title, lines in sections)
