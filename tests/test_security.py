"""Who may call the model (issue 13): exposure, API keys per gateway provider, NetworkPolicies.

Each provider's stack is run once (module fixtures) and the objects that implement it are checked:
private by default, a public gateway authenticated by construction, keys only in Secrets, the
Jobs authenticating like clients, and NetworkPolicies that admit exactly the P/D paths.
"""

import json

import pytest

from components.config.load import validate
from components.names import Release
from components.security import network_policy
from conftest import HF_TOKEN, run_stack
from test_bad_input import assert_stopped_cleanly
from tools.invariants import Context, check_run, gateway_authentication, gateway_is_public
from tools.mock_runtime import run_program, stack_config
from tools.plan.summary import key_facts

API_KEY = "sk-test-0123456789abcdef-do-not-leak"
PUBLIC_ISTIO = {"gateway": {"provider": "istio", "exposure": "public"}}
R = Release("llm-d-pd", "pd", "openai/gpt-oss-120b")


def run_with_key(stack: str, overrides: dict, key: str = API_KEY, **kwargs):
    config = stack_config(stack, overrides)
    return run_program(stack, config, {"hfToken": HF_TOKEN, "gatewayApiKey": key}, **kwargs)


def objects(run):
    return [r.inputs for r in run.kube()]


def only(run, kind, name_part=""):
    found = [r.inputs for r in run.kube(kind) if name_part in r.inputs["metadata"]["name"]]
    found = [o for o in found if o["metadata"]["name"] == name_part] or found  # an exact name wins
    assert len(found) == 1, [o["metadata"]["name"] for o in found]
    return found[0]


def typed(stack, overrides, secrets=("hfToken",)):
    raw = {**stack_config(stack, overrides), **{k: "x" * 20 for k in secrets}}
    return validate(raw, set(secrets), stack, "llmd")


@pytest.fixture(scope="module")
def ib_default():
    return run_stack("ib")


@pytest.fixture(scope="module")
def ib_public():
    return run_with_key("ib", PUBLIC_ISTIO)


@pytest.fixture(scope="module")
def ib_external_secret():
    """Internal, but authenticated, with keys from a Secret the operator manages."""
    return run_stack("ib", {"gateway": {"provider": "istio", "auth": {"mode": "apiKey", "secret": "team-keys", "key": "ci"}},
                            "benchmark": {"enabled": True}})


# --- 1. private by default ---------------------------------------------------------------------
def test_a_new_ib_stack_is_private(ib_default):
    service = only(ib_default, "ConfigMap", R.gateway)["data"]["service"]
    assert "type: ClusterIP" in service
    assert ib_default.kube("AuthorizationPolicy") == []
    outputs = ib_default.outputs
    assert outputs["apiKey"] == {"required": False, "exposure": "internal"}
    assert "Authorization" not in outputs["chatCompletionsCurl"]


def test_public_istio_gets_a_load_balancer(ib_public):
    assert "type: LoadBalancer" in only(ib_public, "ConfigMap", R.gateway)["data"]["service"]


def test_kgateway_stays_cluster_internal():
    run = run_stack("ib", {"gateway": {"provider": "kgateway"}})
    params = only(run, "GatewayParameters")
    assert params["spec"]["kube"]["service"] == {"type": "ClusterIP"}


def test_the_plan_says_which_it_is(ib_default, ib_public):
    private = key_facts(ib_default.registrations, typed("ib", {}))
    public = key_facts(ib_public.registrations, typed("ib", PUBLIC_ISTIO, ("hfToken", "gatewayApiKey")))
    assert "exposure:  internal: reachable from inside the cluster only (ClusterIP); no key required" in private
    assert any(line.startswith("exposure:  PUBLIC: reachable from the internet; API key required") for line in public), public


# --- 2. authenticated when public: Istio ------------------------------------------------------
def test_istio_checks_every_request_through_the_gateway(ib_public):
    release = Release("llm-d-pd", "pd", "openai/gpt-oss-120b")
    policy = only(ib_public, "AuthorizationPolicy")
    assert policy["spec"] == {
        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": release.gateway}],
        "action": "CUSTOM",
        "provider": {"name": release.authz_provider},
        "rules": [{}],
    }
    # istiod knows the provider the policy names, and it points at the authorizer's Service and port.
    istiod = next(r for r in ib_public.registrations if r.type.startswith("kubernetes:helm.sh/") and r.inputs.get("chart") == "istiod")
    (provider,) = istiod.inputs["values"]["meshConfig"]["extensionProviders"]
    service = only(ib_public, "Service", "authz")
    assert provider["name"] == release.authz_provider
    ext = provider["envoyExtAuthzHttp"]
    assert ext["service"] == f"{service['metadata']['name']}.llm-d-pd.svc.cluster.local"
    assert ext["port"] == service["spec"]["ports"][0]["port"]
    assert ext["includeRequestHeadersInCheck"] == ["authorization"] and ext["failOpen"] is False
    assert gateway_is_public(objects(ib_public), only(ib_public, "Gateway"))
    assert gateway_authentication(objects(ib_public), only(ib_public, "Gateway")).startswith("Istio ext_authz")


