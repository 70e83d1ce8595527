"""An existing Kubernetes cluster with GPUs and an RDMA device plugin (e.g. InfiniBand), by kubeconfig."""

import pulumi
import pulumi_kubernetes as k8s

from components.config.model import ExistingClusterConfig
from components.platform.wiring import Platform, PodWiring


class ExistingCluster(pulumi.ComponentResource):
    platform: Platform

    def __init__(self, name: str, config: ExistingClusterConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llmd:platform:ExistingCluster", name, None, opts)
        provider = k8s.Provider(
            f"{name}-k8s",
            # As written: pulumi-kubernetes expands a leading `~` itself when it reads the file
            # (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/util.go, parseKubeconfigString), so the
            # state stays valid on another machine or in CI.
            kubeconfig=config.kubeconfig,
            context=config.context,
            # Server-side apply: field ownership is tracked, so edits by other controllers show as conflicts.
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.platform = Platform(provider=provider, wiring=wiring(config))
        self.register_outputs({"context": config.context, "fabric": self.platform.wiring.fabric})


def wiring(config: ExistingClusterConfig) -> PodWiring:
    rdma = config.rdma
    return PodWiring(
        gpu_resource=config.gpu_resource,
        gpus_per_node=config.gpus_per_node,
        rdma_resources={rdma.resource_name: rdma.count},
        env=dict(rdma.env),
        capabilities=list(rdma.capabilities),
        fabric=f"device plugin {rdma.resource_name} x{rdma.count}",
    )
