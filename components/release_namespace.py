"""The release's namespace and the Hugging Face token Secret built from the Pulumi secret."""

from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.kube import child, meta
from components.names import HF_TOKEN_KEY, Release

NAMESPACE_DELETE_TIMEOUT = "30m"


class ReleaseNamespace(pulumi.ComponentResource):
    """Everything workloads need before they start: their namespace and their credentials."""

    namespace: Optional[k8s.core.v1.Namespace]
    hf_secret: Optional[k8s.core.v1.Secret]

    def __init__(
        self,
        name: str,
        release: Release,
        create_namespace: bool,
        hf_token: Optional[pulumi.Output[str]],
        opts: Optional[pulumi.ResourceOptions] = None,
        depends_on: Sequence[pulumi.Resource] = (),
    ):
        """`depends_on`: the platform's cluster_ready, so that on destroy the namespace is gone before them."""
        super().__init__("llmd:core:ReleaseNamespace", name, None, opts)
        labels = release.component_labels("namespace")
        self.namespace = (
            k8s.core.v1.Namespace(
                name,
                metadata=meta(release.namespace, labels=labels),
                # Deleting waits until the namespace is gone (pulumi/pulumi-kubernetes@v4.32.0:
                # provider/pkg/await/await.go, Deletion: 10 minutes unless customTimeouts.delete). On GKE
                # that includes the NEG controller deleting the Gateway's network endpoint groups, which
                # hold the subnet, before their finalizers let go.
                opts=child(self, depends_on, custom_timeouts=pulumi.CustomTimeouts(delete=NAMESPACE_DELETE_TIMEOUT)),
            )
            if create_namespace
            else None
        )
        self.hf_secret = None
        if hf_token is not None:
            self.hf_secret = k8s.core.v1.Secret(
                f"{name}-hf-token",
                metadata=meta(release.hf_secret, release.namespace, release.component_labels("credentials")),
                type="Opaque",
                # Marked secret again so it stays encrypted in state even if the caller forgot.
                string_data={HF_TOKEN_KEY: pulumi.Output.secret(hf_token)},
                opts=child(self, depends_on=self.ready),
            )
        self.register_outputs({"namespace": release.namespace})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What namespaced objects must wait for."""
        return [self.namespace] if self.namespace is not None else []

    @property
    def workload_ready(self) -> list[pulumi.Resource]:
        """What pods that read the token must wait for."""
        return self.ready + ([self.hf_secret] if self.hf_secret is not None else [])
