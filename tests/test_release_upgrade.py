"""Upgrading a stack from llm-d v0.5.0 to v0.9.0 with one key, as the offline plan shows it.

`python -m tools.plan --stack ib --set versions.llmd=v0.9.0 --base <v0.5.0 plan>` runs end to end;
then, from the two plans' records: no GPU workload is replaced (same object, same immutable
selector; a rolling update that never surges onto GPUs), the EPP rolls onto its new image, flags
and config, and the CRD bundles are upgraded before the objects that need them.

The plan's own engine steps (tools/plan/steps.py, written to diff.json) are checked too, and the
last test derives them independently from the two runs with tests/engine_steps.py.
"""

import json

import pytest

from tools.plan.__main__ import main

GPU_DEPLOYMENTS = ("ms-pd-llm-d-modelservice-prefill", "ms-pd-llm-d-modelservice-decode")


PLAN_DIRS = {}  # llmd -> plan directory of the upgrade fixture


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory):
    base, new = tmp_path_factory.mktemp("v050"), tmp_path_factory.mktemp("v090")
    assert main(["--stack", "ib", "--out", str(base)], secrets={}) == 0
    code = main(["--stack", "ib", "--set", "versions.llmd=v0.9.0", "--base", str(base), "--out", str(new)], secrets={})
    assert code == 0
    load = lambda d: {r["urn"]: r for r in json.loads((d / "plan.json").read_text())["registrations"]}  # noqa: E731
    PLAN_DIRS["v0.9.0"] = new
    return load(base), load(new), (base / "summary.txt").read_text(), (new / "summary.txt").read_text()


@pytest.fixture(scope="module")
def plan_steps(upgrade):
    """urn -> the step the plan prints (diff.json of the v0.9.0 plan made with --base)."""
    data = json.loads((PLAN_DIRS["v0.9.0"] / "diff.json").read_text())
    items = data if isinstance(data, list) else data.get("steps", [])
    return {item["urn"]: item["step"] for item in items}


def by_name(records, kind, name):
    (found,) = [r for r in records.values() if r["inputs"].get("kind") == kind and r["inputs"]["metadata"]["name"] == name]
    return found


def depends_on(records, urn, target) -> bool:
    """`urn` waits for `target`, directly, through its dependencies, or through its parents' dependencies."""
    seen, todo = set(), [urn]
    while todo:
        current = todo.pop()
        if current in seen or current not in records:
            continue
        seen.add(current)
        record = records[current]
        if target in record["dependencies"]:
            return True
        todo += record["dependencies"] + ([record["parent"]] if record.get("parent") else [])
    return False


