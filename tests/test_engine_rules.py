"""The engine and provider rules (tools/plan/engine_rules.py) and how tools/plan/steps.py applies them.

The table below is written from the upstream sources, not from the rules module: removing a rule (or
the path the table names) makes its row fail, and a rule without a row fails test_every_rule_has_a_row.
Sources: pulumi/pulumi-kubernetes@94977969:provider/pkg/provider/diff.go (forceNew) and provider.go
(Diff: delete-before-replace, DiffConfig); hashicorp/terraform-provider-google-beta@93c65b2d schemas
(ForceNew); pulumi/pulumi-gcp@v9.35.0:provider/resources.go + pulumi/pulumi-terraform-bridge@v3.136.0:
pkg/tfbridge/schema.go (nameRequiresDeleteBeforeReplace); pulumi/pulumi@v3.259.0:pkg/resource/deploy/
step_generator.go (provider change, ignoreChanges, replaceOnChanges, deleteBeforeReplace).
"""

import re

import pytest

from tools.plan import engine_rules as rules
from tools.plan.steps import plan_steps

SOURCE = re.compile(r"^[\w.-]+/[\w.-]+@[\w.]+(:\S+)?")
KUBE_TYPES = {"apps/v1": "apps/v1", "batch/v1": "batch/v1", "v1": "core/v1",
              "rbac.authorization.k8s.io/v1": "rbac.authorization.k8s.io/v1",
              "storage.k8s.io/v1": "storage.k8s.io/v1", "policy/v1beta1": "policy/v1beta1"}
NAMED = {"gcp:container/cluster:Cluster": "name", "gcp:container/nodePool:NodePool": "name",
         "gcp:compute/network:Network": "name", "gcp:compute/subnetwork:Subnetwork": "name",
         "gcp:compute/firewall:Firewall": "name", "gcp:compute/router:Router": "name",
         "gcp:compute/routerNat:RouterNat": "name", "gcp:storage/bucket:Bucket": "name",
         "gcp:serviceaccount/account:Account": "accountId"}


def _set(tree: dict, path: str, value) -> dict:
    *parents, leaf = path.split(".")
    node = tree
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return tree


def _record(type_: str, inputs: dict, **options) -> dict:
    return {"urn": f"urn:pulumi:s::p::{type_}::x", "type": type_, "name": "x", "custom": True, "provider": "",
            "parent": "", "dependencies": [], "customTimeouts": {}, "inputs": inputs, "propertyDependencies": {},
            "options": {"deleteBeforeReplace": None, "ignoreChanges": [], "replaceOnChanges": [],
                        "retainOnDelete": False, "protect": False, "aliases": [], **options}}


def kube_step(api_kind: str, path: str, old="a", new="b", **options):
    api_version, kind = api_kind.rsplit(":", 1)
    type_ = f"kubernetes:{KUBE_TYPES[api_version]}:{kind}"

    def inputs(value):
        base = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": "ns"}}
        return _set(base, path, value)
    [step] = plan_steps([_record(type_, inputs(old), **options)], [_record(type_, inputs(new), **options)])
    return step


def gcp_step(type_: str, path: str, old="a", new="b", named=True):
    def inputs(value):
        tree = {NAMED[type_]: "fixed"} if named and type_ in NAMED else {}
        if path.endswith(".#"):
            return _set(tree, path[:-2], [{}]) if value == "b" else tree
        return _set(tree, path, value)
    [step] = plan_steps([_record(type_, inputs(old))], [_record(type_, inputs(new))])
    return step


