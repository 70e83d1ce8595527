"""How the Pulumi engine and the providers this program uses choose a step, as data with sources.

Read at (the newest snapshots available when written; keep them in step with requirements.txt):
- the engine: pulumi/pulumi@v3.259.0:pkg/resource/deploy/step_generator.go (the SDK pins 3.272.0);
- pulumi-kubernetes: pulumi/pulumi-kubernetes@94977969 (main after v4.32.0; we pin v4.34.2; the
  forceNew table in diff.go last changed in v4.8 with enableSecretMutable);
- pulumi-gcp bridges hashicorp/terraform-provider-google-beta: the ForceNew inputs below are that
  provider's schemas at @93c65b2d (the v8.0.0 release merge; pulumi-gcp 10.x, pinned 10.2.0, bridges
  v8); the autonaming and delete-before-replace settings are pulumi/pulumi-gcp@v9.35.0:provider/resources.go
  with pulumi/pulumi-terraform-bridge@v3.136.0.

Paths are Pulumi input paths (camelCase, dots; list items carry no index). A path covers every change
at or under it. A path ending in `.#` is a Terraform block or list whose ForceNew only fires when an
item is added or removed (the SDK marks `<attr>.#` RequiresNew; the fields inside have their own).
"""

from dataclasses import dataclass
from typing import Optional

ENGINE = "pulumi/pulumi@v3.259.0:pkg/resource/deploy/step_generator.go"
KUBE = "pulumi/pulumi-kubernetes@94977969"
KUBE_DIFF = f"{KUBE}:provider/pkg/provider/diff.go"
KUBE_PROVIDER = f"{KUBE}:provider/pkg/provider/provider.go"
KUBE_AWAIT = f"{KUBE}:provider/pkg/await/await.go"
KUBE_COMPONENTS = f"{KUBE}:provider/pkg/provider/provider_construct.go"  # helm.sh/v4 Chart, yaml/v2 ConfigFile
TF_GOOGLE = "hashicorp/terraform-provider-google-beta@93c65b2d"
PULUMI_GCP = "pulumi/pulumi-gcp@v9.35.0:provider/resources.go"
BRIDGE = "pulumi/pulumi-terraform-bridge@v3.136.0"


@dataclass(frozen=True)
class Rule:
    """Changing any of `paths` on a `kind` replaces it (`when`: only under that condition)."""

    kind: str  # Kubernetes "apiVersion:Kind" ("*" every kind), or a Pulumi type token
    paths: tuple[str, ...]
    source: str
    when: Optional[str] = None  # a named condition steps.py evaluates; None: always


# --- pulumi-kubernetes ------------------------------------------------------------------------

_SELECTOR = ("spec.selector",)  # labelSelectorForceNewProperties: matchLabels/matchExpressions under it
_CONTAINER = ("args", "command", "env", "image", "imagePullPolicy", "lifecycle", "livenessProbe", "ports",
              "readinessProbe", "resources", "securityContext", "stdin", "stdinOnce", "terminationMessagePath",
              "terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts", "workingDir")
_POD = ("spec.affinity", "spec.automountServiceAccountToken", "spec.dnsConfig", "spec.dnsPolicy",
        "spec.enableServiceLinks", "spec.hostAliases", "spec.hostIPC", "spec.hostNetwork", "spec.hostPID",
        "spec.hostname", "spec.imagePullSecrets", "spec.nodeName", "spec.nodeSelector", "spec.overhead",
        "spec.preemptionPolicy", "spec.priority", "spec.priorityClassName", "spec.readinessGates",
        "spec.restartPolicy", "spec.runtimeClassName", "spec.schedulerName", "spec.securityContext",
        "spec.serviceAccount", "spec.serviceAccountName", "spec.shareProcessNamespace", "spec.subdomain",
        "spec.terminationGracePeriodSeconds", "spec.volumes",
        *(f"spec.{c}.{f}" for c in ("containers", "initContainers") for f in _CONTAINER))

