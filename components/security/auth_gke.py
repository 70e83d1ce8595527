"""GKE: a Cloud Armor policy on the load balancer's backend refuses requests without the key.

Why Cloud Armor and not IAP: IAP admits Google identities through OAuth (browser sign-in or Google
ID tokens), not a static key an OpenAI-compatible client can send; Cloud Armor evaluates each
request at Google's edge, before it reaches the cluster, and also carries the optional source-range
allowlist. The regional external Gateway class uses a regional security policy, referenced by name
from the InferencePool's GCPBackendPolicy (`spec.default.securityPolicy`).

The key must be known when the policy is written, so on GKE it comes from the Pulumi secret
`gatewayApiKey` (the expression, and so the policy's rules, stay secret in the state; anyone with
`compute.securityPolicies.get` in the project can read it). Rotation: set a new value and
`pulumi up`; the rule is updated in place, the model servers are untouched.
"""

import pulumi
import pulumi_gcp as gcp

from components.config.model import StackConfig
from components.names import Release

DEFAULT_PRIORITY = 2147483647
ALLOW_PRIORITY = 1000


def expression(api_key: str, ranges: tuple[str, ...]) -> str:
    """Cloud Armor custom rules language: the key (validated by the config) and, if any, a source range."""
    check = f"request.headers['authorization'] == 'Bearer {api_key}'"
    if not ranges:
        return check
    sources = " || ".join(f"inIpRange(origin.ip, '{r}')" for r in ranges)
    return f"({sources}) && {check}"


def build(parent: pulumi.Resource, name: str, config: StackConfig, release: Release, api_key: pulumi.Output[str]) -> gcp.compute.RegionSecurityPolicy:
    platform, ranges = config.platform, tuple(config.gateway.allowed_source_ranges)
    rule_expression = pulumi.Output.secret(api_key).apply(lambda key: expression(key, ranges))
    return gcp.compute.RegionSecurityPolicy(
        f"{name}-cloud-armor",
        name=release.security_policy,
        project=platform.project,
        region=platform.region,
        type="CLOUD_ARMOR",
        description=f"llm-d {release.namespace}/{release.suffix}: API key" + (" and source ranges" if ranges else ""),
        rules=[
            gcp.compute.RegionSecurityPolicyRuleArgs(
                priority=ALLOW_PRIORITY,
                action="allow",
                description="requests with the gateway API key" + (" from the allowed ranges" if ranges else ""),
                match=gcp.compute.RegionSecurityPolicyRuleMatchArgs(
                    expr=gcp.compute.RegionSecurityPolicyRuleMatchExprArgs(expression=rule_expression)
                ),
            ),
            gcp.compute.RegionSecurityPolicyRuleArgs(
                priority=DEFAULT_PRIORITY,
                action="deny(403)",
                description="everything else",
                match=gcp.compute.RegionSecurityPolicyRuleMatchArgs(
                    versioned_expr="SRC_IPS_V1",
                    config=gcp.compute.RegionSecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"]),
                ),
            ),
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