# (kind, path, step): every rule has at least one row. Kubernetes objects are named and keep their
# name, so a forced replacement is delete-first, except when the name or namespace itself changes.
KUBE_TABLE = [
    ("apps/v1:Deployment", "metadata.name", "replace-create-first"),
    ("apps/v1:Deployment", "metadata.namespace", "replace-create-first"),
    ("apps/v1:Deployment", "spec.selector.matchLabels.app", "replace-delete-first"),
    ("apps/v1:Deployment", "spec.template.spec.containers", "update"),
    ("apps/v1:Deployment", "spec.replicas", "update"),
    ("apps/v1:DaemonSet", "spec.selector.matchLabels.app", "replace-delete-first"),
    ("apps/v1:StatefulSet", "spec.volumeClaimTemplates", "replace-delete-first"),
    ("apps/v1:StatefulSet", "spec.serviceName", "replace-delete-first"),
    ("batch/v1:Job", "spec.template.spec.containers", "replace-delete-first"),
    ("batch/v1:Job", "spec.selector.matchLabels.app", "replace-delete-first"),
    ("batch/v1:Job", "spec.parallelism", "replace-delete-first"),
    ("batch/v1:Job", "spec.backoffLimit", "update"),
    ("v1:PersistentVolumeClaim", "spec.storageClassName", "replace-delete-first"),
    ("v1:PersistentVolumeClaim", "spec.accessModes", "replace-delete-first"),
    ("v1:PersistentVolumeClaim", "spec.resources.requests.storage", "update"),  # expansion is in place
    ("v1:Pod", "spec.containers.image", "replace-delete-first"),
    ("v1:Pod", "spec.nodeSelector.pool", "replace-delete-first"),
    ("v1:Pod", "spec.activeDeadlineSeconds", "update"),
    ("v1:Service", "spec.clusterIP", "replace-delete-first"),
    ("v1:Service", "spec.ports", "update"),
    ("v1:ResourceQuota", "spec.scopes", "replace-delete-first"),
    ("v1:Secret", "type", "replace-delete-first"),
    ("v1:Secret", "stringData.token", "replace-delete-first"),
    ("v1:ConfigMap", "data.config", "replace-delete-first"),
    ("rbac.authorization.k8s.io/v1:RoleBinding", "roleRef.name", "replace-delete-first"),
    ("rbac.authorization.k8s.io/v1:ClusterRoleBinding", "roleRef.name", "replace-delete-first"),
    ("rbac.authorization.k8s.io/v1:RoleBinding", "subjects", "update"),
    ("storage.k8s.io/v1:StorageClass", "parameters.type", "replace-delete-first"),
    ("policy/v1beta1:PodDisruptionBudget", "spec.minAvailable", "replace-delete-first"),
    ("apps/v1:Deployment", "metadata.annotations.pulumi.com/skipAwait", "update"),
]

# Terraform ForceNew: the program sets every autonamed `name`, so the bridge replaces delete-first.
GCP_TABLE = [
    ("gcp:container/cluster:Cluster", "network", "replace-delete-first"),
    ("gcp:container/cluster:Cluster", "location", "replace-delete-first"),
    ("gcp:container/cluster:Cluster", "ipAllocationPolicy.clusterSecondaryRangeName", "replace-delete-first"),
    ("gcp:container/cluster:Cluster", "datapathProvider", "replace-delete-first"),
    ("gcp:container/cluster:Cluster", "privateClusterConfig.masterIpv4CidrBlock", "replace-delete-first"),
    ("gcp:container/cluster:Cluster", "minMasterVersion", "update"),
    ("gcp:container/cluster:Cluster", "enableMultiNetworking", "update"),
    ("gcp:container/cluster:Cluster", "privateClusterConfig.enablePrivateNodes", "update"),
    ("gcp:container/nodePool:NodePool", "nodeConfig.guestAccelerators.type", "replace-delete-first"),
    ("gcp:container/nodePool:NodePool", "nodeConfig.reservationAffinity.values", "replace-delete-first"),
    ("gcp:container/nodePool:NodePool", "nodeConfig.flexStart", "replace-delete-first"),
    ("gcp:container/nodePool:NodePool", "nodeConfig.spot", "replace-delete-first"),
    ("gcp:container/nodePool:NodePool", "nodeConfig.serviceAccount", "replace-delete-first"),
    ("gcp:container/nodePool:NodePool", "nodeConfig.oauthScopes", "replace-delete-first"),
    ("gcp:container/nodePool:NodePool", "networkConfig.additionalNodeNetworkConfigs.network", "replace-delete-first"),
    ("gcp:container/nodePool:NodePool", "initialNodeCount", "replace-delete-first"),
    ("gcp:container/nodePool:NodePool", "nodeLocations", "update"),
    ("gcp:container/nodePool:NodePool", "nodeConfig.machineType", "update"),
    ("gcp:container/nodePool:NodePool", "nodeConfig.diskSizeGb", "update"),
    ("gcp:container/nodePool:NodePool", "autoscaling.totalMaxNodeCount", "update"),
    ("gcp:compute/network:Network", "networkProfile", "replace-delete-first"),
    ("gcp:compute/network:Network", "mtu", "update"),
    ("gcp:compute/subnetwork:Subnetwork", "network", "replace-delete-first"),
    ("gcp:compute/subnetwork:Subnetwork", "region", "replace-delete-first"),
    ("gcp:compute/subnetwork:Subnetwork", "secondaryIpRanges", "update"),
    ("gcp:compute/firewall:Firewall", "direction", "replace-delete-first"),
    ("gcp:compute/firewall:Firewall", "sourceRanges", "update"),
    ("gcp:compute/router:Router", "network", "replace-delete-first"),
    ("gcp:compute/routerNat:RouterNat", "router", "replace-delete-first"),
    ("gcp:compute/routerNat:RouterNat", "logConfig.filter", "update"),
    ("gcp:serviceaccount/account:Account", "project", "replace-delete-first"),
    ("gcp:serviceaccount/account:Account", "displayName", "update"),
    ("gcp:storage/bucket:Bucket", "location", "replace-delete-first"),
    ("gcp:storage/bucket:Bucket", "hierarchicalNamespace.enabled", "replace-delete-first"),
    ("gcp:storage/bucket:Bucket", "hierarchicalNamespace.#", "replace-delete-first"),
    ("gcp:storage/bucket:Bucket", "labels.app", "update"),
    ("gcp:projects/service:Service", "service", "replace-create-first"),
    ("gcp:projects/service:Service", "disableOnDestroy", "update"),
    ("gcp:projects/iAMMember:IAMMember", "role", "replace-delete-first"),  # DeleteBeforeReplace in resources.go
    ("gcp:projects/iAMMember:IAMMember", "project", "replace-delete-first"),
    ("gcp:serviceaccount/iAMMember:IAMMember", "member", "replace-create-first"),
    ("gcp:serviceaccount/iAMMember:IAMMember", "serviceAccountId", "replace-create-first"),
    ("gcp:storage/bucketIAMMember:BucketIAMMember", "bucket", "replace-create-first"),
    ("gcp:storage/bucketIAMMember:BucketIAMMember", "condition.expression", "replace-create-first"),
]


