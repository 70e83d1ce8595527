"""A Kubernetes provider for the new cluster, authenticated by `gke-gcloud-auth-plugin` (as pulumi/examples gcp-py-gke).

The kubeconfig holds no credential. The plugin runs with `--use_application_default_credentials`
(kubernetes/cloud-provider-gcp cmd/gke-gcloud-auth-plugin, added in PR #264): it takes its token from
Application Default Credentials, the identity Pulumi's GCP provider uses, instead of shelling out to
`gcloud` for the `gcloud auth login` account, which a CI job with only ADC does not have. The plugin
refreshes the token itself, so a run longer than a token's hour (a GPU pool takes up to 90 minutes)
keeps working, and no token lands in the state.
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

ADC_FLAG = "--use_application_default_credentials"


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
                            "args": [ADC_FLAG],
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


def cluster_identifier(config: GkeClusterConfig) -> str:
    """The cluster's resource name: known before the cluster exists, and unchanged by any update to it."""
    return f"projects/{config.project}/locations/{config.region}/clusters/{config.cluster_name}"


def create_provider(
    name: str, config: GkeClusterConfig, cluster: container.Cluster, parent: pulumi.Resource
) -> k8s.Provider:
    return k8s.Provider(
        f"{name}-k8s",
        kubeconfig=cluster_kubeconfig(config, cluster),
        # The provider's identity. Without it pulumi-kubernetes' DiffConfig plans a replacement whenever the
        # kubeconfig is unknown, as it is in the preview of any cluster update (endpoint and CA are outputs),
        # and a replaced provider replaces every Kubernetes object. With it, only a change of this value
        # replaces the provider; a kubeconfig change is an update (pulumi/pulumi-kubernetes@v4.32.0:
        # provider/pkg/provider/provider.go, DiffConfig and clusterIdentifierKey; in since v4.16.0, and
        # documented by the pinned SDK's Provider(cluster_identifier=...)).
        cluster_identifier=cluster_identifier(config),
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[cluster]),
    )