KUBE_FORCE_NEW: tuple[Rule, ...] = (
    # "Changing the identity of the resource always causes a replacement" (metadataForceNewProperties).
    Rule("*", ("metadata.name", "metadata.namespace"), KUBE_DIFF),
    *(Rule(f"apps/v1:{kind}", _SELECTOR, KUBE_DIFF) for kind in ("Deployment", "DaemonSet")),
    Rule("apps/v1:StatefulSet", ("spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.serviceName",
                                 "spec.volumeClaimTemplates", *_SELECTOR), KUBE_DIFF),
    Rule("batch/v1:Job", ("spec.completions", "spec.parallelism", "spec.template", *_SELECTOR), KUBE_DIFF),
    Rule("v1:PersistentVolumeClaim", ("spec.accessModes", "spec.selector", "spec.storageClassName",
                                      "spec.volumeName"), KUBE_DIFF),
    Rule("v1:Pod", _POD, KUBE_DIFF),
    Rule("v1:Service", ("spec.clusterIP",), KUBE_DIFF),
    Rule("v1:ResourceQuota", ("spec.scopes",), KUBE_DIFF),
    Rule("v1:Secret", ("type",), KUBE_DIFF),
    # Immutable unless the provider sets enableSecretMutable / enableConfigMapMutable (both default false),
    # and always when the object sets `immutable: true`.
    Rule("v1:Secret", ("type", "stringData", "data"), KUBE_DIFF, when="secret_immutable"),
    Rule("v1:ConfigMap", ("binaryData", "data"), KUBE_DIFF, when="configmap_immutable"),
    *(Rule(f"rbac.authorization.k8s.io/v1:{kind}", ("roleRef",), KUBE_DIFF)
      for kind in ("RoleBinding", "ClusterRoleBinding")),
    Rule("storage.k8s.io/v1:StorageClass", ("parameters", "provisioner"), KUBE_DIFF),
    Rule("policy/v1beta1:PodDisruptionBudget", ("spec",), KUBE_DIFF),
)

# Annotations the provider reads (metadata.annotations is not forceNew: changing one is an update).
KUBE_ANNOTATIONS: dict[str, tuple[str, str]] = {
    "pulumi.com/replaceUnready": (
        "a Job not ready (failed or still running) at preview is replaced instead of left as is", KUBE_PROVIDER),
    "pulumi.com/skipAwait": ("create/update return without waiting for the object to be ready", KUBE_AWAIT),
    "pulumi.com/waitFor": ("create/update wait for this condition, JSONPath or jq expression", KUBE_AWAIT),
    "pulumi.com/timeoutSeconds": ("how long create/update wait before failing", KUBE_AWAIT),
    "pulumi.com/patchForce": ("server-side apply takes fields owned by other managers", KUBE_AWAIT),
    "pulumi.com/deletionPropagationPolicy": ("how dependents are deleted with the object", KUBE_AWAIT),
}

# A replacement is delete-first when the object is named (not generateName/autonamed) and keeps its
# name and namespace: the API server cannot hold two objects under one name.
KUBE_DELETE_FIRST_SOURCE = KUBE_PROVIDER
# A change of the provider's cluster (clusterIdentifier, renderYamlToDirectory, a computed
# kubeconfig/context/cluster, or a kubeconfig whose active cluster differs) replaces the provider.
KUBE_PROVIDER_REPLACE_KEYS = ("kubeconfig", "context", "cluster", "clusterIdentifier", "renderYamlToDirectory")
KUBE_PROVIDER_SOURCE = f"{KUBE_PROVIDER} (DiffConfig)"
# Without the provider's upsertExistingObjects, creating an object that already exists fails.
KUBE_ALREADY_EXISTS_SOURCE = KUBE_AWAIT

# --- pulumi-gcp (Terraform google-beta ForceNew) ------------------------------------------------

_CONTAINER_DIR = f"{TF_GOOGLE}:google-beta/services/container"
_COMPUTE_DIR = f"{TF_GOOGLE}:google-beta/services/compute"
_IAM_MEMBER = f"{TF_GOOGLE}:google-beta/tpgiamresource/resource_iam_member.go"
_IAM_FIELDS = ("role", "member", "condition.#", "condition.expression", "condition.title", "condition.description")

