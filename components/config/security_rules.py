"""Who may call the model: rules over gateway.exposure, gateway.auth and the API key.

Each provider authenticates with what it supports at the pinned version (components/security/):
Istio through an HTTP ext_authz server reading the keys from a Secret, GKE through Cloud Armor, and
kgateway v2.1.1 not at all (its TrafficPolicy has no API-key authentication and its extAuth speaks
only gRPC), so a public or authenticated kgateway gateway is refused here rather than left open.
"""

from typing import Any

from components.config.model import GKE_CLASSES, StackConfig
from components.config.problems import Problem

SET_KEY = "pulumi config set --secret gatewayApiKey <key>"
# Providers that can check API keys (components/security.AUTH_PROVIDERS has one module for each).
API_KEY_PROVIDERS = ("istio", "gke", "agentgateway")
KEY_RULE = "16 to 256 characters of A-Z a-z 0-9 . _ ~ + / = -"


def check(config: StackConfig, api_key: Any) -> list[Problem]:
    gateway, auth = config.gateway, config.gateway.auth
    mode, public, provider = config.auth_mode, gateway.exposure == "public", gateway.provider
    problems: list[Problem] = []
    if api_key.present and not api_key.is_secret:
        problems.append(Problem("gatewayApiKey", f"is stored in plaintext. Store it encrypted: `pulumi config rm gatewayApiKey && {SET_KEY}`."))
    elif api_key.present and not api_key.well_formed:
        problems.append(Problem("gatewayApiKey", f"must be {KEY_RULE} (it goes into an HTTP header); generate one with `openssl rand -hex 32`."))
    if public and mode == "none":
        problems.append(Problem("gateway.auth.mode", "is none but gateway.exposure is public: anyone who finds the address could use the GPUs. "
                                "Remove gateway.auth.mode (public gateways use apiKey), or set gateway.exposure: internal."))
    if mode == "apiKey":
        problems += _key_source(config, api_key)
    elif api_key.present or auth.secret:
        key = "gatewayApiKey" if api_key.present else "gateway.auth.secret"
        problems.append(Problem(key, "is set but gateway.auth.mode is none, so no key is checked; set gateway.auth.mode: apiKey or remove it."))
    if gateway.gke_class and provider == "gke" and gateway.gke_class != GKE_CLASSES[gateway.exposure]:
        problems.append(Problem("gateway.gkeClass", f"is {gateway.gke_class}, but gateway.exposure is {gateway.exposure} "
                                f"({GKE_CLASSES[gateway.exposure]}); set gateway.exposure instead and remove gateway.gkeClass."))
    if gateway.allowed_source_ranges and not (provider == "gke" and public):
        problems.append(Problem("gateway.allowedSourceRanges", "applies to a public GKE gateway only (a Cloud Armor policy on its load "
                                "balancer); set gateway.provider: gke and gateway.exposure: public, or remove it."))
    return problems


def _key_source(config: StackConfig, api_key: Any) -> list[Problem]:
    gateway, auth = config.gateway, config.gateway.auth
    if gateway.provider not in API_KEY_PROVIDERS:
        return [Problem("gateway.auth.mode" if gateway.exposure == "internal" else "gateway.exposure",
                        f"needs API-key authentication, which {gateway.provider} cannot do here"
                        + (" (kgateway v2.1.1: its TrafficPolicy has no apiKeyAuthentication and its extAuth needs a gRPC "
                           "authorization server)" if gateway.provider == "kgateway" else "")
                        + ". Use gateway.provider: istio, or keep gateway.exposure: internal with gateway.auth.mode: none.")]
    if gateway.provider == "gke":
        if gateway.exposure == "internal":
            return [Problem("gateway.auth.mode", "apiKey on GKE is enforced by Cloud Armor, which this program attaches to the public "
                            "(gke-l7-regional-external-managed) gateway only; an internal gateway is reachable from the VPC only. "
                            "Set gateway.exposure: public, or gateway.auth.mode: none.")]
        if auth.secret:
            return [Problem("gateway.auth.secret", f"cannot feed Cloud Armor, which needs the key when the policy is written; "
                            f"remove it and set the key as a Pulumi secret: `{SET_KEY}`.")]
        if not api_key.present:
            return [Problem("gatewayApiKey", f"is required: a public GKE gateway refuses requests without this key (Cloud Armor). "
                            f"Set it with `{SET_KEY}` ({KEY_RULE}).")]
        return []
    if auth.secret and api_key.present:
        return [Problem("gateway.auth.secret", "and the Pulumi secret gatewayApiKey are both set; keep one key source.")]
    if not auth.secret and not api_key.present:
        return [Problem("gateway.auth", f"needs a key source: `{SET_KEY}` (the program creates the Secret), or "
                        "gateway.auth.secret: <an existing Secret in the release namespace> with the key under gateway.auth.key.")]
    return []