@pytest.mark.parametrize("kind, path, expected", KUBE_TABLE)
def test_kubernetes_rules(kind, path, expected):
    step = kube_step(kind, path)
    assert step.step == expected, step.reasons


@pytest.mark.parametrize("type_, path, expected", GCP_TABLE)
def test_gcp_rules(type_, path, expected):
    step = gcp_step(type_, path)
    assert step.step == expected, step.reasons
    if expected in ("replace-create-first", "replace-delete-first"):
        assert any(r["source"].startswith(rules.TF_GOOGLE) for r in step.reasons), step.reasons


# Conditional rules, each with its own test below.
CONDITIONAL = {("gcp:container/cluster:Cluster", "enableL4IlbSubsetting"),
               ("gcp:compute/subnetwork:Subnetwork", "ipCidrRange")}


def test_every_rule_has_a_row():
    covered = {(k, p) for k, p, _ in KUBE_TABLE} | {(t, p) for t, p, _ in GCP_TABLE} | CONDITIONAL
    for rule in rules.KUBE_FORCE_NEW + rules.GCP_FORCE_NEW:
        kinds = [k for k, _ in covered] if rule.kind == "*" else [rule.kind]
        hit = any(k in kinds and any(p == r or p.startswith(r.removesuffix(".#") + ".") or p == r.removesuffix(".#")
                                     for r in rule.paths) for k, p in covered)
        assert hit, f"no table row exercises {rule.kind} {rule.paths[:3]}..."


def test_every_rule_names_its_source():
    for rule in rules.KUBE_FORCE_NEW + rules.GCP_FORCE_NEW:
        assert SOURCE.match(rule.source), rule
    for what, source in rules.KUBE_ANNOTATIONS.values():
        assert SOURCE.match(source) and what
    for source in (rules.ENGINE, rules.GCP_AUTONAMED_SOURCE, *rules.GCP_DELETE_BEFORE_REPLACE.values(),
                   *(guard[3] for guard in rules.GCP_DELETE_GUARDS.values()),
                   rules.KUBE_PROVIDER_SOURCE, rules.KUBE_DELETE_FIRST_SOURCE, rules.KUBE_ALREADY_EXISTS_SOURCE):
        assert SOURCE.match(source), source


# --- conditions ------------------------------------------------------------------------------------

