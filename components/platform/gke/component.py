"""GkeCluster: everything `pulumi up -s gke` creates before the P/D stack, as one component."""

from typing import Optional

import pulumi

from components.config.gke import GkeClusterConfig
from components.platform.gke.cluster import create_cluster
from components.platform.gke.gib_installer import create_gib_installer
from components.platform.gke.kubeconfig import context_name, create_provider
from components.platform.gke.names import GPU_POOL
from components.platform.gke.network import create_networks
from components.platform.gke.node_pools import create_gpu_pool, create_system_pool
from components.platform.gke.project import REQUIRED_APIS, enable_apis, node_identity
from components.platform.gke.rdma import create_rdma_networks
from components.platform.gke.version import CONTAINER_API, resolve_version
from components.platform.gke.wiring import path_a_wiring
from components.platform.wiring import Platform
from components.versions import Versions, default_versions


class GkeCluster(pulumi.ComponentResource):
    platform: Platform

    def __init__(
        self,
        name: str,
        config: GkeClusterConfig,
        opts: Optional[pulumi.ResourceOptions] = None,
        versions: Optional[Versions] = None,
    ):
        super().__init__("llmd:platform:GkeCluster", name, None, opts)
        versions = versions or default_versions()
        apis = enable_apis(name, config, self)
        version = resolve_version(config, apis[REQUIRED_APIS.index(CONTAINER_API)])
        identity = node_identity(name, config, self, apis)
        networks = create_networks(name, config, self, apis)
        cluster = create_cluster(name, config, networks, identity, self, apis, version)
        system_pool = create_system_pool(name, config, cluster, identity, self)
        gpu_pool = create_gpu_pool(name, config, cluster, networks, identity, self)
        provider = create_provider(name, config, cluster, self)

        # In-cluster RDMA objects need the cluster only, so they are in place long before the GPU pool.
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[cluster])
        rdma = create_rdma_networks(name, networks.rdma, networks.rdma_subnets, in_cluster)
        installer = create_gib_installer(name, versions, config.gpu_pool.accelerator_type, in_cluster)

        self.platform = Platform(
            provider=provider,
            wiring=path_a_wiring(config),
            gpu_ready=[gpu_pool, *rdma.networks, installer],
            # The proxy-only subnet and firewalls are here so that, on destroy, the Gateway and its load
            # balancer go before them (an LB left behind would hold the subnet).
            cluster_ready=[
                cluster,
                system_pool,
                networks.proxy_only,
                *networks.firewalls,
                *([networks.nat] if networks.nat else []),
            ],
            manages_gateway_crds=config.manages_gateway_crds,
        )
        self.register_outputs(
            {
                "clusterName": cluster.name,
                "location": config.region,
                "gkeVersion": version,
                "zone": config.zone,
                "kubeContext": context_name(config),
                "gpuPool": GPU_POOL,
                "fabric": self.platform.wiring.fabric,
            }
        )
