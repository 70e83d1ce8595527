"""Invariants every deployment of this program must satisfy, as pure functions over Kubernetes objects.

Used by the tests (over a `tools.mock_runtime.ProgramRun`) and by the policy pack in `policy/` (over
the resources `pulumi preview` hands to it). Standard library only, so the policy pack's own
virtualenv needs nothing but `pulumi-policy` to import it.

Every check returns a list of violation strings, empty when the invariant holds. Each string starts
with the invariant's id in brackets, e.g. `[pinned-image] Deployment/llm-d-pd/gaie-pd-epp: ...`, so a
test (or a person reading `pulumi preview`) can tell which rule failed.

Two kinds of check:
- object checks (`OBJECT_CHECKS`): one object on its own (pinned images, requests, probes,
  privilege, plaintext secret env, read-only RBAC). The policy pack runs them per resource.
- relation checks (`RELATION_CHECKS`): several objects together (pool <-> pods, picker <-> pool,
  route -> gateway/pool, ports, GPUs, RDMA networks, taints/labels, secrets). The policy pack runs
  them once over the stack.

Values Pulumi does not know yet during a preview (computed outputs) arrive in the policy pack as
`UNKNOWN`; checks that read a single value skip it rather than guess.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from components.config.credentials import CREDENTIAL_ENV_NAME, EXTERNAL_SECRETS_ANNOTATION

Obj = Mapping[str, Any]


class Unknown(str):
    """A value that is not known until the update runs (a computed output during preview)."""


UNKNOWN = Unknown("<unknown during preview>")


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


# --- names this program uses (kept here so the policy pack does not import the program) -----------
VLLM_CONTAINER = "vllm"
READ_VERBS = frozenset({"get", "list", "watch"})
# What the endpoint picker reads: (apiGroup, resource). llm-d Router v0.10.0 (llm-d v0.9.0) also
# watches the llm-d.ai objectives and rewrites when their CRDs exist
# (llm-d/llm-d-router@v0.10.0:pkg/epp/server/controller_config.go:33-92).
EPP_READS = frozenset(
    {
        ("", "pods"),
        ("inference.networking.k8s.io", "inferencepools"),
        ("inference.networking.x-k8s.io", "inferenceobjectives"),
        ("inference.networking.x-k8s.io", "inferencemodelrewrites"),
        ("llm-d.ai", "inferenceobjectives"),
        ("llm-d.ai", "inferencemodelrewrites"),
    }
)
# The routing sidecar's flag naming the local model server's port, by precedence: llm-d Router
# v0.10.0's --model-server-port wins over the deprecated --vllm-port, v0.5.0's only one
# (llm-d/llm-d-router@v0.10.0:pkg/sidecar/proxy/options.go:366-371).
SIDECAR_PORT_FLAGS = ("--model-server-port", "--vllm-port")
# Metrics authentication (kube-rbac-proxy style): the only writes any of our roles may grant.
REVIEW_CREATES = frozenset(
    {("authentication.k8s.io", "tokenreviews"), ("authorization.k8s.io", "subjectaccessreviews")}
)
METRICS_URLS = frozenset({"/metrics"})
# The only workload allowed to run privileged / on the host: GKE's NCCL gIB RDMA installer DaemonSet.
PRIVILEGED_INSTALLER_IMAGES = ("us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib",)
# Env names that hold credentials: they must come from a secretKeyRef, never a literal value.
SECRET_ENV_NAME = CREDENTIAL_ENV_NAME
# Secret values shorter than this are not searched for elsewhere (too many false matches).
MIN_SECRET_LEN = 8
GKE_INTERFACES = "networking.gke.io/interfaces"
GKE_DEFAULT_INTERFACE = "networking.gke.io/default-interface"
GKE_NETWORK_API = "networking.gke.io/v1"

POD_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"})
# vLLM's short aliases.
_FLAG_ALIASES = {"-tp": "--tensor-parallel-size", "-dp": "--data-parallel-size"}

_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


# --- small accessors ----------------------------------------------------------------------------
def kind_of(obj: Obj) -> str:
    return str(obj.get("kind") or "")


def meta_of(obj: Obj) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def name_of(obj: Obj) -> str:
    return str(meta_of(obj).get("name") or "")


def namespace_of(obj: Obj) -> str:
    return str(meta_of(obj).get("namespace") or "")


def where(obj: Obj) -> str:
    ns = namespace_of(obj)
    return f"{kind_of(obj)}/{ns + '/' if ns else ''}{name_of(obj)}"


def group_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _list(value: Any) -> list:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def pod_template(obj: Obj) -> Optional[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(pod metadata, pod spec) of a workload or Pod; None for anything else."""
    kind = kind_of(obj)
    spec = _map(obj.get("spec"))
    if kind == "Pod":
        return meta_of(obj), spec
    if kind == "CronJob":
        spec = _map(_map(_map(spec.get("jobTemplate")).get("spec")))
        kind = "Job"
    if kind in POD_TEMPLATE_KINDS:
        template = _map(spec.get("template"))
        return _map(template.get("metadata")), _map(template.get("spec"))
    return None


