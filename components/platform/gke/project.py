"""Project APIs and the node service account with least-privilege roles."""

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.config.gke import GkeClusterConfig
from components.platform.gke.names import GcpNames

REQUIRED_APIS = (
    "serviceusage.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    # Pods that act as a Google service account through Workload Identity get its tokens from here.
    "iamcredentials.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "artifactregistry.googleapis.com",
    "storage.googleapis.com",
    "networkservices.googleapis.com",  # GKE Inference Gateway
)
# The minimal node roles (CIS GKE 5.2.1, reference §1.5): logs, metrics and metadata through the GKE
# node role, plus image pulls from Artifact Registry.
NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
NODE_OAUTH_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


@dataclass(frozen=True)
class NodeIdentity:
    account: gcp.serviceaccount.Account
    bindings: list[gcp.projects.IAMMember]


def enable_apis(name: str, config: GkeClusterConfig, parent: pulumi.Resource) -> list[gcp.projects.Service]:
    # Left enabled on destroy: other workloads of the project may use them.
    return [
        gcp.projects.Service(
            f"{name}-api-{api.split('.')[0]}",
            project=config.project,
            service=api,
            disable_on_destroy=False,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for api in REQUIRED_APIS
    ]


def node_identity(
    name: str, config: GkeClusterConfig, parent: pulumi.Resource, apis: list[pulumi.Resource]
) -> NodeIdentity:
    account = gcp.serviceaccount.Account(
        f"{name}-node-sa",
        project=config.project,
        account_id=GcpNames(config.cluster_name).node_service_account,
        display_name=f"Nodes of GKE cluster {config.cluster_name}",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=apis),
    )
    bindings = [
        gcp.projects.IAMMember(
            f"{name}-node-sa-{role.split('/')[-1]}",
            project=config.project,
            role=role,
            member=account.member,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for role in NODE_ROLES
    ]
    return NodeIdentity(account, bindings)
