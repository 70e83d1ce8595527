"""Day-2 transitions on both stacks: the step `pulumi up` takes for each resource (tools/plan/steps.py).

Each row plans the stack with one change (as `python -m tools.plan --stack X --set k=v --base <dir>`
does, through the Python API) and asserts the steps decided by the rules in tools/plan/engine_rules.py:
pulumi-kubernetes (pulumi/pulumi-kubernetes@94977969:provider/pkg/provider/diff.go, provider.go),
pulumi-gcp's Terraform schemas (hashicorp/terraform-provider-google-beta@93c65b2d) and the engine
(pulumi/pulumi@v3.259.0:pkg/resource/deploy/step_generator.go).
"""

import json
from dataclasses import dataclass

import pytest

from tools.plan import make_plan
from tools.plan.__main__ import overrides_from
from tools.plan.core import plan_records
from tools.plan.steps import REPLACE, STEPS, gpu_workload, plan_steps, warnings

IMAGE = "ghcr.io/llm-d/llm-d-cuda:v0.5.1"
FEW_NODES = "platform.gpuPool.capacity={kind: flexStart, maxNodes: 3}"
INFRA = {f"gcp:{t}" for t in ("container/cluster:Cluster", "container/nodePool:NodePool", "compute/network:Network",
                              "compute/subnetwork:Subnetwork", "compute/firewall:Firewall", "compute/router:Router",
                              "compute/routerNat:RouterNat", "projects/service:Service")}


@dataclass
class Transition:
    steps: dict  # urn -> Step
    records: dict  # urn -> record (new plan, else base)

    def of(self, predicate) -> dict:
        return {u: s for u, s in self.steps.items() if predicate(self.records[u])}

    def kube(self, kind: str, name_part: str = "") -> list:
        return [s for u, s in self.steps.items() if self.records[u]["inputs"].get("kind") == kind
                and name_part in ((self.records[u]["inputs"].get("metadata") or {}).get("name") or "")]

    def gpu_servers(self) -> list:
        return [s for u, s in self.steps.items() if self.records[u]["inputs"].get("kind") == "Deployment"
                and gpu_workload(self.records[u])]

    def epp(self):
        [step] = [s for s in self.kube("Deployment", "-epp")]
        return step

    def changed(self) -> dict:
        return {u: s for u, s in self.steps.items() if s.step != "same"}

    def costly(self) -> list[str]:
        return warnings(list(self.steps.values()), self.records)


@pytest.fixture(scope="module")
def baselines():
    return {stack: plan_records(stack) for stack in ("ib", "gke")}


@pytest.fixture(scope="module")
def transition(baselines):
    cache = {}

    def plan(stack: str, *sets: str) -> Transition:
        if (stack, sets) not in cache:
            base = baselines[stack]
            new = plan_records(stack, overrides_from(stack, list(sets)))
            records = {**{r["urn"]: r for r in base}, **{r["urn"]: r for r in new}}
            cache[stack, sets] = Transition({s.urn: s for s in plan_steps(base, new)}, records)
        return cache[stack, sets]

    return plan


def _only_verification_job_besides(t: Transition, allowed: set[str]) -> None:
    others = {t.steps[u].label: s.step for u, s in t.changed().items() if u not in allowed}
    assert set(others) <= {label for label in others if label.startswith("Job ") and label.endswith("-verify")}, others


# --- both stacks -----------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_no_change_is_all_same(stack, transition):
    t = transition(stack)
    assert {s.step for s in t.steps.values()} == {"same"}


def test_decode_replicas_is_one_update_on_ib(transition):
    t = transition("ib", "decode.replicas=2")
    [decode] = [s for s in t.gpu_servers() if "decode" in s.label]
    assert decode.step == "update" and decode.paths == ["spec.replicas"]
    _only_verification_job_besides(t, {decode.urn})
    assert t.costly() == []


def test_decode_replicas_on_gke_updates_the_pool_autoscaling_in_place(transition):
    t = transition("gke", "decode.replicas=2", FEW_NODES)
    [decode] = [s for s in t.gpu_servers() if "decode" in s.label]
    assert decode.step == "update" and decode.paths == ["spec.replicas"]
    [pool] = [s for u, s in t.steps.items() if gpu_workload(t.records[u]) and "NodePool" in s.type]
    assert pool.step == "update" and pool.paths == ["autoscaling.totalMaxNodeCount"]
    assert t.costly() == []


@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_vllm_image_bump_updates_the_model_servers_in_place(stack, transition):
    t = transition(stack, f"versions.vllmImage={IMAGE}")
    servers = t.gpu_servers()
    assert len(servers) == 2 and all(s.step == "update" for s in servers), [(s.label, s.step) for s in servers]
    assert all(p.endswith(".image") for s in servers for p in s.paths)
    assert not any(s.step in REPLACE for s in t.gpu_servers()) and t.costly() == []


