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
        depends_on: list[pulumi.Resource],
        # Long generations stream for minutes: no gateway timeout (0s) unless the provider needs one.
        timeouts: Optional[dict[str, str]] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("llmd:serving:Route", name, None, opts)
        rule: dict = {
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [
                {
                    "group": INFERENCE_POOL_GROUP,
                    "kind": "InferencePool",
                    "name": release.pool,
                    "port": POOL_TARGET_PORT,
                    "weight": 1,
                }
            ],
        }
        if timeouts:
            rule["timeouts"] = dict(timeouts)
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
