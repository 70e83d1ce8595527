"""Gateway providers are pluggable modules: one contract (components/gateway/base.py), one chooser
(select.py), one module per provider; the pool, the route and the config rules ask the provider."""

import pathlib
import re
import typing

import pytest

from components.config.load import validate
from components.config.model import GatewayConfig
from components.gateway.select import PROVIDERS, crd_schema_sets
from conftest import run_stack, validator_for
from tools.mock_runtime import PROJECT, stack_config

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_configurable_provider_has_a_module():
    assert set(typing.get_args(GatewayConfig.model_fields["provider"].annotation)) == set(PROVIDERS)


@pytest.mark.parametrize(
    "path", ["components/route.py", "components/inference_pool.py", "components/outputs.py", "components/config/rules.py",
             "components/config/gke_rules.py", "components/config/model.py", "components/gateway/component.py", "__main__.py"]
)
def test_no_provider_branches_outside_the_provider_modules(path):
    """No `provider == "istio"`-style chain is left where the providers' modules should answer."""
    source = (ROOT / path).read_text()
    names = "|".join(PROVIDERS)
    assert not re.search(rf"""provider\s*(==|!=|in)\s*[\("'\[{{]*\s*["']({names})["']""", source), path
    assert not re.search(rf"""["']({names})["']\s*(==|!=)""", source), path


@pytest.fixture(scope="module")
def runs():
    return {
        "istio": run_stack("ib"),
        "kgateway": run_stack("ib", {"gateway": {"provider": "kgateway"}}),
        "agentgateway": run_stack("ib", {"gateway": {"provider": "agentgateway"}}),
        "gke": run_stack("gke"),
    }


# (class, parametersRef kind, Service host until status has an address, pool extras)
EXPECTED = {
    "istio": ("istio", "ConfigMap", "infra-pd-inference-gateway-istio.llm-d-pd.svc.cluster.local", {"DestinationRule"}),
    "kgateway": ("kgateway", "GatewayParameters", "infra-pd-inference-gateway.llm-d-pd.svc.cluster.local", set()),
    "agentgateway": ("agentgateway-v2", "AgentgatewayParameters", "infra-pd-inference-gateway.llm-d-pd.svc.cluster.local", set()),
    "gke": ("gke-l7-rilb", None, None, {"HealthCheckPolicy", "GCPBackendPolicy"}),  # internal by default (exposure)
}


@pytest.mark.parametrize("provider", list(EXPECTED))
def test_each_provider_shapes_its_gateway_pool_and_route(runs, provider):
    run = runs[provider]
    class_name, params_kind, host, pool_extras = EXPECTED[provider]
    gateway = run.one("Gateway")
    spec = gateway.inputs["spec"]
    assert spec["gatewayClassName"] == class_name
    ref = spec.get("infrastructure", {}).get("parametersRef")
    assert (ref or {}).get("kind") == params_kind
    if ref:  # the parameters object exists and the Gateway waits for it
        params = run.one(params_kind, ref["name"])
        assert params.urn in gateway.dependencies
    # Pool extras are children of the pool component, named as before the move.
    pool_component = next(r for r in run.registrations if r.type == "llmd:serving:InferencePool")
    extras = {r.kind for r in run.kube() if r.parent == pool_component.urn and r.kind in {"DestinationRule", "HealthCheckPolicy", "GCPBackendPolicy"}}
    assert extras == pool_extras
    rule = run.one("HTTPRoute").inputs["spec"]["rules"][0]
    in_cluster = provider != "gke"
    assert ("port" in rule["backendRefs"][0], "timeouts" in rule) == (in_cluster, in_cluster)
    if host:
        assert any(host in str(r.inputs) for r in run.kube("Job"))  # the verifier's URL until status is known


def test_resource_names_kept_through_the_move(runs):
    """The URNs of v0.5.0 objects did not change when gateway.py became a package."""
    urns = {r.urn.split("::")[-1] for r in runs["istio"].registrations}
    assert {"gateway-gateway", "gateway-gateway-parameters", "gateway-istio-system", "gateway-istio-base", "gateway-istiod",
            "pool-epp-destination-rule"} <= urns
    types = {r.urn.split("::")[-2] for r in runs["istio"].registrations if r.urn.endswith("::gateway-gateway")}
    assert types == {"llmd:gateway:GatewayProvider$kubernetes:gateway.networking.k8s.io/v1:Gateway"}
    gke = {r.urn.split("::")[-1] for r in runs["gke"].registrations}
    assert {"pool-health-check", "pool-backend-policy"} <= gke