@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_release_suffix_rename_replaces_the_named_objects(stack, transition):
    t = transition(stack, "releaseSuffix=qa")
    epp = t.epp()
    assert epp.step == "replace-create-first"
    assert any("metadata.name changed" in r["reason"] and r["source"].endswith("provider/pkg/provider/diff.go")
               for r in epp.reasons)
    warnings = t.costly()
    if stack == "ib":  # the cache claim is named after the release: its data goes (no compile-cache claim)
        assert sum("the PVC " in w for w in warnings) == 1, warnings
    else:  # the weights bucket is named after the release: set modelCache.bucket to keep it
        assert any(w.startswith("the bucket ") for w in warnings), warnings
        infra = t.of(lambda r: r["type"] in INFRA)
        assert {s.step for s in infra.values()} == {"same"}


@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_release_suffix_rename_replaces_gpu_deployments_delete_first(stack, transition):
    servers = transition(stack, "releaseSuffix=qa").gpu_servers()
    assert len(servers) == 2 and {s.step for s in servers} == {"replace-delete-first"}


@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_namespace_rename_replaces_everything_namespaced(stack, transition):
    t = transition(stack, "namespace=llm-d-other")
    [ns] = [s for s in t.kube("Namespace", "llm-d-other")]
    assert ns.step == "replace-create-first"  # a new name: the old namespace goes after the new one exists
    assert any("the namespace llm-d-other" in w for w in t.costly())
    for s in t.kube("Deployment") + t.kube("ConfigMap") + t.kube("HTTPRoute"):
        assert s.step in REPLACE and "metadata.namespace" in s.paths, (s.label, s.step)
    assert t.epp().step == "replace-create-first"
    assert {s.step for s in t.of(lambda r: r["type"] in INFRA).values()} <= {"same"}
    # Workload Identity members name the namespace: replaced create-first (no name to clash on).
    iam = t.of(lambda r: r["type"] == "gcp:serviceaccount/iAMMember:IAMMember")
    assert {s.step for s in iam.values()} <= {"replace-create-first"}


@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_namespace_rename_replaces_gpu_deployments_delete_first(stack, transition):
    servers = transition(stack, "namespace=llm-d-other").gpu_servers()
    assert len(servers) == 2 and {s.step for s in servers} == {"replace-delete-first"}


def test_gateway_istio_to_kgateway(transition):
    t = transition("ib", "gateway.provider=kgateway")
    charts = {s.label: s.step for s in t.steps.values() if s.type == "kubernetes:helm.sh/v4:Chart"}
    assert charts == {"Chart gateway-istio-base": "delete", "Chart gateway-istiod": "delete",
                      "Chart gateway-kgateway": "create", "Chart gateway-kgateway-crds": "create"}
    [gateway] = t.kube("Gateway")
    assert gateway.step == "update"  # same name and namespace: gatewayClassName changes in place
    assert {s.step for s in t.kube("DestinationRule")} == {"delete"}
    assert {s.step for s in t.gpu_servers()} == {"same"}
    assert t.epp().step == "same"


@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_model_change_refills_the_cache_and_updates_the_servers(stack, transition):
    t = transition(stack, "model.name=Qwen/Qwen3-8B")
    assert {s.step for s in t.gpu_servers()} == {"update"}
    [fill] = t.kube("Job", "model-fill")
    assert fill.step == "replace-delete-first"  # a Job's spec.template is immutable; same name: delete first
    assert any("spec.template" in r["reason"] for r in fill.reasons)
    assert t.costly() == []


@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_selective_pd_threshold_replaces_the_scheduler_config(stack, transition):
    t = transition(stack, "scheduler.selectivePdThreshold=512")
    [config] = [s for s in t.kube("ConfigMap", "-epp")]
    # ConfigMaps are immutable unless the provider sets enableConfigMapMutable: a named one goes first.
    assert config.step == "replace-delete-first"
    assert {s.step for s in t.gpu_servers()} == {"same"}
    assert t.costly() == []


@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_selective_pd_threshold_rolls_the_epp(stack, transition):
    assert transition(stack, "scheduler.selectivePdThreshold=512").epp().step == "update"


@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_monitoring_off_only_deletes_monitors(stack, transition):
    t = transition(stack, "monitoring.enabled=false")
    changed = t.changed()
    # The NetworkPolicies stop admitting the monitoring namespaces' scrapers: updated in place (issue #13).
    updated = {t.records[u]["inputs"].get("kind") for u, s in changed.items() if s.step == "update"}
    assert updated <= {"NetworkPolicy"}, updated
    deleted = {u for u, s in changed.items() if s.step == "delete"}
    assert deleted and {s.step for s in changed.values()} <= {"delete", "update"}
    kinds = {t.records[u]["inputs"].get("kind") for u in deleted}
    assert kinds <= {"PodMonitor", "ServiceMonitor", "PodMonitoring", "Secret", "Role", "RoleBinding", "ClusterRole",
                     "ClusterRoleBinding", "ServiceAccount"}, kinds
    assert kinds & {"PodMonitor", "ServiceMonitor", "PodMonitoring"}


# --- gke only --------------------------------------------------------------------------------------

