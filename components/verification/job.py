"""The verification Job `pulumi up` waits for: one request through the Gateway, proven disaggregated.

It runs our own script (verify_pd.py, shipped in a ConfigMap) in a stock Python image with a
service account that may list pods in the namespace and read the scheduler's /metrics, nothing else.
A change to anything that serves (model servers, pool, route) replaces the Job, so every `pulumi up`
that changes serving proves it again.
"""

import hashlib
import json
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.config.credentials import EXTERNAL_SECRETS_ANNOTATION
from components.config.model import StackConfig
from components.kube import REPLACE_UNREADY, child, content_hash, env_list, meta, resources, role_ref, service_account
from components.names import Release
from components.security.keys import KeyRef
from components.verification import SCRIPT, job_env, script_text

SCRIPT_DIR = "/opt/verify"
# Beyond the script's own budget: image pull and pod start.
POD_START_SECONDS = 300
SCRIPT_HASH_ANNOTATION = "llm-d.ai/script-sha256"


class Verification(pulumi.ComponentResource):
    job: k8s.batch.v1.Job

    def __init__(
        self,
        name: str,
        config: StackConfig,
        release: Release,
        gateway_url: pulumi.Output[str],
        depends_on: list[pulumi.Resource],
        serving: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
        api_key: Optional[KeyRef] = None,
    ):
        """`depends_on`: what its RBAC and script need; `serving`: what the Job itself verifies;
        `api_key`: the Secret key it presents to the Gateway, like any client."""
        super().__init__("llmd:serving:Verification", name, None, opts)
        job_name = release.verifier
        labels = release.component_labels("verification")
        ns = release.namespace
        timeout = config.verification.timeout_seconds

        account = k8s.core.v1.ServiceAccount(f"{name}", metadata=meta(job_name, ns, labels), opts=child(self, depends_on))
        role = k8s.rbac.v1.Role(
            f"{name}-pods",
            metadata=meta(job_name, ns, labels),
            rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
            opts=child(self, depends_on),
        )
        role_binding = k8s.rbac.v1.RoleBinding(
            f"{name}-pods",
            metadata=meta(job_name, ns, labels),
            role_ref=role_ref("Role", job_name),
            subjects=[service_account(job_name, ns)],
            opts=child(self, depends_on + [role, account]),
        )
        reader_role = release.verifier_metrics_role
        metrics_reader = k8s.rbac.v1.ClusterRole(
            f"{name}-metrics",
            metadata=meta(reader_role, labels=labels),
            rules=[{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
            opts=child(self, depends_on),
        )
        metrics_binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-metrics",
            metadata=meta(reader_role, labels=labels),
            role_ref=role_ref("ClusterRole", reader_role),
            subjects=[service_account(job_name, ns)],
            opts=child(self, depends_on + [metrics_reader, account]),
        )
        text = script_text(config.versions.profile.metrics)  # with the release's metric names
        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=meta(job_name, ns, labels),
            data={SCRIPT.name: text},
            opts=child(self, depends_on),
        )
        env = gateway_url.apply(
            lambda url: env_list(job_env(release, url, TIMEOUT_SECONDS="60", READY_WAIT_SECONDS=str(timeout // 2)))
            + ([api_key.env()] if api_key else [])
        )
        # The script is read once, at start: a new script is a new pod template, so the Job runs again.
        template_annotations = {"llm-d.ai/verifies": serving_fingerprint(config), SCRIPT_HASH_ANNOTATION: content_hash(text)}
        if api_key and api_key.external:
            template_annotations[EXTERNAL_SECRETS_ANNOTATION] = api_key.secret
        self.job = k8s.batch.v1.Job(
            name,
            # A failed verification is replaced (run again) by the next `pulumi up`, not awaited again.
            metadata=meta(job_name, ns, labels, dict(REPLACE_UNREADY)),
            spec={
                "backoffLimit": 1,
                "activeDeadlineSeconds": timeout,
                "template": {
                    "metadata": {"labels": labels, "annotations": template_annotations},
                    "spec": {
                        "serviceAccountName": job_name,
                        "restartPolicy": "Never",
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532},
                        "containers": [
                            {
                                "name": "verify",
                                "image": config.versions.verifier_image,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["python3", f"{SCRIPT_DIR}/{SCRIPT.name}"],
                                "env": env,
                                "resources": resources("100m", "128Mi", limit_memory="256Mi"),
                                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
                                "volumeMounts": [{"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True}],
                            }
                        ],
                        "volumes": [{"name": "script", "configMap": {"name": job_name}}],
                    },
                },
            },
            opts=child(
                self,
                depends_on + serving + [script, role_binding, metrics_binding],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create=f"{(timeout + POD_START_SECONDS) // 60}m"),
            ),
        )
        self.result = {
            "job": job_name,
            "logs": f"kubectl -n {ns} logs job/{job_name}",
            "status": self.job.status.apply(_status),
        }
        self.register_outputs(self.result)


def serving_fingerprint(config: StackConfig) -> str:
    """Changes whenever anything that serves changes; the Job then runs again."""
    # The release profile shows in the images it pins; its name alone would change every stack's fingerprint.
    served = config.model_dump(
        mode="json",
        include={"platform", "model", "model_cache", "prefill", "decode", "scheduler", "gateway", "versions"},
        exclude={"versions": {"llmd"}},
    )
    return hashlib.sha256(json.dumps(served, sort_keys=True).encode()).hexdigest()[:16]


def _status(status) -> str:
    status = status or {}
    if status.get("succeeded"):
        return "passed: prefill, decode and NIXL KV transfer all took part in a request through the Gateway"
    if status.get("failed"):
        return "failed: see the logs command"
    return "pending"
