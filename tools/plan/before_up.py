"""The plan's "Before `pulumi up`" block: what it costs, who can call it, what it installs beyond
its namespace (and what `pulumi destroy` removes), and what the stack gives back."""

from dataclasses import dataclass
from typing import Any, Optional

from components.config.advice import PLACEHOLDER_PROJECT
from components.config.model import StackConfig
from components.security.exposure import exposure_of
from tools.mock_runtime import ProgramRun, Registration
from tools.plan import objects, order, prices, summary
from tools.plan.records import COMPUTED

# Stack outputs the cloud or the cluster decides at `pulumi up`, and what decides them.
DECIDED_AT_UP = {
    "endpoint": "the Gateway's address, once its controller or load balancer assigns one",
    "chatCompletionsCurl": "holds the endpoint",
    "verification.status": "pass or fail, once the verification Job ran",
}


def report(stack: str, run: ProgramRun, config: StackConfig) -> list[str]:
    lines = [f"!!! NOT READY FOR `pulumi up`: {w}" for w in run.warnings if PLACEHOLDER_PROJECT in w]
    lines += [f"WARNING: {w}" for w in run.warnings if PLACEHOLDER_PROJECT not in w]
    lines += ["Cost (USD, estimates: list prices checked " + prices.CHECKED + " in tools/plan/prices.py; "
              "override with llmd:pricing)"]
    lines += [f"  {line}" for line in cost(run.registrations, config)]
    lines += ["Exposure"] + [f"  {line}" for line in exposure(config).lines()]
    lines += [f"Installs beyond namespace {config.namespace}"] + [f"  {line}" for line in beyond_namespace(run.registrations, config)]
    lines += ["What you get back (stack outputs; [computed] = decided at `pulumi up`)"]
    lines += [f"  {line}" for line in outputs(run.outputs)]
    lines += ["Verify and destroy"] + [f"  {line}" for line in verify_and_destroy(stack, config)]
    return lines


# --- cost -----------------------------------------------------------------------------------------

def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def cost(registrations: list[Registration], config: StackConfig) -> list[str]:
    servers = list(objects.model_servers(registrations))
    gpus = sum((w.pods or 0) * sum(objects.gpu_count(c) for c in w.containers) for w in servers)
    if config.platform.kind == "gke":
        gpu_hour, lines = _gke_gpu_nodes(config, summary.nodes_needed(servers, config.platform.gpus_per_node))
        rest_hour, rest = _gke_rest(registrations, config)
        lines.append(f"the rest: {rest} = {_usd(rest_hour)}/h")
    else:
        price = config.pricing.gpu_hour
        source = "llmd:pricing.gpuHour" if price is not None else prices.EXISTING_GPU_HOUR.source
        price = prices.EXISTING_GPU_HOUR.usd_per_hour if price is None else price
        gpu_hour, rest_hour = gpus * price, 0.0
        lines = [f"GPUs: {gpus} x {_usd(price)}/GPU-hour = {_usd(gpu_hour)}/h (existing cluster: {source})",
                 "the rest: the cluster's own nodes and network, not counted"]
    total = gpu_hour + rest_hour
    lines.append(f"total: ~{_usd(total)}/h (~{_usd(total * 24)}/day)")
    chain = order.Graph(registrations).longest_chain(order.estimate_minutes(config.model.size_gb))
    minutes = chain[-1].finish if chain else 0.0
    bound = ("GPU nodes bill from when they exist" if config.platform.kind == "gke"
             else "the GPUs are taken from when the pods schedule")
    lines.append(f"until the first token: ~{order.fmt(minutes)} on the longest chain (see Bring-up order) x "
                 f"{_usd(total)}/h = ~{_usd(total * minutes / 60)} (an upper bound: {bound})")
    return lines


