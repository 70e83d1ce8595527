"""The gateway: Gateway API + Inference Extension CRDs, the provider's control plane, and the Gateway.

Third-party control planes come from their Helm charts (the provider modules); the objects we own
(the Gateway and its parameters) are typed resources, so previews show field-level diffs.
"""

from typing import Any, Optional

import pulumi

from components.config.model import GatewayConfig
from components.gateway import crds
from components.gateway.base import GATEWAY_API, LISTENER_NAME, GatewayBackend, GatewayBuild
from components.gateway.select import gateway_backend
from components.gateway.status import CustomResourceWithStatus
from components.kube import child, meta
from components.names import Release
from components.versions import Versions


class GatewayProvider(pulumi.ComponentResource):
    crds: list[pulumi.Resource]
    gateway: CustomResourceWithStatus
    class_name: str
    backend: GatewayBackend

    def __init__(
        self,
        name: str,
        config: GatewayConfig,
        release: Release,
        versions: Versions,
        platform_manages_crds: bool,
        platform_manages_gateway_api_crds: bool,
        depends_on: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
        extension_providers: Optional[list[dict]] = None,  # security: istiod meshConfig.extensionProviders
    ):
        super().__init__("llmd:gateway:GatewayProvider", name, None, opts)
        self.backend = backend = gateway_backend(config.provider)
        labels = release.component_labels("inference-gateway")
        build = GatewayBuild(self, name, config, release, versions, labels, depends_on, list(extension_providers or []))
        # The pinned Gateway API and Inference Extension CRDs, unless the platform manages them.
        bundles = [] if platform_manages_crds else crds.chosen(platform_manages_gateway_api_crds, versions)
        self.crds = [r for bundle, version, _ in bundles for r in crds.install(self, name, bundle, version, config.crds)]
        control_plane = backend.control_plane(build, self.crds) if config.install_control_plane else []
        # What provides the gateway's kinds (its CRDs and controller): custom resources wait for it.
        self.kinds_ready: list[pulumi.Resource] = self.crds + control_plane
        self.class_name = backend.class_name(config, versions)
        parameters = backend.parameters(build, self.kinds_ready)

        spec: dict[str, Any] = {
            "gatewayClassName": self.class_name,
            "listeners": [
                {
                    "name": LISTENER_NAME,
                    "port": config.listener_port,
                    "protocol": "HTTP",
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                }
            ],
        }
        if parameters.ref:
            spec["infrastructure"] = {"parametersRef": parameters.ref}
        # Pulumi waits until the controller has programmed it, so the address output is real.
        annotations = {"pulumi.com/waitFor": "condition=Programmed", **backend.gateway_annotations()}
        self.gateway = CustomResourceWithStatus(
            f"{name}-gateway",
            api_version=GATEWAY_API,
            kind="Gateway",
            metadata=meta(release.gateway, release.namespace, {**labels, **backend.gateway_labels()}, annotations),
            spec=spec,
            opts=child(self, depends_on=depends_on + self.kinds_ready + parameters.resources),
        )
        self.address = self.gateway.status.apply(_first_address)
        host = backend.service_host(release) or "gateway-address-pending"
        port = config.listener_port
        # Where in-cluster clients (verification, benchmark) reach the Gateway.
        self.url = self.address.apply(lambda address: f"http://{address or host}:{port}")
        self.register_outputs({"gatewayName": release.gateway, "className": self.class_name, "address": self.address})


def _first_address(status: Any) -> str:
    addresses = (status or {}).get("addresses") or []
    return addresses[0].get("value", "") if addresses else ""
