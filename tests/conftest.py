"""Shared fixtures: the real program run offline under Pulumi mocks, and the schema validator."""

import functools

import pytest

from components.config.load import validate as validate_config
from components.config.model import StackConfig
from components.gateway.select import crd_schema_sets
from tools.k8s_schema import NO_PUBLISHED_SCHEMA, SchemaValidator, crd_dir_from_env
from tools.mock_runtime import PROJECT, ProgramRun, run_program, stack_config

HF_TOKEN = "hf_TESTTOKEN_do_not_leak_123"


@functools.lru_cache(maxsize=None)
def _validator(sets: tuple[str, ...] = (), groups_removed: tuple[str, ...] = ()) -> SchemaValidator:
    return SchemaValidator(crd_dir_from_env(), no_schema_allowed=NO_PUBLISHED_SCHEMA, program_crds=True, crd_sets=sets,
                           groups_removed=groups_removed)


def validator_for(config: StackConfig | tuple[str, dict]) -> SchemaValidator:
    """The CRD schemas of the config's release profile plus the sets its gateway provider needs (e.g.
    kgateway's); `config` is a typed config or (stack, overrides) as run_stack takes them."""
    if isinstance(config, tuple):
        config = validate_config(stack_config(*config), set(), config[0], PROJECT)
    profile = config.versions.profile
    sets = tuple(dict.fromkeys((*profile.crd_sets, *crd_schema_sets(config))))
    return _validator(sets, tuple(profile.crd_groups_removed))


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
