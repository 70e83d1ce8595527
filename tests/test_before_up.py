"""The plan's "Before `pulumi up`" block: cost, exposure, what it installs beyond its namespace, outputs."""

import copy
import dataclasses

import pytest

from components.config.load import validate
from tools.mock_runtime import run_program, stack_config
from tools.plan import before_up, make_plan, order, prices
from tools.plan.records import COMPUTED


@pytest.fixture(scope="module")
def gke(tmp_path_factory):
    return make_plan("gke", tmp_path_factory.mktemp("gke") / "plan")


@pytest.fixture(scope="module")
def ib(tmp_path_factory):
    return make_plan("ib", tmp_path_factory.mktemp("ib") / "plan")


def typed(stack: str, **changes) -> object:
    config = copy.deepcopy(stack_config(stack))
    for path, value in changes.items():
        *parents, last = path.split("__")
        block = config
        for key in parents:
            block = block.setdefault(key, {})
        block[last] = value
    return validate(config, set(), stack, "llmd")


def gpu_line(gke, config) -> str:
    return next(line for line in before_up.cost(gke.run.registrations, config) if line.startswith("GPU nodes"))


@pytest.mark.parametrize("capacity, node_count, price", [
    ({"kind": "flexStart", "maxNodes": 2}, None, prices.GPU_NODE[("a3-ultragpu-8g", "us-central1")]["flexStart"].usd_per_hour),
    ({"kind": "spot"}, 2, 50.87),
    ({"kind": "onDemand"}, 3, 84.81),
    ({"kind": "reservation", "name": "my-res"}, 2, 84.81),
])
def test_gpu_cost_follows_the_configured_capacity(gke, capacity, node_count, price):
    changes = {"platform__gpuPool__capacity": capacity}
    if node_count:
        changes["platform__gpuPool__nodeCount"] = node_count
    line = gpu_line(gke, typed("gke", **changes))
    nodes = node_count or 2
    assert f"GPU nodes: {nodes} x a3-ultragpu-8g ({capacity['kind']}" in line
    assert f"= ${nodes * price:,.2f}/h" in line
    assert "us-central1's price" in line  # europe-west1 has no number on file: it says so


def test_flex_start_counts_the_nodes_the_pods_need_not_the_maximum(gke):
    line = gpu_line(gke, typed("gke", platform__gpuPool__capacity={"kind": "flexStart", "maxNodes": 8}))
    assert line.startswith("GPU nodes: 2 x a3-ultragpu-8g (flexStart once the model servers ask for them)")


def test_pricing_overrides_the_list(gke, ib):
    line = gpu_line(gke, typed("gke", pricing={"gpuNodeHour": 100}))
    assert "x $100.00/h = $200.00/h" in line
    lines = before_up.cost(ib.run.registrations, typed("ib", pricing={"gpuHour": 2}))
    assert lines[0].startswith("GPUs: 8 x $2.00/GPU-hour = $16.00/h (existing cluster: llmd:pricing.gpuHour)")


def test_existing_cluster_cost_is_per_gpu_hour_and_says_so(ib):
    block = "\n".join(before_up.report("ib", ib.run, typed("ib")))
    assert "GPUs: 8 x $10.62/GPU-hour = $85.00/h (existing cluster: ~$85 per 8 x H200 node-hour" in block
    assert "the cluster's own nodes and network, not counted" in block


def test_cost_until_first_token_is_the_longest_chain_times_the_hourly_cost(gke):
    config = typed("gke")
    lines = before_up.cost(gke.run.registrations, config)
    total = float(next(l for l in lines if l.startswith("total:")).split("$")[1].split("/")[0].replace(",", ""))
    minutes = order.Graph(gke.run.registrations).longest_chain(order.estimate_minutes(config.model.size_gb))[-1].finish
    assert minutes > 60  # the GPU pool is on the chain
    until = next(l for l in lines if l.startswith("until the first token"))
    assert f"~{order.fmt(minutes)} on the longest chain" in until
    assert f"= ~${total * minutes / 60:,.2f}" in until
    rest = next(l for l in lines if l.startswith("the rest"))
    for item in ("system pool 2 x e2-standard-16", "GKE cluster fee $0.10/h", "Cloud NAT", "load balancer $0.05/h", "1 bucket(s)"):
        assert item in rest


def test_the_report_says_prices_are_estimates_with_their_source(gke):
    block = gke.report[gke.report.index("Before `pulumi up`"):]
    assert "Cost (USD, estimates: list prices checked" in block and "override with llmd:pricing" in block
    assert "source: third-party aggregators" in block


def test_exposure_in_plain_words():
    """Private by default on both stacks (issue #13): the block says so in plain words."""
    gke = before_up.exposure(typed("gke"))
    assert gke.reach.startswith("internal: a regional internal Application Load Balancer")
    assert gke.auth.startswith("none: anyone who can reach")
    ib = before_up.exposure(typed("ib", gateway__listenerPort=8080))
    assert ib.reach.startswith("in-cluster only: a ClusterIP Service") and ib.port == 8080
    assert ib.tls == "none: plain HTTP" and ib.auth.startswith("none: anyone who can reach")


