"""The gateway provider: Gateway API + Inference Extension CRDs, a control plane, and the Gateway.

Third-party control planes (Istio, kgateway) come from their Helm charts; the objects we own
(the Gateway and its parameters) are typed resources, so previews show field-level diffs.
"""

from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.config.model import GatewayConfig
from components.kube import child, meta
from components.names import Release
from components.security.exposure import service_type  # security (issue 13): ClusterIP unless public
from components.versions import ISTIO_CHART_REPO, KGATEWAY_CHART_REPO, Versions

GATEWAY_API = "gateway.networking.k8s.io/v1"
LISTENER_NAME = "default"


class CustomResourceWithStatus(k8s.apiextensions.CustomResource):
    """A CustomResource whose `status` is read back (e.g. a Gateway's assigned address)."""

    status: pulumi.Output[Any]

    def _internal_init(self, resource_name, api_version, kind, opts=None, metadata=None, spec=None, __props__=None):
        props = k8s.apiextensions.CustomResourceArgs.__new__(k8s.apiextensions.CustomResourceArgs)
        props.__dict__.update(api_version=api_version, kind=kind, metadata=metadata, spec=spec, status=None)
        pulumi.CustomResource.__init__(self, f"kubernetes:{api_version}:{kind}", resource_name, props, opts)


