"""The config forgives the usual slips, or names them with the fix: numbers for quantities, keys
outside `llmd:`, typos, unknown zones and model sizes, gated models, the placeholder project,
--base = --out. Warnings go through pulumi.log.warn and never stop the program."""

import copy

import pulumi
import pytest

from components.config.advice import ROCE_ZONES, ZONES_COMMAND
from components.config.load import validate
from components.model_catalog import DEFAULT_SIZE_GB, KNOWN_MODELS
from conftest import run_stack
from tools import mock_runtime
from tools.mock_runtime import run_program, stack_config
from tools.plan import core, make_plan
from tools.plan.__main__ import main

DECODE = "ms-pd-llm-d-modelservice-decode"


def vllm_resources(run, name=DECODE) -> dict:
    containers = run.one("Deployment", name).inputs["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "vllm")["resources"]


# --- quantities given as numbers ------------------------------------------------------------------

def test_cpu_and_memory_given_as_numbers_are_quantities():
    """`pulumi config set --path decode.cpu 16` stores 16, a number; Kubernetes takes a bare number too."""
    run = run_stack("ib", {"decode": {**stack_config("ib")["decode"], "cpu": 16, "memory": 68719476736, "shmSize": 17179869184}})
    resources = vllm_resources(run)
    assert resources["requests"]["cpu"] == "16" and resources["requests"]["memory"] == "68719476736"


@pytest.mark.parametrize("value, quantity", [(16, "16"), (16.0, "16"), (0.5, "0.5"), (2.25, "2.25")])
def test_numbers_read_as_kubernetes_reads_them(value, quantity):
    config = validate({**stack_config("ib"), "prefill": {"cpu": value}}, set(), "ib", "llmd")
    assert config.prefill.cpu == quantity


@pytest.mark.parametrize("value", [True, -4, [16]])
def test_what_is_no_quantity_is_still_refused(value):
    run = run_stack("ib", {"decode": {"cpu": value}}, expect_error=True)
    assert isinstance(run.error, pulumi.RunError) and "llmd:decode.cpu:" in str(run.error)
    assert run.registrations == []


# --- keys outside the llmd namespace --------------------------------------------------------------

def test_own_key_under_another_namespace_is_named_with_the_fix():
    run = run_program("ib", {**stack_config("ib"), "lmd:decode": {"replicas": 2}}, expect_error=True)
    message = str(run.error)
    assert "  lmd:decode: has `lmd:`, so this program never reads it" in message
    assert "Rename it to `llmd:decode` in Pulumi.ib.yaml" in message
    assert run.registrations == []


def test_a_misspelt_key_under_another_namespace_is_named_too():
    run = run_program("ib", {**stack_config("ib"), "llm-d:modle": {"name": "x/y"}}, expect_error=True)
    assert "Rename it to `llmd:model`" in str(run.error)


def test_provider_keys_are_left_alone():
    run = run_program("ib", {**stack_config("ib"), "kubernetes:namespace": "x", "gcp:project": "p"})
    assert run.error is None and run.registrations


def test_stack_file_key_without_namespace_stops_the_plan(tmp_path, monkeypatch, capsys):
    (tmp_path / "Pulumi.bare.yaml").write_text("config:\n  llmd:platform:\n    kind: existing\n  decode:\n    replicas: 2\n")
    monkeypatch.setattr(mock_runtime, "ROOT", tmp_path)
    monkeypatch.setattr(core, "ROOT", tmp_path)
    assert mock_runtime.bare_keys("bare") == ["decode"]
    result = make_plan("bare", tmp_path / "out")
    assert result.exit_code == 2
    assert "  decode: has no namespace, so this program never reads it. Write it as `llmd:decode:` in Pulumi.bare.yaml" in result.error
    assert main(["--stack", "bare", "--out", str(tmp_path / "cli")]) == 2
    assert "llmd:decode:" in capsys.readouterr().err


# --- typos ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, key, suggestion", [
    ({"decode": {"tensorParalel": 4}}, "llmd:decode.tensorParalel", "tensorParallel"),
    ({"modle": {"name": "x/y"}}, "llmd:modle", "model"),
    ({"gateway": {"listener_port": 80}}, "llmd:gateway.listener_port", "listenerPort"),
])
def test_unknown_key_suggests_the_closest_known_key(overrides, key, suggestion):
    message = str(run_stack("ib", overrides, expect_error=True).error)
    assert f"{key}: unknown key. Did you mean `{suggestion}`? Allowed keys here:" in message


def test_the_error_trailer_names_the_real_stack_file():
    message = str(run_stack("ib", {"colour": "blue"}, expect_error=True).error)
    assert message.splitlines()[-1].startswith("Fix the stack file (Pulumi.ib.yaml)")


# --- warnings -------------------------------------------------------------------------------------

def gke_config(**platform) -> dict:
    config = copy.deepcopy(stack_config("gke"))
    config["platform"].update(platform)
    return config


