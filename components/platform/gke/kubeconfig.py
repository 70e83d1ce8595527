"""A Kubernetes provider for the new cluster, authenticated by `gke-gcloud-auth-plugin` (as pulumi/examples gcp-py-gke).

The kubeconfig holds no credential: the plugin fetches a token from the caller's gcloud login.
"""

import json

import pulumi
import pulumi_kubernetes as k8s
from pulumi_gcp import container

from components.config.gke import GkeClusterConfig

INSTALL_HINT = (
    "Install gke-gcloud-auth-plugin for use with kubectl by following "
    "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin"
)


def context_name(config: GkeClusterConfig) -> str:
    """The context name `gcloud container clusters get-credentials` would write."""
    return f"gke_{config.project}_{config.region}_{config.cluster_name}"


def kubeconfig(context: str, endpoint: str, ca_certificate: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": context, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_certificate}}
            ],
            "users": [
                {
                    "name": context,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "installHint": INSTALL_HINT,
                            "provideClusterInfo": True,
                        }
                    },
                }
            ],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
        },
        indent=2,
    )


def cluster_kubeconfig(config: GkeClusterConfig, cluster: container.Cluster) -> pulumi.Output[str]:
    context = context_name(config)
    # master_auth arrives as a dict keyed in snake_case (a ClusterMasterAuth is a dict subclass too).
    return pulumi.Output.all(cluster.endpoint, cluster.master_auth).apply(
        lambda values: kubeconfig(context, values[0], values[1]["cluster_ca_certificate"])
    )


def create_provider(
    name: str, config: GkeClusterConfig, cluster: container.Cluster, parent: pulumi.Resource
) -> k8s.Provider:
    return k8s.Provider(
        f"{name}-k8s",
        kubeconfig=cluster_kubeconfig(config, cluster),
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[cluster]),
    )
