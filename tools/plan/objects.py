"""Reading recorded registrations: pod templates, containers, the GPU node pool, display labels."""

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional

from tools.mock_runtime import Registration

ROLE_LABEL = "llm-d.ai/role"  # set on every model-server pod by components.names.Release
GPU_NODE_POOL_TYPE = "gcp:container/nodePool:NodePool"
# Workload kinds whose pod template the plan reads, and where their pod count comes from.
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job")


@dataclass(frozen=True)
class Workload:
    registration: Registration
    kind: str
    name: str
    pods: Optional[int]  # None where the count is decided by the cluster (DaemonSet)
    labels: dict[str, str]
    annotations: dict[str, str]
    pod: dict[str, Any]  # the pod spec

    @property
    def role(self) -> Optional[str]:
        return self.labels.get(ROLE_LABEL)

    @property
    def containers(self) -> list[dict]:
        return list(self.pod.get("initContainers") or []) + list(self.pod.get("containers") or [])


def workloads(registrations: Iterable[Registration]) -> Iterator[Workload]:
    for r in registrations:
        if not r.is_kube_object or r.kind not in WORKLOAD_KINDS:
            continue
        spec = r.inputs.get("spec") or {}
        template = spec.get("template") or {}
        meta = template.get("metadata") or {}
        yield Workload(r, r.kind, r.object_name, _pod_count(r.kind, spec), meta.get("labels") or {},
                       meta.get("annotations") or {}, template.get("spec") or {})


def _pod_count(kind: str, spec: dict) -> Optional[int]:
    if kind == "DaemonSet":
        return None
    if kind == "Job":
        return int(spec.get("completions") or spec.get("parallelism") or 1)
    return int(spec.get("replicas", 1))


def model_servers(registrations: Iterable[Registration]) -> list[Workload]:
    return [w for w in workloads(registrations) if w.role]


def command_line(container: dict) -> str:
    return " ".join(map(str, (container.get("command") or []) + (container.get("args") or [])))


def vllm_container(w: Workload) -> Optional[dict]:
    """The container that runs `vllm serve` (directly, or through a shell prelude)."""
    return next((c for c in w.containers if "vllm serve" in command_line(c)), None)


def gpu_count(container: dict) -> int:
    limits = (container.get("resources") or {}).get("limits") or {}
    return sum(int(v) for k, v in limits.items() if k.endswith("/gpu"))


def flag_value(args: list[str], flag: str) -> Optional[str]:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def gpu_node_pools(registrations: Iterable[Registration]) -> list[Registration]:
    return [
        r for r in registrations
        if r.type == GPU_NODE_POOL_TYPE and ((r.inputs.get("nodeConfig") or {}).get("guestAccelerators"))
    ]


def short_type(r: Registration) -> str:
    """Kind for a Kubernetes object, else the last part of the type token (NodePool, Chart...)."""
    if r.type.startswith("pulumi:providers:"):
        return f"provider:{r.type.rsplit(':', 1)[-1]}"
    return r.kind if r.is_kube_object else r.type.rsplit(":", 1)[-1]


def label(r: Registration) -> str:
    return f"{short_type(r)} {r.object_name if r.is_kube_object and r.object_name else r.name}"