# schemaNodeConfig() in node_config.go: the node_config fields a change of which replaces the pool
# (machineType, diskSizeGb, diskType, imageType, gvnic, taints, labels, workloadMetadataConfig update in place).
_NODE_CONFIG = tuple(f"nodeConfig.{p}" for p in (
    "guestAccelerators.#", "guestAccelerators.count", "guestAccelerators.type",
    "guestAccelerators.gpuDriverInstallationConfig.#", "guestAccelerators.gpuDriverInstallationConfig.gpuDriverVersion",
    "guestAccelerators.gpuPartitionSize", "guestAccelerators.gpuSharingConfig.#",
    "guestAccelerators.gpuSharingConfig.gpuSharingStrategy", "guestAccelerators.gpuSharingConfig.maxSharedClientsPerGpu",
    "localSsdCount", "loggingVariant.ephemeralStorageConfig", "ephemeralStorageLocalSsdConfig.#",
    "ephemeralStorageLocalSsdConfig.localSsdCount", "ephemeralStorageLocalSsdConfig.dataCacheCount",
    "localNvmeSsdBlockConfig.#", "localNvmeSsdBlockConfig.localSsdCount", "secondaryBootDisks.#",
    "secondaryBootDisks.diskImage", "secondaryBootDisks.mode", "metadata", "minCpuPlatform", "oauthScopes",
    "preemptible", "reservationAffinity.#", "reservationAffinity.consumeReservationType", "reservationAffinity.key",
    "reservationAffinity.values", "spot", "serviceAccount", "shieldedInstanceConfig.#",
    "shieldedInstanceConfig.enableSecureBoot", "shieldedInstanceConfig.enableIntegrityMonitoring", "sandboxConfig",
    "bootDiskKmsKey", "nodeGroup", "advancedMachineFeatures.#", "advancedMachineFeatures.threadsPerCore",
    "advancedMachineFeatures.enableNestedVirtualization", "soleTenantConfig", "hostMaintenancePolicy",
    "confidentialNodes.confidentialInstanceType", "enableConfidentialStorage", "localSsdEncryptionMode",
    "maxRunDuration", "flexStart",
))