def _gke_gpu_nodes(config: StackConfig, needed: int) -> tuple[float, list[str]]:
    gke, pool = config.platform, config.platform.gpu_pool
    kind = pool.capacity.kind
    nodes = min(needed, pool.max_nodes) if pool.flex_start else pool.max_nodes
    price, note = prices.gpu_node(pool.machine_type, gke.region, kind)
    if config.pricing.gpu_node_hour is not None:
        price, note = prices.Price(config.pricing.gpu_node_hour, "llmd:pricing.gpuNodeHour"), ""
    if price is None:
        return 0.0, [f"GPU nodes: {nodes} x {pool.machine_type} ({kind}): no price on file; set llmd:pricing.gpuNodeHour"]
    when = " once the model servers ask for them" if pool.flex_start else ""
    line = (f"GPU nodes: {nodes} x {pool.machine_type} ({kind}{when}) x {_usd(price.usd_per_hour)}/h = "
            f"{_usd(nodes * price.usd_per_hour)}/h" + (f" [{note}]" if note else ""))
    return nodes * price.usd_per_hour, [line, f"  source: {price.source}"]


def _gke_rest(registrations: list[Registration], config: StackConfig) -> tuple[float, str]:
    gke = config.platform
    system = gke.system_pool
    price, note = prices.system_node(system.machine_type, gke.region)
    if config.pricing.system_node_hour is not None:
        price, note = prices.Price(config.pricing.system_node_hour, "llmd:pricing.systemNodeHour"), ""
    nodes = max(system.min_nodes, 1)
    items: list[tuple[str, float]] = []
    if price is not None:
        items.append((f"system pool {nodes} x {system.machine_type} (autoscales to {system.max_nodes})"
                      + (f" ({note})" if note else ""), nodes * price.usd_per_hour))
    else:
        items.append((f"system pool {nodes} x {system.machine_type}: {note}; set llmd:pricing.systemNodeHour", 0.0))
    items.append(("GKE cluster fee", prices.GKE_CLUSTER.usd_per_hour))
    if gke.private_nodes:
        vms = nodes + gke.gpu_pool.max_nodes
        items.append((f"Cloud NAT ({vms} VMs)", min(vms * prices.NAT_PER_VM.usd_per_hour, prices.NAT_CAP)))
    if config.gateway.provider == "gke":
        items.append(("load balancer", prices.REGIONAL_ALB.usd_per_hour))
    buckets = [r for r in registrations if r.type == "gcp:storage/bucket:Bucket"]
    if buckets:
        items.append((f"{len(buckets)} bucket(s), ~{config.model.size_gb:g} GB", config.model.size_gb * prices.BUCKET_GB_HOUR.usd_per_hour))
    listed = ", ".join(f"{what} {_usd(v)}/h" for what, v in items)
    return sum(v for _, v in items), listed + " (not counted: disks, egress, load-balancer and NAT data processing)"


# --- exposure -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exposure:
    reach: str
    port: int
    tls: str
    auth: str

    def lines(self) -> list[str]:
        return [f"reach: {self.reach}", f"port:  {self.port}", f"TLS:   {self.tls}", f"auth:  {self.auth}"]


def exposure(config: StackConfig) -> Exposure:
    """Who may call the model, in plain words, from the facts the gateway itself is built from."""
    facts = exposure_of(config)
    if facts.public and facts.provider == "gke":
        reach = "PUBLIC: a regional external Application Load Balancer with an internet address"
    elif facts.public:
        reach = f"PUBLIC: a {facts.service_type} Service with the cluster's external load balancer"
    elif facts.provider == "gke":
        reach = "internal: a regional internal Application Load Balancer, reachable from the VPC"
    else:
        reach = "in-cluster only: a ClusterIP Service (from outside, `kubectl port-forward`: the portForward output)"
    if facts.allowed_source_ranges:
        reach += f", from {', '.join(facts.allowed_source_ranges)} only"
    return Exposure(
        reach=reach,
        port=config.gateway.listener_port,
        tls="none: plain HTTP",
        auth=f"API key required ({facts.mechanism})" if facts.auth == "apiKey"
        else "none: anyone who can reach the address can call the model",
    )


# --- beyond the namespace -------------------------------------------------------------------------

