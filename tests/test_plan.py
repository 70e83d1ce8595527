"""The offline plan (tools.plan): key facts, written files, redaction, diff, exit codes, order, cold start."""

import copy
import json
import subprocess
import sys

import pytest
import yaml

from components import cold_start
from tools.mock_runtime import ROOT, Registration, run_program, stack_config
from tools.plan import coldstart, core, make_plan, order, summary, validate
from tools.plan.__main__ import main
from tools.plan.diff import Change

TOKEN = "hf_TESTTOKEN123"
DECODE = "ms-pd-llm-d-modelservice-decode"


def decode_replicas_1_to_2() -> list[Change]:
    """The field, and the update budget it derives: two pods roll in two serial rounds."""
    create = cold_start.rollout_wait(65, "pvc")
    return [
        Change("options.customTimeouts", {"create": create, "update": create}, {"create": create, "update": cold_start.update_wait(65, "pvc", 2)}),
        Change("spec.replicas", 1, 2),
    ]


@pytest.fixture(scope="module")
def ib(tmp_path_factory):
    return make_plan("ib", tmp_path_factory.mktemp("ib") / "plan")


def all_text(result) -> str:
    return result.report + "".join(p.read_text() for p in result.out.rglob("*") if p.is_file())


# --- summary and files ------------------------------------------------------------------------

def test_ib_summary_shows_the_key_facts(ib):
    assert ib.exit_code == 0 and ib.error is None
    for fact in ("4P1D", "prefill 4 x TP1", "decode 1 x TP4", "8 GPUs (prefill 4 + decode 4) on at least 1 GPU node",
                 "RDMA:      device plugin rdma/ib x1", "gateway:   istio (GatewayClass istio)",
                 "image ghcr.io/llm-d/llm-d-cuda:v0.5.0", "chart istiod 1.28.1",
                 "GPU node pool: none in this stack", "longest chain:", "all valid"):
        assert fact in ib.report, fact
    for component in ib.run.registrations:
        if not component.custom:
            assert f"{component.name}  {component.type}" in ib.report
    deployments = len(ib.run.of_type("kubernetes:apps/v1:Deployment"))
    assert f"{deployments:>4}  kubernetes:apps/v1:Deployment" in ib.report


def test_ib_writes_every_object_and_plan_json(ib):
    plan = json.loads((ib.out / "plan.json").read_text())
    assert [r["urn"] for r in plan["registrations"]] == sorted(r.urn for r in ib.run.registrations)
    records = {r["urn"]: r for r in plan["registrations"]}
    objects = ib.run.kube()
    assert objects and ib.checked == len(objects)
    for obj in objects:
        path = ib.out / ib.files[obj.urn]
        assert path.suffix == ".yaml"
        assert yaml.safe_load(path.read_text()) == records[obj.urn]["inputs"]
    assert (ib.out / "decode" / f"Deployment.{DECODE}.yaml").is_file()
    assert (ib.out / "gateway" / "Chart.gateway-istiod.yaml").is_file()
    assert (ib.out / "summary.txt").read_text().startswith("Components")


def test_plans_are_byte_for_byte_stable(ib, tmp_path):
    again = make_plan("ib", tmp_path / "again")
    files = sorted(p.relative_to(ib.out) for p in ib.out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again.out) for p in again.out.rglob("*") if p.is_file())
    for rel in files:
        assert (ib.out / rel).read_bytes() == (again.out / rel).read_bytes(), rel