def test_istio_keys_live_in_a_secret_the_authorizer_mounts(ib_public):
    """Mounted whole (no subPath), so a key change reaches the authorizer without a restart of anything."""
    (secret_reg,) = [r for r in ib_public.registrations if r.is_kube_object and r.kind == "Secret" and "api-key" in r.name]
    assert secret_reg.inputs["stringData"] == {"api-key": API_KEY}
    assert "stringData" in secret_reg.secret_inputs
    authz = only(ib_public, "Deployment", "authz")
    pod = authz["spec"]["template"]["spec"]
    assert {"name": "keys", "secret": {"secretName": secret_reg.inputs["metadata"]["name"]}} in pod["volumes"]
    assert all("subPath" not in m for c in pod["containers"] for m in c["volumeMounts"])
    # The key appears nowhere but the Secret: not in the policy, the mesh config or the Deployments.
    for r in ib_public.registrations:
        if r is not secret_reg:
            assert API_KEY not in json.dumps(r.inputs, default=str), r.urn
    assert API_KEY not in json.dumps(ib_public.outputs, default=str)


def test_model_servers_do_not_depend_on_the_key(ib_public, ib_default):
    """Rotation never redeploys a model server: their specs are the same with and without auth."""
    for role in ("prefill", "decode"):
        name = f"ms-pd-llm-d-modelservice-{role}"
        assert only(ib_public, "Deployment", name)["spec"] == only(ib_default, "Deployment", name)["spec"]


def test_an_operator_managed_secret_is_referenced_not_created(ib_external_secret):
    assert not [s for s in ib_external_secret.kube("Secret") if "api-key" in s.inputs["metadata"]["name"]]
    pod = only(ib_external_secret, "Deployment", "authz")["spec"]["template"]["spec"]
    assert {"name": "keys", "secret": {"secretName": "team-keys"}} in pod["volumes"]
    assert check_run(ib_external_secret, Context.from_stack_config(typed("ib", {}), [HF_TOKEN])) == []


# --- 4. the Jobs authenticate like any client; outputs show how without the key ---------------------
def test_verification_presents_the_key_from_the_secret(ib_public, ib_external_secret):
    env = only(ib_public, "Job", "verify")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "infra-pd-inference-gateway-api-key", "key": "api-key"}}} in env
    job = only(ib_external_secret, "Job", "verify")["spec"]["template"]
    assert {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "team-keys", "key": "ci"}}} in job["spec"]["containers"][0]["env"]
    assert job["metadata"]["annotations"]["llm-d.ai/external-secrets"] == "team-keys"


def test_benchmark_adds_the_key_in_the_pod_not_the_configmap(ib_external_secret):
    """inference-perf v0.4.0 takes server.api_key from its config file only."""
    container = only(ib_external_secret, "Job", "bench")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "team-keys", "key": "ci"}}} in container["env"]
    assert container["command"][:2] == ["python", "-c"] and "os.environ['API_KEY']" in container["command"][2]
    assert container["args"][1].startswith("/tmp/")
    config = only(ib_external_secret, "ConfigMap", "bench")["data"]["config.yml"]
    assert "api_key" not in config


def test_outputs_show_how_to_call_without_printing_a_key(ib_public):
    outputs = ib_public.outputs
    assert '-H "Authorization: Bearer $LLMD_API_KEY"' in outputs["chatCompletionsCurl"]
    assert '-H "Authorization: Bearer $LLMD_API_KEY"' in outputs["localCurl"]
    assert outputs["apiKey"]["required"] is True and outputs["apiKey"]["exposure"] == "public"
    assert outputs["apiKey"]["load"].startswith("export LLMD_API_KEY=")
    assert "kubectl -n llm-d-pd get secret infra-pd-inference-gateway-api-key" in outputs["apiKey"]["load"]


def test_every_object_validates_and_every_invariant_holds(ib_public, ib_external_secret, validator):
    for run in (ib_public, ib_external_secret):
        assert [e for o in objects(run) for e in validator.errors(o)] == []
    context = Context.from_stack_config(typed("ib", PUBLIC_ISTIO, ("hfToken", "gatewayApiKey")), [HF_TOKEN, API_KEY])
    assert check_run(ib_public, context) == []


