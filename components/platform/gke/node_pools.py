"""The CPU system pool and the a3-ultragpu-8g pool with its 1 gVNIC + 8 RDMA extra NICs."""

import pulumi
from pulumi_gcp import container

from components.config.gke import (
    FlexStartCapacity,
    GkeClusterConfig,
    OnDemandCapacity,
    ReservationCapacity,
    SpotCapacity,
)
from components.platform.gke.names import GPU_POOL, SYSTEM_POOL
from components.platform.gke.network import Networks
from components.platform.gke.project import NODE_OAUTH_SCOPES, NodeIdentity

# A3 Ultra pools take 35-90 minutes to create and as long to replace nodes (reference §5).
GPU_POOL_TIMEOUTS = pulumi.CustomTimeouts(create="90m", update="90m", delete="60m")
SYSTEM_POOL_TIMEOUTS = pulumi.CustomTimeouts(create="30m", update="30m", delete="30m")
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
# a3-ultragpu-8g bundles 32 local SSDs; CT maps the machine type to exactly this count.
A3_ULTRA_LOCAL_SSDS = 32
RESERVATION_KEY = "compute.googleapis.com/reservation-name"


def _common_node_config(identity: NodeIdentity) -> dict:
    return {
        "image_type": "COS_CONTAINERD",  # RDMA is supported on COS only
        "gvnic": container.NodePoolNodeConfigGvnicArgs(enabled=True),
        "service_account": identity.account.email,
        "oauth_scopes": NODE_OAUTH_SCOPES,
        "workload_metadata_config": container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        "shielded_instance_config": container.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True
        ),
        "metadata": {"disable-legacy-endpoints": "true"},
    }


def create_system_pool(
    name: str, config: GkeClusterConfig, cluster: container.Cluster, identity: NodeIdentity, parent: pulumi.Resource
) -> container.NodePool:
    pool = config.system_pool
    return container.NodePool(
        f"{name}-system-pool",
        name=SYSTEM_POOL,
        project=config.project,
        cluster=cluster.id,
        location=config.region,
        node_locations=[config.zone],  # next to the GPU nodes: gateway -> EPP -> vLLM stay in one zone
        initial_node_count=max(pool.min_nodes, 1),
        autoscaling=container.NodePoolAutoscalingArgs(
            total_min_node_count=pool.min_nodes, total_max_node_count=pool.max_nodes
        ),
        management=container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
        upgrade_settings=container.NodePoolUpgradeSettingsArgs(strategy="SURGE", max_surge=1, max_unavailable=0),
        node_config=container.NodePoolNodeConfigArgs(
            machine_type=pool.machine_type, disk_size_gb=pool.disk_size_gb, **_common_node_config(identity)
        ),
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=identity.bindings,
            custom_timeouts=SYSTEM_POOL_TIMEOUTS,
            # The autoscaler owns the size after creation; a changed initial count must not replace the pool.
            ignore_changes=["initialNodeCount"],
        ),
    )


def create_gpu_pool(
    name: str,
    config: GkeClusterConfig,
    cluster: container.Cluster,
    networks: Networks,
    identity: NodeIdentity,
    parent: pulumi.Resource,
) -> container.NodePool:
    pool, capacity = config.gpu_pool, config.gpu_pool.capacity
    flex = isinstance(capacity, FlexStartCapacity)
    node_config = container.NodePoolNodeConfigArgs(
        machine_type=pool.machine_type,
        disk_type=pool.boot_disk_type,
        disk_size_gb=pool.boot_disk_size_gb,
        ephemeral_storage_local_ssd_config=(
            container.NodePoolNodeConfigEphemeralStorageLocalSsdConfigArgs(local_ssd_count=A3_ULTRA_LOCAL_SSDS)
            if pool.local_ssd_ephemeral_storage
            else None
        ),
        guest_accelerators=[
            container.NodePoolNodeConfigGuestAcceleratorArgs(
                type=pool.accelerator_type,
                count=pool.accelerator_count,
                gpu_driver_installation_config=(
                    container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                        gpu_driver_version=pool.gpu_driver_version
                    )
                ),
            )
        ],
        taints=[container.NodePoolNodeConfigTaintArgs(**GPU_TAINT)],
        reservation_affinity=_reservation_affinity(config),
        spot=True if isinstance(capacity, SpotCapacity) else None,
        flex_start=True if flex else None,
        **_common_node_config(identity),
    )
    return container.NodePool(
        f"{name}-gpu-pool",
        name=GPU_POOL,
        project=config.project,
        cluster=cluster.id,
        location=config.region,
        node_locations=[config.zone],  # the RoCE profile's zone
        node_count=None if flex else pool.max_nodes,
        initial_node_count=0 if flex else None,
        autoscaling=(
            container.NodePoolAutoscalingArgs(
                total_min_node_count=0, total_max_node_count=capacity.max_nodes, location_policy="ANY"
            )
            if flex
            else None
        ),
        # Flex-start nodes are not repaired: a broken node is given back, and a new one requested.
        management=container.NodePoolManagementArgs(auto_repair=not flex, auto_upgrade=True),
        # There is no spare A3 Ultra capacity to surge into: replace one node at a time.
        upgrade_settings=container.NodePoolUpgradeSettingsArgs(strategy="SURGE", max_surge=0, max_unavailable=1),
        network_config=container.NodePoolNetworkConfigArgs(
            enable_private_nodes=config.private_nodes,
            additional_node_network_configs=[
                container.NodePoolNetworkConfigAdditionalNodeNetworkConfigArgs(
                    network=networks.gvnic.name, subnetwork=networks.gvnic_subnet.name
                ),
                *[
                    container.NodePoolNetworkConfigAdditionalNodeNetworkConfigArgs(
                        network=networks.rdma.name, subnetwork=subnet.name
                    )
                    for subnet in networks.rdma_subnets
                ],
            ],
        ),
        node_config=node_config,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=identity.bindings, custom_timeouts=GPU_POOL_TIMEOUTS),
    )


def _reservation_affinity(config: GkeClusterConfig):
    capacity = config.gpu_pool.capacity
    if isinstance(capacity, ReservationCapacity):
        path = f"projects/{capacity.project or config.project}/reservations/{capacity.name}"
        if capacity.block:
            path += f"/reservationBlocks/{capacity.block}"
        return container.NodePoolNodeConfigReservationAffinityArgs(
            consume_reservation_type="SPECIFIC_RESERVATION", key=RESERVATION_KEY, values=[path]
        )
    # On demand may use a matching automatic reservation; spot and flex-start must not touch reservations.
    kind = "ANY_RESERVATION" if isinstance(capacity, OnDemandCapacity) else "NO_RESERVATION"
    return container.NodePoolNodeConfigReservationAffinityArgs(consume_reservation_type=kind)
