"""Istio: istiod from the `base` and `istiod` charts, a ConfigMap of Gateway parameters, a DestinationRule to the picker."""

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.gateway.base import GatewayBuild, InClusterProxy, Parameters, PoolTarget, proxy_sizing, retain_crds
from components.gateway.istio_webhooks import IgnoreIstiodOwnedWebhookFields
from components.kube import child, meta
from components.names import Release
from components.security.exposure import service_type
from components.versions import ISTIO_CHART_REPO

NAMESPACE = "istio-system"


class Istio(InClusterProxy):
    name = "istio"
    control_plane_namespace = NAMESPACE
    # The guide's istio environment (llm-d-infra v1.3.6 values via common-configurations/istio.yaml):
    # limits 16 CPU / 16Gi, requests 4 CPU / 4Gi.
    default_proxy_resources = proxy_sizing(cpu_request="4", memory_request="4Gi", cpu_limit="16", memory_limit="16Gi")

    def control_plane(self, build: GatewayBuild, crds: list[pulumi.Resource]) -> list[pulumi.Resource]:
        parent, name, version = build.parent, build.name, build.versions.istio_chart
        ns = k8s.core.v1.Namespace(f"{name}-{NAMESPACE}", metadata=meta(NAMESPACE), opts=child(parent))
        repo = k8s.helm.v4.RepositoryOptsArgs(repo=ISTIO_CHART_REPO)
        # istiod flips the charts' webhooks to failurePolicy Fail and writes their caBundle: leave it those fields.
        webhooks = IgnoreIstiodOwnedWebhookFields()
        base = k8s.helm.v4.Chart(
            f"{name}-istio-base",
            chart="base",
            version=version,
            namespace=NAMESPACE,
            repository_opts=repo,
            opts=child(parent, depends_on=[ns, *crds], transforms=[webhooks, retain_crds]),
        )
        inference_flag = {"ENABLE_GATEWAY_API_INFERENCE_EXTENSION": "true"}
        istiod = k8s.helm.v4.Chart(
            f"{name}-istiod",
            chart="istiod",
            version=version,
            namespace=NAMESPACE,
            repository_opts=repo,
            values={
                # security (issue 13): the API-key authorizer the Gateway's AuthorizationPolicy names.
                "meshConfig": {"defaultConfig": {"proxyMetadata": inference_flag},
                               **({"extensionProviders": build.extension_providers} if build.extension_providers else {})},
                "pilot": {"env": inference_flag},
                "tag": version,
                "hub": "docker.io/istio",
            },
            opts=child(parent, depends_on=[base, *crds], transforms=[webhooks]),
        )
        return [ns, base, istiod]

    def parameters(self, build: GatewayBuild, kinds_ready: list[pulumi.Resource]) -> Parameters:
        level, release = build.config.proxy_log_level, build.release
        proxy_args = [
            "proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
            "--proxyLogLevel", level, "--proxyComponentLogLevel", f"misc:{level}",
            "--log_output_level", f"default:{level}",
        ]
        container = {"name": "istio-proxy", "args": proxy_args}
        if resources := self.proxy_resources(build.config):
            container["resources"] = resources
        deployment = {"spec": {"template": {"spec": {"containers": [container]}}}}
        config_map = k8s.core.v1.ConfigMap(
            f"{build.name}-gateway-parameters",
            metadata=meta(release.gateway, release.namespace, build.labels),
            data={
                "deployment": yaml.safe_dump(deployment, sort_keys=False),
                "service": yaml.safe_dump({"spec": {"type": service_type(build.config)}}),  # security (issue 13)
            },
            opts=child(build.parent, depends_on=build.depends_on),
        )
        return Parameters([config_map], {"group": "", "kind": "ConfigMap", "name": release.gateway})

    def gateway_labels(self) -> dict[str, str]:
        return {"istio.io/enable-inference-extproc": "true"}

    def service_host(self, release: Release) -> Optional[str]:
        return f"{release.gateway}-istio.{release.namespace}.svc.cluster.local"

    def pool_policies(self, target: PoolTarget) -> list[pulumi.Resource]:
        """Istio must speak TLS to the picker's self-signed gRPC endpoint, with room for many streams."""
        release = target.release
        rule = k8s.apiextensions.CustomResource(
            f"{target.name}-epp-destination-rule",
            api_version="networking.istio.io/v1beta1",
            kind="DestinationRule",
            metadata=meta(release.epp, release.namespace, target.labels),
            spec={
                "host": release.epp_host,
                "trafficPolicy": {
                    "tls": {"mode": "SIMPLE", "insecureSkipVerify": True},
                    "connectionPool": {
                        "http": {
                            "http1MaxPendingRequests": 256000,
                            "maxRequestsPerConnection": 256000,
                            "http2MaxRequests": 256000,
                            "idleTimeout": "900s",
                        },
                        "tcp": {"maxConnections": 256000, "maxConnectionDuration": "1800s", "connectTimeout": "900s"},
                    },
                },
            },
            # Its kind comes with Istio's base chart.
            opts=child(target.parent, target.depends_on + target.kinds_ready),
        )
        return [rule]
