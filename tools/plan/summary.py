"""The plan's summary: component tree, resources by type, and the deployment's key facts."""

import json
import re
from collections import Counter

from components.config.model import StackConfig
from components.security.exposure import exposure_of
from tools.mock_runtime import Registration
from tools.plan import coldstart, objects
from tools.plan.objects import Workload

# Limits of a model-server container that are neither GPUs nor ordinary resources: RDMA devices.
_ORDINARY_RESOURCES = ("cpu", "memory", "ephemeral-storage")
GKE_INTERFACES_ANNOTATION = "networking.gke.io/interfaces"


def component_tree(registrations: list[Registration]) -> list[str]:
    by_urn = {r.urn: r for r in registrations}
    children: dict[str, list[Registration]] = {}
    for r in registrations:
        children.setdefault(r.parent if r.parent in by_urn else "", []).append(r)

    def custom_count(urn: str) -> int:
        return sum(1 for c in children.get(urn, []) if c.custom)

    lines: list[str] = []

    def walk(urn: str, indent: str) -> None:
        components = sorted((c for c in children.get(urn, []) if not c.custom), key=lambda c: c.name)
        for i, c in enumerate(components):
            last = i == len(components) - 1
            count = custom_count(c.urn)
            suffix = f"  ({count} resource{'s' if count != 1 else ''})" if count else ""
            lines.append(f"{indent}{'└─' if last else '├─'} {c.name}  {c.type}{suffix}")
            walk(c.urn, indent + ("   " if last else "│  "))

    walk("", "")
    return lines


def type_counts(registrations: list[Registration]) -> list[str]:
    counts = Counter(r.type for r in registrations if r.custom)
    return [f"{n:>4}  {t}" for t, n in sorted(counts.items())] + [f"{sum(counts.values()):>4}  total"]


def key_facts(registrations: list[Registration], config: StackConfig) -> list[str]:
    servers = sorted(objects.model_servers(registrations), key=lambda w: (w.role != "prefill", w.role, w.name))
    lines = [f"model:     {_model(servers, config)}"]
    if servers:
        pods = Counter()
        for w in servers:
            pods[w.role] += w.pods or 0
        roles = ", ".join(f"{w.role} {w.pods} x {_parallelism(w)} ({_plural(_gpus(w), 'GPU')}/pod)" for w in servers)
        lines.append(f"topology:  {pods['prefill']}P{pods['decode']}D: {roles}")
        lines.append(f"GPUs:      {_gpu_line(registrations, servers, config.platform.gpus_per_node)}")
        lines.append(f"RDMA:      {rdma_mode(servers)}")
    else:
        lines.append("topology:  no model-server workload registered")
    lines.append(f"gateway:   {_gateway(registrations, config)}")
    lines.append(f"exposure:  {exposure_of(config).summary()}")
    lines.append(f"llm-d:     {_release(config)}")
    lines += [("versions:  " if i == 0 else " " * 11) + line for i, line in enumerate(versions(registrations))]
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _model(servers: list[Workload], config: StackConfig) -> str:
    vllm = next((c for w in servers if (c := objects.vllm_container(w))), None)
    ref = coldstart.model_ref(vllm) if vllm else None
    served = objects.flag_value(vllm.get("args") or [], "--served-model-name") if vllm else None
    name = config.model.name
    extra = [f"served as {served}"] if served and served != name else []
    if ref and ref != name:
        extra.append(f"loaded from {ref}")
    extra.append(f"{config.model.size_gb:g} GB of weights")
    return f"{name} ({', '.join(extra)})"


def _parallelism(w: Workload) -> str:
    vllm = objects.vllm_container(w)
    args = vllm.get("args") or [] if vllm else []
    dp = objects.flag_value(args, "--data-parallel-size")
    return f"TP{objects.flag_value(args, '--tensor-parallel-size') or 1}" + (f" DP{dp}" if dp and dp != "1" else "")


def _gpus(w: Workload) -> int:
    return sum(objects.gpu_count(c) for c in w.containers)


def _one_pod_per_node(w: Workload) -> bool:
    """Required pod anti-affinity on the hostname: every model-server pod needs a node of its own."""
    affinity = (w.pod.get("affinity") or {}).get("podAntiAffinity") or {}
    terms = affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or []
    return any(t.get("topologyKey") == "kubernetes.io/hostname" for t in terms)


def nodes_needed(servers: list[Workload], gpus_per_node: int) -> int:
    """The fewest GPU nodes that hold every model-server pod whole (first-fit decreasing); a pod
    with required hostname anti-affinity takes a node of its own."""
    exclusive = sum(w.pods or 0 for w in servers if _one_pod_per_node(w))
    sizes = sorted((_gpus(w) for w in servers if not _one_pod_per_node(w) for _ in range(w.pods or 0)), reverse=True)
    free: list[int] = []
    for size in sizes:
        slot = next((i for i, left in enumerate(free) if left >= size), None)
        if slot is None:
            free.append(gpus_per_node - size)
        else:
            free[slot] -= size
    return exclusive + len(free)


