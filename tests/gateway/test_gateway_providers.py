"""Gateway providers are pluggable modules: one contract (components/gateway/base.py), one chooser
(select.py), one module per provider; the pool, the route and the config rules ask the provider."""

import pathlib
import re
import typing

import pytest

from components.config.model import GatewayConfig
from components.gateway.select import PROVIDERS
from conftest import run_stack

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
    "gke": ("gke-l7-regional-external-managed", None, None, {"HealthCheckPolicy", "GCPBackendPolicy"}),
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
