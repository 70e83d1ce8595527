"""The llm-d P/D policy pack: the invariants of tools/invariants.py as Pulumi policies.

Resource policies check each Kubernetes object this program builds, as `pulumi preview` or
`pulumi up` is about to send it; stack policies check how the objects fit together. They guard
edits to the program itself: the config model already refuses bad stack files.

Shared logic: the checks live in tools/invariants.py (standard library only) and are imported from
the repository root, which is put on sys.path relative to this file. Pulumi starts the pack with
the pack directory as working directory, so the import works wherever the repository is checked out,
as long as the pack is run from inside it (`--policy-pack policy`, not a copy published elsewhere).

Scope: objects rendered by third-party Helm charts (Istio, kgateway) and CRD bundles
(`kubernetes:helm.sh/*`, `kubernetes:yaml/*` parents) are skipped; they are pinned by version in
components/versions.py and are not this program's to fix.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy  # noqa: E402

from tools import invariants as inv  # noqa: E402

PACK_NAME = "llmd-pd"
THIRD_PARTY_PARENTS = ("kubernetes:helm.sh/", "kubernetes:yaml/")
NOT_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/")


# --- from what the SDK passes to plain objects ----------------------------------------------------
def is_unknown(value: Any) -> bool:
    """The SDK's own test for a value unknown during preview, through its public proxy.

    `pulumi_policy` exposes no public predicate (its `_is_unknown` is private); reading the value
    through `unknown_checking_proxy` raises `UnknownValueError` exactly when that predicate holds.
    policy/tests/test_policy_pack.py checks this against every public UNKNOWN_* sentinel.
    """
    try:
        unknown_checking_proxy({"value": value})["value"]
    except UnknownValueError:
        return True
    return False


def plain(value: Any) -> Any:
    """Props as plain dicts and lists; values unknown during preview become `inv.UNKNOWN`.

    The SDK wraps props in proxies that raise on unknown values; read them one by one instead.
    """
    if isinstance(value, str):
        return inv.UNKNOWN if is_unknown(value) else value
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = inv.UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(inv.UNKNOWN)
        return items
    return value


def type_chain(urn: str) -> list[str]:
    """The types of a URN's parents and its own: `urn:pulumi:stack::project::a$b$c::name` -> [a, b, c]."""
    parts = urn.split("::")
    return parts[2].split("$") if len(parts) >= 4 else []


def is_third_party(urn: str) -> bool:
    return any(t.startswith(THIRD_PARTY_PARENTS) for t in type_chain(urn)[:-1])


def kube_object(resource_type: str, props: Any) -> Optional[dict]:
    """The Kubernetes object a resource sends to the API server, or None for anything else."""
    if not resource_type.startswith("kubernetes:") or resource_type.startswith(NOT_OBJECTS):
        return None
    if resource_type.startswith("pulumi:providers:") or resource_type == "kubernetes:index:Provider":
        return None
    obj = plain(props)
    if not isinstance(obj, dict):
        return None
    _, group_version, kind = resource_type.split(":", 2)
    obj.setdefault("kind", kind)
    obj.setdefault("apiVersion", group_version.removeprefix("core/"))
    return obj


def owned_object(args: Any) -> Optional[dict]:
    """The object of a resource policy's resource, if this program built it."""
    if is_third_party(getattr(args, "urn", "") or ""):
        return None
    return kube_object(args.resource_type, args.props)


# --- resource policies ----------------------------------------------------------------------------
def resource_validation(check: Callable[[dict], list[str]]) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        obj = owned_object(args)
        if obj is None:
            return
        for violation in check(obj):
            report_violation(violation)

    return validate


RESOURCE_POLICIES = [
    ResourceValidationPolicy(
        name="llmd-pinned-images",
        description="Every container image is pinned by a release tag or a digest (never :latest, never untagged).",
        validate=resource_validation(inv.check_pinned_images),
        remediation_steps="Pin the image in components/versions.py (or the stack's `versions:` block).",
    ),
    ResourceValidationPolicy(
        name="llmd-resource-requests",
        description="Every container and init container requests CPU and memory.",
        validate=resource_validation(inv.check_resource_requests),
    ),
    ResourceValidationPolicy(
        name="llmd-vllm-probes",
        description="vLLM containers have startup, readiness and liveness probes.",
        validate=resource_validation(inv.check_vllm_probes),
    ),
    ResourceValidationPolicy(
        name="llmd-no-privileged",
        description="No privileged container, SYS_ADMIN, or host namespaces, except GKE's RDMA installer DaemonSet.",
        validate=resource_validation(inv.check_privilege),
    ),
    ResourceValidationPolicy(
        name="llmd-no-plaintext-secret-env",
        description="Credential env vars (TOKEN, SECRET, PASSWORD, API_KEY...) come from a secretKeyRef, never a literal value.",
        validate=resource_validation(inv.check_secret_env),
    ),
    ResourceValidationPolicy(
        name="llmd-read-only-rbac",
        description="Roles grant get/list/watch only (plus create on token/subject access reviews and get on /metrics); Secrets only by name.",
        validate=resource_validation(inv.check_rbac_read_only),
    ),
    ResourceValidationPolicy(
        name="llmd-pod-scheduling-fields",
        description="nodeSelectors and tolerations are ones the API server accepts.",
        validate=resource_validation(inv.check_pod_scheduling_fields),
    ),
    ResourceValidationPolicy(
        name="llmd-unique-env",
        description="No container sets an env var twice (the last one silently wins).",
        validate=resource_validation(inv.check_env_unique),
    ),
]