# --- 3. NetworkPolicies: only the route reaches the pods ---------------------------------------
def _peer_admits(peer, pod_labels, namespace, release_ns="llm-d-pd"):
    if "podSelector" in peer and "namespaceSelector" not in peer:
        return namespace == release_ns and all(pod_labels.get(k) == v for k, v in peer["podSelector"]["matchLabels"].items())
    if "namespaceSelector" in peer:
        (expr,) = peer["namespaceSelector"]["matchExpressions"]
        return namespace in expr["values"]
    return False


def reaches(run, source_labels, source_ns, target_labels, port_name):
    """Would a pod with `source_labels` in `source_ns` reach `port_name` on a pod with `target_labels`?"""
    for policy in run.kube("NetworkPolicy"):
        spec = policy.inputs["spec"]
        if not all(target_labels.get(k) == v for k, v in spec["podSelector"]["matchLabels"].items()):
            continue
        for rule in spec["ingress"]:
            # A rule without `ports` admits every port (networking.k8s.io/v1 NetworkPolicyIngressRule).
            if any(p["port"] == port_name for p in rule.get("ports", [{"port": port_name}])) and any(_peer_admits(peer, source_labels, source_ns) for peer in rule["from"]):
                return True
    return False


GATEWAY_POD = {"gateway.networking.k8s.io/gateway-name": R.gateway, "istio.io/gateway-name": R.gateway}
DECODE = R.role_labels("decode")
PREFILL = R.role_labels("prefill")
EPP = R.epp_selector
VERIFY = R.component_labels("verification")
STRANGER = {"app": "curious"}


@pytest.mark.parametrize(
    "source, namespace, target, port, allowed",
    [
        (GATEWAY_POD, "llm-d-pd", DECODE, "sidecar", True),  # the route
        (GATEWAY_POD, "llm-d-pd", PREFILL, "vllm", True),  # the pool holds both roles
        (DECODE, "llm-d-pd", PREFILL, "vllm", True),  # the sidecar's prefill leg
        (DECODE, "llm-d-pd", PREFILL, "nixl", True),  # NIXL handshake: decode reads from prefill
        (PREFILL, "llm-d-pd", DECODE, "nixl", True),
        (PREFILL, "llm-d-pd", PREFILL, "nixl", False),  # only the other role
        (EPP, "llm-d-pd", PREFILL, "vllm", True),  # the scheduler's metrics scrape
        (EPP, "llm-d-pd", DECODE, "vllm", True),
        (VERIFY, "llm-d-pd", DECODE, "vllm", True),  # the verification Job's metrics snapshot
        ({}, "monitoring", PREFILL, "vllm", True),  # Prometheus Operator
        (STRANGER, "llm-d-pd", PREFILL, "vllm", False),  # any other pod: no way around the route
        (STRANGER, "llm-d-pd", DECODE, "vllm", False),
        (STRANGER, "other-team", DECODE, "sidecar", False),
        (GATEWAY_POD, "llm-d-pd", DECODE, "vllm", False),  # the gateway goes through the sidecar
        (GATEWAY_POD, "llm-d-pd", DECODE, "nixl", False),
    ],
)
def test_who_reaches_which_model_server_port(ib_default, source, namespace, target, port, allowed):
    assert reaches(ib_default, source, namespace, target, port) is allowed


def test_scheduler_grpc_only_from_the_gateway(ib_default):
    (policy,) = [p.inputs for p in ib_default.kube("NetworkPolicy") if p.inputs["spec"]["podSelector"]["matchLabels"] == EPP]
    grpc = [r for r in policy["spec"]["ingress"] if {"protocol": "TCP", "port": 9002} in r["ports"]]
    assert [r["from"] for r in grpc] == [[{"podSelector": {"matchLabels": R.gateway_selector}}]]


def test_authorizer_only_from_the_gateway(ib_public):
    policy = only(ib_public, "NetworkPolicy", "authz")
    assert policy["spec"]["ingress"] == [{"from": [{"podSelector": {"matchLabels": R.gateway_selector}}], "ports": [{"protocol": "TCP", "port": 8080}]}]


def test_the_other_role_reaches_every_port_for_nixl_and_ucx_over_tcp():
    """NIXL's side channel is 5600 + the DP rank (vLLM 0.14.1 nixl_connector.py), and UCX's TCP transport,
    the fallback without RDMA, listens on ephemeral ports: the other role may reach any port, and only it."""
    config = typed("ib", {"prefill": {"replicas": 2, "tensorParallel": 1, "dataParallel": 4}})
    specs = network_policy.policies(config, R)
    for role, other in (("prefill", "decode"), ("decode", "prefill")):
        rule = specs[R.network_policy(role)]["ingress"][-1]
        assert rule == {"from": [{"podSelector": {"matchLabels": R.role_selector(other)}}]}