def test_gpu_workloads_are_updated_in_place_never_replaced_create_first(upgrade):
    old, new, *_ = upgrade
    for name in GPU_DEPLOYMENTS:
        before, after = by_name(old, "Deployment", name), by_name(new, "Deployment", name)
        assert before["urn"] == after["urn"]  # same resource: an update, not a create + delete
        assert before["inputs"]["spec"]["selector"] == after["inputs"]["spec"]["selector"]  # immutable: no replace
        assert before["inputs"]["spec"]["template"] != after["inputs"]["spec"]["template"]  # new images roll
        # The rollout frees a pod's GPUs before its replacement asks for them.
        assert after["inputs"]["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def test_epp_rolls_onto_its_new_config(upgrade):
    old, new, *_ = upgrade
    before, after = by_name(old, "Deployment", "gaie-pd-epp"), by_name(new, "Deployment", "gaie-pd-epp")
    assert before["urn"] == after["urn"]
    epp = after["inputs"]["spec"]["template"]["spec"]["containers"][0]
    assert epp["image"].endswith("llm-d-router-endpoint-picker:v0.10.0")
    assert "--kv-cache-usage-percentage-metric" not in epp["args"]  # v0.10.0 would exit on it
    # One picker at a time: the old one stops before the new one reads the new config.
    assert after["inputs"]["spec"]["strategy"] == {"type": "Recreate"}
    config = by_name(new, "ConfigMap", "gaie-pd-epp")
    assert "disagg-profile-handler" in config["inputs"]["data"]["pd-config.yaml"]
    assert depends_on(new, after["urn"], config["urn"])  # the new config is written before the rollout


def test_crds_are_upgraded_before_the_objects_that_need_them(upgrade):
    """The CRDs are typed resources from vendored files (components/gateway/crds/): Gateway API v1.5.1
    (standard-install.yaml's CRDs) and GAIE v1.5.0 (v1-manifests.yaml: the v1 InferencePool only)."""
    old, new, *_ = upgrade
    crd = lambda name: by_name(new, "CustomResourceDefinition", name)  # noqa: E731
    pools, routes = crd("inferencepools.inference.networking.k8s.io"), crd("httproutes.gateway.networking.k8s.io")
    assert pools["inputs"]["metadata"]["annotations"]["inference.networking.k8s.io/bundle-version"] == "v1.5.0"
    assert routes["inputs"]["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"] == "v1.5.1"
    pool = by_name(new, "InferencePool", "gaie-pd")
    assert depends_on(new, pool["urn"], pools["urn"])  # appProtocol needs the v1.5.0 schema
    route = next(r for r in new.values() if r["inputs"].get("kind") == "HTTPRoute")
    gateway = next(r for r in new.values() if r["inputs"].get("kind") == "Gateway")
    for needs in (route, gateway):
        assert depends_on(new, needs["urn"], routes["urn"])
    istiod = next(r for r in new.values() if r["name"] == "gateway-istiod")
    assert istiod["inputs"]["version"] == "1.29.2" and depends_on(new, istiod["urn"], routes["urn"])
    # Only CRD resources come and go (ListenerSet/TLSRoute added; GAIE's x-k8s.io CRDs no longer pinned),
    # and those that go are retained: the engine forgets them, the cluster keeps them and their objects.
    changed = {r["urn"] for r in old.values()} ^ {r["urn"] for r in new.values()}
    assert changed and all("CustomResourceDefinition" in urn for urn in changed)
    assert all(old[urn]["options"]["retainOnDelete"] for urn in changed if urn in old)


def test_the_plan_states_the_release_and_its_driver_need(upgrade):
    """An existing cluster's driver is not ours to set: the plan's facts say what v0.9.0 needs."""
    *_, before, after = upgrade
    assert "llm-d:     v0.5.0 (versions.llmd)\n" in before
    assert "llm-d:     v0.9.0 (versions.llmd); model-server images need NVIDIA driver >= 580 on the GPU nodes (CUDA 13)" in after


def test_engine_steps_of_the_upgrade():
    """Per Kubernetes object, the step `pulumi up` takes from v0.5.0 to v0.9.0 (tests/engine_steps.py)."""
    from conftest import run_stack
    from engine_steps import REPLACE_CREATE_FIRST, REPLACE_DELETE_FIRST, UPDATE, steps

    before, after = run_stack("ib"), run_stack("ib", {"versions": {"llmd": "v0.9.0"}})
    plan = steps(before, after)
    # Steps also name what only `before` has (CRDs v0.9.0 no longer pins: retained, so forgotten).
    kinds = {r.urn: (r.kind, r.object_name) for r in before.registrations + after.registrations if r.is_kube_object}
    assert REPLACE_CREATE_FIRST not in plan.values(), {kinds[u]: s for u, s in plan.items() if s == REPLACE_CREATE_FIRST}
    step_of = {kinds[u]: s for u, s in plan.items()}
    for name in GPU_DEPLOYMENTS:
        assert step_of["Deployment", name] == UPDATE  # in place; a rollout that frees GPUs first
    # The picker's config is replaced (same name: delete-first) and the picker rolls onto it.
    assert step_of["ConfigMap", "gaie-pd-epp"] == REPLACE_DELETE_FIRST
    assert step_of["Deployment", "gaie-pd-epp"] == UPDATE
    assert step_of["InferencePool", "gaie-pd"] == UPDATE


def test_the_plans_engine_steps_replace_no_gpu_workload_create_first(upgrade, plan_steps):
    old, new, *_ = upgrade
    assert "replace-create-first" not in plan_steps.values()
    for name in GPU_DEPLOYMENTS:
        assert plan_steps[by_name(new, "Deployment", name)["urn"]] == "update"
    assert plan_steps[by_name(new, "Deployment", "gaie-pd-epp")["urn"]] == "update"
