"""The managed GKE Gateway: no control plane to install; health-check and backend policies on the pool."""

import pulumi
import pulumi_kubernetes as k8s

from components.config.model import GKE_CLASSES, GatewayConfig
from components.gateway.base import GatewayBackend, PoolTarget
from components.kube import child, meta
from components.names import INFERENCE_POOL_GROUP, POOL_TARGET_PORT
from components.versions import Versions


class Gke(GatewayBackend):
    name = "gke"
    platform_kind = "gke"

    def class_name(self, config: GatewayConfig, versions: Versions) -> str:
        return GKE_CLASSES[config.exposure]  # gateway.gkeClass, when set, must agree (config rules)

    def proxy_resources(self, config: GatewayConfig):
        return None  # Google's load balancer: no proxy in the cluster

    def pool_policies(self, target: PoolTarget) -> list[pulumi.Resource]:
        """The load balancer health-checks the pool's pods and allows long generations; the route
        leaves port and timeouts to the pool and these policies."""
        release = target.release
        ref = {"group": INFERENCE_POOL_GROUP, "kind": "InferencePool", "name": release.pool}
        health = k8s.apiextensions.CustomResource(
            f"{target.name}-health-check",
            api_version="networking.gke.io/v1",
            kind="HealthCheckPolicy",
            metadata=meta(release.pool, release.namespace, target.labels),
            spec={
                "targetRef": ref,
                "default": {
                    "timeoutSec": 2,
                    "checkIntervalSec": 2,
                    "config": {"type": "HTTP", "httpHealthCheck": {"requestPath": "/health", "port": POOL_TARGET_PORT}},
                },
            },
            opts=child(target.parent, target.depends_on + [target.pool]),
        )
        backend = k8s.apiextensions.CustomResource(
            f"{target.name}-backend-policy",
            api_version="networking.gke.io/v1",
            kind="GCPBackendPolicy",
            metadata=meta(release.pool, release.namespace, target.labels),
            spec={"targetRef": ref, "default": _backend_defaults(target)},
            opts=child(target.parent, target.depends_on + [target.pool] + target.security_ready),
        )
        return [health, backend]


def _backend_defaults(target: PoolTarget) -> dict:
    defaults = {"timeoutSec": 300, "logging": {"enabled": True}}
    if target.security_policy:
        defaults["securityPolicy"] = target.security_policy
    return defaults