def _gpu_line(registrations: list[Registration], servers: list[Workload], gpus_per_node: int) -> str:
    gpus = Counter()
    for w in servers:
        gpus[w.role] += (w.pods or 0) * _gpus(w)
    need = nodes_needed(servers, gpus_per_node)
    by_role = " + ".join(f"{role} {n}" for role, n in gpus.items())
    line = (f"{_plural(sum(gpus.values()), 'GPU')} ({by_role}) "
            f"on at least {_plural(need, 'GPU node')} ({gpus_per_node} GPUs/node, pods packed whole)")
    for pool in objects.gpu_node_pools(registrations):
        inputs, scale = pool.inputs, pool.inputs.get("autoscaling") or {}
        if "nodeCount" in inputs:
            line += f"; static GPU pool {pool.name}: {inputs['nodeCount']} nodes"
            line += f" (TOO FEW: pods need {need})" if inputs["nodeCount"] < need else ""
        elif scale:
            low = scale.get("totalMinNodeCount", scale.get("minNodeCount", 0))
            high = scale.get("totalMaxNodeCount", scale.get("maxNodeCount", "?"))
            line += f"; autoscaling GPU pool {pool.name}: {low}..{high} nodes"
    return line


def rdma_mode(servers: list[Workload]) -> str:
    for w in servers:
        interfaces = w.annotations.get(GKE_INTERFACES_ANNOTATION)
        if interfaces:
            networks = [i.get("network", "") for i in json.loads(interfaces) if i.get("network") != "default"]
            return f"GKE multi-network RoCE ({ranges(networks)})"
    devices: dict[str, str] = {}
    for w in servers:
        for c in w.containers:
            for key, value in ((c.get("resources") or {}).get("limits") or {}).items():
                if key not in _ORDINARY_RESOURCES and not key.endswith("/gpu") and not key.startswith("hugepages-"):
                    devices[key] = str(value)
    if devices:
        return "device plugin " + ", ".join(f"{k} x{v}" for k, v in sorted(devices.items()))
    claims = sorted({c.get("name", "?") for w in servers for c in w.pod.get("resourceClaims") or []})
    if claims:
        return f"DRA resource claims ({', '.join(claims)})"
    return "none requested (NIXL falls back to TCP)"


def ranges(names: list[str]) -> str:
    """rdma-0..rdma-7 -> 'rdma-0..7' when they are one prefix with consecutive numbers."""
    parts = [re.fullmatch(r"(.*?)(\d+)", n) for n in names]
    if names and all(parts) and len({p.group(1) for p in parts}) == 1:
        numbers = sorted(int(p.group(2)) for p in parts)
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))) and len(numbers) > 1:
            return f"{parts[0].group(1)}{numbers[0]}..{numbers[-1]}"
    return ", ".join(names)


def _gateway(registrations: list[Registration], config: StackConfig) -> str:
    classes = sorted({(r.inputs.get("spec") or {}).get("gatewayClassName", "?") for r in registrations
                      if r.is_kube_object and r.kind == "Gateway"})
    return f"{config.gateway.provider} (GatewayClass {', '.join(classes) or 'none: no Gateway registered'})"


def _release(config: StackConfig) -> str:
    profile = config.versions.profile
    line = f"{profile.name} (versions.llmd)"
    if profile.min_nvidia_driver:
        line += f"; model-server images need NVIDIA driver >= {profile.min_nvidia_driver} on the GPU nodes (CUDA 13)"
        if config.platform.kind == "gke":
            line += f", from gpuPool.gpuDriverVersion {config.platform.gpu_pool.gpu_driver_version}"
    return line


def versions(registrations: list[Registration]) -> list[str]:
    images = sorted({c["image"] for w in objects.workloads(registrations) for c in w.containers if c.get("image")})
    lines = [f"image {image}" for image in images]
    lines += _crd_bundles(registrations)
    for r in sorted(registrations, key=lambda r: r.name):
        if r.type.startswith("kubernetes:helm.sh/"):
            repo = (r.inputs.get("repositoryOpts") or {}).get("repo")
            chart = f"chart {r.inputs.get('chart')} {r.inputs.get('version', '')}"
            lines.append(chart + (f" ({repo})" if repo else ""))
        elif r.type.startswith("kubernetes:yaml/"):
            for f in [r.inputs["file"]] if r.inputs.get("file") else r.inputs.get("files") or []:
                lines.append(f"CRDs/manifests {f}")
        elif r.type == "gcp:container/cluster:Cluster":
            channel = (r.inputs.get("releaseChannel") or {}).get("channel")
            version = f"GKE {r.inputs.get('minMasterVersion', 'default version')}"
            lines.append(version + (f", {channel} channel" if channel else ""))
    return lines or ["none registered"]


def _crd_bundles(registrations: list[Registration]) -> list[str]:
    """`CRDs <group> <bundle-version> (<n>, <how>)` from the CRDs' own bundle-version annotations."""
    found: dict[tuple[str, str, str], int] = {}
    for r in registrations:
        if r.kind == "CustomResourceDefinition" and r.is_kube_object:
            meta = r.inputs.get("metadata") or {}
            group = (r.inputs.get("spec") or {}).get("group", "?")
            version = next((v for k, v in (meta.get("annotations") or {}).items() if k.endswith("/bundle-version")), "?")
            how = ("adopted" if r.type.endswith("Patch") else "installed") + (", kept on destroy" if r.retain_on_delete else "")
            found[group, version, how] = found.get((group, version, how), 0) + 1
    return [f"CRDs {group} {version} ({n}, {how})" for (group, version, how), n in sorted(found.items())]