def _istio_proxy(run):
    import yaml  # noqa: PLC0415

    deployment = yaml.safe_load(run.one("ConfigMap", "infra-pd-inference-gateway").inputs["data"]["deployment"])
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_proxy_sizing_defaults_are_each_providers_own(runs):
    """Istio: the guide's istio environment (16 CPU / 16Gi limits, 4 / 4Gi requests). kgateway: the
    llm-d-infra v1.3.6 chart defaults the guide's kgateway environment uses (llmd-pd-spec.md 2.1: limits
    2 CPU / 1Gi, requests 100m / 128Mi), not Istio's. agentgateway: unsized, as its proxy chart leaves it."""
    assert _istio_proxy(runs["istio"])["resources"] == {"limits": {"cpu": "16", "memory": "16Gi"}, "requests": {"cpu": "4", "memory": "4Gi"}}
    envoy = runs["kgateway"].one("GatewayParameters").inputs["spec"]["kube"]["envoyContainer"]
    assert envoy["resources"] == {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}
    assert "resources" not in runs["agentgateway"].one("AgentgatewayParameters").inputs["spec"]


@pytest.mark.parametrize("provider", ["istio", "kgateway", "agentgateway"])
def test_proxy_resources_override_field_by_field(provider):
    run = run_stack("ib", {"gateway": {"provider": provider, "crds": "skip", "proxyResources": {"cpuLimit": "8", "memoryRequest": "2Gi"}}})
    if provider == "istio":
        resources = _istio_proxy(run)["resources"]
    elif provider == "kgateway":
        resources = run.one("GatewayParameters").inputs["spec"]["kube"]["envoyContainer"]["resources"]
    else:
        resources = run.one("AgentgatewayParameters").inputs["spec"]["resources"]
    assert resources["limits"]["cpu"] == "8" and resources["requests"]["memory"] == "2Gi"
    defaults = {"istio": ("16Gi", "4"), "kgateway": ("1Gi", "100m"), "agentgateway": (None, None)}[provider]
    assert (resources["limits"].get("memory"), resources["requests"].get("cpu")) == defaults


def test_agentgateway_per_release_charts_and_class():
    """v2.2.0-beta.3 (llm-d v0.5.0) from kgateway-dev's registry with class agentgateway-v2; v1.1.0 (llm-d
    v0.9.0) from agentgateway's registry with class agentgateway; inference extension on in both."""
    for version, repo, class_name in (
        ("v2.2.0-beta.3", "oci://ghcr.io/kgateway-dev/charts", "agentgateway-v2"),
        ("v1.1.0", "oci://cr.agentgateway.dev/charts", "agentgateway"),
    ):
        overrides = {"provider": "agentgateway", "crds": "skip"}
        run = run_stack("ib", {"gateway": overrides, "versions": {"agentgatewayChart": version}})
        charts = {r.inputs["chart"]: r.inputs for r in run.of_type("kubernetes:helm.sh/v4:Chart")}
        assert set(charts) == {f"{repo}/agentgateway-crds", f"{repo}/agentgateway"}
        assert {c["version"] for c in charts.values()} == {version}
        assert {c["namespace"] for c in charts.values()} == {"agentgateway-system"}
        assert charts[f"{repo}/agentgateway"]["values"] == {"inferenceExtension": {"enabled": True}}
        assert run.one("Gateway").inputs["spec"]["gatewayClassName"] == class_name


def test_unknown_agentgateway_chart_line_is_refused():
    run = run_stack("ib", {"gateway": {"provider": "agentgateway"}, "versions": {"agentgatewayChart": "v3.0.0"}}, expect_error=True)
    assert "llmd:versions.agentgatewayChart:" in str(run.error) and "v1.1.0" in str(run.error)
    assert not run.registrations


@pytest.mark.parametrize("provider,kind,sets", [
    ("istio", None, ()),
    ("kgateway", "GatewayParameters", ("kgateway-v2.1.1",)),
    ("agentgateway", "AgentgatewayParameters", ("agentgateway-v2.2.0-beta.3",)),
])
def test_objects_validate_against_the_providers_crd_set(runs, validator, provider, kind, sets):
    """The validator picks the provider's CRD set (components/gateway/select.py crd_schema_sets): both
    parameters kinds have published schemas (kgateway's GatewayParameters too, since v2.1.1's CRDs are in
    ../shared/crds/_alt); a stray field fails; the default set alone knows neither kind."""
    overrides = {"gateway": {"provider": provider}}
    assert crd_schema_sets(validate(stack_config("ib", overrides), set(), "ib", PROJECT)) == sets
    chosen = validator_for(("ib", overrides))
    run = runs[provider]
    assert [e for obj in run.kube() for e in chosen.errors(obj.inputs)] == []
    if kind:
        params = run.one(kind).inputs
        broken = {**params, "spec": {**params["spec"], "replicas": 2}}
        assert any("spec.replicas: unknown field" in e for e in chosen.errors(broken))
        assert validator.errors(params) == [f"{kind}/{params['metadata']['name']}: no schema for {params['apiVersion']}/{kind}"]


def test_agentgateway_v1_objects_validate_against_their_own_set():
    overrides = {"gateway": {"provider": "agentgateway"}, "versions": {"agentgatewayChart": "v1.1.0"}}
    assert crd_schema_sets(validate(stack_config("ib", overrides), set(), "ib", PROJECT)) == ("agentgateway-v1.1.0",)
    run = run_stack("ib", overrides)
    chosen = validator_for(("ib", overrides))
    assert [e for obj in run.kube() for e in chosen.errors(obj.inputs)] == []
