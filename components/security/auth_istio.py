"""Istio: the Gateway asks an API-key authorizer (HTTP ext_authz) about every request.

Why not the alternatives at Istio 1.28.1: RequestAuthentication checks JWTs only; an
AuthorizationPolicy `when: request.headers[authorization]` would put the keys themselves into a
policy object that anyone allowed to read policies can read, and change them only by editing it.
vLLM's own `--api-key` would work for P/D (the v0.5.0 routing sidecar clones the caller's request,
headers included, for prefill: llm-d/llm-d-inference-scheduler@v0.5.0:pkg/sidecar/proxy/connector_nixlv2.go,
`preq := r.Clone(ctx)`), but it is read once at start, so rotating a key would restart every model
server, and the request would already have been scheduled.

So: an AuthorizationPolicy with action CUSTOM on the Gateway (targetRefs) sends each request's
`Authorization` header to a small authorizer that reads the keys from the Secret mounted as a
volume; a missing or wrong key gets 401 from the Gateway, before the scheduler or any GPU sees it.
The authorizer is registered in istiod's mesh config (`meshConfig.extensionProviders`); if that
entry is missing (a shared istiod), Istio fails closed: "failed to process CUSTOM action, will
generate deny configs" (istio/istio@1.28.1:pilot/pkg/security/authz/builder/builder.go).
"""

import hashlib
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.kube import child, meta, resources
from components.names import AUTHZ_PORT, Release
from components.security.keys import KeyRef

SERVER = Path(__file__).with_name("authz_server.py")
AUTHORIZATION_POLICY_API = "security.istio.io/v1"
KEYS_DIR = "/keys"
SCRIPT_DIR = "/opt/authz"


def extension_provider(release: Release) -> dict:
    """The entry istiod's meshConfig.extensionProviders needs for the AuthorizationPolicy's CUSTOM action."""
    return {
        "name": release.authz_provider,
        "envoyExtAuthzHttp": {
            "service": f"{release.authz}.{release.namespace}.svc.cluster.local",
            "port": AUTHZ_PORT,
            "timeout": "2s",
            "includeRequestHeadersInCheck": ["authorization"],
            "failOpen": False,
            "statusOnError": "503",
        },
    }


def build(parent: pulumi.Resource, name: str, release: Release, image: str, key: KeyRef, depends_on, kinds_ready) -> list[pulumi.Resource]:
    ns = release.namespace
    labels = {**release.component_labels("api-key-authz"), **release.authz_selector}
    script = k8s.core.v1.ConfigMap(
        f"{name}-authz-script",
        metadata=meta(release.authz, ns, labels),
        data={"authz_server.py": SERVER.read_text(encoding="utf-8")},
        opts=child(parent, depends_on),
    )
    restricted = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    deployment = k8s.apps.v1.Deployment(
        f"{name}-authz",
        metadata=meta(release.authz, ns, labels),
        spec={
            "replicas": 2,
            "selector": {"matchLabels": release.authz_selector},
            "template": {
                # The script's hash rolls the pods when it changes; a key change needs no roll.
                "metadata": {"labels": labels, "annotations": {"llm-d.ai/authz-script": _digest(SERVER.read_bytes())}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "authz",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["python3", f"{SCRIPT_DIR}/authz_server.py"],
                            "env": [{"name": "KEYS_DIR", "value": KEYS_DIR}, {"name": "PORT", "value": str(AUTHZ_PORT)}],
                            "ports": [{"name": "http", "containerPort": AUTHZ_PORT, "protocol": "TCP"}],
                            "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 5},
                            "livenessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 20},
                            "resources": resources("100m", "64Mi", "256Mi"),
                            "securityContext": restricted,
                            "volumeMounts": [
                                {"name": "keys", "mountPath": KEYS_DIR, "readOnly": True},
                                {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
                            ],
                        }
                    ],
                    # Mounted whole (no subPath), so the kubelet updates rotated keys in place.
                    "volumes": [
                        {"name": "keys", "secret": {"secretName": key.secret}},
                        {"name": "script", "configMap": {"name": release.authz}},
                    ],
                },
            },
        },
        opts=child(parent, depends_on + [script]),
    )
    service = k8s.core.v1.Service(
        f"{name}-authz",
        metadata=meta(release.authz, ns, labels),
        spec={
            "selector": release.authz_selector,
            "ports": [{"name": "http", "port": AUTHZ_PORT, "targetPort": AUTHZ_PORT, "protocol": "TCP", "appProtocol": "http"}],
        },
        opts=child(parent, depends_on),
    )
    policy = k8s.apiextensions.CustomResource(
        f"{name}-api-key-policy",
        api_version=AUTHORIZATION_POLICY_API,
        kind="AuthorizationPolicy",
        metadata=meta(f"{release.gateway}-api-key", ns, labels),
        spec={
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": release.gateway}],
            "action": "CUSTOM",
            "provider": {"name": release.authz_provider},
            "rules": [{}],  # every request
        },
        opts=child(parent, depends_on + list(kinds_ready) + [deployment, service]),
    )
    return [script, deployment, service, policy]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