def test_end_to_end_cli(tmp_path):
    out = tmp_path / "plan"
    done = subprocess.run([sys.executable, "-m", "tools.plan", "--stack", "ib", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "4P1D" in done.stdout and "Schema validation:" in done.stdout
    assert (out / "plan.json").is_file() and (out / "decode" / f"Deployment.{DECODE}.yaml").is_file()


@pytest.mark.skipif(not (ROOT / "Pulumi.gke.yaml").exists(), reason="Pulumi.gke.yaml does not exist yet")
def test_gke_plan(tmp_path):
    result = make_plan("gke", tmp_path / "gke")
    assert result.exit_code == 0, result.error or result.report
    assert "GKE multi-network RoCE (rdma-0..7)" in result.report
    cloud = [p for p in result.out.rglob("*.json") if p.name != "plan.json"]
    assert any(json.loads(p.read_text())["urn"].split("::")[2].split("$")[-1].startswith("gcp:") for p in cloud)
    [pool] = [r for r in result.run.registrations if r.type == "gcp:container/nodePool:NodePool"
              and r.inputs.get("nodeConfig", {}).get("guestAccelerators")]
    waiting = {r.urn for r in order.Graph(result.run.registrations).waits_on(pool.urn)}
    servers = [r for r in result.run.kube("Deployment")
               if "llm-d.ai/role" in r.inputs["spec"]["template"]["metadata"]["labels"]]
    assert servers and all(s.urn in waiting for s in servers)
    assert f"waits on GPU node pool {pool.name}" in result.report


# --- diff -------------------------------------------------------------------------------------

def test_diff_of_one_replica_count_is_exactly_that_field(ib, tmp_path):
    decode = {**stack_config("ib")["decode"], "replicas": 2}
    result = make_plan("ib", tmp_path / "new", base=ib.out, overrides={"decode": decode})
    urn = ib.run.one("Deployment", DECODE).urn
    assert result.diff.added == [] and result.diff.removed == []
    assert sorted(result.diff.changed[urn], key=lambda c: c.path) == decode_replicas_1_to_2()
    assert "spec.replicas: 1 → 2" in result.report
    # By design the verification Job runs again after any serving change (a fingerprint annotation).
    others = [c for u, changes in result.diff.changed.items() if u != urn for c in changes]
    assert all(c.path.endswith("annotations.llm-d.ai/verifies") for c in others), others


def test_diff_without_derived_changes_is_one_field(tmp_path):
    off = {"verification": {"enabled": False}}
    base = make_plan("ib", tmp_path / "base", overrides=off)
    decode = {**stack_config("ib")["decode"], "replicas": 2}
    result = make_plan("ib", tmp_path / "new", base=base.out, overrides={**off, "decode": decode})
    urn = base.run.one("Deployment", DECODE).urn
    assert (result.diff.added, result.diff.removed) == ([], [])
    assert list(result.diff.changed) == [urn]
    assert sorted(result.diff.changed[urn], key=lambda c: c.path) == decode_replicas_1_to_2()
    assert "0 to add, 1 to change, 0 to delete" in result.report


def test_base_may_be_the_out_directory(tmp_path):
    out = tmp_path / "plan"
    make_plan("ib", out)
    again = make_plan("ib", out, base=out)
    assert again.diff.empty and again.diff.unchanged == len(again.records)


def test_cli_set_and_base(ib, tmp_path, capsys):
    argv = ["--stack", "ib", "--out", str(tmp_path / "p"), "--base", str(ib.out), "--set", "decode.replicas=2"]
    assert main(argv) == 0
    assert "spec.replicas: 1 → 2" in capsys.readouterr().out


# --- secrets ----------------------------------------------------------------------------------

def test_hf_token_never_written_or_printed(tmp_path, capsys):
    result = make_plan("ib", tmp_path / "api", secrets={"hfToken": TOKEN})
    secret = result.run.one("Secret", "llm-d-hf-token")
    assert secret.inputs["stringData"] == {"HF_TOKEN": TOKEN}  # the program did get it
    assert TOKEN not in all_text(result)
    assert yaml.safe_load((result.out / result.files[secret.urn]).read_text())["stringData"] == {"HF_TOKEN": "[secret]"}
    assert main(["--stack", "ib", "--out", str(tmp_path / "cli")], secrets={"hfToken": TOKEN}) == 0
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    assert not [p for p in (tmp_path / "cli").rglob("*") if p.is_file() and TOKEN in p.read_text()]


def test_encrypted_stack_secret_becomes_a_placeholder(tmp_path, monkeypatch):
    encrypted = {**stack_config("ib"), "hfToken": {"secure": "v1:AAAAciphertext"}}
    monkeypatch.setattr(core, "stack_config", lambda stack, overrides=None: copy.deepcopy(encrypted))
    result = make_plan("ib", tmp_path / "plan")
    assert result.exit_code == 0
    assert result.run.one("Secret", "llm-d-hf-token").inputs["stringData"] == {"HF_TOKEN": core.PLACEHOLDER_SECRET}
    assert "ciphertext" not in all_text(result)


# --- failures ---------------------------------------------------------------------------------

def test_bad_config_gives_the_programs_message_and_exit_2(tmp_path, capsys):
    prefill = {**stack_config("ib")["prefill"], "tensorParallel": 8}
    expected = str(run_program("ib", stack_config("ib", {"prefill": prefill}), expect_error=True).error)
    result = make_plan("ib", tmp_path / "api", overrides={"prefill": prefill})
    assert result.exit_code == 2 and result.error == expected
    assert "prefill.tensorParallel: is 8, wider than decode.tensorParallel (4) and at or above the model's 8 KV heads" in expected
    assert main(["--stack", "ib", "--out", str(tmp_path / "cli"), "--set", "prefill.tensorParallel=8"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == expected and captured.out == ""
    assert not (tmp_path / "cli").exists()


def test_schema_failure_names_object_and_field_and_exits_1(tmp_path, monkeypatch, capsys):
    def broken_run(*args, **kwargs):
        run = run_program(*args, **kwargs)
        run.one("Deployment", DECODE).inputs["spec"]["template"]["spec"]["containers"][0]["foo"] = 1
        return run

    monkeypatch.setattr(core, "run_program", broken_run)
    result = make_plan("ib", tmp_path / "api")
    assert result.exit_code == 1
    [failed] = result.invalid
    assert failed.errors == [f"Deployment/{DECODE}: spec.template.spec.containers[0].foo: unknown field"]
    assert f"FAIL decode/Deployment.{DECODE}.yaml" in result.report
    assert main(["--stack", "ib", "--out", str(tmp_path / "cli")]) == 1
    captured = capsys.readouterr()
    assert "containers[0].foo: unknown field" in captured.out and "failed schema validation" in captured.err


def test_check_reports_hand_made_objects():
    good = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok", "namespace": "x"}, "data": {}}
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "8000-svc"}, "spec": {"ports": [{"port": "x"}]}}
    checked, failed = validate.check([reg("urn:good", "kubernetes:core/v1:ConfigMap", good),
                                      reg("urn:bad", "kubernetes:core/v1:Service", bad)])
    assert checked == 2 and [f.urn for f in failed] == ["urn:bad"]
    assert any(e.startswith("Service/8000-svc: spec.ports[0].port:") for e in failed[0].errors)
    assert any(e.startswith("Service/8000-svc: metadata.name:") for e in failed[0].errors)


def test_json_crd_cache_validates_like_the_yaml(ib):
    schema = validate.k8s_schema()
    direct = schema.SchemaValidator(schema.crd_dir_from_env(), no_schema_allowed=validate.NO_SCHEMA_ALLOWED, program_crds=True)
    cached = validate.default_validator()
    assert cached.kinds_with_schema() == direct.kinds_with_schema()
    for obj in ib.run.kube():
        broken = copy.deepcopy(obj.inputs)
        broken.setdefault("spec", {})["unknownField"] = {"x": None}
        broken["apiVersion"] = broken["apiVersion"] if obj.kind != "InferencePool" else "inference.networking.k8s.io/v9"
        for candidate in (obj.inputs, broken):
            assert cached.errors(candidate) == direct.errors(candidate)


# --- bring-up order and cold start, on hand-made registrations ---------------------------------

def reg(urn, type_, inputs=None, parent="", deps=(), custom=True) -> Registration:
    return Registration(urn=urn, type=type_, name=urn.rsplit(":", 1)[-1], parent=parent, custom=custom,
                        inputs=inputs or {}, secret_inputs=set(), dependencies=list(deps), provider="",
                        custom_timeouts={}, retain_on_delete=False, delete_before_replace=False)


def deployment(name, replicas, volume, model="org/model", kind="Deployment", command=None):
    container = {"name": "vllm", "command": command or ["vllm", "serve"], "args": [model],
                 "env": [{"name": "HF_HOME", "value": "/cache"}],
                 "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}
    spec = {"template": {"metadata": {"labels": {"llm-d.ai/role": name}},
                         "spec": {"containers": [container], "volumes": [{"name": "cache", **volume}]}}}
    if kind == "Deployment":
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1" if kind == "Deployment" else "batch/v1", "kind": kind,
            "metadata": {"name": name}, "spec": spec}


def test_waits_on_follows_dependencies_parents_and_components():
    gpu = {"nodeConfig": {"guestAccelerators": [{"type": "nvidia-h200-141gb", "count": 8}]}}
    regs = [
        reg("urn:cluster", "gcp:container/cluster:Cluster"),
        reg("urn:pool", "gcp:container/nodePool:NodePool", gpu, deps=["urn:cluster"]),
        reg("urn:cpu", "gcp:container/nodePool:NodePool", {"nodeConfig": {}}, deps=["urn:cluster"]),
        reg("urn:servers", "llmd:serving:ModelServer", custom=False, deps=["urn:pool"]),
        reg("urn:decode", "kubernetes:apps/v1:Deployment", deployment("decode", 2, {"emptyDir": {}}),
            parent="urn:servers"),
        reg("urn:route", "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", {"kind": "HTTPRoute"},
            deps=["urn:servers"]),
        reg("urn:other", "kubernetes:core/v1:ConfigMap", {"kind": "ConfigMap"}, deps=["urn:cpu"]),
    ]
    graph = order.Graph(regs)
    assert [r.urn for r in graph.waits_on("urn:pool")] == ["urn:decode", "urn:route"]
    chain = graph.longest_chain(order.estimate_minutes(size_gb=60))
    assert [s.registration.urn for s in chain] == ["urn:cluster", "urn:pool", "urn:decode", "urn:route"]
    vllm = order.VLLM_IMAGE_PULL_MINUTES + 60 / order.HUB_GB_PER_MINUTE + order.VLLM_LOAD_MINUTES
    assert [s.minutes for s in chain[:3]] == [10, order.GPU_NODE_POOL_MINUTES, vllm]
    assert "waits on GPU node pool pool" in "\n".join(order.report(regs, 60))


def test_cold_start_per_pod_cache_downloads_per_pod():
    regs = [reg("urn:p", "kubernetes:apps/v1:Deployment", deployment("prefill", 4, {"emptyDir": {}})),
            reg("urn:d", "kubernetes:apps/v1:Deployment", deployment("decode", 1, {"emptyDir": {}}))]
    cs = coldstart.cold_start(regs, 65)
    assert (cs.fresh_rollout_gb, cs.restart_gb) == (325, 65)


def test_cold_start_shared_cache_counts_only_the_fill_job():
    pvc = {"persistentVolumeClaim": {"claimName": "weights"}}
    fill = deployment("fill", 1, pvc, kind="Job", command=["python3", "-c", "snapshot_download(...)"])
    fill["spec"]["template"]["metadata"]["labels"] = {}
    regs = [reg("urn:p", "kubernetes:apps/v1:Deployment", deployment("prefill", 4, pvc, model="/cache/org/model")),
            reg("urn:d", "kubernetes:apps/v1:Deployment", deployment("decode", 1, pvc)),
            reg("urn:fill", "kubernetes:batch/v1:Job", fill)]
    cs = coldstart.cold_start(regs, 65)
    assert (cs.fresh_rollout_gb, cs.restart_gb) == (65, 0)
    assert "fills PVC weights (shared)" in "\n".join(coldstart.report(cs))


def test_ib_cold_start_in_download_mode(tmp_path):
    result = make_plan("ib", tmp_path / "plan", overrides={"modelCache": {"mode": "download"}})
    assert "fresh rollout: 325 GB from the hub" in result.report
    assert "pod restart:   65 GB per restarted model-server pod" in result.report


@pytest.mark.parametrize("stack", ["ib", "gke"])
def test_shared_cache_pulls_the_model_once_per_rollout_and_never_on_restart(stack, tmp_path):
    result = make_plan(stack, tmp_path / "plan")
    assert "fresh rollout: 65 GB from the hub" in result.report
    assert "pod restart:   0 GB" in result.report


def test_gpu_nodes_are_counted_by_packing_whole_pods():
    from types import SimpleNamespace

    def servers(pods, gpus, exclusive=False):
        affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname"}]}}
        container = {"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}
        return SimpleNamespace(pods=pods, pod={"affinity": affinity} if exclusive else {}, containers=[container])

    assert summary.nodes_needed([servers(4, 1), servers(1, 4)], 8) == 1  # the guide: 8 GPUs, one node
    assert summary.nodes_needed([servers(8, 1), servers(2, 4)], 8) == 2
    assert summary.nodes_needed([servers(3, 4), servers(1, 2)], 8) == 2
    assert summary.nodes_needed([servers(1, 8, exclusive=True), servers(1, 8, exclusive=True)], 8) == 2
    assert summary.nodes_needed([servers(2, 1, exclusive=True)], 8) == 2  # RDMA NICs: one pod per node
