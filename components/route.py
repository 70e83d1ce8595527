"""The HTTPRoute that sends every request through the Gateway to the InferencePool."""

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.gateway.base import GATEWAY_API, LISTENER_NAME, GatewayBackend
from components.kube import child, meta
from components.names import INFERENCE_POOL_GROUP, Release


class Route(pulumi.ComponentResource):
    route: k8s.apiextensions.CustomResource

    def __init__(
        self,
        name: str,
        release: Release,
        gateway: GatewayBackend,
        depends_on: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("llmd:serving:Route", name, None, opts)
        backend = {"group": INFERENCE_POOL_GROUP, "kind": "InferencePool", "name": release.pool, "weight": 1}
        rule: dict = {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [backend]}
        # The provider adds what its data plane reads from the route (e.g. port and timeouts).
        rule = gateway.route_rule(rule, backend)
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
