"""Reading the stack config from Pulumi and validating it before anything is registered."""

import json
import re
import typing
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from components.config import advice, namespaces, rules
from components.config.model import StackConfig
from components.config.problems import InvalidConfig, Problem, problems_from_validation

HF_TOKEN_KEY = "hfToken"
API_KEY_KEY = "gatewayApiKey"  # the gateway's API key, as a Pulumi secret (see gateway.auth)
SECRET_KEYS = (HF_TOKEN_KEY, API_KEY_KEY)


@dataclass(frozen=True)
class LoadedConfig:
    config: StackConfig
    hf_token: Optional[pulumi.Output[str]]  # a Pulumi secret, or None when not set
    api_key: Optional[pulumi.Output[str]] = None  # the gateway API key (Pulumi secret), or None


def raw_stack_config(project: str) -> tuple[dict[str, Any], set[str]]:
    """All `<project>:*` keys as values (objects decoded), and which keys are secret.

    Public `pulumi.runtime` helpers only: the CLI hands config over in the environment
    (`get_config_env`, `get_config_secret_keys_env`), the mock runtime and the Automation API
    through `set_all_config` (`is_config_secret`).
    """
    env_secrets = set(pulumi.runtime.get_config_secret_keys_env())
    raw: dict[str, Any] = {}
    secret: set[str] = set()
    for full_key in _config_keys():
        namespace, _, key = full_key.partition(":")
        if namespace != project or not key:
            continue
        raw[key] = _decode(key, pulumi.runtime.get_config(full_key))
        if full_key in env_secrets or pulumi.runtime.is_config_secret(full_key):
            secret.add(key)
    return raw, secret


def _config_keys() -> list[str]:
    """Every config key set for this run. The SDK has no public listing for config set in-process
    (`set_all_config`): its public module-level `CONFIG` is read here, in one place, and
    tests/test_public_sdk.py fails if the SDK stops filling it."""
    return sorted({*pulumi.runtime.get_config_env(), *runtime_config.CONFIG.get()})


def validate(raw: dict[str, Any], secret_keys: set[str], stack: str, project: str) -> StackConfig:
    """The typed config, or InvalidConfig listing every problem."""
    body = {k: v for k, v in raw.items() if k not in SECRET_KEYS}
    token = rules.SecretInput(present=HF_TOKEN_KEY in raw, is_secret=HF_TOKEN_KEY in secret_keys)
    api_key = rules.SecretInput(
        present=API_KEY_KEY in raw, is_secret=API_KEY_KEY in secret_keys, well_formed=api_key_well_formed(raw.get(API_KEY_KEY))
    )
    try:
        config = StackConfig.model_validate(body)
    except ValidationError as error:
        raise InvalidConfig(problems_from_validation(error, StackConfig), stack, project) from None
    problems: list[Problem] = rules.check(config, token, api_key)
    if problems:
        raise InvalidConfig(problems, stack, project)
    return config


def load() -> LoadedConfig:
    """Validate the stack config; on bad input stop with a RunError (no traceback in the CLI).
    Valid but doubtful settings (placeholder project, unknown zone or model size) are warnings."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    raw, secret = raw_stack_config(project)
    stray, stray_warnings = namespaces.misplaced(_all_keys(), project, stack, StackConfig)
    try:
        config = validate(raw, secret, stack, project)
    except InvalidConfig as error:
        raise pulumi.RunError(str(InvalidConfig(stray + error.problems, stack, project))) from None
    if stray:
        raise pulumi.RunError(str(InvalidConfig(stray, stack, project)))
    for message in stray_warnings + advice.check(config, token_present=HF_TOKEN_KEY in raw):
        pulumi.log.warn(message)
    token = pulumi.Config(project).get_secret(HF_TOKEN_KEY) if HF_TOKEN_KEY in raw else None
    api_key = pulumi.Config(project).get_secret(API_KEY_KEY) if API_KEY_KEY in raw else None
    return LoadedConfig(config, token, api_key)


def api_key_well_formed(value: Any) -> bool:
    """Checked without echoing it: the key is written into a Cloud Armor expression and a header."""
    return isinstance(value, str) and bool(API_KEY_FORMAT.fullmatch(value))


API_KEY_FORMAT = re.compile(r"[A-Za-z0-9._~+/=-]{16,256}")


def _all_keys() -> set[str]:
    """Every stack-config key Pulumi passed, whatever its namespace."""
    return {*runtime_config.get_config_env(), *runtime_config.CONFIG.get()}


def _decode(key: str, value: Any) -> Any:
    """Pulumi hands structured values over as JSON text and top-level scalars as plain text."""
    if not isinstance(value, str):
        return value
    field = StackConfig.model_fields.get(key) or next(
        (f for f in StackConfig.model_fields.values() if f.alias == key), None
    )
    if field is not None and _is_text(field.annotation):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    return typing.get_origin(annotation) is typing.Annotated and typing.get_args(annotation)[0] is str
