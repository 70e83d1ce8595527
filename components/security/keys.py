"""Where the gateway's API keys live: a Secret in the release namespace, never plain config."""

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.config.model import StackConfig
from components.kube import child, meta
from components.names import API_KEY_KEY, Release


@dataclass(frozen=True)
class KeyRef:
    """The Secret and key a client (the verification and benchmark Jobs) presents."""

    secret: str
    key: str
    external: bool  # an existing Secret the stack does not create (gateway.auth.secret)

    def env(self, name: str = "API_KEY") -> dict:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": self.secret, "key": self.key}}}

    def read_command(self, namespace: str) -> str:
        """A shell command that reads the key into $LLMD_API_KEY without printing it."""
        jsonpath = "{.data." + self.key.replace(".", "\\.") + "}"
        return f"export LLMD_API_KEY=\"$(kubectl -n {namespace} get secret {self.secret} -o jsonpath='{jsonpath}' | base64 -d)\""


def key_ref(config: StackConfig, release: Release) -> Optional[KeyRef]:
    if config.auth_mode == "none":
        return None
    auth = config.gateway.auth
    if auth.secret:
        return KeyRef(auth.secret, auth.key, external=True)
    return KeyRef(release.api_key_secret, API_KEY_KEY, external=False)


def key_secret(parent: pulumi.Resource, name: str, release: Release, api_key: pulumi.Output[str], labels, depends_on) -> k8s.core.v1.Secret:
    """The Pulumi secret `gatewayApiKey` as a Secret (its value stays secret in the state)."""
    return k8s.core.v1.Secret(
        f"{name}-api-key",
        metadata=meta(release.api_key_secret, release.namespace, labels),
        type="Opaque",
        string_data={API_KEY_KEY: pulumi.Output.secret(api_key)},
        opts=child(parent, depends_on, additional_secret_outputs=["stringData", "data"]),
    )
