"""kgateway: the `kgateway-crds` and `kgateway` charts, and a GatewayParameters object per Gateway."""

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.gateway.base import GatewayBuild, InClusterProxy, Parameters, crds_then_controller, proxy_sizing
from components.kube import child, meta
from components.names import Release
from components.security.exposure import service_type
from components.versions import KGATEWAY_CHART_REPO, Versions

NAMESPACE = "kgateway-system"
RESTRICTED = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"}}


class Kgateway(InClusterProxy):
    name = "kgateway"
    control_plane_namespace = NAMESPACE
    # The guide's kgateway environment sets only the class, so its GatewayParameters carry the
    # llm-d-infra v1.3.6 chart defaults (llmd-pd-spec.md 2.1): limits 2 CPU / 1Gi, requests 100m / 128Mi.
    default_proxy_resources = proxy_sizing(cpu_request="100m", memory_request="128Mi", cpu_limit="2", memory_limit="1Gi")

    def schema_sets(self, versions: Versions) -> tuple[str, ...]:
        return (f"kgateway-{versions.kgateway_chart}",)

    def control_plane(self, build: GatewayBuild, crds: list[pulumi.Resource]) -> list[pulumi.Resource]:
        return crds_then_controller(build, crds, "kgateway", NAMESPACE, KGATEWAY_CHART_REPO, build.versions.kgateway_chart)

    def parameters(self, build: GatewayBuild, kinds_ready: list[pulumi.Resource]) -> Parameters:
        release = build.release
        envoy = {
            "securityContext": {**RESTRICTED, "runAsNonRoot": True},
            "bootstrap": {"logLevel": _envoy_level(build.config.proxy_log_level)},
        }
        if resources := self.proxy_resources(build.config):
            envoy["resources"] = resources
        params = k8s.apiextensions.CustomResource(
            f"{build.name}-gateway-parameters",
            api_version="gateway.kgateway.dev/v1alpha1",
            kind="GatewayParameters",
            metadata=meta(release.gateway, release.namespace, build.labels),
            spec={"kube": {"envoyContainer": envoy, "service": {"type": service_type(build.config)}, "sdsContainer": {"securityContext": RESTRICTED}}},
            # Its kind comes with the kgateway-crds chart.
            opts=child(build.parent, depends_on=build.depends_on + kinds_ready),
        )
        return Parameters([params], {"group": "gateway.kgateway.dev", "kind": "GatewayParameters", "name": release.gateway})

    def service_host(self, release: Release) -> Optional[str]:
        return f"{release.gateway}.{release.namespace}.svc.cluster.local"


def _envoy_level(level: str) -> str:
    return {"warning": "warn"}.get(level, level)