def test_monitoring_namespaces_follow_the_config():
    config = typed("ib", {"monitoring": {"enabled": True, "namespaces": ["observability"]}})
    rule = network_policy.policies(config, R)[R.network_policy("prefill")]["ingress"][0]
    assert {"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["observability"]}]}} in rule["from"]


# --- 5. bad input -------------------------------------------------------------------------------
BAD = {
    "public with no key source": (PUBLIC_ISTIO, None, "llmd:gateway.auth", "needs a key source"),
    "public with auth turned off": ({"gateway": {"exposure": "public", "auth": {"mode": "none"}}}, None, "llmd:gateway.auth.mode", "anyone who finds the address"),
    "allowlist entry not a CIDR": ({"gateway": {"allowedSourceRanges": ["10.0.0.1/8"]}}, None, "llmd:gateway.allowedSourceRanges[0]", "is not a CIDR range"),
    "allowlist off GKE": ({"gateway": {"allowedSourceRanges": ["10.0.0.0/8"]}}, None, "llmd:gateway.allowedSourceRanges", "public GKE gateway only"),
    "public kgateway": ({"gateway": {"provider": "kgateway", "exposure": "public"}}, API_KEY, "llmd:gateway.exposure", "kgateway v2.1.1"),
    "two key sources": ({"gateway": {"exposure": "public", "auth": {"secret": "keys"}}}, API_KEY, "llmd:gateway.auth.secret", "keep one key source"),
    "a key that cannot be a header": (PUBLIC_ISTIO, "short", "llmd:gatewayApiKey", "16 to 256 characters"),
    "unknown exposure": ({"gateway": {"exposure": "external"}}, None, "llmd:gateway.exposure", "'internal' or 'public'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_security_input_is_refused(case):
    overrides, key, where, gist = BAD[case]
    secrets = {"hfToken": HF_TOKEN, **({"gatewayApiKey": key} if key else {})}
    run = run_program("ib", stack_config("ib", overrides), secrets, expect_error=True)
    assert_stopped_cleanly(run, where, gist)
    assert API_KEY not in str(run.error)


def test_a_plaintext_key_is_refused():
    config = {**stack_config("ib", PUBLIC_ISTIO), "gatewayApiKey": API_KEY}
    run = run_program("ib", config, {"hfToken": HF_TOKEN}, expect_error=True)
    assert_stopped_cleanly(run, "llmd:gatewayApiKey", "stored in plaintext")


# --- agentgateway (the gateway package's provider module registers under this name) ---------------
AGENTGATEWAY_CRDS = "_alt/agentgateway-v2.2.0-beta.3"


def test_agentgateway_policy_is_schema_valid_and_authenticates():
    """Checked against the AgentgatewayPolicy CRD, and recognised by the public-gateway invariant."""
    from pathlib import Path

    from components.security import AUTH_PROVIDERS, auth_agentgateway
    from components.security.keys import KeyRef
    from tools.k8s_schema import SchemaValidator, crd_dir_from_env

    crds = Path(crd_dir_from_env()) / AGENTGATEWAY_CRDS
    if not crds.is_dir():
        pytest.skip(f"no {crds}")
    assert "agentgateway" in AUTH_PROVIDERS
    policy = {
        "apiVersion": auth_agentgateway.POLICY_API, "kind": "AgentgatewayPolicy",
        "metadata": {"name": f"{R.gateway}-api-key", "namespace": R.namespace},
        "spec": auth_agentgateway.policy_spec(R, KeyRef("team-keys", "ci", external=True)),
    }
    assert SchemaValidator(crds).errors(policy) == []
    gateway = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
               "metadata": {"name": R.gateway, "namespace": R.namespace}, "spec": {"gatewayClassName": "agentgateway"}}
    assert gateway_authentication([gateway, policy], gateway).startswith("agentgateway apiKeyAuthentication")
    policy["spec"]["traffic"]["apiKeyAuthentication"]["mode"] = "Optional"  # lets keyless requests through
    assert gateway_authentication([gateway, policy], gateway) is None


def test_every_provider_that_may_take_keys_has_a_module():
    from components.config.security_rules import API_KEY_PROVIDERS
    from components.security import AUTH_PROVIDERS

    assert set(API_KEY_PROVIDERS) == set(AUTH_PROVIDERS)
