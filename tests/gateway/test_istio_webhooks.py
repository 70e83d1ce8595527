"""The Istio charts leave istiod the webhook fields it writes at run time (issue 11, item 3).

Sources: istio/istio@1.28.1 manifests/charts/base/templates/defaultrevision-validatingwebhookconfiguration.yaml,
manifests/charts/istio-control/istio-discovery/templates/{validatingwebhookconfiguration,mutatingwebhook}.yaml,
pkg/webhooks/validation/controller/controller.go (updateValidatingWebhookConfiguration: caBundle and
failurePolicy Fail on every webhook), pkg/webhooks/webhookpatch.go (patchMutatingWebhookConfig: caBundle).
"""

import pulumi
import pytest

from components.gateway.istio_webhooks import IgnoreIstiodOwnedWebhookFields
from conftest import run_stack
from tools import mock_runtime

VWC = "kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration"
MWC = "kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration"


def rendered(name: str, rev: str = "default") -> dict:
    """The chart's object as the transform sees it (metadata as the 1.28.1 templates render it)."""
    return {"apiVersion": "admissionregistration.k8s.io/v1", "metadata": {"name": name, "labels": {"app": "istiod", "istio.io/rev": rev}},
            "webhooks": [{"name": "rev.validation.istio.io", "failurePolicy": "Ignore", "clientConfig": {"service": {"name": "istiod"}}}]}


def apply(transform, type_: str, props: dict, ignore=None):
    args = pulumi.ResourceTransformArgs(custom=True, type_=type_, name=f"x:{props['metadata']['name']}", props=props,
                                        opts=pulumi.ResourceOptions(ignore_changes=ignore))
    return transform(args)


@pytest.mark.parametrize("type_,name,paths", [
    (VWC, "istiod-default-validator", ["webhooks[*].failurePolicy", "webhooks[*].clientConfig.caBundle"]),
    (VWC, "istio-validator-istio-system", ["webhooks[*].failurePolicy", "webhooks[*].clientConfig.caBundle"]),
    (MWC, "istio-sidecar-injector", ["webhooks[*].clientConfig.caBundle"]),
])
def test_istiod_owned_fields_are_ignored(type_, name, paths):
    result = apply(IgnoreIstiodOwnedWebhookFields(), type_, rendered(name), ignore=["metadata.annotations"])
    assert result.opts.ignore_changes == ["metadata.annotations", *paths]
    assert result.props["webhooks"][0]["failurePolicy"] == "Ignore"  # what the chart renders is still created


@pytest.mark.parametrize("type_,props", [
    ("kubernetes:apps/v1:Deployment", rendered("istiod")),
    ("kubernetes:core/v1:Service", rendered("istiod")),
    ("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy", rendered("istio-policy")),
])
def test_nothing_else_is_touched(type_, props):
    assert apply(IgnoreIstiodOwnedWebhookFields(), type_, props) is None


def test_both_istio_charts_carry_the_transform(monkeypatch):
    """The option reaches the engine with the Chart registrations (transforms apply to a component's children)."""
    seen = {}
    original = mock_runtime._Mocks.new_resource

    def record(self, args):
        seen[args.name] = args.transforms
        return original(self, args)

    monkeypatch.setattr(mock_runtime._Mocks, "new_resource", record)
    run_stack("ib")
    for chart in ("gateway-istio-base", "gateway-istiod"):
        assert [type(t) for t in seen[chart] if isinstance(t, IgnoreIstiodOwnedWebhookFields)], chart
    webhooks = next(t for t in seen["gateway-istiod"] if isinstance(t, IgnoreIstiodOwnedWebhookFields))
    assert webhooks.ignore_changes["ValidatingWebhookConfiguration"] == ("webhooks[*].failurePolicy", "webhooks[*].clientConfig.caBundle")
    assert not any(isinstance(t, IgnoreIstiodOwnedWebhookFields) for name in seen if not name.startswith("gateway-istio") for t in seen[name])


def test_the_plan_shows_the_ignored_fields():
    """tools/mock_runtime.py probes each Chart's transforms per child type; the plan records what they set."""
    run = run_stack("ib")
    charts = {r.name: r for r in run.of_type("kubernetes:helm.sh/v4:Chart")}
    effects = charts["gateway-istiod"].transform_effects
    assert effects[VWC]["ignoreChanges"] == sorted(["webhooks[*].failurePolicy", "webhooks[*].clientConfig.caBundle"])
    assert effects[MWC]["ignoreChanges"] == ["webhooks[*].clientConfig.caBundle"]
    base = charts["gateway-istio-base"].transform_effects  # the chart that carries Istio's CRDs keeps them
    assert base["kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"] == {"retainOnDelete": True}
