"""The contract every gateway provider module fulfils (istio.py, kgateway.py, agentgateway.py, gke.py).

A provider says what it needs (CRD bundles, a platform), what it installs (its control plane), what
its Gateway carries (class, parameters object and `infrastructure.parametersRef`, labels,
annotations), where in-cluster clients reach it before status has an address, and what it adds
around the InferencePool (policies) and the HTTPRoute's rule. Components ask the provider; none
tests a provider's name. Every hook has a neutral default, so a provider states only what differs.
"""

from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

import pulumi
import pulumi_kubernetes as k8s
from pydantic.alias_generators import to_camel

from components.config.model import GatewayConfig, ProxyResources, StackConfig
from components.config.problems import Problem
from components.kube import child, meta
from components.names import POOL_TARGET_PORT, Release
from components.versions import Versions

GATEWAY_API = "gateway.networking.k8s.io/v1"
LISTENER_NAME = "default"


@dataclass(frozen=True)
class GatewayBuild:
    """What a provider reads to build its objects (children of the GatewayProvider component)."""

    parent: pulumi.Resource
    name: str  # resource-name prefix of the component, e.g. "gateway"
    config: GatewayConfig
    release: Release
    versions: Versions
    labels: dict[str, str]  # the Gateway's component labels (its parameters object carries them too)
    depends_on: list[pulumi.Resource]  # the cluster and the release namespace
    # Client access (components/security): istiod meshConfig.extensionProviders (the API-key authorizer).
    extension_providers: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class PoolTarget:
    """What a provider reads to attach its objects to the InferencePool (children of the pool component)."""

    parent: pulumi.Resource
    name: str  # resource-name prefix of the pool component, e.g. "pool"
    release: Release
    labels: dict[str, str]
    depends_on: list[pulumi.Resource]  # the cluster and the release namespace
    kinds_ready: list[pulumi.Resource]  # what provides the gateway's kinds (CRDs, control plane)
    pool: pulumi.Resource
    # Client access (components/security): e.g. the Cloud Armor policy GKE's backend policy names, and
    # what such policies wait for.
    security_policy: Optional[str] = None
    security_ready: list[pulumi.Resource] = field(default_factory=list)


@dataclass(frozen=True)
class Parameters:
    """The Gateway's parameters object(s) and the `spec.infrastructure.parametersRef` naming them."""

    resources: list[pulumi.Resource] = field(default_factory=list)
    ref: Optional[dict[str, str]] = None


def proxy_sizing(**fields: str) -> ProxyResources:
    """A provider's default proxy sizing, e.g. proxy_sizing(cpu_request="4", memory_limit="16Gi")."""
    return ProxyResources.model_validate({to_camel(k): v for k, v in fields.items()})


CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def retain_crds(args: pulumi.ResourceTransformArgs) -> Optional[pulumi.ResourceTransformResult]:
    """A `transforms` entry for charts that carry CRDs: `pulumi destroy` keeps them (deleting a CRD
    deletes every object of its kind in the cluster, other teams' too)."""
    if args.type_ != CRD_TYPE:
        return None
    return pulumi.ResourceTransformResult(
        props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(retain_on_delete=True))
    )


def crds_then_controller(build: "GatewayBuild", crds: list[pulumi.Resource], product: str, namespace: str, repo: str, version: str) -> list[pulumi.Resource]:
    """The control plane of kgateway and agentgateway: a namespace, the `<product>-crds` chart (its CRDs
    kept by destroy), then the `<product>` chart with the inference extension on."""
    parent, name = build.parent, build.name
    ns = k8s.core.v1.Namespace(f"{name}-{namespace}", metadata=meta(namespace), opts=child(parent))
    own_crds = k8s.helm.v4.Chart(
        f"{name}-{product}-crds",
        chart=f"{repo}/{product}-crds",
        version=version,
        namespace=namespace,
        # Destroy keeps its CRDs: deleting one deletes every object of its kind in the cluster.
        opts=child(parent, depends_on=[ns, *crds], transforms=[retain_crds]),
    )
    controller = k8s.helm.v4.Chart(
        f"{name}-{product}",
        chart=f"{repo}/{product}",
        version=version,
        namespace=namespace,
        values={"inferenceExtension": {"enabled": True}},
        opts=child(parent, depends_on=[own_crds, *crds]),
    )
    return [ns, own_crds, controller]


class GatewayBackend:
    """One gateway provider. Subclasses override what differs from these neutral defaults."""

    name: ClassVar[str]
    # Where its control plane runs when the stack installs it (None: nothing installed in-cluster).
    control_plane_namespace: ClassVar[Optional[str]] = None
    # The platform kind it needs (e.g. "gke" for the managed GKE Gateway), None for any cluster.
    platform_kind: ClassVar[Optional[str]] = None
    # Proxy sizing when `gateway.proxyResources` leaves a field unset (None: the controller's default).
    default_proxy_resources: ClassVar[ProxyResources] = ProxyResources()

    def config_problems(self, config: StackConfig) -> list[Problem]:
        """This provider's own rules on the stack config (checked before any resource is registered)."""
        return []

    def class_name(self, config: GatewayConfig, versions: Versions) -> str:
        return self.name

    def schema_sets(self, versions: Versions) -> tuple[str, ...]:
        """CRD schema sets (folders under $LLMD_CRD_DIR/_alt, e.g. `kgateway-v2.1.1`) this provider's objects need."""
        return ()

    def control_plane(self, build: GatewayBuild, crds: list[pulumi.Resource]) -> list[pulumi.Resource]:
        """The controller (Helm charts, namespaces) when the stack installs it; `crds` go first."""
        return []

    def parameters(self, build: GatewayBuild, kinds_ready: list[pulumi.Resource]) -> Parameters:
        return Parameters()

    def gateway_labels(self) -> dict[str, str]:
        return {}

    def gateway_annotations(self) -> dict[str, str]:
        return {}

    def service_host(self, release: Release) -> Optional[str]:
        """The data-plane Service the controller creates for the Gateway (None: not in the cluster)."""
        return None

    def pool_policies(self, target: PoolTarget) -> list[pulumi.Resource]:
        """Objects the provider needs around the InferencePool (e.g. Istio's DestinationRule)."""
        return []

    def route_rule(self, rule: dict[str, Any], backend: dict[str, Any]) -> dict[str, Any]:
        """The HTTPRoute rule for this provider, from the neutral rule and its pool backendRef."""
        return rule

    def proxy_resources(self, config: GatewayConfig) -> Optional[dict[str, dict[str, str]]]:
        """`resources` of the proxy container: the config's fields over the provider's defaults."""
        chosen, default = config.proxy_resources, self.default_proxy_resources
        pick = {f: getattr(chosen, f) or getattr(default, f) for f in ProxyResources.model_fields}
        out: dict[str, dict[str, str]] = {}
        for side, cpu, memory in (("limits", "cpu_limit", "memory_limit"), ("requests", "cpu_request", "memory_request")):
            values = {k: v for k, v in (("cpu", pick[cpu]), ("memory", pick[memory])) if v}
            if values:
                out[side] = values
        return out or None


class InClusterProxy(GatewayBackend):
    """A provider whose proxy runs in the cluster (Istio, kgateway, agentgateway)."""

    def route_rule(self, rule: dict[str, Any], backend: dict[str, Any]) -> dict[str, Any]:
        # The in-cluster proxies take the pool's port and the timeouts from the route; generations
        # stream for minutes, so no gateway timeout (0s disables it).
        return {**rule, "backendRefs": [{**backend, "port": POOL_TARGET_PORT}], "timeouts": {"request": "0s", "backendRequest": "0s"}}

