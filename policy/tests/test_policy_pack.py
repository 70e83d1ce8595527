"""The policy pack: every policy passes on the real stacks, fails on a broken one, and the pack runs.

Validation functions are called the way the SDK calls them: `ResourceValidationArgs` and
`StackValidationArgs` built from what the program registers under mocks, with props wrapped in
the SDK's own unknown-checking proxy. The last tests start the pack as Pulumi does (`python
__main__.py` in policy/) and talk to it over the analyzer gRPC protocol.
"""

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pulumi_policy", reason="pulumi-policy is not installed (see requirements-dev.txt)")

from pulumi_policy import (  # noqa: E402
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy  # noqa: E402

from tools.mock_runtime import ProgramRun, Registration, run_program, stack_config  # noqa: E402

PACK_DIR = Path(__file__).resolve().parents[1]
TOKEN = "hf_policy_pack_token_0123456789"


def load_policies():
    spec = importlib.util.spec_from_file_location("llmd_policy_pack", PACK_DIR / "policies.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pack = load_policies()
BY_NAME = {p.name: p for p in pack.POLICIES}


def options(parent: str = "") -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent or None)


def resource_args(r: Registration, config=None) -> ResourceValidationArgs:
    props = unknown_checking_proxy(copy.deepcopy(r.inputs))
    return ResourceValidationArgs(r.type, props, r.urn, r.name, options(r.parent), None, config)


def stack_args(registrations: list[Registration], config=None) -> StackValidationArgs:
    resources = [
        PolicyResource(r.type, unknown_checking_proxy(copy.deepcopy(r.inputs)), r.urn, r.name, options(r.parent), None, None, [], {})
        for r in registrations
    ]
    return StackValidationArgs(resources, config)


def reported(policy_name: str, args) -> list[tuple[str, str]]:
    found = []
    BY_NAME[policy_name].validate(args, lambda message, urn=None: found.append((message, urn)))
    return found


def resource_violations(run_or_registrations) -> list[tuple[str, str]]:
    registrations = getattr(run_or_registrations, "registrations", run_or_registrations)
    return [
        (name, message)
        for r in registrations
        for name in BY_NAME
        if name in {p.name for p in pack.RESOURCE_POLICIES}
        for message, _ in reported(name, resource_args(r))
    ]


def stack_violations(registrations, config=None) -> list[tuple[str, str, str]]:
    return [
        (p.name, message, urn)
        for p in pack.STACK_POLICIES
        for message, urn in reported(p.name, stack_args(registrations, config))
    ]


@pytest.fixture(scope="module")
def ib() -> ProgramRun:
    return run_program("ib", stack_config("ib"), {"hfToken": TOKEN})


@pytest.fixture(scope="module")
def gke() -> ProgramRun:
    run = run_program("gke", stack_config("gke"), {"hfToken": TOKEN}, expect_error=True)
    if run.error is not None:
        pytest.skip(f"the gke stack does not run under mocks: {run.error}")
    return run


@pytest.fixture
def broken(ib):
    """A mutable copy of the ib stack's registrations."""
    return copy.deepcopy(ib.registrations)


def one(registrations, kind: str, name_part: str = "") -> Registration:
    return next(r for r in registrations if r.is_kube_object and r.kind == kind and name_part in r.object_name)


def container(registration: Registration, name: str) -> dict:
    spec = registration.inputs["spec"]["template"]["spec"]
    return next(c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name)


# --- the real stacks pass -------------------------------------------------------------------------
def test_the_ib_stack_passes_every_policy(ib):
    assert resource_violations(ib) == []
    assert stack_violations(ib.registrations, {"rdmaResource": "rdma/ib", "gpusPerNode": 8}) == []


def test_the_gke_stack_passes_every_policy(gke):
    assert resource_violations(gke) == []
    assert stack_violations(gke.registrations) == []


def test_every_invariant_has_a_policy():
    used = {check.__name__ for p in pack.POLICIES for check in _checks_of(p)}
    from tools import invariants as inv

    assert {f.__name__ for f in (*inv.OBJECT_CHECKS.values(), *inv.RELATION_CHECKS.values())} <= used


def _checks_of(policy):
    validate = policy._ResourceValidationPolicy__validate if hasattr(policy, "_ResourceValidationPolicy__validate") else policy._StackValidationPolicy__validate
    cells = [c.cell_contents for c in (validate.__closure__ or ())]
    return [c for cell in cells for c in (cell if isinstance(cell, tuple) else (cell,)) if callable(c)]


# --- each resource policy fails on a broken object ------------------------------------------------
def decode(registrations):
    return one(registrations, "Deployment", "decode")


BREAKS = {
    "llmd-pinned-images": (lambda rs: container(decode(rs), "routing-proxy").update(image="ghcr.io/llm-d/llm-d-routing-sidecar:latest"), "uses :latest"),
    "llmd-resource-requests": (lambda rs: container(decode(rs), "vllm")["resources"]["requests"].pop("memory"), "requests no memory"),
    "llmd-vllm-probes": (lambda rs: container(decode(rs), "vllm").pop("livenessProbe"), "has no livenessProbe"),
    "llmd-no-privileged": (lambda rs: container(decode(rs), "vllm").update(securityContext={"privileged": True}), "runs privileged"),
    "llmd-no-plaintext-secret-env": (
        lambda rs: container(decode(rs), "vllm")["env"].append({"name": "HF_TOKEN_2", "value": TOKEN}),
        "sets HF_TOKEN_2 as a plain value",
    ),
    "llmd-read-only-rbac": (
        lambda rs: one(rs, "Role", "epp").inputs["rules"].append({"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}),
        "grants ['delete']",
    ),
    "llmd-pod-scheduling-fields": (
        lambda rs: decode(rs).inputs["spec"]["template"]["spec"].update(tolerations=[{"operator": "Equal"}]),
        "operator must be Exists",
    ),
    "llmd-unique-env": (
        lambda rs: container(decode(rs), "vllm")["env"].append({"name": "HF_HOME", "value": "/tmp"}),
        "sets HF_HOME twice",
    ),
}


@pytest.mark.parametrize("policy", [p.name for p in pack.RESOURCE_POLICIES])
def test_resource_policy_fails_on_a_broken_object(policy, broken):
    assert policy in BREAKS, f"add a broken case for {policy}"
    breaker, fragment = BREAKS[policy]
    breaker(broken)
    found = [message for r in broken for message, _ in reported(policy, resource_args(r))]
    assert any(fragment in m for m in found), found


def test_third_party_chart_objects_are_out_of_scope(ib):
    latest = copy.deepcopy(one(ib.registrations, "Deployment", "epp"))
    container(latest, "epp")["image"] = "docker.io/istio/pilot:latest"
    latest.urn = latest.urn.replace("llmd:serving:InferencePool$", "llmd:gateway:GatewayProvider$kubernetes:helm.sh/v4:Chart$")
    assert reported("llmd-pinned-images", resource_args(latest)) == []


def test_values_unknown_during_preview_are_skipped(ib):
    deployment = copy.deepcopy(decode(ib.registrations))
    container(deployment, "vllm")["image"] = UNKNOWN_STRING_VALUE  # what the SDK sends for a computed value
    container(deployment, "vllm")["env"][0] = UNKNOWN_STRING_VALUE
    for policy in pack.RESOURCE_POLICIES:
        assert reported(policy.name, resource_args(deployment)) == [], policy.name


def test_plain_reads_through_the_sdk_proxy():
    proxied = unknown_checking_proxy({"a": [1, {"b": UNKNOWN_STRING_VALUE}], "c": UNKNOWN_STRING_VALUE})
    assert pack.plain(proxied) == {"a": [1, {"b": pack.inv.UNKNOWN}], "c": pack.inv.UNKNOWN}


def test_kinds_come_from_the_type_token_when_props_lack_them():
    obj = pack.kube_object("kubernetes:core/v1:ConfigMap", {"metadata": {"name": "x"}})
    assert (obj["apiVersion"], obj["kind"]) == ("v1", "ConfigMap")
    obj = pack.kube_object("kubernetes:apps/v1:Deployment", {"metadata": {"name": "x"}})
    assert (obj["apiVersion"], obj["kind"]) == ("apps/v1", "Deployment")
    assert pack.kube_object("kubernetes:helm.sh/v4:Chart", {"chart": "istiod"}) is None
    assert pack.kube_object("pulumi:providers:kubernetes", {}) is None


# --- each stack policy fails on a broken stack ----------------------------------------------------
def epp_args(rs):
    return container(one(rs, "Deployment", "epp"), "epp")["args"]


STACK_BREAKS = {
    "llmd-pool-selects-model-servers": (
        lambda rs: one(rs, "Deployment", "prefill").inputs["spec"]["template"]["metadata"]["labels"].update({"llm-d.ai/pool": "other"}),
        "not selected by any InferencePool",
        "prefill",
    ),
    "llmd-epp-serves-pool": (lambda rs: epp_args(rs).__setitem__(epp_args(rs).index("--pool-name") + 1, "gaie-x"), "serves pool 'gaie-x'", "pool-pool"),
    "llmd-route-refs-resolve": (
        lambda rs: one(rs, "HTTPRoute").inputs["spec"]["parentRefs"][0].update(sectionName="https"),
        "has no listener 'https'",
        "route",
    ),
    "llmd-ports-agree": (
        lambda rs: container(decode(rs), "routing-proxy")["args"].__setitem__(1, "--vllm-port=9999"),
        "forwards to 9999",
        "decode",
    ),
    "llmd-epp-rbac": (
        lambda rs: one(rs, "Role", "epp").inputs["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["x"]}),
        "core/secrets",
        "pool-epp",
    ),
    "llmd-secrets-stay-secret": (
        lambda rs: one(rs, "ConfigMap", "epp").inputs["data"].update(leak=TOKEN),
        "holds a Secret's value",
        "pool-epp",
    ),
    "llmd-gpus-and-rdma": (
        lambda rs: container(decode(rs), "vllm")["args"].extend(["--data-parallel-size", "2"]),
        "TP 4 x DP 2 = 8",
        "decode",
    ),
    "llmd-unique-objects": (lambda rs: rs.append(copy.deepcopy(one(rs, "Service"))), "defined 2 times", ""),
    "llmd-public-gateway-authenticated": (
        lambda rs: one(rs, "ConfigMap", "inference-gateway").inputs["data"].update(service="spec:\n  type: LoadBalancer\n"),
        "is public",
        "gateway",
    ),
    "llmd-model-server-network-policy": (
        lambda rs: rs.remove(one(rs, "NetworkPolicy", "modelservice-prefill")),
        "no NetworkPolicy selects its pods",
        "prefill",
    ),
}


GKE_ONLY = {"llmd-gpu-pool-scheduling"}  # broken on the gke stack below


def test_every_stack_policy_has_a_broken_case():
    assert {p.name for p in pack.STACK_POLICIES} == set(STACK_BREAKS) | GKE_ONLY


@pytest.mark.parametrize("policy", list(STACK_BREAKS))
def test_stack_policy_fails_on_a_broken_stack(policy, broken):
    breaker, fragment, urn_part = STACK_BREAKS[policy]
    breaker(broken)
    found = reported(policy, stack_args(broken))
    assert any(fragment in m for m, _ in found), found
    assert all(urn_part in (urn or "") for m, urn in found if fragment in m), "violation not attached to the resource"


def test_rdma_resource_from_the_policy_config(ib):
    registrations = copy.deepcopy(ib.registrations)
    for resources in container(decode(registrations), "vllm")["resources"].values():
        resources.pop("rdma/ib")
    found = reported("llmd-gpus-and-rdma", stack_args(registrations, {"rdmaResource": "rdma/ib"}))
    assert any("rdma/ib=None" in m for m, _ in found), found


def test_gke_pods_must_tolerate_the_gpu_pool_taint(gke):
    registrations = copy.deepcopy(gke.registrations)
    decode(registrations).inputs["spec"]["template"]["spec"]["tolerations"] = []
    found = reported("llmd-gpu-pool-scheduling", stack_args(registrations))
    assert any("do not tolerate the GPU pool taints" in m for m, _ in found), found


def test_gke_rdma_networks_must_exist(gke):
    registrations = [r for r in copy.deepcopy(gke.registrations) if not (r.is_kube_object and r.kind == "Network" and r.object_name == "rdma-5")]
    found = reported("llmd-gpus-and-rdma", stack_args(registrations))
    assert any("'rdma-5', which has no Network object" in m for m, _ in found), found


# --- the pack as Pulumi runs it -------------------------------------------------------------------
@pytest.fixture(scope="module")
def analyzer():
    """`python __main__.py` in policy/ (what Pulumi's Python analyzer host runs), over gRPC."""
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    process = subprocess.Popen(
        [sys.executable, "-u", "__main__.py"], cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.poll() is not None else f"no port: {port!r}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


def struct(value: dict):
    from google.protobuf import struct_pb2

    out = struct_pb2.Struct()
    out.update(json.loads(json.dumps(value)))
    return out


def test_the_pack_starts_from_its_directory_and_lists_its_policies(analyzer):
    from google.protobuf import empty_pb2

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == pack.PACK_NAME
    assert {p.name for p in info.policies} == set(BY_NAME)


def test_the_pack_reports_a_latest_image_over_grpc(analyzer, ib):
    from pulumi.runtime.proto import analyzer_pb2

    deployment = copy.deepcopy(decode(ib.registrations))
    container(deployment, "vllm")["image"] = "ghcr.io/llm-d/llm-d-cuda:latest"
    request = analyzer_pb2.AnalyzeRequest(type=deployment.type, properties=struct(deployment.inputs), urn=deployment.urn, name=deployment.name)
    diagnostics = analyzer.Analyze(request).diagnostics
    assert [d.policyName for d in diagnostics] == ["llmd-pinned-images"]
    assert diagnostics[0].enforcementLevel == analyzer_pb2.MANDATORY
    clean = analyzer.Analyze(analyzer_pb2.AnalyzeRequest(type=deployment.type, properties=struct(decode(ib.registrations).inputs), urn=deployment.urn, name=deployment.name))
    assert list(clean.diagnostics) == []


def test_the_pack_checks_the_stack_over_grpc(analyzer, ib):
    from pulumi.runtime.proto import analyzer_pb2

    registrations = copy.deepcopy(ib.registrations)
    one(registrations, "HTTPRoute").inputs["spec"]["rules"][0]["backendRefs"][0]["name"] = "gaie-gone"
    resources = [
        analyzer_pb2.AnalyzerResource(type=r.type, properties=struct(r.inputs), urn=r.urn, name=r.name, parent=r.parent, dependencies=r.dependencies)
        for r in registrations
    ]
    diagnostics = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)).diagnostics
    assert [(d.policyName, "gaie-gone" in d.message) for d in diagnostics] == [("llmd-route-refs-resolve", True)]
    assert diagnostics[0].urn == one(registrations, "HTTPRoute").urn


def test_unknown_values_are_recognised_through_the_public_proxy():
    """No private SDK import: `is_unknown` goes through `unknown_checking_proxy`; if the SDK changes
    its sentinels or its proxy, this fails rather than the pack silently treating unknowns as values."""
    from pulumi_policy import proxy

    sentinels = [getattr(proxy, n) for n in dir(proxy) if n.startswith("UNKNOWN_") and n.endswith("_VALUE")]
    assert len(sentinels) == 7
    assert all(pack.is_unknown(s) for s in sentinels)
    assert not any(pack.is_unknown(v) for v in ("llm-d", "", None, 0, [], {}))
    assert pack.plain(UNKNOWN_STRING_VALUE) == pack.inv.UNKNOWN
    assert pack.plain(unknown_checking_proxy({"a": [UNKNOWN_STRING_VALUE, "x"]})) == {"a": [pack.inv.UNKNOWN, "x"]}
