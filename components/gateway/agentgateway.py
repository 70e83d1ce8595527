"""agentgateway: the `agentgateway-crds` and `agentgateway` charts, and AgentgatewayParameters per Gateway.

Values verified against the charts at the pinned versions:
- v2.2.0-beta.3 (built from kgateway-dev/kgateway `install/helm/agentgateway`, read at 2425a1fbd, the
  last commit before beta.4's first change; see ../shared/crds/README.md): `inferenceExtension.enabled`
  (values.yaml:97-100) adds env KGW_ENABLE_INFER_EXT (templates/deployment.yaml:106-109) and the
  inference-extension ClusterRole (templates/inf_ext_rbac.yaml). Gateway class `agentgateway-v2`
  (pkg/kgateway/wellknown/controller.go:11); a parametersRef to AgentgatewayParameters is accepted
  (pkg/kgateway/deployer/gateway_parameters.go:264-266).
- v1.1.0 (agentgateway/agentgateway@v1.1.0 `controller/install/helm/agentgateway`): the same value
  (values.yaml:201-203) adds env AGW_ENABLE_INFER_EXT (templates/deployment.yaml:141-144). Class
  `agentgateway` (controller/pkg/wellknown/controller.go:5); parametersRef must be AgentgatewayParameters
  (controller/pkg/deployer/agentgateway_parameters.go).
The proxy's Service is named after the Gateway (controller/pkg/deployer/agentgateway_parameters.go:350,
controller/pkg/helm/agentgateway/templates/service.yaml at v1.1.0), and its proxy chart sets no
resources by default: the guide's agentgateway environment runs the proxy unsized, and so do we unless
`gateway.proxyResources` says otherwise.
"""

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.config.model import GatewayConfig, StackConfig
from components.config.problems import Problem
from components.gateway.base import GatewayBuild, InClusterProxy, Parameters, crds_then_controller
from components.kube import child, meta
from components.names import Release
from components.security.exposure import service_type
from components.versions import AGENTGATEWAY_CHART_REPO, AGENTGATEWAY_KGATEWAY_DEV_CHART_REPO, Versions

NAMESPACE = "agentgateway-system"
GROUP = "agentgateway.dev"


@dataclass(frozen=True)
class Lineage:
    repo: str
    class_name: str


# By the chart version's major: v2.x are the kgateway-dev builds (llm-d v0.5.0), v1.x agentgateway's own (v0.9.0).
LINEAGES = {
    "v2": Lineage(AGENTGATEWAY_KGATEWAY_DEV_CHART_REPO, "agentgateway-v2"),
    "v1": Lineage(AGENTGATEWAY_CHART_REPO, "agentgateway"),
}


def lineage(version: str) -> Optional[Lineage]:
    return LINEAGES.get(version.split(".", 1)[0])


class Agentgateway(InClusterProxy):
    name = "agentgateway"
    control_plane_namespace = NAMESPACE

    def config_problems(self, config: StackConfig) -> list[Problem]:
        version = config.versions.agentgateway_chart
        if lineage(version):
            return []
        return [
            Problem(
                "versions.agentgatewayChart",
                f"is {version}; this program knows the agentgateway charts v2.x (kgateway-dev, llm-d v0.5.0) and "
                "v1.x (agentgateway.dev, llm-d v0.9.0). Use v2.2.0-beta.3 or v1.1.0.",
            )
        ]

    def class_name(self, config: GatewayConfig, versions: Versions) -> str:
        return _lineage(versions).class_name

    def schema_sets(self, versions: Versions) -> tuple[str, ...]:
        return (f"agentgateway-{versions.agentgateway_chart}",)

    def control_plane(self, build: GatewayBuild, crds: list[pulumi.Resource]) -> list[pulumi.Resource]:
        repo = _lineage(build.versions).repo
        return crds_then_controller(build, crds, "agentgateway", NAMESPACE, repo, build.versions.agentgateway_chart)

    def parameters(self, build: GatewayBuild, kinds_ready: list[pulumi.Resource]) -> Parameters:
        release = build.release
        spec: dict = {
            "logging": {"level": _rust_log_level(build.config.proxy_log_level)},
            # ClusterIP unless gateway.exposure is public, as for Istio and kgateway (components/security).
            "service": {"spec": {"type": service_type(build.config)}},
        }
        if resources := self.proxy_resources(build.config):
            spec["resources"] = resources
        params = k8s.apiextensions.CustomResource(
            f"{build.name}-gateway-parameters",
            api_version=f"{GROUP}/v1alpha1",
            kind="AgentgatewayParameters",
            metadata=meta(release.gateway, release.namespace, build.labels),
            spec=spec,
            # Its kind comes with the agentgateway-crds chart.
            opts=child(build.parent, depends_on=build.depends_on + kinds_ready),
        )
        return Parameters([params], {"group": GROUP, "kind": "AgentgatewayParameters", "name": release.gateway})

    def service_host(self, release: Release) -> Optional[str]:
        return f"{release.gateway}.{release.namespace}.svc.cluster.local"


def _lineage(versions: Versions) -> Lineage:
    found = lineage(versions.agentgateway_chart)
    if found is None:  # config_problems refuses it first; a guard for direct use
        raise ValueError(f"agentgateway chart {versions.agentgateway_chart}: expected v1.x or v2.x")
    return found


def _rust_log_level(level: str) -> str:
    """agentgateway takes RUST_LOG syntax: error, warn, info, debug, trace, off."""
    return {"warning": "warn", "critical": "error"}.get(level, level)
