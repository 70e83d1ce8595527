"""The HTTPRoute that sends every request through the Gateway to the InferencePool."""

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.gateway import GATEWAY_API, LISTENER_NAME
from components.kube import child, meta
from components.names import INFERENCE_POOL_GROUP, POOL_TARGET_PORT, Release


class Route(pulumi.ComponentResource):
    route: k8s.apiextensions.CustomResource

    def __init__(
        self,
        name: str,
        release: Release,
        provider: str,
        depends_on: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("llmd:serving:Route", name, None, opts)
        backend = {"group": INFERENCE_POOL_GROUP, "kind": "InferencePool", "name": release.pool, "weight": 1}
        rule: dict = {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [backend]}
        # The GKE load balancer takes the port from the pool and its timeout from the pool's
        # GCPBackendPolicy; the in-cluster proxies get both here.
        if provider != "gke":
            backend["port"] = POOL_TARGET_PORT
            # Generations stream for minutes: no gateway timeout (0s disables it).
            rule["timeouts"] = {"request": "0s", "backendRequest": "0s"}
        self.route = k8s.apiextensions.CustomResource(
            name,
            api_version=GATEWAY_API,
            kind="HTTPRoute",
            metadata=meta(release.route, release.namespace, release.component_labels("route")),
            spec={
                "parentRefs": [
                    {
                        "group": "gateway.networking.k8s.io",
                        "kind": "Gateway",
                        "name": release.gateway,
                        "sectionName": LISTENER_NAME,
                    }
                ],
                "rules": [rule],
            },
            opts=child(self, depends_on),
        )
        self.register_outputs({"routeName": release.route})
