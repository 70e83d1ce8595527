"""How a model-server pod gets its GPUs and RDMA NICs on GKE path A (llm-d values_gke_rdma.yaml)."""

from components.config.gke import GkeClusterConfig
from components.platform.gke.names import GPU_POOL
from components.platform.gke.rdma import interfaces_annotation, rdma_network_names
from components.platform.wiring import PodWiring

NVIDIA_DIR, GIB_DIR = "/usr/local/nvidia", "/usr/local/gib"
# The GPU pool's own budget (35-90 minutes for A3 Ultra capacity).
FLEX_START_PROVISIONING_SECONDS = 90 * 60
# set_nccl_env.sh sets NCCL_NET=gIB and the A3 Ultra tuning. LD_LIBRARY_PATH is extended here rather than
# set in the pod env: an env entry would replace the image's own path (torch, CUDA, UCX, NVSHMEM libraries).
PRELUDE = (
    f'export LD_LIBRARY_PATH="${{LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}}{NVIDIA_DIR}/lib64:{GIB_DIR}/lib64"\n'
    # On a node that just appeared the installer may not have run yet: fail, and let kubelet restart.
    f'test -f {GIB_DIR}/scripts/set_nccl_env.sh || {{ echo "gIB not installed on this node yet"; exit 1; }}\n'
    f"source {GIB_DIR}/scripts/set_nccl_env.sh"
)


def path_a_wiring(config: GkeClusterConfig) -> PodWiring:
    pool, names = config.gpu_pool, rdma_network_names()
    return PodWiring(
        gpu_resource="nvidia.com/gpu",
        gpus_per_node=pool.accelerator_count,
        # Google's samples request no networking.gke.io.networks/* resources; the annotation attaches the NICs.
        rdma_resources={},
        annotations={
            "networking.gke.io/default-interface": "eth0",
            "networking.gke.io/interfaces": interfaces_annotation(),
        },
        volumes=[
            {"name": "library-dir-host", "hostPath": {"path": "/home/kubernetes/bin/nvidia"}},
            {"name": "gib", "hostPath": {"path": "/home/kubernetes/bin/gib"}},
        ],
        volume_mounts=[
            {"name": "library-dir-host", "mountPath": NVIDIA_DIR, "readOnly": True},
            {"name": "gib", "mountPath": GIB_DIR, "readOnly": True},
        ],
        prelude=PRELUDE,
        node_selector={"cloud.google.com/gke-accelerator": pool.accelerator_type, "cloud.google.com/gke-nodepool": GPU_POOL},
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        # Each rdma-N network has one NIC per node: one model-server pod per node.
        exclusive_nics=True,
        fabric=f"GKE RoCE multi-networking: {names[0]}..{names[-1]} on {pool.machine_type}",
        # A flex-start pool is created empty: its nodes are provisioned while the Deployments wait.
        node_provisioning_seconds=FLEX_START_PROVISIONING_SECONDS if pool.capacity.kind == "flexStart" else 0,
    )
