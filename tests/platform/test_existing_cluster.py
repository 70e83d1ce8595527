"""Which cluster an existing-cluster stack acts on: an explicit context, and the kubeconfig path as written."""

import pulumi
import pytest

from conftest import run_stack

PROVIDER = "pulumi:providers:kubernetes"


def provider_inputs(run) -> dict:
    (provider,) = run.of_type(PROVIDER)
    return provider.inputs


def test_the_ib_stack_names_its_context(ib):
    assert provider_inputs(ib)["context"] == "my-ib-cluster"


@pytest.mark.parametrize("context", [None, ""])
def test_a_missing_context_stops_before_any_resource(context):
    """Without a context the provider follows the current-context: `destroy` could drop another cluster's state."""
    platform = {"kind": "existing", "kubeconfig": "~/.kube/config"}
    if context is not None:
        platform["context"] = context
    run = run_stack("ib", {"platform": platform}, expect_error=True)
    assert isinstance(run.error, pulumi.RunError)
    message = str(run.error)
    assert "llmd:platform.context: is not set" in message
    assert "current-context" in message and "pulumi config set --path platform.context" in message
    assert run.registrations == []


def test_the_kubeconfig_path_reaches_the_provider_unexpanded():
    """pulumi-kubernetes expands `~` itself (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/util.go,
    parseKubeconfigString), so the state must hold the path as written: an expanded /home/<user> breaks
    on any other machine."""
    run = run_stack("ib", {"platform": {"kind": "existing", "kubeconfig": "~/.kube/ib.yaml", "context": "ib-h200"}})
    inputs = provider_inputs(run)
    assert inputs["kubeconfig"] == "~/.kube/ib.yaml"
    assert inputs["context"] == "ib-h200"