@pytest.mark.parametrize("stack, reach, mechanism", [
    ("gke", "PUBLIC: a regional external Application Load Balancer", "Cloud Armor"),
    ("ib", "PUBLIC: a LoadBalancer Service", "Istio ext_authz"),
])
def test_a_public_gateway_is_called_public_and_names_its_key_check(stack, reach, mechanism):
    raw = copy.deepcopy(stack_config(stack))
    raw["gateway"] = {**raw.get("gateway", {}), "exposure": "public"}
    if stack == "ib":
        raw["gateway"]["provider"] = "istio"
    raw.update(hfToken="x" * 20, gatewayApiKey="k" * 32)
    shown = before_up.exposure(validate(raw, {"hfToken", "gatewayApiKey"}, stack, "llmd"))
    assert shown.reach.startswith(reach)
    assert shown.auth.startswith("API key required") and mechanism in shown.auth


def test_what_it_installs_beyond_its_namespace(gke, ib):
    gke_lines = before_up.beyond_namespace(gke.run.registrations, typed("gke"))
    assert "DaemonSet kube-system/nccl-rdma-installer PRIVILEGED: removed by pulumi destroy" in gke_lines
    assert "cluster-scoped GKENetworkParamSet rdma-0..7: removed by pulumi destroy" in gke_lines
    assert any(l.startswith("GCP project my-gcp-project:") and "APIs it enables stay enabled" in l for l in gke_lines)
    ib_lines = before_up.beyond_namespace(ib.run.registrations, typed("ib"))
    assert "Helm chart istiod 1.28.1 in namespace istio-system (with its CRDs and cluster roles): removed by pulumi destroy" in ib_lines
    # The pinned CRDs are typed resources (components/gateway/crds.py), kept by destroy in every gateway.crds mode.
    assert any(l.startswith("cluster-scoped CustomResourceDefinition ") and "httproutes.gateway.networking.k8s.io" in l
               and l.endswith("KEPT by pulumi destroy (retainOnDelete)") for l in ib_lines)
    assert "cluster-scoped Namespace istio-system: removed by pulumi destroy" in ib_lines
    assert ("Helm chart base 1.28.1 in namespace istio-system (with its cluster roles; its CRDs are KEPT (retainOnDelete)): "
            "removed by pulumi destroy") in ib_lines
    assert not any("Namespace llm-d-pd" in l for l in ib_lines)  # the release's own namespace is not "beyond" it


def test_retained_objects_are_said_to_survive_destroy(ib):
    registrations = [dataclasses.replace(r, retain_on_delete=True) if r.kind == "ClusterRole" else r
                     for r in ib.run.registrations]
    lines = before_up.beyond_namespace(registrations, typed("ib"))
    assert any(l.startswith("cluster-scoped ClusterRole ") and l.endswith("KEPT by pulumi destroy (retainOnDelete)") for l in lines)
    assert any(l.startswith("cluster-scoped ClusterRoleBinding ") and l.endswith("removed by pulumi destroy") for l in lines)


def test_every_stack_output_is_listed_and_cloud_decided_ones_are_computed(gke):
    lines = before_up.outputs(gke.run.outputs)
    keys = [line.split(":", 1)[0] for line in lines]
    assert set(keys) == {k for k, _ in before_up._flatten(gke.run.outputs)}
    assert {"namespace", "endpoint", "chatCompletionsCurl", "verification.status", "servedRequests.decode"} <= set(keys)
    assert f"endpoint: {COMPUTED} (the Gateway's address" in "\n".join(lines)
    assert f"verification.status: {COMPUTED}" in "\n".join(lines)
    assert "namespace: llm-d-pd" in lines


def test_verify_and_destroy(gke):
    lines = before_up.verify_and_destroy("gke", typed("gke", platform__deletionProtection=True))
    assert any("pulumi stack output verification -s gke" in l for l in lines)
    assert any(l.startswith("destroy: `pulumi destroy -s gke`") and "deletionProtection is true" in l for l in lines)


def test_placeholder_project_is_loud_and_the_plan_still_works(gke, tmp_path):
    assert gke.exit_code == 0
    assert gke.report.startswith("Warnings (pulumi preview shows them too)\n  llmd:platform.project is the placeholder `my-gcp-project`")
    assert "!!! NOT READY FOR `pulumi up`: llmd:platform.project is the placeholder" in gke.report
    platform = {**stack_config("gke")["platform"], "project": "llm-d-prod"}
    real = make_plan("gke", tmp_path / "real", overrides={"platform": platform})
    assert real.exit_code == 0 and "NOT READY" not in real.report and "placeholder" not in real.report


def test_pricing_changes_no_resource(ib):
    priced = run_program("ib", stack_config("ib", {"pricing": {"gpuHour": 1.5, "gpuNodeHour": 12, "systemNodeHour": 0}}))
    assert sorted((r.urn, repr(r.inputs)) for r in priced.registrations) == sorted((r.urn, repr(r.inputs)) for r in ib.run.registrations)
