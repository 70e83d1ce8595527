"""Who may call the model on GKE: the internal class by default; a public one behind Cloud Armor."""

import json

import pytest

from conftest import HF_TOKEN
from gke_runs import run_gke, waits_for, with_platform
from test_bad_input import assert_stopped_cleanly
from tools.invariants import Context, check_run, gateway_authentication, gateway_is_public
from tools.mock_runtime import ProgramRun

API_KEY = "gke-key-0123456789abcdef-do-not-leak"
SECURITY_POLICY = "gcp:compute/regionSecurityPolicy:RegionSecurityPolicy"
ALLOWED = ["203.0.113.0/24", "198.51.100.7/32"]


def config_with(gateway: dict) -> dict:
    config = with_platform({})
    config["gateway"] = {"provider": "gke", **gateway}
    return config


@pytest.fixture(scope="module")
def private() -> ProgramRun:
    return run_gke(secrets={"hfToken": HF_TOKEN})


@pytest.fixture(scope="module")
def public() -> ProgramRun:
    config = config_with({"exposure": "public", "allowedSourceRanges": ALLOWED})
    return run_gke(config, secrets={"hfToken": HF_TOKEN, "gatewayApiKey": API_KEY})


def test_a_new_gke_stack_is_internal(private):
    gateway = private.one("Gateway").inputs
    assert gateway["spec"]["gatewayClassName"] == "gke-l7-rilb"
    assert not private.of_type(SECURITY_POLICY)
    assert "securityPolicy" not in private.one("GCPBackendPolicy").inputs["spec"]["default"]
    assert not gateway_is_public([r.inputs for r in private.kube()], gateway)


def test_public_gateway_is_external_and_guarded_by_cloud_armor(public):
    gateway = public.one("Gateway")
    assert gateway.inputs["spec"]["gatewayClassName"] == "gke-l7-regional-external-managed"
    (policy,) = public.of_type(SECURITY_POLICY)
    assert policy.inputs["type"] == "CLOUD_ARMOR"
    assert (policy.inputs["project"], policy.inputs["region"]) == ("my-gcp-project", "europe-west1")
    backend = public.one("GCPBackendPolicy")
    assert backend.inputs["spec"]["default"]["securityPolicy"] == policy.inputs["name"]
    assert waits_for(public, backend, policy), "the backend policy must not name a Cloud Armor policy that does not exist yet"
    objects = [r.inputs for r in public.kube()]
    assert gateway_is_public(objects, gateway.inputs)
    assert gateway_authentication(objects, gateway.inputs).startswith("Cloud Armor")


def test_cloud_armor_allows_only_the_key_from_the_allowed_ranges(public):
    (policy,) = public.of_type(SECURITY_POLICY)
    allow, default = sorted(policy.inputs["rules"], key=lambda r: r["priority"])
    assert allow["action"] == "allow"
    assert allow["match"]["expr"]["expression"] == (
        "(inIpRange(origin.ip, '203.0.113.0/24') || inIpRange(origin.ip, '198.51.100.7/32')) && "
        f"request.headers['authorization'] == 'Bearer {API_KEY}'"
    )
    assert (default["priority"], default["action"]) == (2147483647, "deny(403)")
    assert default["match"] == {"versionedExpr": "SRC_IPS_V1", "config": {"srcIpRanges": ["*"]}}
    # The key is a secret in the state, and the program's own Secret holds it for the Jobs.
    assert "rules" in policy.secret_inputs
    secret = next(r for r in public.kube("Secret") if r.object_name.endswith("-api-key"))
    assert secret.inputs["stringData"] == {"api-key": API_KEY}


def test_invariants_and_schemas_hold(public, validator):
    assert [e for r in public.kube() for e in validator.errors(r.inputs)] == []
    context = Context(platform="gke", secret_values=frozenset({HF_TOKEN, API_KEY}))
    assert check_run(public, context) == []
    assert API_KEY not in json.dumps(public.outputs, default=str)


def test_network_policies_admit_the_load_balancer_proxies(private):
    """GKE's Envoy proxies reach pods from the proxy-only subnet; health checks from Google's ranges."""
    decode = next(p.inputs for p in private.kube("NetworkPolicy") if p.object_name.endswith("-decode"))
    peers = decode["spec"]["ingress"][0]["from"]
    cidrs = [p["ipBlock"]["cidr"] for p in peers if "ipBlock" in p]
    assert cidrs == ["10.129.0.0/23", "35.191.0.0/16", "130.211.0.0/22"]
    assert {"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["gmp-system"]}]}} in peers
    epp = next(p.inputs for p in private.kube("NetworkPolicy") if p.object_name.endswith("-epp"))
    ports = [port["port"] for rule in epp["spec"]["ingress"] if rule["from"][0].get("ipBlock") for port in rule["ports"]]
    assert ports == [9002, 9003]


BAD = {
    "API key on the internal class": ({"auth": {"mode": "apiKey"}}, API_KEY, "llmd:gateway.auth.mode", "Cloud Armor"),
    "public without the key": ({"exposure": "public"}, None, "llmd:gatewayApiKey", "is required"),
    "an operator Secret cannot feed Cloud Armor": (
        {"exposure": "public", "auth": {"secret": "keys"}}, None, "llmd:gateway.auth.secret", "Pulumi secret"),
    "allowlist on the internal class": ({"allowedSourceRanges": ["10.0.0.0/8"]}, None, "llmd:gateway.allowedSourceRanges", "public GKE"),
    "allowlist entry not a CIDR": ({"exposure": "public", "allowedSourceRanges": ["my office"]}, API_KEY,
                                   "llmd:gateway.allowedSourceRanges[0]", "is not a CIDR range"),
    "class against exposure": ({"gkeClass": "gke-l7-regional-external-managed"}, None, "llmd:gateway.gkeClass", "set gateway.exposure"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_gke_security_input_is_refused(case):
    gateway, key, where, gist = BAD[case]
    secrets = {"hfToken": HF_TOKEN, **({"gatewayApiKey": key} if key else {})}
    assert_stopped_cleanly(run_gke(config_with(gateway), secrets=secrets, expect_error=True), where, gist)