def test_configmap_is_mutable_only_when_the_provider_says_so():
    provider = _record("pulumi:providers:kubernetes", {"enableConfigMapMutable": "true"})
    provider["custom"] = True

    def plan(with_provider: bool):
        def cm(value):
            rec = _record("kubernetes:core/v1:ConfigMap",
                          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": value}})
            rec["provider"] = f"{provider['urn']}::id" if with_provider else ""
            return rec
        olds, news = [cm("a")], [cm("b")]
        if with_provider:
            olds.append(provider)
            news.append(provider)
        return {s.type: s.step for s in plan_steps(olds, news)}["kubernetes:core/v1:ConfigMap"]

    assert plan(False) == "replace-delete-first"
    assert plan(True) == "update"


def test_subnet_range_grows_in_place_and_shrinks_by_replacement():
    grow = gcp_step("gcp:compute/subnetwork:Subnetwork", "ipCidrRange", "10.0.0.0/24", "10.0.0.0/20")
    shrink = gcp_step("gcp:compute/subnetwork:Subnetwork", "ipCidrRange", "10.0.0.0/20", "10.0.0.0/24")
    assert (grow.step, shrink.step) == ("update", "replace-delete-first")


def test_cluster_features_replace_only_when_turned_off_again():
    on = gcp_step("gcp:container/cluster:Cluster", "enableL4IlbSubsetting", False, True)
    off = gcp_step("gcp:container/cluster:Cluster", "enableL4IlbSubsetting", True, False)
    assert (on.step, off.step) == ("update", "replace-delete-first")


def test_unnamed_gcp_resource_replaces_create_first():
    assert gcp_step("gcp:compute/network:Network", "networkProfile", named=False).step == "replace-create-first"


# --- engine options --------------------------------------------------------------------------------

def test_delete_before_replace_option_overrides_the_provider():
    assert kube_step("batch/v1:Job", "spec.template.x", deleteBeforeReplace=False).step == "replace-create-first"
    assert kube_step("apps/v1:Deployment", "metadata.name", deleteBeforeReplace=True).step == "replace-delete-first"


def test_replace_on_changes_and_ignore_changes():
    assert kube_step("apps/v1:Deployment", "spec.replicas", replaceOnChanges=["spec.replicas"]).step \
        == "replace-delete-first"
    assert kube_step("apps/v1:Deployment", "spec.replicas", replaceOnChanges=["*"]).step == "replace-delete-first"
    ignored = kube_step("batch/v1:Job", "spec.template.x", ignoreChanges=["spec.template"])
    assert ignored.step == "same" and any("ignoreChanges" in r["reason"] for r in ignored.reasons)


def test_protect_and_retain_on_delete_are_reported():
    protected = kube_step("batch/v1:Job", "spec.template.x", protect=True)
    assert protected.step == "replace-delete-first" and any("protect" in r["reason"] for r in protected.reasons)
    kept = _record("gcp:storage/bucket:Bucket", {"name": "b"}, retainOnDelete=True)
    [step] = plan_steps([kept], [])
    assert step.step == "delete" and any("retainOnDelete" in r["reason"] for r in step.reasons)


def test_a_new_urn_for_the_same_object_is_create_then_delete_and_warns():
    def pvc(urn_name):
        rec = _record("kubernetes:core/v1:PersistentVolumeClaim",
                      {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "n"}})
        rec["urn"], rec["name"] = f"urn:pulumi:s::p::kubernetes:core/v1:PersistentVolumeClaim::{urn_name}", urn_name
        return rec
    old, new = pvc("old"), pvc("new")
    steps = {s.urn: s for s in plan_steps([old], [new])}
    assert (steps[old["urn"]].step, steps[new["urn"]].step) == ("delete", "create")
    assert any("already exists" in r["reason"] for r in steps[new["urn"]].reasons)
    new["options"]["aliases"] = [old["urn"]]
    assert [(s.urn, s.step) for s in plan_steps([old], [new])] == [(new["urn"], "same")]


def test_a_replaced_dependency_makes_an_id_input_unknown():
    network = _record("gcp:compute/network:Network", {"name": "n", "networkProfile": "a"})
    network["urn"], network["name"] = "urn:pulumi:s::p::gcp:compute/network:Network::net", "net"
    subnet = _record("gcp:compute/subnetwork:Subnetwork", {"name": "s", "network": "net-id"})
    subnet["propertyDependencies"] = {"network": [network["urn"]]}
    changed = {**network, "inputs": {"name": "n", "networkProfile": "b"}}
    steps = {s.type: s for s in plan_steps([network, subnet], [changed, subnet])}
    assert steps["gcp:compute/network:Network"].step == "replace-delete-first"
    assert steps["gcp:compute/subnetwork:Subnetwork"].step == "replace-delete-first"
    assert any("unknown at preview" in r["reason"] for r in steps["gcp:compute/subnetwork:Subnetwork"].reasons)


