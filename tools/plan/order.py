"""Bring-up order: what waits on the GPU node pool, and the longest chain of dependencies.

"A waits on B" is read from the recorded data the way the Pulumi engine orders operations:
A waits on each resource in its dependencies, in its ancestors' dependencies (a child of a
component that depends on B waits on B), and on its provider; depending on a component means
waiting on every custom resource under it. Only custom resources take time; the relation is
transitive.
"""

from dataclasses import dataclass
from typing import Callable, Optional

from tools.mock_runtime import Registration
from tools.plan import coldstart, objects

# Typical create times in minutes, by type (the GPU node pool and vLLM pods are estimated below).
# Coarse: they rank the chains and size the wait, they promise nothing.
MINUTES_BY_TYPE = {
    "gcp:container/cluster:Cluster": 10,
    "gcp:container/nodePool:NodePool": 5,  # a CPU pool
    "gcp:compute/network:Network": 1,
    "gcp:compute/subnetwork:Subnetwork": 1,
    "gcp:compute/router:Router": 0.5,
    "gcp:compute/routerNat:RouterNat": 1,
    "gcp:compute/firewall:Firewall": 0.5,
    "gcp:projects/service:Service": 1,
    "kubernetes:helm.sh/v4:Chart": 2,
    "kubernetes:helm.sh/v3:Release": 2,
    "kubernetes:yaml/v2:ConfigFile": 0.5,
    "kubernetes:yaml/v2:ConfigGroup": 0.5,
    "kubernetes:apps/v1:Deployment": 1,  # a CPU workload; vLLM pods are estimated below
    "kubernetes:apps/v1:DaemonSet": 2,
    "kubernetes:gateway.networking.k8s.io/v1:Gateway": 2,  # waits until Programmed (a proxy is up)
}
DEFAULT_MINUTES = 5 / 60  # API objects: seconds
GPU_NODE_POOL_MINUTES = 60  # a3-ultragpu-8g: 35-90 min (capacity, driver install, gIB, NICs)
VLLM_IMAGE_PULL_MINUTES = 5  # llm-d-cuda is ~20 GB
VLLM_LOAD_MINUTES = 10  # weights into GPU memory, torch.compile, CUDA graphs, NIXL registration
HUB_GB_PER_MINUTE = 9  # ~150 MB/s for one client of the Hugging Face hub


@dataclass(frozen=True)
class Step:
    registration: Registration
    minutes: float
    finish: float  # minutes after start when it is ready, on this chain


class Graph:
    def __init__(self, registrations: list[Registration]):
        self.by_urn = {r.urn: r for r in registrations}
        self.children: dict[str, list[str]] = {}
        for r in registrations:
            self.children.setdefault(r.parent, []).append(r.urn)
        self._under: dict[str, set[str]] = {}
        self.waits: dict[str, set[str]] = {r.urn: self._direct(r) for r in registrations if r.custom}

    def _custom_under(self, urn: str) -> set[str]:
        if urn not in self._under:
            r = self.by_urn.get(urn)
            if r is None or r.custom:
                self._under[urn] = {urn} if r is not None else set()
            else:
                self._under[urn] = set().union(*(self._custom_under(c) for c in self.children.get(urn, [])))
        return self._under[urn]

    def _direct(self, r: Registration) -> set[str]:
        urns = set(r.dependencies)
        parent = self.by_urn.get(r.parent)
        while parent is not None:
            urns |= set(parent.dependencies)
            parent = self.by_urn.get(parent.parent)
        if r.provider:
            urns.add(r.provider.rsplit("::", 1)[0])  # a provider reference is "<urn>::<id>"
        return set().union(*(self._custom_under(u) for u in urns)) - {r.urn}

    def waits_on(self, target: str) -> list[Registration]:
        """Every custom resource that (transitively) waits on `target`."""
        memo: dict[str, bool] = {}

        def reach(urn: str) -> bool:
            if urn not in memo:
                memo[urn] = False  # stops a cycle, which a Pulumi program cannot have anyway
                memo[urn] = any(d == target or reach(d) for d in self.waits.get(urn, ()))
            return memo[urn]

        return [self.by_urn[u] for u in sorted(self.waits) if u != target and reach(u)]

    def longest_chain(self, minutes: Callable[[Registration], float]) -> list[Step]:
        memo: dict[str, tuple[float, Optional[str]]] = {}

        def finish(urn: str) -> tuple[float, Optional[str]]:
            if urn not in memo:
                memo[urn] = (0.0, None)
                before = [(finish(d)[0], d) for d in sorted(self.waits[urn]) if d in self.waits]
                start, previous = max(before, default=(0.0, None))
                memo[urn] = (start + minutes(self.by_urn[urn]), previous)
            return memo[urn]

        if not self.waits:
            return []
        urn: Optional[str] = max(sorted(self.waits), key=lambda u: finish(u)[0])
        chain = []
        while urn is not None:
            end, previous = finish(urn)
            chain.append(Step(self.by_urn[urn], minutes(self.by_urn[urn]), end))
            urn = previous
        return chain[::-1]


def estimate_minutes(size_gb: float) -> Callable[[Registration], float]:
    def minutes(r: Registration) -> float:
        if objects.gpu_node_pools([r]):
            return GPU_NODE_POOL_MINUTES
        if r.is_kube_object and r.kind in objects.WORKLOAD_KINDS:
            w = next(objects.workloads([r]))
            d = coldstart.downloader(w)
            if d is not None:
                download = size_gb / HUB_GB_PER_MINUTE if d.per_pod or w.kind == "Job" else 0
                return VLLM_IMAGE_PULL_MINUTES + download + (0 if w.kind == "Job" else VLLM_LOAD_MINUTES)
        return MINUTES_BY_TYPE.get(r.type, DEFAULT_MINUTES)

    return minutes


def fmt(minutes: float) -> str:
    seconds = round(minutes * 60)
    if seconds < 60:
        return f"{seconds}s"
    h, m = divmod(round(minutes), 60)
    return f"{h}h{m:02d}m" if h else f"{m}m"


def report(registrations: list[Registration], size_gb: float) -> list[str]:
    graph = Graph(registrations)
    pools = objects.gpu_node_pools(registrations)
    lines = []
    if not pools:
        lines.append(f"GPU node pool: none in this stack (no {objects.GPU_NODE_POOL_TYPE} with guestAccelerators);"
                     " GPU pods schedule onto nodes that already exist")
    for pool in pools:
        waiting = graph.waits_on(pool.urn)
        lines.append(f"waits on GPU node pool {pool.name} (~{fmt(GPU_NODE_POOL_MINUTES)}): {len(waiting)} resources")
        lines += [f"  {objects.label(r)}" for r in waiting]
    chain = graph.longest_chain(estimate_minutes(size_gb))
    if chain:
        lines.append(f"longest chain: {len(chain)} steps, ~{fmt(chain[-1].finish)} (estimated)")
        lines += [f"  {fmt(s.finish - s.minutes):>6} +{fmt(s.minutes):<6} {objects.label(s.registration)}"
                  for s in chain]
    return lines
