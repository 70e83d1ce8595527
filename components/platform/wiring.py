"""What a GPU pod needs on a given platform to get its GPUs and RDMA NICs."""

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class PodWiring:
    gpu_resource: str
    gpus_per_node: int
    # Extra resources each pod requests (limits = requests), e.g. {"rdma/ib": 1}.
    rdma_resources: dict[str, int] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    volume_mounts: list[dict[str, Any]] = field(default_factory=list)
    # A shell script run before `vllm serve` (e.g. to source NCCL settings); None runs vLLM directly.
    prelude: Optional[str] = None
    capabilities: list[str] = field(default_factory=list)
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    # True where each RDMA NIC can be attached to one pod per node only.
    exclusive_nics: bool = False
    # Human-readable name of the fabric, for outputs and the plan.
    fabric: str = "rdma"
    # Time GPU nodes may take to appear once pods ask for them (autoscaled flex-start pools); 0 where
    # the nodes already exist before the pods are created.
    node_provisioning_seconds: int = 0


@dataclass(frozen=True)
class Platform:
    """What the platform hands to everything downstream."""

    provider: k8s.Provider
    wiring: PodWiring
    # Resources GPU workloads must wait for (e.g. the GPU node pool); empty on an existing cluster.
    gpu_ready: list[pulumi.Resource] = field(default_factory=list)
    # Resources every in-cluster object must wait for (e.g. the cluster and its CPU pool).
    cluster_ready: list[pulumi.Resource] = field(default_factory=list)
    # True where the platform itself installs the Gateway API and Inference Extension CRDs.
    manages_gateway_crds: bool = False
    # True where the platform installs the Gateway API CRDs (e.g. GKE's Gateway API channel).
    manages_gateway_api_crds: bool = False