def all_containers(pod_spec: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(field, container) for init, regular and ephemeral containers."""
    out = []
    for fld in ("initContainers", "containers", "ephemeralContainers"):
        out += [(fld, c) for c in _list(pod_spec.get(fld)) if isinstance(c, Mapping)]
    return out


def is_vllm(container: Mapping[str, Any]) -> bool:
    if container.get("name") == VLLM_CONTAINER:
        return True
    command = " ".join(str(c) for c in _list(container.get("command")))
    return "vllm serve" in command or _list(container.get("command"))[:2] == ["vllm", "serve"]


def vllm_containers(pod_spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for _, c in all_containers(pod_spec) if is_vllm(c)]


def parse_flags(args: Iterable[Any]) -> dict[str, str]:
    """Command-line flags the way vLLM's parser reads them: `--a_b` is `--a-b`, `=` or next token, last wins."""
    tokens = [str(a) for a in args]
    flags: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token.startswith("-") or token in ("-", "--") or re.fullmatch(r"-\d+(\.\d+)?", token):
            continue
        name, eq, value = token.partition("=")
        if name.startswith("--"):
            name = "--" + name[2:].replace("_", "-")
        name = _FLAG_ALIASES.get(name, name)
        if not eq:
            if i < len(tokens) and (not tokens[i].startswith("-") or re.fullmatch(r"-\d+(\.\d+)?", tokens[i])):
                value = tokens[i]
                i += 1
            else:
                value = "true"
        flags[name] = value
    return flags


def _int(value: Any) -> Optional[int]:
    """An integer from an int, a whole float (numbers arrive as floats over Pulumi's gRPC), or digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _objects(objects: Iterable[Obj], kind: str, namespace: Optional[str] = None) -> list[Obj]:
    return [o for o in objects if kind_of(o) == kind and (namespace is None or namespace_of(o) == namespace)]


def _find(objects: Iterable[Obj], kind: str, name: str, namespace: Optional[str] = None) -> Optional[Obj]:
    return next((o for o in _objects(objects, kind, namespace) if name_of(o) == name), None)


def workloads(objects: Iterable[Obj]) -> list[tuple[Obj, Mapping[str, Any], Mapping[str, Any]]]:
    """(object, pod metadata, pod spec) for every object that runs pods."""
    out = []
    for obj in objects:
        template = pod_template(obj)
        if template is not None:
            out.append((obj, *template))
    return out


def model_servers(objects: Iterable[Obj]) -> list[tuple[Obj, Mapping[str, Any], Mapping[str, Any]]]:
    return [w for w in workloads(objects) if vllm_containers(w[2])]


# --- object checks ------------------------------------------------------------------------------
def image_problem(image: Any) -> Optional[str]:
    """Why an image reference is not pinned, or None when it names a tag (not latest) or a digest."""
    if is_unknown(image):
        return None
    if not isinstance(image, str) or not image:
        return "has no image"
    if "@" in image:
        return None if _DIGEST.search(image) else f"image {image!r} has a malformed digest"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag; pin a release tag or a digest"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image!r} uses :latest; pin a release tag or a digest"
    return None


def image_repository(image: str) -> str:
    image = image.split("@", 1)[0]
    head, _, last = image.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def check_pinned_images(obj: Obj) -> list[str]:
    template = pod_template(obj)
    if template is None:
        return []
    out = []
    for fld, c in all_containers(template[1]):
        problem = image_problem(c.get("image"))
        if problem:
            out.append(f"[pinned-image] {where(obj)}: {fld} {c.get('name')!r} {problem}")
    return out


def check_resource_requests(obj: Obj) -> list[str]:
    template = pod_template(obj)
    if template is None:
        return []
    out = []
    for fld, c in all_containers(template[1]):
        if fld == "ephemeralContainers":
            continue  # the API forbids resources on ephemeral containers
        requests = _map(_map(c.get("resources")).get("requests"))
        missing = [r for r in ("cpu", "memory") if requests.get(r) in (None, "")]
        if missing:
            out.append(f"[resource-requests] {where(obj)}: {fld} {c.get('name')!r} requests no {' or '.join(missing)}")
    return out


_PROBE_HANDLERS = ("httpGet", "tcpSocket", "exec", "grpc")


def check_vllm_probes(obj: Obj) -> list[str]:
    template = pod_template(obj)
    if template is None:
        return []
    out = []
    for c in vllm_containers(template[1]):
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            spec = _map(c.get(probe))
            if not any(h in spec for h in _PROBE_HANDLERS):
                out.append(f"[vllm-probes] {where(obj)}: vLLM container {c.get('name')!r} has no {probe}")
    return out


def _is_installer(obj: Obj, container: Mapping[str, Any]) -> bool:
    image = container.get("image")
    return (
        kind_of(obj) == "DaemonSet"
        and isinstance(image, str)
        and not is_unknown(image)
        and image_repository(image) in PRIVILEGED_INSTALLER_IMAGES
    )


def check_privilege(obj: Obj) -> list[str]:
    template = pod_template(obj)
    if template is None:
        return []
    spec = template[1]
    containers = all_containers(spec)
    installer_pod = any(_is_installer(obj, c) for _, c in containers)
    out = []
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host) is True and not installer_pod:
            out.append(f"[no-privileged] {where(obj)}: pod uses {host}; only the RDMA installer DaemonSet may")
    for fld, c in containers:
        context = _map(c.get("securityContext"))
        added = {str(a) for a in _list(_map(context.get("capabilities")).get("add"))}
        reasons = []
        if context.get("privileged") is True:
            reasons.append("runs privileged")
        if added & {"SYS_ADMIN", "ALL", "CAP_SYS_ADMIN"}:
            reasons.append(f"adds {sorted(added & {'SYS_ADMIN', 'ALL', 'CAP_SYS_ADMIN'})}")
        if reasons and not _is_installer(obj, c):
            out.append(
                f"[no-privileged] {where(obj)}: {fld} {c.get('name')!r} {' and '.join(reasons)}; "
                "only the RDMA installer DaemonSet may"
            )
    return out


def check_secret_env(obj: Obj) -> list[str]:
    template = pod_template(obj)
    if template is None:
        return []
    out = []
    for fld, c in all_containers(template[1]):
        for env in _list(c.get("env")):
            env = _map(env)
            name, value = str(env.get("name", "")), env.get("value")
            if SECRET_ENV_NAME.search(name) and value not in (None, "") and not is_unknown(value):
                out.append(
                    f"[secret-env] {where(obj)}: {fld} {c.get('name')!r} sets {name} as a plain value; "
                    "use valueFrom.secretKeyRef"
                )
    return out


def check_env_unique(obj: Obj) -> list[str]:
    """A repeated env name silently overrides the first (e.g. a config value hiding a managed one)."""
    template = pod_template(obj)
    if template is None:
        return []
    out = []
    for fld, c in all_containers(template[1]):
        names = [str(_map(e).get("name")) for e in _list(c.get("env"))]
        for name in sorted({n for n in names if names.count(n) > 1}):
            out.append(f"[env-unique] {where(obj)}: {fld} {c.get('name')!r} sets {name} twice; the last one wins")
    return out


def _rule_targets(rule: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(str(g), str(r)) for g in _list(rule.get("apiGroups")) or [""] for r in _list(rule.get("resources"))]


def check_rbac_read_only(obj: Obj) -> list[str]:
    """Roles we create read, and may create token/access reviews for metrics auth; nothing else."""
    if kind_of(obj) not in ("Role", "ClusterRole") or group_of(str(obj.get("apiVersion", ""))) != "rbac.authorization.k8s.io":
        return []
    out = []
    for i, rule in enumerate(_list(obj.get("rules"))):
        rule = _map(rule)
        verbs = {str(v) for v in _list(rule.get("verbs"))}
        targets = _rule_targets(rule)
        urls = [str(u) for u in _list(rule.get("nonResourceURLs"))]
        wildcard = [f for f in ("verbs", "apiGroups", "resources", "nonResourceURLs") if "*" in _list(rule.get(f))]
        if wildcard:
            out.append(f"[rbac-read-only] {where(obj)}: rules[{i}] uses '*' in {', '.join(wildcard)}")
            continue
        writes = verbs - READ_VERBS
        if urls:
            if verbs - {"get"}:
                out.append(f"[rbac-read-only] {where(obj)}: rules[{i}] grants {sorted(verbs - {'get'})} on {urls}")
            continue
        if writes and not (writes == {"create"} and targets and all(t in REVIEW_CREATES for t in targets)):
            out.append(f"[rbac-read-only] {where(obj)}: rules[{i}] grants {sorted(writes)} on {sorted(set(targets))}")
        if any(r == "secrets" for _, r in targets) and not _list(rule.get("resourceNames")):
            out.append(f"[rbac-read-only] {where(obj)}: rules[{i}] reads every Secret; name them in resourceNames")
    return out


def check_pod_scheduling_fields(obj: Obj) -> list[str]:
    """nodeSelector and tolerations the API server accepts (the offline schemas do not check these)."""
    template = pod_template(obj)
    if template is None:
        return []
    spec = template[1]
    out = []
    for key, value in _map(spec.get("nodeSelector")).items():
        if is_unknown(key) or is_unknown(value):
            continue
        if not _qualified_name(str(key)):
            out.append(f"[pod-scheduling] {where(obj)}: nodeSelector key {key!r} is not a valid label key")
        if not (isinstance(value, str) and len(value) <= 63 and _LABEL_VALUE.fullmatch(value)):
            out.append(f"[pod-scheduling] {where(obj)}: nodeSelector value {value!r} is not a valid label value")
    for i, tol in enumerate(_list(spec.get("tolerations"))):
        tol = _map(tol)
        key, operator, value = tol.get("key") or "", tol.get("operator") or "Equal", tol.get("value") or ""
        if key and not _qualified_name(str(key)):
            out.append(f"[pod-scheduling] {where(obj)}: tolerations[{i}].key {key!r} is not a valid label key")
        if not key and operator != "Exists":
            out.append(f"[pod-scheduling] {where(obj)}: tolerations[{i}] has no key, so operator must be Exists")
        if operator == "Exists" and value:
            out.append(f"[pod-scheduling] {where(obj)}: tolerations[{i}] has operator Exists and a value; drop the value")
        if operator == "Equal" and not (len(str(value)) <= 63 and _LABEL_VALUE.fullmatch(str(value))):
            out.append(f"[pod-scheduling] {where(obj)}: tolerations[{i}].value {value!r} is not a valid label value")
    return out


def _qualified_name(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and not (0 < len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED_NAME.fullmatch(name))


OBJECT_CHECKS: dict[str, Callable[[Obj], list[str]]] = {
    "pinned-image": check_pinned_images,
    "resource-requests": check_resource_requests,
    "vllm-probes": check_vllm_probes,
    "no-privileged": check_privilege,
    "secret-env": check_secret_env,
    "env-unique": check_env_unique,
    "rbac-read-only": check_rbac_read_only,
    "pod-scheduling": check_pod_scheduling_fields,
}


def check_object(obj: Obj) -> list[str]:
    return [v for check in OBJECT_CHECKS.values() for v in check(obj)]


# --- context: what the platform promises, for relation checks ------------------------------------
@dataclass(frozen=True)
class NodePool:
    """A GKE node pool as the pods see it: node labels, taints (Kubernetes spelling), GPUs per node."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[Mapping[str, str]] = ()
    gpus: int = 0


@dataclass(frozen=True)
class Context:
    """Facts from the stack config or the platform the objects alone do not carry."""

    gpus_per_node: Optional[int] = None
    gpu_resource: Optional[str] = None  # e.g. nvidia.com/gpu; None: any resource named */gpu
    rdma_resources: Optional[Mapping[str, int]] = None  # existing clusters: device-plugin resources per pod
    platform: Optional[str] = None  # "existing" or "gke"
    tolerations: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)  # role -> declared
    node_selectors: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # role -> declared
    node_pools: Sequence[NodePool] = ()
    secret_values: frozenset = frozenset()
    epp_rejected_flags: frozenset = frozenset()  # flags the release's picker refuses (its profile)

    @classmethod
    def from_stack_config(cls, config: Any, secret_values: Iterable[str] = ()) -> "Context":
        """From a validated `components.config.model.StackConfig` (read by attribute; no import)."""
        platform = config.platform
        rdma = getattr(platform, "rdma", None)
        roles = {}
        selectors = {}
        for role in ("prefill", "decode"):
            spec = getattr(config, role)
            roles[role] = [t.model_dump(by_alias=True, exclude_none=True) for t in spec.tolerations]
            selectors[role] = dict(spec.node_selector)
        return cls(
            gpus_per_node=platform.gpus_per_node,
            gpu_resource=getattr(platform, "gpu_resource", None),
            rdma_resources={rdma.resource_name: rdma.count} if rdma is not None else None,
            platform=platform.kind,
            tolerations=roles,
            node_selectors=selectors,
            secret_values=frozenset(secret_values),
            epp_rejected_flags=frozenset(config.versions.profile.epp.rejected_flags),
        )


