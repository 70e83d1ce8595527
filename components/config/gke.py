"""Stack config of the `gke` platform: a GKE cluster with a3-ultragpu-8g nodes and GPUDirect RDMA (RoCE).

Path A of the reference (classic multi-networking): one RoCE VPC with 8 subnets, attached to every GPU
node as 8 extra NICs, and handed to pods as the device networks rdma-0..rdma-7.
"""

import ipaddress
import re
import sys
from typing import Annotated, Literal, Optional, Union

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from components.config.base import Strict

# GKE versions that matter here (reference §3, "GKE version" rows).
RDMA_MIN_VERSION = "1.31.4-gke.1183000"  # GPUDirect RDMA on A3 Ultra
DEFAULT_DRIVER_MIN_VERSION = "1.31.5-gke.1169000"  # first version whose DEFAULT driver is R550
FLEX_START_MIN_VERSION = "1.32.2-gke.1652000"
MANAGED_GATEWAY_CRDS_VERSION = "1.34.0-gke.1626000"  # GKE installs GA Gateway API + GAIE CRDs itself
# A minor version: each `up` resolves it to the newest 1.34 version the release channel offers in the
# region (an exact patch stops being offered after a few months, and creation then fails). An exact
# version (1.34.1-gke.1829001) is still accepted, for a reproducible cluster, while the channel offers it:
#   gcloud container get-server-config --region REGION --flatten=channels --filter=channels.channel=REGULAR
DEFAULT_GKE_VERSION = "1.34"
# vLLM >= 0.11 needs NCCL 2.27, which gIB supports from v1.1.0 (reference §2.2).
MIN_GIB_VERSION = (1, 1, 0)

# Machine type -> (accelerator type, count) for the machines whose 8 RoCE NICs path A wires up.
GPU_SHAPES = {"a3-ultragpu-8g": ("nvidia-h200-141gb", 8)}
RDMA_SUBNET_COUNT = 8
DEFAULT_GPU_NODES = 2
MAX_CLUSTER_NAME = 15  # "shorter than 16 characters" (gpu-recipes); derived resource names build on it

_GKE_VERSION = r"^(\d+)\.(\d+)\.(\d+)-gke\.(\d+)$"
# An exact version, or a prefix of one: a minor (1.34) or a patch (1.34.1).
_GKE_VERSION_PIN = r"^\d+\.\d+(\.\d+(-gke\.\d+)?)?$"
_GCE_NAME = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"

GceName = Annotated[str, StringConstraints(pattern=_GCE_NAME, max_length=63)]
ProjectId = Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")]
def _version_text(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # YAML reads 1.30 as the number 1.3: the minor version would be lost.
        raise ValueError(f'is the number {value}; quote it in the stack file, e.g. gkeVersion: "1.34"')
    return value


GkeVersion = Annotated[str, BeforeValidator(_version_text), StringConstraints(pattern=_GKE_VERSION_PIN)]


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"must be an IPv4 CIDR range such as 10.0.0.0/16 ({error})") from None
    if network.version != 4:
        raise ValueError(f"must be an IPv4 CIDR range such as 10.0.0.0/16; got {value}")
    return value


def _split_rdma_range(value):
    """One range becomes the 8 equal subnets the RDMA NICs need; a list is kept as given."""
    if not isinstance(value, str):
        return value
    network = ipaddress.ip_network(_cidr(value))
    if network.prefixlen > 26:
        raise ValueError(
            f"is split into {RDMA_SUBNET_COUNT} subnets of at least /29 (the smallest GCP subnet), so it must "
            f"be /26 or larger; got /{network.prefixlen}"
        )
    return [str(s) for s in network.subnets(prefixlen_diff=RDMA_SUBNET_COUNT.bit_length() - 1)]


Cidr = Annotated[str, AfterValidator(_cidr)]


class NetworkRanges(Strict):
    """Every IPv4 range the cluster uses; no two may overlap."""

    primary: Cidr = "192.168.0.0/18"  # nodes' first NIC
    pods: Cidr = "10.4.0.0/14"
    services: Cidr = "10.0.32.0/20"
    gvnic: Cidr = "192.168.64.0/18"  # nodes' second host NIC
    # One range split into 8 equal subnets, or a list of exactly 8 (one per RDMA NIC).
    rdma: Annotated[list[Cidr], BeforeValidator(_split_rdma_range)] = Field(
        default_factory=lambda: _split_rdma_range("192.168.128.0/18")
    )
    proxy_only: Cidr = "10.129.0.0/23"  # regional Envoy proxies of the GKE Gateway
    master: Cidr = "172.16.0.32/28"  # control plane of a cluster with private nodes


class SystemPoolConfig(Strict):
    """CPU nodes without taints, for the gateway, the endpoint picker and monitoring."""

    machine_type: str = "e2-standard-16"
    min_nodes: int = Field(default=2, ge=0, le=100)
    max_nodes: int = Field(default=10, ge=1, le=100)
    disk_size_gb: int = Field(default=200, ge=10)