# --- stack policies -------------------------------------------------------------------------------
_WHERE = re.compile(r"^\[[^\]]+\] (\S+?): ")

STACK_CONFIG = PolicyConfigSchema(
    properties={
        "gpusPerNode": {"type": "integer", "minimum": 1, "description": "GPUs per node (existing clusters; GKE reads its node pools)."},
        "gpuResource": {"type": "string", "description": "The GPU extended resource, e.g. nvidia.com/gpu."},
        "rdmaResource": {"type": "string", "description": "The RDMA device-plugin resource each vLLM pod must request, e.g. rdma/ib."},
        "rdmaCount": {"type": "integer", "minimum": 1, "description": "How many of rdmaResource each pod requests."},
    }
)


def stack_view(args: StackValidationArgs) -> tuple[list[dict], dict[str, str], inv.Context]:
    """This program's Kubernetes objects, where each one is (Kind/ns/name -> URN), and the context."""
    objects, urns, pools = [], {}, []
    for resource in args.resources:
        if resource.resource_type == inv.NODE_POOL_TYPE:
            pools.append(inv.node_pool_from_gcp(resource.name, plain(resource.props)))
            continue
        if is_third_party(resource.urn):
            continue
        obj = kube_object(resource.resource_type, resource.props)
        if obj is not None:
            objects.append(obj)
            urns[inv.where(obj)] = resource.urn
    config = args.get_config() or {}
    rdma = {config["rdmaResource"]: int(config.get("rdmaCount", 1))} if config.get("rdmaResource") else None
    context = inv.Context(
        gpus_per_node=config.get("gpusPerNode"),
        gpu_resource=config.get("gpuResource"),
        rdma_resources=rdma,
        platform="gke" if pools else None,
        node_pools=tuple(pools),
    )
    return objects, urns, context


def stack_validation(*checks: Callable[[Sequence[dict], inv.Context], list[str]]):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        objects, urns, context = stack_view(args)
        for check in checks:
            for violation in check(objects, context):
                match = _WHERE.match(violation)
                report_violation(violation, urns.get(match.group(1)) if match else None)

    return validate


STACK_POLICIES = [
    StackValidationPolicy(
        name="llmd-pool-selects-model-servers",
        description="Each InferencePool selects exactly the vLLM model-server pods, and every model server is selected.",
        validate=stack_validation(inv.check_pool_selects_model_servers),
    ),
    StackValidationPolicy(
        name="llmd-epp-serves-pool",
        description="The pool's endpointPickerRef Service exists, has the port, and reaches a picker that serves this pool on that port.",
        validate=stack_validation(inv.check_epp_serves_pool),
    ),
    StackValidationPolicy(
        name="llmd-route-refs-resolve",
        description="HTTPRoute parents (Gateway + listener) and backends (InferencePool name and port) exist and accept the route.",
        validate=stack_validation(inv.check_route_refs),
    ),
    StackValidationPolicy(
        name="llmd-ports-agree",
        description="The pool's target port, the routing sidecar's ports, vLLM's --port, its container port and its probes agree.",
        validate=stack_validation(inv.check_ports_agree),
    ),
    StackValidationPolicy(
        name="llmd-epp-rbac",
        description="The endpoint picker's account reads only pods, pools, objectives and rewrites, and may authenticate metrics scrapes.",
        validate=stack_validation(inv.check_epp_rbac),
    ),
    StackValidationPolicy(
        name="llmd-secrets-stay-secret",
        description="Secret values appear only in Secrets; containers get them through secretKeyRefs that resolve.",
        validate=stack_validation(inv.check_secrets),
    ),
    StackValidationPolicy(
        name="llmd-gpus-and-rdma",
        description="vLLM pods request TP x DP GPUs that fit a node, and get their RDMA devices or networks.",
        validate=stack_validation(inv.check_gpus, inv.check_rdma),
        config_schema=STACK_CONFIG,
    ),
    StackValidationPolicy(
        name="llmd-gpu-pool-scheduling",
        description="On GKE, vLLM pods select a GPU node pool by its labels and tolerate its taints.",
        validate=stack_validation(inv.check_scheduling),
    ),
    StackValidationPolicy(
        name="llmd-public-gateway-authenticated",
        description="A Gateway reachable from the internet authenticates every request (Istio ext_authz, kgateway extAuth, or Cloud Armor on GKE).",
        validate=stack_validation(inv.check_public_gateway_authenticated),
    ),
    StackValidationPolicy(
        name="llmd-model-server-network-policy",
        description="Every port of every vLLM model-server pod is covered by a NetworkPolicy that names its sources.",
        validate=stack_validation(inv.check_model_ports_covered),
    ),
    StackValidationPolicy(
        name="llmd-unique-objects",
        description="No two Kubernetes objects share a kind, namespace and name.",
        validate=stack_validation(inv.check_unique_objects),
    ),
]

POLICIES = RESOURCE_POLICIES + STACK_POLICIES
ENFORCEMENT = EnforcementLevel.MANDATORY
