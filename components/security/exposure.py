"""Where the endpoint is reachable from, as facts the gateway, the plan and the outputs share.

Private by default: on an existing cluster the data-plane Service of Istio or kgateway stays
ClusterIP (reachable from inside the cluster only) unless `gateway.exposure: public` asks for a
LoadBalancer; on GKE the Gateway class is the regional internal one (`gke-l7-rilb`, reachable from
the VPC, through the proxy-only subnet the platform creates) unless public
(`gke-l7-regional-external-managed`).
"""

from dataclasses import dataclass
from typing import Literal, Optional

from components.config.model import GKE_CLASSES, GatewayConfig, StackConfig

# GatewayClasses whose load balancer has an address on the internet (tools/invariants.py keeps the same list).
PUBLIC_GKE_CLASSES = frozenset({GKE_CLASSES["public"], "gke-l7-global-external-managed", "gke-l7-gxlb"})


@dataclass(frozen=True)
class Exposure:
    provider: str
    exposure: Literal["internal", "public"]
    auth: Literal["none", "apiKey"]
    gateway_class: str
    service_type: Optional[str]  # the data-plane Service type; None where the cloud runs the proxies (GKE)
    allowed_source_ranges: tuple[str, ...]
    mechanism: str  # how keys are checked, in words

    @property
    def public(self) -> bool:
        return self.exposure == "public"

    def summary(self) -> str:
        """One line, in plain words, for the plan's summary."""
        if self.public:
            where = "PUBLIC: reachable from the internet"
            if self.allowed_source_ranges:
                where += f" from {', '.join(self.allowed_source_ranges)} only"
        elif self.provider == "gke":
            where = "internal: reachable from the cluster's VPC only"
        else:
            where = "internal: reachable from inside the cluster only (ClusterIP)"
        who = "no key required" if self.auth == "none" else f"API key required ({self.mechanism})"
        return f"{where}; {who}"


def service_type(gateway: GatewayConfig) -> str:
    """The Istio/kgateway data-plane Service: ClusterIP (in-cluster only) unless `gateway.exposure: public`."""
    return "LoadBalancer" if gateway.exposure == "public" else "ClusterIP"


MECHANISMS = {
    "istio": "Istio ext_authz, keys from a Secret",
    "gke": "Cloud Armor rule on the load balancer",
    "kgateway": "none available in kgateway v2.1.1",
    "agentgateway": "agentgateway apiKeyAuthentication, keys from a Secret",
}


def exposure_of(config: StackConfig) -> Exposure:
    gateway = config.gateway
    managed = gateway.provider == "gke"
    return Exposure(
        provider=gateway.provider,
        exposure=gateway.exposure,
        auth=config.auth_mode,
        gateway_class=config.gateway_class,
        service_type=None if managed else service_type(gateway),
        allowed_source_ranges=tuple(gateway.allowed_source_ranges),
        mechanism=MECHANISMS.get(gateway.provider, "provider-specific"),
    )
