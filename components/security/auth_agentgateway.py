"""agentgateway: native API-key authentication from a Secret (for the provider module the gateway
package adds; registered in AUTH_PROVIDERS under "agentgateway").

An AgentgatewayPolicy on the Gateway with `traffic.apiKeyAuthentication` in Strict mode: every
entry of the referenced Secret is one valid key (the same contract as the Istio authorizer), and
the proxy watches the Secret, so keys rotate by editing it. Schema: agentgateway.dev/v1alpha1
AgentgatewayPolicy (kgateway-dev agentgateway-crds chart, v2.2.0-beta.3 and v1.1.0 alike).
"""

import pulumi
import pulumi_kubernetes as k8s

from components.kube import child, meta
from components.names import Release
from components.security.keys import KeyRef

POLICY_API = "agentgateway.dev/v1alpha1"


def policy_spec(release: Release, key: KeyRef) -> dict:
    return {
        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": release.gateway}],
        "traffic": {"apiKeyAuthentication": {"mode": "Strict", "secretRef": {"name": key.secret}}},
    }


def build(parent: pulumi.Resource, name: str, release: Release, key: KeyRef, depends_on, kinds_ready) -> list[pulumi.Resource]:
    labels = {**release.component_labels("api-key-auth")}
    return [
        k8s.apiextensions.CustomResource(
            f"{name}-api-key-policy",
            api_version=POLICY_API,
            kind="AgentgatewayPolicy",
            metadata=meta(f"{release.gateway}-api-key", release.namespace, labels),
            spec=policy_spec(release, key),
            opts=child(parent, list(depends_on) + list(kinds_ready)),
        )
    ]
