"""Names of the GCP resources of one cluster, all derived from the cluster name (unique per project)."""

from dataclasses import dataclass

SYSTEM_POOL = "system"
GPU_POOL = "gpu"
POD_RANGE = "pods"
SERVICE_RANGE = "services"


@dataclass(frozen=True)
class GcpNames:
    cluster: str

    @property
    def network(self) -> str:
        return f"{self.cluster}-net"

    @property
    def subnet(self) -> str:
        return f"{self.cluster}-nodes"

    @property
    def gvnic_network(self) -> str:
        return f"{self.cluster}-gvnic"

    @property
    def gvnic_subnet(self) -> str:
        return f"{self.cluster}-gvnic"

    @property
    def rdma_network(self) -> str:
        return f"{self.cluster}-rdma"

    def rdma_subnet(self, index: int) -> str:
        return f"{self.cluster}-rdma-{index}"

    @property
    def proxy_only_subnet(self) -> str:
        return f"{self.cluster}-proxy-only"

    def internal_firewall(self, network: str) -> str:
        return f"{network}-internal"

    @property
    def router(self) -> str:
        return f"{self.cluster}-router"

    @property
    def nat(self) -> str:
        return f"{self.cluster}-nat"

    @property
    def node_service_account(self) -> str:
        return f"{self.cluster}-nodes"