_GKE_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule", "NO_EXECUTE": "NoExecute"}


def node_pool_from_gcp(name: str, props: Mapping[str, Any]) -> NodePool:
    """A `gcp:container/nodePool:NodePool`'s inputs (camelCase) as the labels and taints its nodes get."""
    node_config = _map(props.get("nodeConfig"))
    labels = {str(k): str(v) for k, v in _map(node_config.get("labels")).items()}
    pool_name = props.get("name")
    if isinstance(pool_name, str) and not is_unknown(pool_name):
        labels["cloud.google.com/gke-nodepool"] = pool_name
    accelerators = [_map(a) for a in _list(node_config.get("guestAccelerators"))]
    gpus = sum(_int(a.get("count")) or 0 for a in accelerators)
    if accelerators and isinstance(accelerators[0].get("type"), str):
        labels["cloud.google.com/gke-accelerator"] = accelerators[0]["type"]
    if isinstance(node_config.get("machineType"), str):
        labels["node.kubernetes.io/instance-type"] = node_config["machineType"]
    locations = _list(props.get("nodeLocations"))
    if len(locations) == 1 and isinstance(locations[0], str):
        labels["topology.kubernetes.io/zone"] = locations[0]
    if node_config.get("spot") is True:
        labels["cloud.google.com/gke-spot"] = "true"
    if node_config.get("flexStart") is True:
        labels["cloud.google.com/gke-flex-start"] = "true"
    if _map(props.get("queuedProvisioning")).get("enabled") is True:
        labels["cloud.google.com/gke-queued"] = "true"
    taints = [
        {
            "key": str(t.get("key", "")),
            "value": str(t.get("value", "") or ""),
            "effect": _GKE_EFFECTS.get(str(t.get("effect")), str(t.get("effect"))),
        }
        for t in (_map(t) for t in _list(node_config.get("taints")))
    ]
    return NodePool(name=str(pool_name) if isinstance(pool_name, str) else name, labels=labels, taints=taints, gpus=gpus)


NODE_POOL_TYPE = "gcp:container/nodePool:NodePool"


def role_of(pod_meta: Mapping[str, Any], obj: Obj) -> Optional[str]:
    role = _map(pod_meta.get("labels")).get("llm-d.ai/role")
    if role:
        return str(role)
    name = name_of(obj)
    return next((r for r in ("prefill", "decode") if name.endswith(f"-{r}")), None)


