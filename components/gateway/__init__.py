"""Gateway providers as pluggable modules: the contract (base.py), the choice (select.py), one module per provider."""

from components.gateway.base import GATEWAY_API, LISTENER_NAME
from components.gateway.component import GatewayProvider

__all__ = ["GATEWAY_API", "LISTENER_NAME", "GatewayProvider"]
