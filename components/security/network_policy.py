"""NetworkPolicies: model servers and the scheduler are reachable only through the route.

Ingress only (egress stays open: the servers read the hub, GCS and DNS). Each policy selects one
kind of pod of this release and lists who may reach which port, with every name, label and port from
`Release` (components/names.py):

- vLLM's serving port (prefill: the pool port; decode: the routing sidecar's pool port): the
  Gateway's data plane, the scheduler (it scrapes /metrics there), and on prefill the decode pods'
  sidecars, which send the prefill leg there;
- vLLM's own port on decode (behind the sidecar): metrics scrapes only (scheduler, monitoring,
  verification);
- the NIXL side channel (5600, and the per-DP-rank offsets) and UCX's TCP listeners: the other
  role's pods only, on any port (UCX's TCP transport, the fallback without RDMA, listens on
  ephemeral ports). Over RDMA the KV bytes go past IP rules altogether;
- the scheduler's gRPC port: the Gateway only; its metrics port: monitoring and verification.

Where the Gateway is the cloud's (GKE), its proxies come from the proxy-only subnet and its health
checks from Google's ranges (35.191.0.0/16, 130.211.0.0/22); otherwise the data-plane pods carry
`gateway.networking.k8s.io/gateway-name`. Probes come from the kubelet on the node, which every
NetworkPolicy implementation admits.
"""

from typing import Any, Optional, Sequence, Union

import pulumi
import pulumi_kubernetes as k8s

from components.config.model import StackConfig
from components.kube import child, meta
from components.names import (
    AUTHZ_PORT,
    EPP_GRPC_PORT,
    EPP_HEALTH_PORT,
    EPP_METRICS_PORT,
    NIXL_PORT_NAME,
    NIXL_SIDE_CHANNEL_PORT,
    ROLES,
    SIDECAR_PORT_NAME,
    VLLM_PORT_NAME,
    Release,
)

GOOGLE_HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
MONITORING_NAMESPACES = {"gmp": ("gmp-system",), "prometheus-operator": ("monitoring",)}
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _port(port: Union[int, str], end: Optional[int] = None) -> dict:
    """A port by number (with an optional range end) or by the container port's name."""
    out: dict[str, Any] = {"protocol": "TCP", "port": port}
    if end is not None and isinstance(port, int) and end > port:
        out["endPort"] = end
    return out


def _pods(selector: dict) -> dict:
    return {"podSelector": {"matchLabels": dict(selector)}}


def _namespaces(names: Sequence[str]) -> list[dict]:
    return [{"namespaceSelector": {"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(names)}]}}] if names else []


def job_selector(release: Release, component: str) -> dict:
    labels = release.component_labels(component)
    return {k: labels[k] for k in ("app.kubernetes.io/instance", "app.kubernetes.io/component")}


def gateway_peers(config: StackConfig, release: Release) -> list[dict]:
    """Where the Gateway's requests come from."""
    if config.gateway.provider == "gke":
        proxy_only = config.platform.network.proxy_only
        return [{"ipBlock": {"cidr": cidr}} for cidr in (proxy_only, *GOOGLE_HEALTH_CHECK_RANGES)]
    return [_pods(release.gateway_selector)]


def monitoring_namespaces(config: StackConfig) -> tuple[str, ...]:
    if not config.monitoring.enabled:
        return ()
    return tuple(config.monitoring.namespaces or MONITORING_NAMESPACES[config.metrics_backend])


def policies(config: StackConfig, release: Release) -> dict[str, dict]:
    """Name -> spec of every NetworkPolicy of the release (pure data, so tests read it directly)."""
    gateway = gateway_peers(config, release)
    epp = [_pods(release.epp_selector)]
    scrapers = epp + _namespaces(monitoring_namespaces(config))
    if config.verification.enabled:
        scrapers = scrapers + [_pods(job_selector(release, "verification"))]
    specs: dict[str, dict] = {}
    for role in ROLES:
        other = "decode" if role == "prefill" else "prefill"
        serving_from = gateway + scrapers + ([_pods(release.role_selector("decode"))] if role == "prefill" else [])
        # The pool port: vLLM itself on prefill, the routing sidecar on decode.
        pool_port = SIDECAR_PORT_NAME if release.has_routing_sidecar(role) else VLLM_PORT_NAME
        ingress = [{"from": serving_from, "ports": [_port(pool_port)]}]
        if release.has_routing_sidecar(role):
            ingress.append({"from": scrapers, "ports": [_port(VLLM_PORT_NAME)]})
        # The other role: NIXL's side channel (every DP rank's port) and, when UCX runs the KV transfer
        # over TCP (no RDMA on the path, or UCX_TLS with tcp), its own listeners on ephemeral ports.
        # A port list here would turn that slow-but-working fallback into a failed transfer.
        ingress.append({"from": [_pods(release.role_selector(other))]})
        specs[release.network_policy(role)] = {
            "podSelector": {"matchLabels": release.role_selector(role)},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        }
    epp_ingress = [{"from": gateway, "ports": [_port(EPP_GRPC_PORT)]}]
    if config.gateway.provider == "gke":  # the load balancer health-checks its ext_proc backend
        epp_ingress.append({"from": gateway, "ports": [_port(EPP_HEALTH_PORT)]})
    epp_scrapers = _namespaces(monitoring_namespaces(config))
    if config.verification.enabled:
        epp_scrapers = epp_scrapers + [_pods(job_selector(release, "verification"))]
    if epp_scrapers:
        epp_ingress.append({"from": epp_scrapers, "ports": [_port(EPP_METRICS_PORT)]})
    specs[release.network_policy("epp")] = {
        "podSelector": {"matchLabels": release.epp_selector},
        "policyTypes": ["Ingress"],
        "ingress": epp_ingress,
    }
    if config.auth_mode == "apiKey" and config.gateway.provider == "istio":
        specs[f"{release.authz}"] = {
            "podSelector": {"matchLabels": release.authz_selector},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": gateway, "ports": [_port(AUTHZ_PORT)]}],
        }
    return specs


def build(parent: pulumi.Resource, name: str, config: StackConfig, release: Release, depends_on) -> list[pulumi.Resource]:
    labels = release.component_labels("network-policy")
    return [
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol-{policy_name}",
            metadata=meta(policy_name, release.namespace, labels),
            spec=spec,
            opts=child(parent, depends_on),
        )
        for policy_name, spec in policies(config, release).items()
    ]
