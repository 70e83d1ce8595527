"""Shared fixtures: the real program run offline under Pulumi mocks, and the schema validator."""

import functools

import pytest

from tools.k8s_schema import NO_PUBLISHED_SCHEMA, SchemaValidator, crd_dir_from_env
from tools.mock_runtime import ProgramRun, run_program, stack_config

HF_TOKEN = "hf_TESTTOKEN_do_not_leak_123"


@functools.lru_cache(maxsize=None)
def _validator() -> SchemaValidator:
    return SchemaValidator(crd_dir_from_env(), no_schema_allowed=NO_PUBLISHED_SCHEMA, program_crds=True)


@pytest.fixture(scope="session")
def validator() -> SchemaValidator:
    return _validator()


@functools.lru_cache(maxsize=None)
def release_validator(llmd: str) -> SchemaValidator:
    """The validator for the CRD versions of a release profile (its `crd_sets`)."""
    from components.releases import profile  # noqa: PLC0415

    p = profile(llmd)
    return SchemaValidator(crd_dir_from_env(), no_schema_allowed=NO_PUBLISHED_SCHEMA, program_crds=True, crd_sets=p.crd_sets,
                           groups_removed=p.crd_groups_removed)


def run_stack(stack: str, overrides: dict | None = None, token: str | None = HF_TOKEN, **kwargs) -> ProgramRun:
    secrets = {"hfToken": token} if token is not None else None
    return run_program(stack, stack_config(stack, overrides), secrets, **kwargs)


@pytest.fixture(scope="session")
def ib() -> ProgramRun:
    """The ib stack exactly as Pulumi.ib.yaml describes it, with an HF token set as a secret."""
    return run_stack("ib")