GCP_FORCE_NEW: tuple[Rule, ...] = (
    Rule("gcp:container/cluster:Cluster", (
        "name", "location", "project", "network", "subnetwork", "initialNodeCount", "clusterIpv4Cidr", "description",
        "enableKubernetesAlpha", "enableTpu", "tpuConfig.enabled", "tpuConfig.useServiceNetworking", "enableAutopilot",
        "confidentialNodes.#", "confidentialNodes.enabled", "confidentialNodes.confidentialInstanceType",
        "masterAuth.clientCertificateConfig.#", "masterAuth.clientCertificateConfig.issueClientCertificate",
        "nodePools.#", "ipAllocationPolicy.#", "ipAllocationPolicy.clusterIpv4CidrBlock",
        "ipAllocationPolicy.servicesIpv4CidrBlock", "ipAllocationPolicy.clusterSecondaryRangeName",
        "ipAllocationPolicy.servicesSecondaryRangeName", "ipAllocationPolicy.podCidrOverprovisionConfig.#",
        "networkingMode", "privateClusterConfig.masterIpv4CidrBlock", "privateClusterConfig.privateEndpointSubnetwork",
        "defaultMaxPodsPerNode", "datapathProvider", "dataplaneOptimizationMode",
        "clusterAutoscaling.autoProvisioningDefaults.bootDiskKmsKey", "userManagedKeysConfig",
        *_NODE_CONFIG,  # the default pool's node_config (the program ignores changes to it)
    ), f"{_CONTAINER_DIR}/resource_container_cluster.go + node_config.go"),
    # CustomizeDiff: ForceNewIfChange(..., isBeenEnabled): turning these off again replaces the cluster.
    Rule("gcp:container/cluster:Cluster", ("enableL4IlbSubsetting", "enableFqdnNetworkPolicy"),
         f"{_CONTAINER_DIR}/resource_container_cluster.go", when="disabled_after_enabled"),
    Rule("gcp:container/nodePool:NodePool", (
        "project", "cluster", "location", "placementPolicy.#", "placementPolicy.policyName", "queuedProvisioning.#",
        "queuedProvisioning.enabled", "maxPodsPerNode", "initialNodeCount", "name", "namePrefix",
        "networkConfig.acceleratorNetworkProfile", "networkConfig.createPodRange", "networkConfig.podRange",
        "networkConfig.podIpv4CidrBlock", "networkConfig.additionalNodeNetworkConfigs.#",
        "networkConfig.additionalNodeNetworkConfigs.network", "networkConfig.additionalNodeNetworkConfigs.subnetwork",
        "networkConfig.additionalPodNetworkConfigs.#", "networkConfig.additionalPodNetworkConfigs.subnetwork",
        "networkConfig.additionalPodNetworkConfigs.secondaryPodRange",
        "networkConfig.additionalPodNetworkConfigs.maxPodsPerNode", "networkConfig.podCidrOverprovisionConfig.#",
        "networkConfig.subnetwork", *_NODE_CONFIG,
    ), f"{_CONTAINER_DIR}/resource_container_node_pool.go + node_config.go"),
    Rule("gcp:compute/network:Network", (
        "name", "autoCreateSubnetworks", "description", "internalIpv6Range", "networkProfile", "params", "project",
    ), f"{_COMPUTE_DIR}/resource_compute_network.go"),
    Rule("gcp:compute/subnetwork:Subnetwork", (
        "name", "network", "description", "externalIpv6Prefix", "internalIpv6Prefix", "params", "region",
        "reservedInternalRange", "resolveSubnetMask", "project",
    ), f"{_COMPUTE_DIR}/resource_compute_subnetwork.go"),
    # CustomizeDiff: ForceNewIfChange("ip_cidr_range", IsShrinkageIpCidr): growing a range is an update.
    Rule("gcp:compute/subnetwork:Subnetwork", ("ipCidrRange",), f"{_COMPUTE_DIR}/resource_compute_subnetwork.go",
         when="cidr_shrinks"),
    Rule("gcp:compute/firewall:Firewall", ("name", "direction", "params", "project"),
         f"{_COMPUTE_DIR}/resource_compute_firewall.go"),
    Rule("gcp:compute/router:Router", (
        "name", "encryptedInterconnectRouter", "nccGateway", "network", "params", "region", "project",
    ), f"{_COMPUTE_DIR}/resource_compute_router.go"),
    Rule("gcp:compute/routerNat:RouterNat", (
        "name", "router", "endpointTypes", "initialNatIps", "region", "type", "project",
    ), f"{_COMPUTE_DIR}/resource_compute_router_nat.go"),
    Rule("gcp:serviceaccount/account:Account", ("accountId", "project"),
         f"{TF_GOOGLE}:google-beta/services/resourcemanager/resource_google_service_account.go"),
    Rule("gcp:storage/bucket:Bucket", (
        "name", "location", "project", "enableObjectRetention", "customPlacementConfig.dataLocations",
        "hierarchicalNamespace.#", "hierarchicalNamespace.enabled",
    ), f"{TF_GOOGLE}:google-beta/services/storage/resource_storage_bucket.go"),
    Rule("gcp:projects/service:Service", ("service", "project"),
         f"{TF_GOOGLE}:google-beta/services/resourcemanager/resource_google_project_service.go"),
    Rule("gcp:projects/iAMMember:IAMMember", ("project",),
         f"{TF_GOOGLE}:google-beta/services/resourcemanager/iam_project.go"),
    Rule("gcp:serviceaccount/iAMMember:IAMMember", ("serviceAccountId",),
         f"{TF_GOOGLE}:google-beta/services/resourcemanager/iam_service_account.go"),
    Rule("gcp:storage/bucketIAMMember:BucketIAMMember", ("bucket",),
         f"{TF_GOOGLE}:google-beta/services/storage/iam_storage_bucket.go"),
    *(Rule(kind, _IAM_FIELDS, _IAM_MEMBER) for kind in (
        "gcp:projects/iAMMember:IAMMember", "gcp:serviceaccount/iAMMember:IAMMember",
        "gcp:storage/bucketIAMMember:BucketIAMMember")),
)