# --- relation checks ------------------------------------------------------------------------------
def check_pool_selects_model_servers(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    out = []
    pools = _objects(objects, "InferencePool")
    servers = model_servers(objects)
    selected_anywhere: set[int] = set()
    for pool in pools:
        ns = namespace_of(pool)
        selector = _map(_map(_map(pool.get("spec")).get("selector")).get("matchLabels"))
        if not selector:
            out.append(f"[pool-selector] {where(pool)}: has no spec.selector.matchLabels")
            continue
        chosen = [(o, m) for o, m, _ in workloads(objects) if namespace_of(o) == ns and selects(selector, _map(m.get("labels")))]
        for obj, _ in chosen:
            if not vllm_containers(pod_template(obj)[1]):
                out.append(f"[pool-selector] {where(pool)}: selects {where(obj)}, which is not a model server")
            selected_anywhere.add(id(obj))
        if not any(vllm_containers(pod_template(o)[1]) for o, _ in chosen):
            out.append(f"[pool-selector] {where(pool)}: selector {dict(selector)} selects no model-server pods")
    for obj, _, _ in servers:
        if pools and id(obj) not in selected_anywhere:
            out.append(f"[pool-selector] {where(obj)}: model-server pods are not selected by any InferencePool")
    return out


def _container_port(container: Mapping[str, Any], port: Any) -> Optional[int]:
    """A port reference (number or name) resolved against a container's ports."""
    if isinstance(port, int) or _int(port) is not None:
        number = _int(port)
        return number if any(_int(p.get("containerPort")) == number for p in map(_map, _list(container.get("ports")))) else None
    for p in map(_map, _list(container.get("ports"))):
        if p.get("name") == port:
            return _int(p.get("containerPort"))
    return None


def check_epp_serves_pool(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    out = []
    for pool in _objects(objects, "InferencePool"):
        ns, spec = namespace_of(pool), _map(pool.get("spec"))
        ref = _map(spec.get("endpointPickerRef"))
        tag = f"[epp-pool] {where(pool)}"
        if (ref.get("group") or "") != "" or (ref.get("kind") or "Service") != "Service":
            out.append(f"{tag}: endpointPickerRef must be a core Service, got {ref.get('group')!r}/{ref.get('kind')!r}")
            continue
        port = _int(_map(ref.get("port")).get("number"))
        service = _find(objects, "Service", str(ref.get("name")), ns)
        if service is None:
            out.append(f"{tag}: endpointPickerRef names Service {ref.get('name')!r}, which does not exist in {ns}")
            continue
        service_port = next((p for p in map(_map, _list(_map(service.get("spec")).get("ports"))) if _int(p.get("port")) == port), None)
        if service_port is None:
            out.append(f"{tag}: Service {name_of(service)} has no port {port}")
            continue
        selector = _map(_map(service.get("spec")).get("selector"))
        pickers = [(o, s) for o, m, s in workloads(objects) if namespace_of(o) == ns and selects(selector, _map(m.get("labels")))]
        if len(pickers) != 1:
            out.append(f"{tag}: Service {name_of(service)} selects {len(pickers)} workloads, expected the one picker")
            continue
        picker, pod_spec = pickers[0]
        container = next(
            (c for _, c in all_containers(pod_spec) if "--pool-name" in parse_flags(_list(c.get("args")))),
            None,
        )
        if container is None:
            out.append(f"{tag}: {where(picker)} has no container with --pool-name")
            continue
        flags = parse_flags(_list(container.get("args")))
        for flag in sorted(set(flags) & set(context.epp_rejected_flags)):
            out.append(f"{tag}: picker {where(picker)} sets {flag}, which its release refuses at start (the picker exits)")
        if flags.get("--pool-name") != name_of(pool):
            out.append(f"{tag}: picker {where(picker)} serves pool {flags.get('--pool-name')!r}, not {name_of(pool)!r}")
        if flags.get("--pool-namespace", ns) != ns:
            out.append(f"{tag}: picker {where(picker)} watches namespace {flags.get('--pool-namespace')!r}, not {ns!r}")
        group = group_of(str(pool.get("apiVersion", "")))
        if "--pool-group" in flags and flags["--pool-group"] != group:
            out.append(f"{tag}: picker {where(picker)} uses --pool-group {flags['--pool-group']!r}, the pool is {group!r}")
        grpc = _int(flags.get("--grpc-port", "9002"))
        target = service_port.get("targetPort", service_port.get("port"))
        target_number = _container_port(container, target)
        if target_number is None:
            out.append(f"{tag}: Service {name_of(service)} port {port} targets {target!r}, which the picker does not expose")
        elif target_number != grpc:
            out.append(f"{tag}: Service {name_of(service)} port {port} reaches container port {target_number}, the picker serves gRPC on {grpc}")
    return out


def check_route_refs(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    out = []
    for route in _objects(objects, "HTTPRoute"):
        ns, spec, tag = namespace_of(route), _map(route.get("spec")), f"[route-refs] {where(route)}"
        parents = _list(spec.get("parentRefs"))
        if not parents:
            out.append(f"{tag}: has no parentRefs")
        for ref in map(_map, parents):
            if (ref.get("group") or "gateway.networking.k8s.io") != "gateway.networking.k8s.io" or (ref.get("kind") or "Gateway") != "Gateway":
                out.append(f"{tag}: parentRef {ref.get('kind')!r} is not a Gateway")
                continue
            gw_ns = ref.get("namespace") or ns
            gateway = _find(objects, "Gateway", str(ref.get("name")), gw_ns)
            if gateway is None:
                out.append(f"{tag}: parentRef Gateway {gw_ns}/{ref.get('name')} does not exist")
                continue
            listeners = [_map(l) for l in _list(_map(gateway.get("spec")).get("listeners"))]
            if ref.get("sectionName") is not None:
                listeners = [l for l in listeners if l.get("name") == ref.get("sectionName")]
                if not listeners:
                    out.append(f"{tag}: Gateway {name_of(gateway)} has no listener {ref.get('sectionName')!r}")
                    continue
            if ref.get("port") is not None:
                listeners = [l for l in listeners if _int(l.get("port")) == _int(ref.get("port"))]
            usable = [l for l in listeners if _listener_accepts(l, gw_ns, ns)]
            if not usable:
                out.append(f"{tag}: no listener of Gateway {name_of(gateway)} accepts HTTPRoutes from namespace {ns}")
        for r, rule in enumerate(map(_map, _list(spec.get("rules")))):
            for backend in map(_map, _list(rule.get("backendRefs"))):
                out += _backend_problems(objects, tag, f"rules[{r}]", backend, ns)
    return out


def _listener_accepts(listener: Mapping[str, Any], gateway_ns: str, route_ns: str) -> bool:
    if listener.get("protocol") not in ("HTTP", "HTTPS"):
        return False
    allowed = _map(listener.get("allowedRoutes"))
    kinds = [_map(k) for k in _list(allowed.get("kinds"))]
    if kinds and not any(k.get("kind") == "HTTPRoute" for k in kinds):
        return False
    origin = _map(allowed.get("namespaces")).get("from") or "Same"
    return origin == "All" or origin == "Selector" or gateway_ns == route_ns


def _backend_problems(objects, tag, rule, backend, ns) -> list[str]:
    kind, group = backend.get("kind") or "Service", backend.get("group") or ""
    target_ns = backend.get("namespace") or ns
    name = str(backend.get("name"))
    if kind == "InferencePool":
        pool = next(
            (p for p in _objects(objects, "InferencePool", target_ns) if name_of(p) == name and group_of(str(p.get("apiVersion", ""))) == group),
            None,
        )
        if pool is None:
            return [f"{tag}: {rule} backend InferencePool {group}/{target_ns}/{name} does not exist"]
        ports = {_int(_map(p).get("number")) for p in _list(_map(pool.get("spec")).get("targetPorts"))}
        if backend.get("port") is not None and _int(backend.get("port")) not in ports:
            return [f"{tag}: {rule} backend port {backend.get('port')} is not a target port of {name} ({sorted(ports)})"]
        return []
    if kind == "Service" and group == "":
        service = _find(objects, "Service", name, target_ns)
        if service is None:
            return [f"{tag}: {rule} backend Service {target_ns}/{name} does not exist"]
        ports = {_int(_map(p).get("port")) for p in _list(_map(service.get("spec")).get("ports"))}
        if _int(backend.get("port")) not in ports:
            return [f"{tag}: {rule} backend port {backend.get('port')} is not a port of Service {name}"]
        return []
    return [f"{tag}: {rule} backend {group}/{kind} {name} is not something this program creates"]


def vllm_port(container: Mapping[str, Any]) -> int:
    return _int(parse_flags(_list(container.get("args"))).get("--port", "8000")) or 0


def nixl_ports(container: Mapping[str, Any]) -> list[int]:
    """NIXL side-channel ports: VLLM_NIXL_SIDE_CHANNEL_PORT (vLLM's default 5600) + each DP rank.

    vllm-project/vllm@v0.14.1: vllm/envs.py (default) and
    vllm/distributed/kv_transfer/kv_connector/v1/nixl_connector.py (NixlConnectorScheduler).
    """
    flags = parse_flags(_list(container.get("args")))
    if "--kv-transfer-config" not in flags or "NixlConnector" not in flags["--kv-transfer-config"]:
        return []
    env = {e.get("name"): e.get("value") for e in map(_map, _list(container.get("env")))}
    base = _int(env.get("VLLM_NIXL_SIDE_CHANNEL_PORT") or 5600) or 5600
    dp = _int(flags.get("--data-parallel-size", "1")) or 1
    return [base + rank for rank in range(dp)]


def _sidecar(pod_spec: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    return next((c for _, c in all_containers(pod_spec) if set(SIDECAR_PORT_FLAGS) & set(parse_flags(_list(c.get("args"))))), None)


def sidecar_forward_port(flags: Mapping[str, str]) -> Optional[str]:
    return next((flags[f] for f in SIDECAR_PORT_FLAGS if f in flags), None)


def check_ports_agree(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    out = []
    pools = _objects(objects, "InferencePool")
    for obj, meta, spec in model_servers(objects):
        tag = f"[ports] {where(obj)}"
        labels = _map(meta.get("labels"))
        for c in vllm_containers(spec):
            port = vllm_port(c)
            if _container_port(c, port) is None:
                out.append(f"{tag}: vLLM listens on {port} (--port) but its container does not declare that port")
            for nixl in nixl_ports(c):
                if _container_port(c, nixl) is None:
                    out.append(f"{tag}: vLLM's NIXL side channel listens on {nixl} but its container does not declare that port")
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                handler = _map(_map(c.get(probe)).get("httpGet")) or _map(_map(c.get(probe)).get("tcpSocket"))
                if handler and _container_port(c, handler.get("port")) != port:
                    out.append(f"{tag}: {probe} targets port {handler.get('port')!r}, not vLLM's {port}")
        sidecar = _sidecar(spec)
        vllm = vllm_containers(spec)
        for pool in pools:
            if namespace_of(pool) != namespace_of(obj):
                continue
            selector = _map(_map(_map(pool.get("spec")).get("selector")).get("matchLabels"))
            if not selects(selector, labels):
                continue
            targets = [_int(_map(p).get("number")) for p in _list(_map(pool.get("spec")).get("targetPorts"))]
            for target in targets:
                if sidecar is not None:
                    flags = parse_flags(_list(sidecar.get("args")))
                    if _int(flags.get("--port")) != target:
                        out.append(f"{tag}: routing sidecar listens on {flags.get('--port')}, the pool {name_of(pool)} targets {target}")
                    if _container_port(sidecar, target) is None:
                        out.append(f"{tag}: routing sidecar does not declare the pool's target port {target}")
                    for c in vllm:
                        if _int(sidecar_forward_port(flags)) != vllm_port(c):
                            out.append(f"{tag}: routing sidecar forwards to {sidecar_forward_port(flags)}, vLLM listens on {vllm_port(c)}")
                        if vllm_port(c) == target:
                            out.append(f"{tag}: vLLM and the routing sidecar both listen on {target}")
                else:
                    for c in vllm:
                        if vllm_port(c) != target:
                            out.append(f"{tag}: vLLM listens on {vllm_port(c)}, the pool {name_of(pool)} targets {target}")
    return out


def _gpu_keys(resources: Mapping[str, Any], context: Context) -> list[str]:
    if context.gpu_resource:
        return [context.gpu_resource]
    return [k for k in resources if str(k).endswith("/gpu")]


def check_gpus(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    out = []
    for obj, meta, spec in model_servers(objects):
        for c in vllm_containers(spec):
            tag = f"[gpus] {where(obj)}"
            flags = parse_flags(_list(c.get("args")))
            tp, dp = _int(flags.get("--tensor-parallel-size", "1")), _int(flags.get("--data-parallel-size", "1"))
            if tp is None or dp is None:
                out.append(f"{tag}: cannot read --tensor-parallel-size/--data-parallel-size from {flags}")
                continue
            limits = _map(_map(c.get("resources")).get("limits"))
            requests = _map(_map(c.get("resources")).get("requests"))
            keys = _gpu_keys({**limits, **requests}, context)
            if not keys:
                out.append(f"{tag}: vLLM requests no GPUs")
                continue
            for key in keys:
                limit = _int(limits.get(key))
                if limit != tp * dp:
                    out.append(f"{tag}: {key} limit is {limits.get(key)}, vLLM runs TP {tp} x DP {dp} = {tp * dp}")
                if key in requests and _int(requests.get(key)) != limit:
                    out.append(f"{tag}: {key} request {requests.get(key)} differs from its limit {limits.get(key)}")
                capacity = _node_gpus(spec, context)
                if limit is not None and capacity is not None and limit > capacity:
                    out.append(f"{tag}: pods need {limit} GPUs, a node has {capacity}")
    return out


def _node_gpus(pod_spec: Mapping[str, Any], context: Context) -> Optional[int]:
    pools = [p for p in _candidate_pools(pod_spec, context) if p.gpus]
    if pools:
        return max(p.gpus for p in pools)
    return context.gpus_per_node


def _candidate_pools(pod_spec: Mapping[str, Any], context: Context) -> list[NodePool]:
    selector = _map(pod_spec.get("nodeSelector"))
    return [p for p in context.node_pools if p.gpus and all(p.labels.get(k) == v for k, v in selector.items())]


def check_rdma(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    out = []
    networks = {name_of(n): n for n in objects if kind_of(n) == "Network" and str(n.get("apiVersion")) == GKE_NETWORK_API}
    param_sets = {name_of(n) for n in objects if kind_of(n) == "GKENetworkParamSet"}
    for obj, meta, spec in model_servers(objects):
        tag = f"[rdma] {where(obj)}"
        annotations = _map(meta.get("annotations"))
        if context.rdma_resources:
            for c in vllm_containers(spec):
                res = _map(c.get("resources"))
                for name, count in context.rdma_resources.items():
                    for part in ("requests", "limits"):
                        got = _map(res.get(part)).get(name)
                        if _int(got) != count:
                            out.append(f"{tag}: vLLM {part} {name}={got}, the platform gives each pod {count}")
        raw = annotations.get(GKE_INTERFACES)
        if raw is None:
            if context.platform == "gke":
                out.append(f"{tag}: has no {GKE_INTERFACES} annotation, so its pods get no RDMA NICs")
            continue
        if is_unknown(raw):
            continue
        try:
            interfaces = json.loads(raw)
        except (TypeError, ValueError):
            out.append(f"{tag}: {GKE_INTERFACES} is not JSON: {raw!r}")
            continue
        interfaces = [_map(i) for i in _list(interfaces)]
        names = [i.get("interfaceName") for i in interfaces]
        if len(set(names)) != len(names):
            out.append(f"{tag}: {GKE_INTERFACES} repeats an interface name: {names}")
        if not any(i.get("network") == "default" for i in interfaces):
            out.append(f"{tag}: {GKE_INTERFACES} leaves out the default pod network")
        default = annotations.get(GKE_DEFAULT_INTERFACE)
        if default is not None and default not in names:
            out.append(f"{tag}: {GKE_DEFAULT_INTERFACE} is {default!r}, which is not in {GKE_INTERFACES}")
        for i in interfaces:
            network = i.get("network")
            if network == "default":
                continue
            if network not in networks:
                out.append(f"{tag}: interface {i.get('interfaceName')} uses network {network!r}, which has no Network object")
                continue
            ref = _map(_map(networks[network].get("spec")).get("parametersRef"))
            if ref.get("kind") == "GKENetworkParamSet" and ref.get("name") not in param_sets:
                out.append(f"[rdma] Network/{network}: parametersRef names GKENetworkParamSet {ref.get('name')!r}, which does not exist")
    return out


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    effect = toleration.get("effect")
    if effect and effect != taint.get("effect"):
        return False
    key, operator = toleration.get("key"), toleration.get("operator") or "Equal"
    if key and key != taint.get("key"):
        return False
    if not key and operator != "Exists":
        return False
    return operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or "")


def check_scheduling(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    """Declared tolerations/nodeSelectors reach the pods; on GKE the pods fit a GPU pool's labels and taints."""
    out = []
    for obj, meta, spec in model_servers(objects):
        tag = f"[scheduling] {where(obj)}"
        role = role_of(meta, obj)
        pod_tolerations = [_map(t) for t in _list(spec.get("tolerations"))]
        selector = _map(spec.get("nodeSelector"))
        for declared in context.tolerations.get(role or "", ()):
            if not any(_same_toleration(declared, t) for t in pod_tolerations):
                out.append(f"{tag}: declared toleration {dict(declared)} is missing from the pods")
        for key, value in context.node_selectors.get(role or "", {}).items():
            if selector.get(key) != value:
                out.append(f"{tag}: declared nodeSelector {key}={value} is missing from the pods")
        gpu_pools = [p for p in context.node_pools if p.gpus]
        if not gpu_pools:
            continue
        candidates = _candidate_pools(spec, context)
        if not candidates:
            out.append(f"{tag}: nodeSelector {dict(selector)} matches no GPU node pool ({', '.join(p.name for p in gpu_pools)})")
            continue
        hard = lambda t: t.get("effect") in ("NoSchedule", "NoExecute")  # noqa: E731
        fitting = [p for p in candidates if all(any(tolerates(t, taint) for t in pod_tolerations) for taint in p.taints if hard(taint))]
        if not fitting:
            taints = sorted({f"{t.get('key')}={t.get('value')}:{t.get('effect')}" for p in candidates for t in p.taints if hard(t)})
            out.append(f"{tag}: pods do not tolerate the GPU pool taints {taints}")
    return out


def _same_toleration(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    norm = lambda t: {k: v for k, v in t.items() if v not in (None, "")}  # noqa: E731
    left, right = norm(a), norm(b)
    left.setdefault("operator", "Equal")
    right.setdefault("operator", "Equal")
    return left == right


def service_accounts_of_pickers(objects: Sequence[Obj]) -> set[tuple[str, str]]:
    """(namespace, ServiceAccount) of every endpoint picker (found from the pools, not from names)."""
    out = set()
    for pool in _objects(objects, "InferencePool"):
        ns = namespace_of(pool)
        ref = _map(_map(pool.get("spec")).get("endpointPickerRef"))
        service = _find(objects, "Service", str(ref.get("name")), ns)
        if service is None:
            continue
        selector = _map(_map(service.get("spec")).get("selector"))
        for obj, meta, spec in workloads(objects):
            if namespace_of(obj) == ns and selects(selector, _map(meta.get("labels"))):
                out.add((ns, str(spec.get("serviceAccountName") or "default")))
    return out


def check_epp_rbac(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    """The picker's account may read what it reads and authenticate metrics scrapes; nothing else."""
    out = []
    accounts = service_accounts_of_pickers(objects)
    for binding in [o for o in objects if kind_of(o) in ("RoleBinding", "ClusterRoleBinding")]:
        subjects = {
            (str(s.get("namespace") or namespace_of(binding)), str(s.get("name")))
            for s in map(_map, _list(binding.get("subjects")))
            if s.get("kind") == "ServiceAccount"
        }
        if not subjects & accounts:
            continue
        ref = _map(binding.get("roleRef"))
        role_ns = namespace_of(binding) if ref.get("kind") == "Role" else None
        role = _find(objects, str(ref.get("kind")), str(ref.get("name")), role_ns)
        tag = f"[epp-rbac] {where(binding)}"
        if role is None:
            out.append(f"{tag}: binds the picker to {ref.get('kind')} {ref.get('name')!r}, which does not exist")
            continue
        for i, rule in enumerate(map(_map, _list(role.get("rules")))):
            verbs = {str(v) for v in _list(rule.get("verbs"))}
            urls = {str(u) for u in _list(rule.get("nonResourceURLs"))}
            if urls:
                if not (urls <= METRICS_URLS and verbs <= {"get"}):
                    out.append(f"{tag}: {where(role)} rules[{i}] grants {sorted(verbs)} on {sorted(urls)}")
                continue
            for target in _rule_targets(rule):
                if target in EPP_READS and verbs <= READ_VERBS:
                    continue
                if target in REVIEW_CREATES and verbs == {"create"}:
                    continue
                out.append(f"{tag}: {where(role)} rules[{i}] grants {sorted(verbs)} on {target[0] or 'core'}/{target[1]}")
    return out


def secret_values_of(objects: Iterable[Obj]) -> set[str]:
    """Values held by Secret objects (stringData, and data decoded)."""
    values = set()
    for obj in objects:
        if kind_of(obj) != "Secret":
            continue
        for value in _map(obj.get("stringData")).values():
            if isinstance(value, str) and not is_unknown(value):
                values.add(value)
        for value in _map(obj.get("data")).values():
            if isinstance(value, str) and not is_unknown(value):
                try:
                    values.add(base64.b64decode(value, validate=True).decode("utf-8"))
                except (binascii.Error, UnicodeDecodeError):
                    values.add(value)
    return {v for v in values if len(v) >= MIN_SECRET_LEN}


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, Sequence) and not isinstance(value, bytes):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def leaked_secrets(value: Any, secrets: Iterable[str]) -> list[str]:
    """Paths in `value` whose strings contain one of `secrets`."""
    secrets = [s for s in secrets if len(s) >= MIN_SECRET_LEN]
    return [path for path, text in _strings(value) if not is_unknown(text) and any(s in text for s in secrets)]


def check_secrets(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    """Secret values live only in Secrets; containers get them through secretKeyRefs that resolve."""
    out = []
    secrets = secret_values_of(objects) | set(context.secret_values)
    for obj in objects:
        if kind_of(obj) == "Secret":
            continue
        for path in leaked_secrets(obj, secrets):
            out.append(f"[secrets] {where(obj)}: {path} holds a Secret's value in plain text")
    for obj, meta, spec in workloads(objects):
        external = set(filter(None, str(_map(meta.get("annotations")).get(EXTERNAL_SECRETS_ANNOTATION, "")).split(",")))
        for fld, c in all_containers(spec):
            for env in map(_map, _list(c.get("env"))):
                ref = _map(_map(env.get("valueFrom")).get("secretKeyRef"))
                if not ref or ref.get("optional") is True or ref.get("name") in external:
                    continue
                secret = _find(objects, "Secret", str(ref.get("name")), namespace_of(obj))
                if secret is None:
                    out.append(f"[secrets] {where(obj)}: {fld} {c.get('name')!r} env {env.get('name')} reads Secret {ref.get('name')!r}, which does not exist")
                    continue
                keys = set(_map(secret.get("stringData"))) | set(_map(secret.get("data")))
                if secret.get("type") == "kubernetes.io/service-account-token":
                    keys |= {"token", "ca.crt", "namespace"}
                if ref.get("key") not in keys:
                    out.append(f"[secrets] {where(obj)}: env {env.get('name')} reads key {ref.get('key')!r}, which Secret {ref.get('name')} lacks")
    return out


def check_unique_objects(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    """Two objects with one identity: the second apply overwrites the first, a destroy deletes both."""
    seen: dict[tuple, int] = {}
    for obj in objects:
        identity = (group_of(str(obj.get("apiVersion", ""))), kind_of(obj), namespace_of(obj), name_of(obj))
        seen[identity] = seen.get(identity, 0) + 1
    return [f"[unique-objects] {kind}/{ns + '/' if ns else ''}{name}: defined {n} times" for (group, kind, ns, name), n in seen.items() if n > 1]


# --- who may call the model (components/security) ------------------------------------------------
# GatewayClasses whose load balancer has an internet address (components/security/exposure.py).
PUBLIC_GATEWAY_CLASSES = frozenset({"gke-l7-regional-external-managed", "gke-l7-global-external-managed", "gke-l7-gxlb"})
PUBLIC_SERVICE_TYPES = frozenset({"LoadBalancer", "NodePort"})
GATEWAY_GROUP = "gateway.networking.k8s.io"


def _parameters_service_type(objects: Sequence[Obj], gateway: Obj) -> Optional[str]:
    """The data-plane Service type a Gateway's infrastructure parameters ask for (Istio ConfigMap, kgateway GatewayParameters)."""
    ref = _map(_map(_map(gateway.get("spec")).get("infrastructure")).get("parametersRef"))
    kind, name, ns = ref.get("kind"), str(ref.get("name", "")), namespace_of(gateway)
    if kind == "ConfigMap":
        cm = _find(objects, "ConfigMap", name, ns)
        text = _map(cm.get("data") if cm else None).get("service")
        match = re.search(r"^\s*type:\s*['\"]?(\w+)", text, re.M) if isinstance(text, str) else None
        return match.group(1) if match else None
    if kind == "GatewayParameters":
        params = _find(objects, "GatewayParameters", name, ns)
        value = _map(_map(_map(_map(params.get("spec") if params else None).get("kube")).get("service"))).get("type")
        return str(value) if isinstance(value, str) else None
    return None


def gateway_is_public(objects: Sequence[Obj], gateway: Obj) -> bool:
    cls = _map(gateway.get("spec")).get("gatewayClassName")
    return cls in PUBLIC_GATEWAY_CLASSES or _parameters_service_type(objects, gateway) in PUBLIC_SERVICE_TYPES


def _targets(policy: Obj, kind: str, name: str) -> bool:
    spec = _map(policy.get("spec"))
    refs = [_map(r) for r in _list(spec.get("targetRefs"))] + ([_map(spec["targetRef"])] if spec.get("targetRef") else [])
    return any(r.get("kind") == kind and r.get("name") == name for r in refs)


def _pools_behind(objects: Sequence[Obj], gateway: Obj) -> list[tuple[str, str]]:
    out = []
    for route in _objects(objects, "HTTPRoute", namespace_of(gateway)):
        spec = _map(route.get("spec"))
        if not any(_map(p).get("name") == name_of(gateway) for p in _list(spec.get("parentRefs"))):
            continue
        for rule in map(_map, _list(spec.get("rules"))):
            out += [(namespace_of(route), str(_map(b).get("name"))) for b in _list(rule.get("backendRefs")) if _map(b).get("kind") == "InferencePool"]
    return out


def gateway_authentication(objects: Sequence[Obj], gateway: Obj) -> Optional[str]:
    """How requests through this Gateway are authenticated, or None."""
    ns, name = namespace_of(gateway), name_of(gateway)
    for policy in _objects(objects, "AuthorizationPolicy", ns):
        spec = _map(policy.get("spec"))
        if spec.get("action") == "CUSTOM" and _map(spec.get("provider")).get("name") and _targets(policy, "Gateway", name):
            return f"Istio ext_authz ({where(policy)})"
    for policy in _objects(objects, "AgentgatewayPolicy", ns):
        api_key = _map(_map(_map(policy.get("spec")).get("traffic")).get("apiKeyAuthentication"))
        if api_key and api_key.get("mode", "Strict") == "Strict" and _targets(policy, "Gateway", name):
            return f"agentgateway apiKeyAuthentication ({where(policy)})"
    for policy in _objects(objects, "TrafficPolicy", ns):
        if _map(_map(policy.get("spec")).get("extAuth")).get("extensionRef") and _targets(policy, "Gateway", name):
            return f"kgateway extAuth ({where(policy)})"
    pools = _pools_behind(objects, gateway)
    guarded = [
        (pool_ns, pool) for pool_ns, pool in pools
        if any(_map(_map(p.get("spec")).get("default")).get("securityPolicy") and _targets(p, "InferencePool", pool)
               for p in _objects(objects, "GCPBackendPolicy", pool_ns))
    ]
    if pools and guarded == pools:
        return "Cloud Armor (GCPBackendPolicy securityPolicy)"
    return None


def check_public_gateway_authenticated(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    """A Gateway reachable from the internet refuses requests without a key."""
    out = []
    for gateway in _objects(objects, "Gateway"):
        if gateway_is_public(objects, gateway) and gateway_authentication(objects, gateway) is None:
            out.append(f"[public-gateway-auth] {where(gateway)}: is public (class {_map(gateway.get('spec')).get('gatewayClassName')}, "
                       "or a LoadBalancer data plane) but nothing authenticates its requests (no CUSTOM AuthorizationPolicy, Strict "
                       "apiKeyAuthentication AgentgatewayPolicy, extAuth TrafficPolicy, or GCPBackendPolicy securityPolicy on its pools)")
    return out


def _port_matches(rule_port: Mapping[str, Any], number: int, name: str, protocol: str) -> bool:
    if str(rule_port.get("protocol") or "TCP") != protocol:
        return False
    port = rule_port.get("port")
    if port is None:
        return True
    if isinstance(port, str) and not port.isdigit():
        return port == name
    low = _int(port)
    high = _int(rule_port.get("endPort")) or low
    return low is not None and low <= number <= high


def ingress_policies_for(objects: Sequence[Obj], namespace: str, labels: Mapping[str, Any]) -> list[Obj]:
    out = []
    for policy in _objects(objects, "NetworkPolicy", namespace):
        spec = _map(policy.get("spec"))
        selector = _map(spec.get("podSelector"))
        match = _map(selector.get("matchLabels"))
        if selector.get("matchExpressions") or not all(labels.get(k) == v for k, v in match.items()):
            continue
        if "Ingress" in (_list(spec.get("policyTypes")) or ["Ingress"]):
            out.append(policy)
    return out


def check_model_ports_covered(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    """Every port of every model-server pod is governed by a NetworkPolicy that names who may reach it."""
    out = []
    for obj, meta, spec in model_servers(objects):
        labels = _map(meta.get("labels"))
        policies = ingress_policies_for(objects, namespace_of(obj), labels)
        if not policies:
            out.append(f"[model-server-netpol] {where(obj)}: no NetworkPolicy selects its pods; any pod in the cluster can reach vLLM")
            continue
        rules = [_map(r) for p in policies for r in _list(_map(p.get("spec")).get("ingress"))]
        for fld, c in all_containers(spec):
            for port in map(_map, _list(c.get("ports"))):
                number, name, protocol = _int(port.get("containerPort")), str(port.get("name") or ""), str(port.get("protocol") or "TCP")
                if number is None:
                    continue
                covered = [r for r in rules if any(_port_matches(_map(p), number, name, protocol) for p in _list(r.get("ports")) or [{}])]
                if not covered:
                    out.append(f"[model-server-netpol] {where(obj)}: {fld} {c.get('name')!r} port {number} ({name or 'unnamed'}) "
                               "is in no NetworkPolicy ingress rule; nothing may reach it, or the policy forgot it")
                elif any(not _list(r.get("from")) for r in covered):
                    out.append(f"[model-server-netpol] {where(obj)}: {fld} {c.get('name')!r} port {number} is open to every source")
    return out


RELATION_CHECKS: dict[str, Callable[[Sequence[Obj], Context], list[str]]] = {
    "unique-objects": check_unique_objects,
    "pool-selector": check_pool_selects_model_servers,
    "epp-pool": check_epp_serves_pool,
    "route-refs": check_route_refs,
    "ports": check_ports_agree,
    "gpus": check_gpus,
    "rdma": check_rdma,
    "scheduling": check_scheduling,
    "epp-rbac": check_epp_rbac,
    "secrets": check_secrets,
    "public-gateway-auth": check_public_gateway_authenticated,
    "model-server-netpol": check_model_ports_covered,
}


def check_objects(objects: Sequence[Obj], context: Context = Context()) -> list[str]:
    """Every invariant over a deployment's Kubernetes objects."""
    out = [v for obj in objects for v in check_object(obj)]
    for check in RELATION_CHECKS.values():
        out += check(objects, context)
    return out


# --- over a recorded program run (tools.mock_runtime.ProgramRun) ---------------------------------
def check_run(run: Any, context: Context = Context()) -> list[str]:
    """All invariants over what the program registered, plus how secrets travel through Pulumi.

    `context.node_pools` is filled from the run's GKE node pools when the caller gave none.
    """
    if not context.node_pools:
        pools = [node_pool_from_gcp(r.name, r.inputs) for r in run.registrations if r.type == NODE_POOL_TYPE]
        if pools:
            context = Context(**{**context.__dict__, "node_pools": tuple(pools)})
    objects = [r.inputs for r in run.kube()]
    return check_objects(objects, context) + check_secrets_in_state(run, context)


def check_secrets_in_state(run: Any, context: Context = Context()) -> list[str]:
    """Secret values are marked secret wherever they are inputs, and appear in no other input or output."""
    out = []
    secrets = secret_values_of(r.inputs for r in run.kube()) | set(context.secret_values)
    for r in run.registrations:
        if r.is_kube_object and r.kind == "Secret":
            for key in ("stringData", "data"):
                if key in r.inputs and key not in r.secret_inputs:
                    out.append(f"[secrets] {r.urn}: {key} is not marked secret, so it is stored in plain text in the state")
            continue
        for key, value in r.inputs.items():
            if key in r.secret_inputs:
                continue
            for path in leaked_secrets(value, secrets):
                out.append(f"[secrets] {r.urn}: input {key}{'.' + path if path else ''} holds a secret value unmarked")
    for path in leaked_secrets(run.outputs, secrets):
        out.append(f"[secrets] stack output {path} holds a secret value")
    return out