def _kubeconfig(server: str, user: str) -> str:
    return (f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\ncontexts: [{{name: x, context: {{cluster: c}}}}]\n"
            f"current-context: x\nusers: [{{name: u, user: {{token: {user}}}}}]\n")


@pytest.mark.parametrize("old, new, expected", [
    ({"kubeconfig": _kubeconfig("https://a", "t1")}, {"kubeconfig": _kubeconfig("https://a", "t2")}, "update"),
    ({"kubeconfig": _kubeconfig("https://a", "t1")}, {"kubeconfig": _kubeconfig("https://b", "t1")},
     "replace-create-first"),
    ({"context": "one"}, {"context": "two"}, "replace-create-first"),  # the kubeconfig is not readable offline
    ({"enableServerSideApply": "true"}, {"enableServerSideApply": "false"}, "update"),
    ({"clusterIdentifier": "a", "context": "one"}, {"clusterIdentifier": "a", "context": "two"}, "update"),
    ({"clusterIdentifier": "a"}, {"clusterIdentifier": "b"}, "replace-create-first"),
    # Adding the identifier is not a replacement by itself (diff.Updated only); the kubeconfig decides.
    ({"kubeconfig": _kubeconfig("https://a", "t1")}, {"clusterIdentifier": "a", "kubeconfig": _kubeconfig("https://a", "t2")},
     "update"),
    ({"kubeconfig": _kubeconfig("https://a", "t1")}, {"clusterIdentifier": "a", "kubeconfig": _kubeconfig("https://b", "t1")},
     "replace-create-first"),
])
def test_kubernetes_provider_is_replaced_when_its_cluster_changes(old, new, expected):
    [step] = plan_steps([_record("pulumi:providers:kubernetes", old)], [_record("pulumi:providers:kubernetes", new)])
    assert step.step == expected, step.reasons


@pytest.mark.parametrize("type_, inputs, blocked", [
    ("gcp:container/cluster:Cluster", {"name": "c", "deletionProtection": True}, True),
    ("gcp:container/cluster:Cluster", {"name": "c", "deletionProtection": False}, False),
    ("gcp:storage/bucket:Bucket", {"name": "b"}, True),
    ("gcp:storage/bucket:Bucket", {"name": "b", "forceDestroy": True}, False),
])
def test_deletes_the_provider_refuses_are_reported(type_, inputs, blocked):
    [step] = plan_steps([_record(type_, inputs)], [])
    assert step.step == "delete"
    assert any("the delete fails" in r["reason"] for r in step.reasons) == blocked
    replaced = gcp_step(type_, "location") if type_.endswith("Bucket") else gcp_step(type_, "network")
    assert replaced.step == "replace-delete-first"


def test_a_block_added_whole_replaces_when_a_field_in_it_forces():
    def cluster(private):
        inputs = {"name": "c", **({"privateClusterConfig": private} if private else {})}
        return _record("gcp:container/cluster:Cluster", inputs)
    nodes_only = plan_steps([cluster(None)], [cluster({"enablePrivateNodes": True})])
    with_range = plan_steps([cluster(None)], [cluster({"enablePrivateNodes": True, "masterIpv4CidrBlock": "10.0.0.0/28"})])
    assert (nodes_only[0].step, with_range[0].step) == ("update", "replace-delete-first")


def test_a_cluster_identifier_keeps_the_provider_when_its_cluster_is_replaced():
    cluster = _record("gcp:container/cluster:Cluster", {"name": "c", "network": "n1"})
    cluster["urn"], cluster["name"] = "urn:pulumi:s::p::gcp:container/cluster:Cluster::cl", "cl"
    provider = _record("pulumi:providers:kubernetes", {"clusterIdentifier": "llmd", "kubeconfig": "server: [computed]"})
    provider["propertyDependencies"] = {"kubeconfig": [cluster["urn"]]}
    moved = {**cluster, "inputs": {"name": "c", "network": "n2"}}
    steps = {s.type: s.step for s in plan_steps([cluster, provider], [moved, provider])}
    assert steps == {"gcp:container/cluster:Cluster": "replace-delete-first", "pulumi:providers:kubernetes": "update"}