# The bridge replaces delete-first when the resource's autonamed input was set by the program (two
# resources cannot share the name: schema.go nameRequiresDeleteBeforeReplace), or when the provider
# says so for the type (ResourceInfo.DeleteBeforeReplace). pulumi-gcp autonames every `name` input
# (SetAutonaming) and a service account's `accountId`.
GCP_AUTONAMED: dict[str, str] = {
    "gcp:container/cluster:Cluster": "name",
    "gcp:container/nodePool:NodePool": "name",
    "gcp:compute/network:Network": "name",
    "gcp:compute/subnetwork:Subnetwork": "name",
    "gcp:compute/firewall:Firewall": "name",
    "gcp:compute/router:Router": "name",
    "gcp:compute/routerNat:RouterNat": "name",
    "gcp:storage/bucket:Bucket": "name",
    "gcp:serviceaccount/account:Account": "accountId",
}
GCP_AUTONAMED_SOURCE = f"{PULUMI_GCP} (SetAutonaming; account_id AutoName) + {BRIDGE}:pkg/tfbridge/schema.go"
GCP_DELETE_BEFORE_REPLACE: dict[str, str] = {"gcp:projects/iAMMember:IAMMember": PULUMI_GCP}

# Deletes the provider refuses (so a replacement or a delete fails): type -> (input, its value that
# blocks, what happens, source). Read from the old state, as the provider's Delete does.
GCP_DELETE_GUARDS: dict[str, tuple[str, bool, str, str]] = {
    "gcp:container/cluster:Cluster": (
        "deletionProtection", True, "the delete fails: deletionProtection is true",
        f"{_CONTAINER_DIR}/resource_container_cluster.go"),
    "gcp:storage/bucket:Bucket": (
        "forceDestroy", False, "the delete fails while the bucket holds objects: forceDestroy is not true",
        f"{TF_GOOGLE}:google-beta/services/storage/resource_storage_bucket.go"),
}

# --- the engine ---------------------------------------------------------------------------------

ENGINE_RULES: dict[str, str] = {
    "provider": "the resource's provider is replaced: the resource is replaced with it (providerChanged)",
    "replaceOnChanges": "a changed input listed in replaceOnChanges replaces (applyReplaceOnChanges)",
    "ignoreChanges": "inputs under ignoreChanges keep their old values before the diff (processIgnoreChanges)",
    "deleteBeforeReplace": "the option, when set, overrides the provider's create-first/delete-first choice",
    "urn": "a new URN (resource name, type or parent) is a create, the old URN a delete; creates run "
           "before deletes; aliases map an old URN to the new one",
    "retainOnDelete": "a delete only forgets the resource: it keeps running (and keeps its name)",
    "protect": "a delete or a replacement of a protected resource fails the update",
    "options": "a change of options alone is recorded in the state without a provider call",
    "transforms": "transforms on a component rewrite each child's inputs and options as it registers",
    "unknown": "an input read from a replaced or new resource's computed outputs is unknown at preview; "
               "an unknown input that forces a new resource replaces",
}


def engine(rule: str) -> str:
    """The source of one of ENGINE_RULES, as a reason cites it."""
    if rule not in ENGINE_RULES:
        raise KeyError(f"no engine rule {rule!r}")
    return f"{ENGINE} ({rule})"


def kube_rules(api_version: str, kind: str) -> list[Rule]:
    key = f"{api_version}:{kind}"
    return [rule for rule in KUBE_FORCE_NEW if rule.kind in ("*", key)]


def gcp_rules(type_: str) -> list[Rule]:
    return [rule for rule in GCP_FORCE_NEW if rule.kind == type_]