def test_gke_serving_only_change_touches_no_gcp_resource(transition):
    t = transition("gke", "scheduler.selectivePdThreshold=512", f"versions.vllmImage={IMAGE}",
                   "model.maxModelLen=16000")
    assert t.changed()
    gcp = t.of(lambda r: r["type"].startswith(("gcp:", "pulumi:providers:")))
    assert gcp and {s.step for s in gcp.values()} == {"same"}


def test_gke_version_change_updates_the_cluster_in_place(transition):
    t = transition("gke", "platform.gkeVersion=1.34.1-gke.2000000")
    [cluster] = [s for s in t.steps.values() if s.type == "gcp:container/cluster:Cluster"]
    assert cluster.step == "update" and cluster.paths == ["minMasterVersion"]
    others = {s.label: s.step for u, s in t.changed().items() if u != cluster.urn}
    assert set(others) <= {lbl for lbl in others if lbl.endswith("-verify")}, others


@pytest.mark.parametrize("capacity, forced", [
    ("{kind: spot}", {"initialNodeCount", "nodeConfig.flexStart", "nodeConfig.spot"}),
    ("{kind: reservation, name: a3u-res}", {
        "initialNodeCount", "nodeConfig.flexStart", "nodeConfig.reservationAffinity.consumeReservationType",
        "nodeConfig.reservationAffinity.key", "nodeConfig.reservationAffinity.values"}),
])
def test_gpu_pool_capacity_change_says_exactly_what_it_replaces(capacity, forced, transition):
    t = transition("gke", f"platform.gpuPool.capacity={capacity}")
    replaced = {s.label: s for s in t.steps.values() if s.step in REPLACE}
    pool = replaced.pop("NodePool gke-gpu-pool")
    assert pool.step == "replace-delete-first"  # the program names the pool: the bridge deletes it first
    assert {r["reason"].split(" ", 1)[0] for r in pool.reasons if "forces a new resource" in r["reason"]} == forced
    assert all("terraform-provider-google-beta@" in r["source"] for r in pool.reasons if "forces" in r["reason"])
    assert set(replaced) <= {lbl for lbl in replaced if lbl.endswith("-verify")}, set(replaced)
    [warning] = t.costly()
    assert warning.startswith("the GPU node pool ") and "GPUs are released" in warning


def test_replaced_cluster_makes_the_kubeconfig_unknown_and_replaces_every_object(transition):
    t = transition("gke", "platform.clusterName=llmd-other")
    [cluster] = [s for s in t.steps.values() if s.type == "gcp:container/cluster:Cluster"]
    assert cluster.step == "replace-delete-first"
    [provider] = [s for s in t.steps.values() if s.type == "pulumi:providers:kubernetes"]
    assert provider.step == "replace-create-first" and "kubeconfig" in provider.paths
    assert any("unknown at preview" in r["reason"] for r in provider.reasons)
    kube = t.of(lambda r: r.get("custom") and r["type"].startswith("kubernetes:"))
    assert kube and all(s.step in REPLACE for s in kube.values()), {s.label: s.step for s in kube.values()}
    assert all(any("its provider" in r["reason"] for r in s.reasons) for s in kube.values())
    assert t.costly()[0].startswith("the GKE cluster llmd-other")


# --- the CLI machinery -----------------------------------------------------------------------------

def test_diff_json_contract_and_report_order(tmp_path):
    base = make_plan("gke", tmp_path / "base")
    overrides = overrides_from("gke", ["platform.gpuPool.capacity={kind: spot}"])
    result = make_plan("gke", tmp_path / "new", base=base.out, overrides=overrides)
    entries = json.loads((result.out / "diff.json").read_text())
    assert isinstance(entries, list) and len(entries) == len(result.records)
    for entry in entries:
        assert set(entry) == {"urn", "type", "step", "reasons", "paths"} and entry["step"] in STEPS
        assert all(set(r) == {"reason", "source"} and r["source"] for r in entry["reasons"])
    assert [e["urn"] for e in entries] == sorted(r["urn"] for r in result.records)
    assert result.report.startswith("`pulumi up` LOSES DATA, GPUs OR HOURS (see Steps below)\n"
                                    "  ! the GPU node pool gpu is deleted, then created again")
    text = result.report.split("Steps `pulumi up` takes against", 1)[1]
    first = text.splitlines()[1].strip()
    assert first.startswith("LOSES DATA, GPUs OR HOURS"), first
    assert "the GPU node pool gpu is deleted, then created again" in text.splitlines()[2]
    plan = json.loads((result.out / "plan.json").read_text())["registrations"]
    assert all(set(r["options"]) >= {"deleteBeforeReplace", "ignoreChanges", "replaceOnChanges", "retainOnDelete",
                                     "protect", "transforms"} for r in plan)
    [cluster] = [r for r in plan if r["type"] == "gcp:container/cluster:Cluster"]
    assert cluster["options"]["ignoreChanges"] == ["nodeConfig"] and cluster["customTimeouts"]
