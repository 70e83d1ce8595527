"""Who may call the model: exposure, API-key authentication per gateway provider, NetworkPolicies.

`Security` (`llmd:security:Security`) owns the objects; the gateway reads `exposure_of` for its
Service type or GKE class, and istiod's mesh config reads `mesh_extension_providers`. Each
provider's authentication is one module, chosen from `AUTH_PROVIDERS` by provider name, so a new
gateway provider adds a module and a line (or is refused by components/config/security_rules.py).
"""

from dataclasses import dataclass, field
from typing import Callable, Optional

import pulumi

from components.config.model import StackConfig
from components.names import Release
from components.security import auth_agentgateway, auth_istio, network_policy
from components.security.exposure import Exposure, exposure_of
from components.security.keys import KeyRef, key_ref, key_secret

__all__ = ["AUTH_PROVIDERS", "Exposure", "KeyRef", "Security", "exposure_of", "key_ref", "mesh_extension_providers"]


@dataclass
class AuthContext:
    parent: pulumi.Resource
    name: str
    config: StackConfig
    release: Release
    key: KeyRef
    api_key: Optional[pulumi.Output[str]]
    depends_on: list[pulumi.Resource]
    kinds_ready: list[pulumi.Resource]


@dataclass
class AuthResult:
    resources: list[pulumi.Resource] = field(default_factory=list)
    # GKE: the Cloud Armor policy the InferencePool's GCPBackendPolicy references.
    backend_security_policy: Optional[str] = None


def _istio(ctx: AuthContext) -> AuthResult:
    image = ctx.config.versions.verifier_image  # stock Python: the authorizer is standard library only
    return AuthResult(auth_istio.build(ctx.parent, ctx.name, ctx.release, image, ctx.key, ctx.depends_on, ctx.kinds_ready))


def _gke(ctx: AuthContext) -> AuthResult:
    from components.security import auth_gke  # noqa: PLC0415 - pulls in pulumi_gcp only on GKE

    policy = auth_gke.build(ctx.parent, ctx.name, ctx.config, ctx.release, ctx.api_key)
    return AuthResult([policy], backend_security_policy=ctx.release.security_policy)


def _agentgateway(ctx: AuthContext) -> AuthResult:
    return AuthResult(auth_agentgateway.build(ctx.parent, ctx.name, ctx.release, ctx.key, ctx.depends_on, ctx.kinds_ready))


# Provider name -> how it authenticates (components/config/security_rules.API_KEY_PROVIDERS lists the
# same names). kgateway v2.1.1 has no entry: the config refuses apiKey there.
AUTH_PROVIDERS: dict[str, Callable[[AuthContext], AuthResult]] = {"istio": _istio, "gke": _gke, "agentgateway": _agentgateway}


def mesh_extension_providers(config: StackConfig, release: Release) -> list[dict]:
    """What istiod's meshConfig.extensionProviders must hold for this release's authorizer."""
    if config.gateway.provider == "istio" and config.auth_mode == "apiKey":
        return [auth_istio.extension_provider(release)]
    return []


class Security(pulumi.ComponentResource):
    key: Optional[KeyRef]
    backend_security_policy: Optional[str]
    ready: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        config: StackConfig,
        release: Release,
        api_key: Optional[pulumi.Output[str]],
        depends_on: list[pulumi.Resource],
        kinds_ready: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("llmd:security:Security", name, None, opts)
        self.exposure = exposure_of(config)
        self.key = key_ref(config, release)
        self.backend_security_policy = None
        self.ready: list[pulumi.Resource] = []
        labels = release.component_labels("security")
        if self.key is not None:
            if not self.key.external:
                self.ready.append(key_secret(self, name, release, api_key, labels, depends_on))
            ctx = AuthContext(self, name, config, release, self.key, api_key, depends_on + self.ready, kinds_ready)
            result = AUTH_PROVIDERS[config.gateway.provider](ctx)
            self.ready += result.resources
            self.backend_security_policy = result.backend_security_policy
        self.ready += network_policy.build(self, name, config, release, depends_on)
        self.register_outputs({"exposure": self.exposure.exposure, "auth": self.exposure.auth})
