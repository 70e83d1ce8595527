"""The RDMA subnets as pod networks: one GKENetworkParamSet + Network (type Device) per RDMA NIC.

Pods list these networks in their `networking.gke.io/interfaces` annotation (see wiring.py); both
sides take the names from `rdma_network_names`, so the annotation only names networks that exist.
"""

import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_gcp import compute

from components.config.gke import RDMA_SUBNET_COUNT
from components.kube import meta

NETWORKING_API = "networking.gke.io/v1"
# Pod interfaces: eth0 is the default network, eth1 is left to the second gVNIC, eth2.. are the RDMA NICs.
FIRST_RDMA_INTERFACE = 2


def rdma_network_names() -> list[str]:
    return [f"rdma-{i}" for i in range(RDMA_SUBNET_COUNT)]


def pod_interfaces() -> list[dict[str, str]]:
    """The value of the `networking.gke.io/interfaces` pod annotation, as a list."""
    rdma = [
        {"interfaceName": f"eth{FIRST_RDMA_INTERFACE + i}", "network": network}
        for i, network in enumerate(rdma_network_names())
    ]
    return [{"interfaceName": "eth0", "network": "default"}, *rdma]


def interfaces_annotation() -> str:
    return json.dumps(pod_interfaces())


@dataclass(frozen=True)
class RdmaNetworks:
    param_sets: list[k8s.apiextensions.CustomResource]
    networks: list[k8s.apiextensions.CustomResource]


def create_rdma_networks(
    name: str,
    vpc: compute.Network,
    subnets: list[compute.Subnetwork],
    opts: pulumi.ResourceOptions,
) -> RdmaNetworks:
    """`opts` carry the cluster's Kubernetes provider; the CRDs come with multi-networking on the cluster."""
    param_sets, networks = [], []
    for network_name, subnet in zip(rdma_network_names(), subnets, strict=True):
        param_set = k8s.apiextensions.CustomResource(
            f"{name}-{network_name}-params",
            api_version=NETWORKING_API,
            kind="GKENetworkParamSet",
            metadata=meta(network_name),
            spec={"vpc": vpc.name, "vpcSubnet": subnet.name, "deviceMode": "RDMA"},
            opts=opts,
        )
        network = k8s.apiextensions.CustomResource(
            f"{name}-{network_name}-network",
            api_version=NETWORKING_API,
            kind="Network",
            metadata=meta(network_name),
            spec={
                "type": "Device",
                "parametersRef": {"group": "networking.gke.io", "kind": "GKENetworkParamSet", "name": network_name},
            },
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[param_set])),
        )
        param_sets.append(param_set)
        networks.append(network)
    return RdmaNetworks(param_sets, networks)