class GatewayProvider(pulumi.ComponentResource):
    crds: list[pulumi.Resource]
    gateway: CustomResourceWithStatus
    class_name: str

    def __init__(
        self,
        name: str,
        config: GatewayConfig,
        release: Release,
        versions: Versions,
        class_name: str,
        manages_crds: bool,
        depends_on: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
        extension_providers: Optional[list[dict]] = None,  # security: istiod meshConfig.extensionProviders
    ):
        super().__init__("llmd:gateway:GatewayProvider", name, None, opts)
        self._extension_providers = extension_providers or []  # security (issue 13)
        managed = config.provider == "gke"
        self.crds = [] if manages_crds or not config.install_crds else self._crds(name, versions, managed)
        install_control_plane = config.install_control_plane and not managed
        control_plane = self._control_plane(name, config, versions) if install_control_plane else []
        # What provides the gateway's kinds (its CRDs and controller): custom resources wait for it.
        self.kinds_ready: list[pulumi.Resource] = self.crds + control_plane
        self.class_name = class_name
        labels = release.component_labels("inference-gateway")

        parameters_ref, parameters = None, []
        if config.provider == "istio":
            parameters = [self._istio_parameters(name, config, release, labels, depends_on)]
            parameters_ref = {"group": "", "kind": "ConfigMap", "name": release.gateway}
        elif config.provider == "kgateway":
            parameters = [self._kgateway_parameters(name, config, release, labels, depends_on + self.crds + control_plane)]
            parameters_ref = {"group": "gateway.kgateway.dev", "kind": "GatewayParameters", "name": release.gateway}

        gateway_labels = dict(labels)
        if config.provider == "istio":
            gateway_labels["istio.io/enable-inference-extproc"] = "true"
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
        if parameters_ref:
            spec["infrastructure"] = {"parametersRef": parameters_ref}
        self.gateway = CustomResourceWithStatus(
            f"{name}-gateway",
            api_version=GATEWAY_API,
            kind="Gateway",
            # Pulumi waits until the controller has programmed it, so the address output is real.
            metadata=meta(release.gateway, release.namespace, gateway_labels, {"pulumi.com/waitFor": "condition=Programmed"}),
            spec=spec,
            opts=child(self, depends_on=depends_on + self.crds + control_plane + parameters),
        )
        self.address = self.gateway.status.apply(_first_address)
        fallback = _service_host(config.provider, release)
        port = config.listener_port
        # Where in-cluster clients (verification, benchmark) reach the Gateway.
        self.url = self.address.apply(lambda address: f"http://{address or fallback}:{port}")
        self.register_outputs({"gatewayName": release.gateway, "className": self.class_name, "address": self.address})

    # --- CRDs ------------------------------------------------------------------------------
    def _crds(self, name: str, versions: Versions, gke_managed_gateway: bool) -> list[pulumi.Resource]:
        """The pinned CRD bundles; on GKE the Gateway API CRDs come with the cluster's Gateway API channel."""
        bundles = [("inference-extension-crds", versions.inference_extension_crd_url)]
        if not gke_managed_gateway:
            bundles.insert(0, ("gateway-api-crds", versions.gateway_api_crd_url))
        return [k8s.yaml.v2.ConfigFile(f"{name}-{bundle}", file=url, opts=child(self)) for bundle, url in bundles]

    # --- control planes --------------------------------------------------------------------
    def _control_plane(self, name: str, config: GatewayConfig, versions: Versions) -> list[pulumi.Resource]:
        if config.provider == "istio":
            return self._istio(name, versions)
        return self._kgateway(name, versions)

    def _system_namespace(self, name: str, namespace: str) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(f"{name}-{namespace}", metadata=meta(namespace), opts=child(self))

    def _istio(self, name: str, versions: Versions) -> list[pulumi.Resource]:
        ns = self._system_namespace(name, "istio-system")
        repo = k8s.helm.v4.RepositoryOptsArgs(repo=ISTIO_CHART_REPO)
        base = k8s.helm.v4.Chart(
            f"{name}-istio-base",
            chart="base",
            version=versions.istio_chart,
            namespace="istio-system",
            repository_opts=repo,
            opts=child(self, depends_on=[ns, *self.crds]),
        )
        inference_flag = {"ENABLE_GATEWAY_API_INFERENCE_EXTENSION": "true"}
        istiod = k8s.helm.v4.Chart(
            f"{name}-istiod",
            chart="istiod",
            version=versions.istio_chart,
            namespace="istio-system",
            repository_opts=repo,
            values={
                # security (issue 13): the API-key authorizer the Gateway's AuthorizationPolicy names.
                "meshConfig": {"defaultConfig": {"proxyMetadata": inference_flag},
                               **({"extensionProviders": self._extension_providers} if self._extension_providers else {})},
                "pilot": {"env": inference_flag},
                "tag": versions.istio_chart,
                "hub": "docker.io/istio",
            },
            opts=child(self, depends_on=[base, *self.crds]),
        )
        return [ns, base, istiod]

    def _kgateway(self, name: str, versions: Versions) -> list[pulumi.Resource]:
        ns = self._system_namespace(name, "kgateway-system")
        crds = k8s.helm.v4.Chart(
            f"{name}-kgateway-crds",
            chart=f"{KGATEWAY_CHART_REPO}/kgateway-crds",
            version=versions.kgateway_chart,
            namespace="kgateway-system",
            opts=child(self, depends_on=[ns, *self.crds]),
        )
        controller = k8s.helm.v4.Chart(
            f"{name}-kgateway",
            chart=f"{KGATEWAY_CHART_REPO}/kgateway",
            version=versions.kgateway_chart,
            namespace="kgateway-system",
            values={"inferenceExtension": {"enabled": True}},
            opts=child(self, depends_on=[crds, *self.crds]),
        )
        return [ns, crds, controller]

    # --- per-gateway parameters ------------------------------------------------------------
    def _istio_parameters(self, name, config: GatewayConfig, release: Release, labels, depends_on):
        level = config.proxy_log_level
        proxy_args = [
            "proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
            "--proxyLogLevel", level, "--proxyComponentLogLevel", f"misc:{level}",
            "--log_output_level", f"default:{level}",
        ]
        res = config.proxy_resources
        deployment = {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "istio-proxy",
                                "args": proxy_args,
                                "resources": {
                                    "limits": {"cpu": res.cpu_limit, "memory": res.memory_limit},
                                    "requests": {"cpu": res.cpu_request, "memory": res.memory_request},
                                },
                            }
                        ]
                    }
                }
            }
        }
        return k8s.core.v1.ConfigMap(
            f"{name}-gateway-parameters",
            metadata=meta(release.gateway, release.namespace, labels),
            data={
                "deployment": yaml.safe_dump(deployment, sort_keys=False),
                "service": yaml.safe_dump({"spec": {"type": service_type(config)}}),  # security (issue 13)
            },
            opts=child(self, depends_on=depends_on),
        )

    def _kgateway_parameters(self, name, config: GatewayConfig, release: Release, labels, depends_on):
        res = config.proxy_resources
        restricted = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"}}
        return k8s.apiextensions.CustomResource(
            f"{name}-gateway-parameters",
            api_version="gateway.kgateway.dev/v1alpha1",
            kind="GatewayParameters",
            metadata=meta(release.gateway, release.namespace, labels),
            spec={
                "kube": {
                    "envoyContainer": {
                        "securityContext": {**restricted, "runAsNonRoot": True},
                        "bootstrap": {"logLevel": _envoy_level(config.proxy_log_level)},
                        "resources": {
                            "limits": {"cpu": res.cpu_limit, "memory": res.memory_limit},
                            "requests": {"cpu": res.cpu_request, "memory": res.memory_request},
                        },
                    },
                    "service": {"type": service_type(config)},  # security (issue 13)
                    "sdsContainer": {"securityContext": restricted},
                }
            },
            opts=child(self, depends_on=depends_on),
        )


def _service_host(provider: str, release: Release) -> str:
    """The data-plane Service the controller creates for the Gateway, used until status has an address."""
    service = {"istio": f"{release.gateway}-istio", "kgateway": release.gateway}.get(provider)
    return f"{service}.{release.namespace}.svc.cluster.local" if service else "gateway-address-pending"


def _envoy_level(level: str) -> str:
    return {"warning": "warn"}.get(level, level)


def _first_address(status: Any) -> str:
    addresses = (status or {}).get("addresses") or []
    return addresses[0].get("value", "") if addresses else ""
