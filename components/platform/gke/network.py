"""The three VPCs of an A3 Ultra node: primary (nodes, pods, Gateway proxies), a second gVNIC, and RoCE.

The RoCE VPC carries the 8 RDMA NICs. Its network profile pins it to one zone, and it takes no VPC
firewall rules (RoCE networks allow all traffic; only RDMA_ROCE_POLICY firewall policies apply).
"""

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.config.gke import GkeClusterConfig
from components.platform.gke.names import POD_RANGE, SERVICE_RANGE, GcpNames

# The largest MTU GCP allows; the RoCE profile requires it and CT uses it on every A3 Ultra VPC.
MTU = 8896
INTERNAL_TRAFFIC = [
    gcp.compute.FirewallAllowArgs(protocol="tcp", ports=["0-65535"]),
    gcp.compute.FirewallAllowArgs(protocol="udp", ports=["0-65535"]),
    gcp.compute.FirewallAllowArgs(protocol="icmp"),
]


@dataclass(frozen=True)
class Networks:
    primary: gcp.compute.Network
    subnet: gcp.compute.Subnetwork
    gvnic: gcp.compute.Network
    gvnic_subnet: gcp.compute.Subnetwork
    rdma: gcp.compute.Network
    rdma_subnets: list[gcp.compute.Subnetwork]
    proxy_only: gcp.compute.Subnetwork
    firewalls: list[gcp.compute.Firewall]
    nat: Optional[gcp.compute.RouterNat]


def roce_profile(config: GkeClusterConfig) -> str:
    return f"projects/{config.project}/global/networkProfiles/{config.zone}-vpc-roce"


def create_networks(
    name: str, config: GkeClusterConfig, parent: pulumi.Resource, apis: list[pulumi.Resource]
) -> Networks:
    names, ranges = GcpNames(config.cluster_name), config.network

    def opts() -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, depends_on=apis)

    def vpc(suffix: str, vpc_name: str, **extra) -> gcp.compute.Network:
        return gcp.compute.Network(
            f"{name}-{suffix}",
            name=vpc_name,
            project=config.project,
            auto_create_subnetworks=False,
            mtu=MTU,
            opts=opts(),
            **extra,
        )

    def subnet(suffix: str, network: gcp.compute.Network, subnet_name: str, cidr: str, **extra):
        return gcp.compute.Subnetwork(
            f"{name}-{suffix}",
            name=subnet_name,
            project=config.project,
            region=config.region,
            network=network.id,
            ip_cidr_range=cidr,
            opts=opts(),
            **extra,
        )

    def internal_firewall(suffix: str, network: gcp.compute.Network, network_name: str, sources: list[str]):
        return gcp.compute.Firewall(
            f"{name}-{suffix}",
            name=names.internal_firewall(network_name),
            project=config.project,
            network=network.id,
            direction="INGRESS",
            source_ranges=sources,
            allows=INTERNAL_TRAFFIC,
            opts=opts(),
        )

    primary = vpc("net", names.network, routing_mode="GLOBAL")
    node_subnet = subnet(
        "subnet",
        primary,
        names.subnet,
        ranges.primary,
        private_ip_google_access=True,
        secondary_ip_ranges=[
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=POD_RANGE, ip_cidr_range=ranges.pods),
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICE_RANGE, ip_cidr_range=ranges.services),
        ],
    )
    # The regional Envoy proxies of a GKE Gateway live here; one ACTIVE such subnet per VPC and region.
    proxy_only = subnet(
        "proxy-only", primary, names.proxy_only_subnet, ranges.proxy_only, purpose="REGIONAL_MANAGED_PROXY", role="ACTIVE"
    )
    gvnic = vpc("gvnic", names.gvnic_network, routing_mode="REGIONAL")
    gvnic_subnet = subnet("gvnic-subnet", gvnic, names.gvnic_subnet, ranges.gvnic)
    rdma = vpc("rdma", names.rdma_network, routing_mode="REGIONAL", network_profile=roce_profile(config))
    rdma_subnets = [
        subnet(f"rdma-subnet-{i}", rdma, names.rdma_subnet(i), cidr) for i, cidr in enumerate(ranges.rdma)
    ]

    # Proxies reach pods directly; a private control plane calls webhooks on pods (e.g. istiod:15017).
    primary_sources = [ranges.primary, ranges.pods, ranges.proxy_only]
    if config.private_nodes:
        primary_sources.append(ranges.master)
    firewalls = [
        internal_firewall("net-internal", primary, names.network, primary_sources),
        internal_firewall("gvnic-internal", gvnic, names.gvnic_network, [ranges.gvnic]),
    ]
    nat = _nat(name, config, names, primary, opts) if config.private_nodes else None
    return Networks(primary, node_subnet, gvnic, gvnic_subnet, rdma, rdma_subnets, proxy_only, firewalls, nat)


def _nat(name, config: GkeClusterConfig, names: GcpNames, network: gcp.compute.Network, opts) -> gcp.compute.RouterNat:
    """Private nodes pull images (ghcr.io) and weights (Hugging Face) through Cloud NAT."""
    router = gcp.compute.Router(
        f"{name}-router", name=names.router, project=config.project, region=config.region, network=network.id, opts=opts()
    )
    return gcp.compute.RouterNat(
        f"{name}-nat",
        name=names.nat,
        project=config.project,
        region=config.region,
        router=router.name,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
        opts=opts(),
    )