def test_zone_outside_the_known_roce_zones_warns_and_deploys():
    run = run_program("gke", gke_config(region="us-east5", zone="us-east5-a", project="llm-d-prod"))
    assert run.error is None and run.registrations
    [warning] = run.warnings
    assert warning.startswith("llmd:platform.zone us-east5-a is not one of the zones known to have an A3 Ultra RoCE network profile")
    assert ", ".join(ROCE_ZONES) in warning and ZONES_COMMAND in warning


def test_known_zone_and_real_project_give_no_warning():
    assert run_program("gke", gke_config(project="llm-d-prod")).warnings == []


def test_placeholder_project_warns_in_preview():
    run = run_program("gke", stack_config("gke"), preview=True)
    assert run.error is None
    assert any(w.startswith("llmd:platform.project is the placeholder `my-gcp-project`") for w in run.warnings)


def test_known_model_carries_its_size():
    config = validate({**stack_config("ib"), "model": {"name": "openai/gpt-oss-20b"}}, set(), "ib", "llmd")
    assert config.model.size_gb == KNOWN_MODELS["openai/gpt-oss-20b"].size_gb != DEFAULT_SIZE_GB
    run = run_stack("ib", {"model": {"name": "openai/gpt-oss-20b"}})
    assert run.warnings == []


def test_known_size_is_used_for_the_waits():
    small, default = run_stack("ib", {"model": {"name": "openai/gpt-oss-20b"}}), run_stack("ib")
    assert small.one("Deployment", DECODE).custom_timeouts != default.one("Deployment", DECODE).custom_timeouts


def test_an_explicit_size_wins_over_the_catalog():
    config = validate({**stack_config("ib"), "model": {"name": "openai/gpt-oss-20b", "sizeGb": 20}}, set(), "ib", "llmd")
    assert config.model.size_gb == 20


def test_unknown_model_without_a_size_warns_that_waits_use_the_default():
    # numKvHeads stated: the warning for unknown KV heads is tests/test_tp_rule.py's.
    run = run_stack("ib", {"model": {"name": "Qwen/Qwen3-32B", "numKvHeads": 8}})
    assert run.error is None and run.registrations
    [warning] = run.warnings
    assert warning.startswith("llmd:model.sizeGb is not set for Qwen/Qwen3-32B, a model of unknown size")
    assert f"the default {DEFAULT_SIZE_GB:g} GB" in warning
    assert run_stack("ib", {"model": {"name": "Qwen/Qwen3-32B", "sizeGb": 66, "numKvHeads": 8}}).warnings == []


def test_gated_model_without_a_token_warns_before_up():
    run = run_stack("ib", {"model": {"name": "meta-llama/Llama-3.3-70B-Instruct"}, "modelCache": {"size": "200Gi"}}, token=None)
    assert run.error is None
    assert any(w.startswith("llmd:hfToken is not set and meta-llama/Llama-3.3-70B-Instruct is gated") for w in run.warnings)
    with_token = run_stack("ib", {"model": {"name": "meta-llama/Llama-3.3-70B-Instruct"}, "modelCache": {"size": "200Gi"}})
    assert with_token.warnings == []


def test_plan_lists_the_warnings(tmp_path):
    result = make_plan("ib", tmp_path / "p", overrides={"model": {"name": "Qwen/Qwen3-32B"}})
    assert result.exit_code == 0
    assert "WARNING: llmd:model.sizeGb is not set for Qwen/Qwen3-32B" in result.report


# --- --base and --out -----------------------------------------------------------------------------

def test_base_and_out_naming_one_folder_are_refused(tmp_path, capsys):
    folder = tmp_path / "plan"
    assert main(["--stack", "ib", "--out", str(folder), "--base", str(folder) + "/"]) == 2
    err = capsys.readouterr().err
    assert f"--base {folder}" in err and "would overwrite the baseline it is compared with" in err
    assert not folder.exists()


def test_base_equal_to_the_default_out_is_refused(capsys):
    default = mock_runtime.ROOT / "build" / "plan" / "ib"
    assert main(["--stack", "ib", "--base", str(default)]) == 2
    assert "the default --out" in capsys.readouterr().err


def test_a_model_name_of_the_wrong_type_is_refused_not_crashed():
    """Found by the property tests: the known-size lookup must not hash a list."""
    run = run_stack("ib", {"model": {"name": ["x"]}}, expect_error=True)
    assert isinstance(run.error, pulumi.RunError) and "llmd:model.name:" in str(run.error)


def test_our_key_name_under_an_unrelated_namespace_only_warns():
    """`vault:namespace` is the Vault provider's own key: named, never an error."""
    run = run_program("ib", {**stack_config("ib"), "vault:namespace": "team-a"})
    assert run.error is None and run.registrations
    [warning] = run.warnings
    assert warning.startswith("vault:namespace: has `vault:`, so this program never reads it") and "llmd:namespace" in warning


def test_unrelated_keys_of_other_namespaces_are_not_ours():
    run = run_program("ib", {**stack_config("ib"), "vault:address": "https://vault", "aws:region": "us-east-1"})
    assert run.error is None and run.warnings == []