def beyond_namespace(registrations: list[Registration], config: StackConfig) -> list[str]:
    groups: dict[tuple[str, bool], list[str]] = {}  # (what, kept) -> names: rdma-0..7 on one line
    for r in sorted(registrations, key=lambda r: (r.type, r.name)):
        what = _beyond(r, config.namespace)
        if what:
            kept = r.retain_on_delete or r.inputs.get("retainOnDelete") is True
            head, _, name = what.partition("\t")
            groups.setdefault((head, kept), []).append(name)
    lines = []
    for (head, kept), names in groups.items():
        named = f" {summary.ranges([n for n in names if n])}" if any(names) else ""
        lines.append(f"{head}{named}: {'KEPT by pulumi destroy (retainOnDelete)' if kept else 'removed by pulumi destroy'}")
    if config.platform.kind == "gke":
        cloud = [r for r in registrations if r.custom and r.type.startswith("gcp:")]
        kept = [r for r in cloud if r.retain_on_delete]
        apis = [r for r in cloud if r.type == "gcp:projects/service:Service" and r.inputs.get("disableOnDestroy") is False]
        lines.append(f"GCP project {config.platform.project}: {len(cloud)} resources (networks, NAT, the cluster, node pools, "
                     f"buckets, service accounts): removed by pulumi destroy"
                     + (f", except {len(kept)} kept" if kept else "")
                     + (f"; the {len(apis)} APIs it enables stay enabled" if apis else ""))
    return lines or ["nothing: every object lives in the release's namespace"]


def _beyond(r: Registration, namespace: str) -> Optional[str]:
    if r.type.startswith("kubernetes:helm.sh/"):
        where = r.inputs.get("namespace") or "default"
        return f"Helm chart {r.inputs.get('chart')} {r.inputs.get('version', '')} in namespace {where} (with its CRDs and cluster roles)"
    if r.type.startswith("kubernetes:yaml/"):
        files = [r.inputs["file"]] if r.inputs.get("file") else r.inputs.get("files") or []
        return "CRD/manifest bundle " + ", ".join(files)
    if not r.is_kube_object:
        return None
    meta = r.inputs.get("metadata") or {}
    own = meta.get("namespace")
    if r.kind == "Namespace" and meta.get("name") == namespace:
        return None
    if own and own != namespace:
        privileged = " PRIVILEGED" if _privileged(r) else ""
        return f"{r.kind} {own}/{meta.get('name')}{privileged}"
    if not own:
        return f"cluster-scoped {r.kind}\t{meta.get('name')}"
    return None


def _privileged(r: Registration) -> bool:
    w = next(objects.workloads([r]), None) if r.kind in objects.WORKLOAD_KINDS else None
    return bool(w) and any((c.get("securityContext") or {}).get("privileged") for c in w.containers)


# --- outputs --------------------------------------------------------------------------------------

def outputs(values: dict[str, Any]) -> list[str]:
    flat = dict(_flatten(values))
    lines = []
    for key, value in flat.items():
        if key in DECIDED_AT_UP or value == COMPUTED:
            lines.append(f"{key}: {COMPUTED} ({DECIDED_AT_UP.get(key, 'known after pulumi up')})")
        else:
            text = str(value)
            lines.append(f"{key}: {text if len(text) <= 90 else text[:87] + '...'}")
    return lines or ["none"]


def _flatten(value: Any, prefix: str = ""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, value


def verify_and_destroy(stack: str, config: StackConfig) -> list[str]:
    lines = []
    if config.verification.enabled:
        lines.append(f"verify: `pulumi up` waits for the verification Job; then `pulumi stack output verification -s {stack}` "
                     "(status pass) and its `logs` command show each step")
    else:
        lines.append("verify: verification is off; run the servedRequests commands before and after the curl")
    lines.append(f"call it: `$(pulumi stack output chatCompletionsCurl -s {stack})`")
    destroy = f"destroy: `pulumi destroy -s {stack}` removes all of the above in one run"
    if config.platform.kind == "gke" and config.platform.deletion_protection:
        destroy += "; platform.deletionProtection is true: set it false and `pulumi up` first"
    lines.append(destroy)
    return lines