class ReservationCapacity(Strict):
    """A specific (e.g. DENSE) reservation of a3-ultragpu-8g in the zone."""

    kind: Literal["reservation"]
    name: GceName
    project: Optional[ProjectId] = None  # default: platform.project
    block: Optional[GceName] = None


class FlexStartCapacity(Strict):
    """Dynamic Workload Scheduler flex-start: nodes appear when pods ask for GPUs, live at most 7 days."""

    kind: Literal["flexStart"]
    max_nodes: int = Field(default=DEFAULT_GPU_NODES, ge=1, le=64)


class SpotCapacity(Strict):
    kind: Literal["spot"]


class OnDemandCapacity(Strict):
    """Plain on-demand VMs (which also use a matching automatic reservation, if one exists)."""

    kind: Literal["onDemand"]


Capacity = Annotated[
    Union[ReservationCapacity, FlexStartCapacity, SpotCapacity, OnDemandCapacity], Field(discriminator="kind")
]


class GpuPoolConfig(Strict):
    machine_type: str = "a3-ultragpu-8g"
    accelerator_type: str = "nvidia-h200-141gb"
    accelerator_count: int = Field(default=8, ge=1, le=16)
    # Nodes of a static pool (reservation, spot, onDemand); default 2. Flex-start uses capacity.maxNodes.
    node_count: Optional[int] = Field(default=None, ge=1, le=64)
    boot_disk_type: Literal["hyperdisk-balanced"] = "hyperdisk-balanced"
    boot_disk_size_gb: int = Field(default=200, ge=10)
    # Put ephemeral storage (emptyDirs, the GCS FUSE file cache, images) on the bundled local SSDs.
    local_ssd_ephemeral_storage: bool = True
    gpu_driver_version: Literal["LATEST", "DEFAULT"] = "LATEST"
    capacity: Capacity = Field(default_factory=lambda: OnDemandCapacity(kind="onDemand"))

    @property
    def flex_start(self) -> bool:
        return isinstance(self.capacity, FlexStartCapacity)

    @property
    def max_nodes(self) -> int:
        """The most GPU nodes the pool can have."""
        if isinstance(self.capacity, FlexStartCapacity):
            return self.capacity.max_nodes
        return self.node_count or DEFAULT_GPU_NODES


class GkeClusterConfig(Strict):
    """A new GKE cluster created by this program (path A: classic multi-networking)."""

    kind: Literal["gke"]
    project: ProjectId
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+[0-9]+$")]
    zone: Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")]
    cluster_name: GceName = "llmd-pd"
    release_channel: Literal["UNSPECIFIED", "RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    gke_version: GkeVersion = DEFAULT_GKE_VERSION
    # Off so that `pulumi destroy` can delete the cluster; turn on for clusters that must survive it.
    deletion_protection: bool = False
    # Nodes without external IPs, reaching the internet through Cloud NAT.
    private_nodes: bool = True
    # CIDRs allowed to reach the control plane; empty allows any address (requests still need IAM).
    authorized_networks: list[Cidr] = Field(default_factory=list)
    network: NetworkRanges = Field(default_factory=NetworkRanges)
    system_pool: SystemPoolConfig = Field(default_factory=SystemPoolConfig)
    gpu_pool: GpuPoolConfig = Field(default_factory=GpuPoolConfig)

    @property
    def gpus_per_node(self) -> int:
        return self.gpu_pool.accelerator_count

    @property
    def manages_gateway_crds(self) -> bool:
        return version_at_least(self.gke_version, MANAGED_GATEWAY_CRDS_VERSION)


def parse_gke_version(version: str) -> tuple[int, ...]:
    """(1, 33, 5, 1080000) for "1.33.5-gke.1080000"."""
    match = re.fullmatch(_GKE_VERSION, version)
    if not match:
        raise ValueError(f"{version!r} is not a GKE version like 1.33.5-gke.1080000")
    return tuple(int(part) for part in match.groups())


def is_exact(version: str) -> bool:
    return re.fullmatch(_GKE_VERSION, version) is not None


def version_bounds(version: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The oldest and newest exact versions a pin can name: "1.34" spans 1.34.0-gke.0 to 1.34.*-gke.*."""
    parts = [int(part) for part in re.findall(r"\d+", version)]
    missing = 4 - len(parts)
    return tuple(parts + [0] * missing), tuple(parts + [sys.maxsize] * missing)


def version_at_least(version: str, minimum: str) -> bool:
    """Whether `version` (exact or prefix) can be at least `minimum`.

    A prefix that straddles `minimum` counts as its newer side, since `up` resolves it to the newest
    version offered; `up` then checks the resolved version (gke_rules.resolved_version_problems)."""
    return version_bounds(version)[1] >= parse_gke_version(minimum)


def straddles(version: str, threshold: str) -> bool:
    """A prefix that names versions on both sides of `threshold` (e.g. 1.34 and 1.34.0-gke.1626000)."""
    low, high = version_bounds(version)
    return low < parse_gke_version(threshold) <= high


def lookup_prefix(version: str) -> str:
    """The string-prefix filter for the engine-versions lookup: "1.34." so that 1.3 never matches 1.34."""
    return version + ("-" if version.count(".") == 2 else ".")
