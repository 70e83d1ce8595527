"""The GKE Standard cluster: VPC-native, Dataplane V2 with multi-networking, GKE Gateway API."""

import pulumi
from pulumi_gcp import container

from components.config.gke import GkeClusterConfig
from components.platform.gke.names import POD_RANGE, SERVICE_RANGE
from components.platform.gke.network import Networks
from components.platform.gke.project import NODE_OAUTH_SCOPES, NodeIdentity

CLUSTER_TIMEOUTS = pulumi.CustomTimeouts(create="60m", update="60m", delete="45m")


def create_cluster(
    name: str,
    config: GkeClusterConfig,
    networks: Networks,
    identity: NodeIdentity,
    parent: pulumi.Resource,
    apis: list[pulumi.Resource],
    version: str,
) -> container.Cluster:
    """`version`: the exact control-plane version (platform.gkeVersion, resolved if a prefix)."""
    return container.Cluster(
        f"{name}-cluster",
        name=config.cluster_name,
        project=config.project,
        location=config.region,  # regional control plane; node pools pick their zone
        network=networks.primary.id,
        subnetwork=networks.subnet.id,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy=container.ClusterIpAllocationPolicyArgs(
            cluster_secondary_range_name=POD_RANGE, services_secondary_range_name=SERVICE_RANGE
        ),
        # Multi-networking (the RDMA NICs as pod networks) needs Dataplane V2; both are immutable.
        datapath_provider="ADVANCED_DATAPATH",
        enable_multi_networking=True,
        # Dataplane V2 enforces NetworkPolicy itself; Calico cannot be combined with it.
        network_policy=container.ClusterNetworkPolicyArgs(enabled=False, provider="PROVIDER_UNSPECIFIED"),
        gateway_api_config=container.ClusterGatewayApiConfigArgs(channel="CHANNEL_STANDARD"),
        addons_config=container.ClusterAddonsConfigArgs(
            http_load_balancing=container.ClusterAddonsConfigHttpLoadBalancingArgs(disabled=False),
            gcs_fuse_csi_driver_config=container.ClusterAddonsConfigGcsFuseCsiDriverConfigArgs(enabled=True),
            gce_persistent_disk_csi_driver_config=container.ClusterAddonsConfigGcePersistentDiskCsiDriverConfigArgs(enabled=True),
            network_policy_config=container.ClusterAddonsConfigNetworkPolicyConfigArgs(disabled=True),
        ),
        release_channel=container.ClusterReleaseChannelArgs(channel=config.release_channel),
        min_master_version=version,
        workload_identity_config=container.ClusterWorkloadIdentityConfigArgs(workload_pool=f"{config.project}.svc.id.goog"),
        monitoring_config=container.ClusterMonitoringConfigArgs(
            enable_components=["SYSTEM_COMPONENTS", "DCGM"],
            managed_prometheus=container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=True),
        ),
        logging_config=container.ClusterLoggingConfigArgs(enable_components=["SYSTEM_COMPONENTS", "WORKLOADS"]),
        enable_shielded_nodes=True,
        private_cluster_config=_private(config),
        master_authorized_networks_config=_authorized(config),
        deletion_protection=config.deletion_protection,
        # GKE always creates a default pool; it is removed at once. It runs as the node service account,
        # so the project's default compute account (often absent or locked down) is never needed.
        remove_default_node_pool=True,
        initial_node_count=1,
        node_config=container.ClusterNodeConfigArgs(
            service_account=identity.account.email,
            oauth_scopes=NODE_OAUTH_SCOPES,
            workload_metadata_config=container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        ),
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[*apis, *identity.bindings],
            custom_timeouts=CLUSTER_TIMEOUTS,
            # Describes the removed default pool only; a change must not replace the cluster.
            ignore_changes=["nodeConfig"],
        ),
    )


def _private(config: GkeClusterConfig):
    if not config.private_nodes:
        return None
    return container.ClusterPrivateClusterConfigArgs(
        enable_private_nodes=True,
        # The public endpoint stays, so Pulumi reaches the API server from outside the VPC.
        enable_private_endpoint=False,
        master_ipv4_cidr_block=config.network.master,
    )


def _authorized(config: GkeClusterConfig):
    if not config.authorized_networks:
        return None
    return container.ClusterMasterAuthorizedNetworksConfigArgs(
        cidr_blocks=[
            container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=cidr, display_name=f"authorized-{i}")
            for i, cidr in enumerate(config.authorized_networks)
        ]
    )
