"""Pick the gateway provider the stack config names (`gateway.provider`)."""

from components.config.model import StackConfig
from components.gateway.agentgateway import Agentgateway
from components.gateway.base import GatewayBackend
from components.gateway.gke import Gke
from components.gateway.istio import Istio
from components.gateway.kgateway import Kgateway

PROVIDERS: dict[str, GatewayBackend] = {backend.name: backend for backend in (Istio(), Kgateway(), Agentgateway(), Gke())}


def gateway_backend(provider: str) -> GatewayBackend:
    return PROVIDERS[provider]


def crd_schema_sets(config: StackConfig) -> tuple[str, ...]:
    """The CRD schema folders (under $LLMD_CRD_DIR) the deployment's objects validate against, beside the defaults."""
    return gateway_backend(config.gateway.provider).schema_sets(config.versions)
