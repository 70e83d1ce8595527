"""The v0.9.0 release profile (llm-d Router v0.10.0, GAIE v1.5.0, vLLM v0.26.0) on both stacks.

Every fact asserted here names the upstream file it comes from; the shared facts are in
components/releases/v0_9_0.py. Upstream: [R] llm-d/llm-d-router@v0.10.0, [I]
kubernetes-sigs/gateway-api-inference-extension@v1.5.0, [G] llm-d/llm-d@e3dbeca1 (v0.9.0 pins).
"""

import copy
import json
import math
import subprocess
import sys

import pytest
import yaml

from components.config.load import validate
from components.releases import profile, profiles
from conftest import HF_TOKEN, release_validator, run_stack, validator_for
from tools import invariants as inv
from tools.mock_runtime import stack_config

V090 = {"versions": {"llmd": "v0.9.0"}}


@pytest.fixture(scope="module")
def ib9():
    return run_stack("ib", V090)


@pytest.fixture(scope="module")
def gke9():
    return run_stack("gke", V090)


def epp_config(run) -> dict:
    return yaml.safe_load(run.one("ConfigMap", "gaie-pd-epp").inputs["data"]["pd-config.yaml"])


def containers(run, name):
    spec = run.one("Deployment", name).inputs["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec.get("initContainers", []) + spec["containers"]}


# --- schemas and invariants ---------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["ib", "gke", "ib-kgateway"])
def test_v090_plans_validate_against_the_release_crds_and_hold_every_invariant(stack, ib9, gke9):
    overrides = {**V090, "gateway": {"provider": "kgateway"}} if stack == "ib-kgateway" else V090
    run = {"ib": ib9, "gke": gke9}.get(stack) or run_stack("ib", overrides)
    stack = stack.split("-")[0]
    config = stack_config(stack, overrides)
    validator = validator_for(validate(config, set(), stack, "llmd"))  # the release's CRDs and the provider's
    assert [e for r in run.kube() for e in validator.errors(r.inputs)] == []
    context = inv.Context.from_stack_config(validate(config, {"hfToken"}, stack, "llmd"), [HF_TOKEN])
    assert inv.check_run(run, context) == []


def test_the_validator_picks_the_release_crds(ib9):
    """GAIE v1.5.0 added InferencePool.spec.appProtocol ([I] api/v1/inferencepool_types.go); v1.3.0's
    schema (the default set) refuses it, v0.9.0's set accepts it."""
    pool = ib9.one("InferencePool").inputs
    assert pool["spec"]["appProtocol"] == "http"
    assert any("appProtocol: unknown field" in e for e in release_validator("v0.5.0").errors(pool))
    assert release_validator("v0.9.0").errors(pool) == []
    kinds = release_validator("v0.9.0").kinds_with_schema()
    assert ("gateway.networking.k8s.io/v1", "ListenerSet") in kinds  # Gateway API v1.5.1 standard
    assert not any(api.startswith("inference.networking.x-k8s.io/") for api, _ in kinds)  # v1-manifests only


def test_crd_sets_replace_whole_groups_and_unknown_sets_are_named(tmp_path):
    from tools.k8s_schema import crd_dir_from_env, schema_files

    root = crd_dir_from_env()
    files = schema_files(root, ("gaie-v1.5.0/inference.networking.k8s.io",), ("inference.networking.x-k8s.io",))
    rel = {str(f.relative_to(root)) for f in files}
    assert "_alt/gaie-v1.5.0/inference.networking.k8s.io/inference.networking.k8s.io_inferencepools.yaml" in rel
    assert not any(r.startswith(("inference.networking.k8s.io/", "inference.networking.x-k8s.io/")) for r in rel)
    assert any(r.startswith("monitoring.coreos.com/") for r in rel)  # other groups keep the defaults
    with pytest.raises(FileNotFoundError, match="gaie-v9"):
        schema_files(root, ("gaie-v9",))


def test_invariants_refuse_a_flag_the_v010_picker_rejects(ib9):
    """[R] pkg/epp/server/options.go:46-54,395-400: the deprecated metric flags fail Validate()."""
    objects = copy.deepcopy([r.inputs for r in ib9.kube()])
    epp = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "gaie-pd-epp")
    container = epp["spec"]["template"]["spec"]["containers"][0]
    container["args"] = container["args"] + ["--kv-cache-usage-percentage-metric", "vllm:kv_cache_usage_perc"]
    context = inv.Context(epp_rejected_flags=frozenset(profile("v0.9.0").epp.rejected_flags))
    assert any("--kv-cache-usage-percentage-metric" in v for v in inv.check_epp_serves_pool(objects, context))


# --- the endpoint picker ----------------------------------------------------------------------------
def test_epp_runs_the_router_v010_image_with_flags_it_accepts(ib9):
    (epp,) = containers(ib9, "gaie-pd-epp").values()
    assert epp["image"] == "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0"
    # Every flag is defined by [R] pkg/epp/server/options.go:132-241 or the logging options
    # ([R] pkg/common/observability/logging/options.go:50-64); none is in the rejected set.
    accepted = {"--pool-name", "--pool-namespace", "--pool-group", "--zap-encoder", "--config-file", "--grpc-port",
                "--grpc-health-port", "--metrics-port", "--v", "--tracing"}
    flags = {a.split("=", 1)[0] for a in epp["args"] if a.startswith("--")}
    assert flags == accepted
    assert not flags & set(profile("v0.9.0").epp.rejected_flags)
    # [G] guides/recipes/router/base.values.yaml:10-15
    assert epp["resources"] == {"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"memory": "16Gi"}}


# Parameter keys each factory decodes, strictly ([R] pkg/epp/framework/interface/plugin/registry.go:36-48).
PARAMETERS = {
    # [R] .../dataproducer/approximateprefix/types.go:136-155
    "approx-prefix-cache-producer": {"autoTune", "blockSizeTokens", "blockSize", "maxPrefixBlocksToMatch",
                                     "maxPrefixTokensToMatch", "lruCapacityPerServer"},
    # [R] .../scheduling/filter/prefixcacheaffinity/plugin.go:60-92
    "prefix-cache-affinity-filter": {"affinityThreshold", "explorationProbability", "maxTTFTPenaltyMs", "ttftSource",
                                     "peakPrefillThroughput", "prefixMatchInfoProducerName",
                                     "latencyPredictionInfoProducerName", "inFlightLoadProducerName"},
    # [R] .../profilehandler/disagg/prefix_based_pd_decider.go:22-30
    "prefix-based-pd-decider": {"nonCachedTokens", "promptTokens"},
    # [R] .../scheduling/scorer/prefix/plugin.go:68-95
    "prefix-cache-scorer": {"prefixMatchInfoProducerName", "matchLengthWeight", "matchLengthScaleTokens"},
    # [R] .../profilehandler/disagg/disagg_profile_handler.go:73-89 (nested form)
    "disagg-profile-handler": {"stageOrder", "profiles", "deciders"},
}
# Registered as Beta by [R] cmd/epp/runner/runner.go:570-690 (Alpha types would need --allow-experimental-plugins).
BETA = {"prefill-filter", "decode-filter", "approx-prefix-cache-producer", "inflight-load-producer",
        "prefix-cache-affinity-filter", "token-load-scorer", "active-request-scorer", "max-score-picker",
        "always-disagg-pd-decider", "prefix-based-pd-decider", "disagg-profile-handler", "prefix-cache-scorer"}


def check_picker_config(config: dict) -> None:
    # [R] pkg/epp/config/loader/configloader.go:53-71: llm-d.ai/v1alpha1; v1 is not registered.
    assert config["apiVersion"] == "llm-d.ai/v1alpha1" and config["kind"] == "EndpointPickerConfig"
    assert set(config) <= {"apiVersion", "kind", "featureGates", "plugins", "schedulingProfiles", "dataLayer",
                           "flowControl", "requestHandler"}
    declared = []
    for plugin in config["plugins"]:
        assert plugin["type"] in BETA
        assert set(plugin.get("parameters", {})) <= PARAMETERS.get(plugin["type"], set()), plugin
        declared.append(plugin.get("name", plugin["type"]))
    assert len(declared) == len(set(declared))
    handlers = [p for p in config["plugins"] if p["type"] == "disagg-profile-handler"]
    assert len(handlers) == 1  # exactly one profile handler ([R] pkg/epp/config/loader/defaults.go)
    params = handlers[0]["parameters"]
    assert set(params["profiles"]) <= {"decode", "prefill", "encode"} and set(params["deciders"]) <= {"prefill", "encode"}
    # The decider it names is declared before it ([R] .../disagg/README.md "Limitations").
    assert declared.index(params["deciders"]["prefill"]) < declared.index("disagg-profile-handler")
    assert {p["name"] for p in config["schedulingProfiles"]} == set(params["profiles"].values())
    for prof in config["schedulingProfiles"]:
        for ref in prof["plugins"]:
            assert ref["pluginRef"] in declared
            assert set(ref) <= {"pluginRef", "weight"} and isinstance(ref.get("weight", 1.0), float)
        assert prof["plugins"][-1]["pluginRef"] == "max-score-picker"


def test_scheduler_config_is_the_v090_guides_and_decodes_strictly(ib9):
    config = epp_config(ib9)
    check_picker_config(config)
    types = [p["type"] for p in config["plugins"]]
    assert types[:2] == ["always-disagg-pd-decider", "disagg-profile-handler"]
    # No v0.5.0 handler or parameters: [R] .../disagg/pd_profile_handler.go:34-44 no longer takes them.
    text = yaml.safe_dump(config)
    assert "pd-profile-handler" not in text and "threshold" not in text and "hashBlockSize" not in text
    prefill, decode = ([r["pluginRef"] for r in p["plugins"]] for p in config["schedulingProfiles"])
    # [G] guides/pd-disaggregation/router/pd-disaggregation.values.yaml:14-59
    assert prefill == ["prefill-filter", "prefix-cache-affinity-filter", "token-load-scorer", "max-score-picker"]
    assert decode == ["decode-filter", "active-request-scorer", "max-score-picker"]


def test_selective_pd_uses_the_prefix_based_decider_in_tokens():
    """v0.5.0's threshold counted bytes; the decider counts the estimate backend's tokens, 4 bytes each
    ([R] .../dataproducer/tokenizer/estimate.go:37), and reads the decode pod's prefix match from
    approx-prefix-cache-producer ([R] .../disagg/prefix_based_pd_decider.go:130-160)."""
    run = run_stack("ib", {**V090, "scheduler": {"selectivePdThreshold": 513}})
    config = epp_config(run)
    check_picker_config(config)
    decider = config["plugins"][0]
    assert decider == {"type": "prefix-based-pd-decider", "parameters": {"nonCachedTokens": math.ceil(513 / 4)}}
    assert config["plugins"][1]["parameters"]["deciders"] == {"prefill": "prefix-based-pd-decider"}
    assert "approx-prefix-cache-producer" in [p["type"] for p in config["plugins"]]
    decode = [r["pluginRef"] for r in config["schedulingProfiles"][1]["plugins"]]
    assert decode == ["decode-filter", "active-request-scorer", "prefix-cache-scorer", "max-score-picker"]


def test_epp_rbac_and_pool_follow_the_release(ib9):
    role = ib9.one("Role", "gaie-pd-epp").inputs
    # [R] pkg/epp/server/controller_config.go:33-92 watches both groups' objectives and rewrites.
    assert role["rules"][0]["apiGroups"] == ["inference.networking.x-k8s.io", "llm-d.ai"]
    spec = ib9.one("InferencePool").inputs["spec"]
    # [I] api/v1/inferencepool_types.go:59-189; FailOpen from [G] recipes/router/base.values.yaml
    assert spec["appProtocol"] == "http" and spec["endpointPickerRef"]["failureMode"] == "FailOpen"


# --- model servers ------------------------------------------------------------------------------------
def test_sidecar_is_the_pinned_v010_disagg_sidecar_with_its_flags(ib9):
    sidecar = containers(ib9, "ms-pd-llm-d-modelservice-decode")["routing-proxy"]
    assert sidecar["image"] == "ghcr.io/llm-d/llm-d-router-disagg-sidecar:v0.10.0"  # not the overlays' :main
    # [R] pkg/sidecar/proxy/options.go:57-82 (pflag; --connector removed, --vllm-port deprecated)
    assert sidecar["args"] == ["--port=8000", "--model-server-port=8200", "--kv-connector=nixlv2",
                               "--zap-encoder=json", "--zap-log-level=error", "--secure-proxy=false"]


def test_vllm_026_args_and_env_per_role(ib9):
    prefill = containers(ib9, "ms-pd-llm-d-modelservice-prefill")["vllm"]
    decode = containers(ib9, "ms-pd-llm-d-modelservice-decode")["vllm"]
    for c in (prefill, decode):
        assert c["image"] == "ghcr.io/llm-d/llm-d-cuda:v0.9.0"
        assert "--no-disable-hybrid-kv-cache-manager" in c["args"]
        assert "--disable-access-log-for-endpoints=/health,/metrics,/v1/models" in c["args"]
        assert "--disable-uvicorn-access-log" not in c["args"]
    # The sidecar's idle pool keeps connections 90 s ([R] pkg/sidecar/proxy/proxy.go:546-550): prefill
    # vLLM keeps them 120 s ([G] patch-prefill.yaml:35-39); decode is reached over localhost.
    assert {"name": "VLLM_HTTP_TIMEOUT_KEEP_ALIVE", "value": "120"} in prefill["env"]
    assert not any(e["name"] == "VLLM_HTTP_TIMEOUT_KEEP_ALIVE" for e in decode["env"])


def test_stack_env_overrides_the_release_env():
    run = run_stack("ib", {**V090, "prefill": {"env": {"VLLM_HTTP_TIMEOUT_KEEP_ALIVE": "300"}}})
    env = containers(run, "ms-pd-llm-d-modelservice-prefill")["vllm"]["env"]
    assert [e for e in env if e["name"] == "VLLM_HTTP_TIMEOUT_KEEP_ALIVE"] == [{"name": "VLLM_HTTP_TIMEOUT_KEEP_ALIVE", "value": "300"}]


def test_guide_topology_is_the_default_without_role_blocks():
    """[G] modelserver/gpu/vllm/base/patch-{prefill,decode}.yaml: 8 x TP1 prefill, 2 x TP4 decode."""
    config = {k: v for k, v in stack_config("ib", V090).items() if k not in ("prefill", "decode")}
    typed = validate(config, set(), "ib", "llmd")
    assert (typed.prefill.replicas, typed.prefill.tensor_parallel) == (8, 1)
    assert (typed.decode.replicas, typed.decode.tensor_parallel) == (2, 4)
    default = validate({k: v for k, v in stack_config("ib").items() if k not in ("prefill", "decode")}, set(), "ib", "llmd")
    assert (default.prefill.replicas, default.decode.replicas) == (4, 1)
    partial = validate({**config, "decode": {"replicas": 1}}, set(), "ib", "llmd")
    assert (partial.decode.replicas, partial.decode.tensor_parallel) == (1, 4)


# --- verification -------------------------------------------------------------------------------------
def test_verification_reads_the_renamed_decision_counter(ib9):
    """[R] .../profilehandler/disagg/metrics.go:79-90: disagg-profile-handler counts only
    llm_d_epp_disagg_decision_total; llm_d_inference_scheduler_pd_decision_total never moves."""
    script = ib9.one("ConfigMap", "ms-pd-llm-d-modelservice-verify").inputs["data"]["verify_pd.py"]
    assert 'PD_DECISION = "llm_d_epp_disagg_decision_total"' in script
    assert 'PD_DECISION = "llm_d_inference_scheduler_pd_decision_total"' not in script
    # The Job's script hash is of the script it ships, so the upgrade runs the verifier again.
    from components.kube import content_hash
    from components.verification.job import SCRIPT_HASH_ANNOTATION

    job = ib9.one("Job", "ms-pd-llm-d-modelservice-verify").inputs
    assert job["spec"]["template"]["metadata"]["annotations"][SCRIPT_HASH_ANNOTATION] == content_hash(script)


V010_EPP = {"decision_metric": "llm_d_epp_disagg_decision_total",
            "decision_labels": 'plugin_name="disagg-profile-handler",plugin_type="disagg-profile-handler",'}


@pytest.mark.parametrize("llmd, passes", [("v0.9.0", True), ("v0.5.0", False)])
def test_the_release_script_proves_prefill_decode_and_nixl_against_a_v010_picker(llmd, passes, tmp_path):
    """The shipped script, run as the Job runs it, against loopback fakes of a v0.10.0 picker and
    vLLM 0.26.0 pods (whose NIXL metrics keep their names: vllm==0.26.0 kv_connector nixl stats)."""
    from components.verification import script_text
    from verification.fakes import FakeCluster, Scenario

    script = tmp_path / "verify_pd.py"
    script.write_text(script_text(profile(llmd).metrics))
    with FakeCluster(Scenario(**V010_EPP)) as cluster:
        done = subprocess.run([sys.executable, "-I", str(script)], env=cluster.env(tmp_path), cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
    summary = json.loads(done.stdout.splitlines()[-1])
    if passes:
        assert done.returncode == 0, done.stdout
        assert summary["pdDecisions"] == 1 and summary["kvTransfers"] == 1
        assert "PASS [prefill" in done.stdout and "PASS [kv-transfer" in done.stdout
    else:
        assert done.returncode == 1 and summary["failedStep"] == "epp-decision"


# --- versions ---------------------------------------------------------------------------------------
def test_every_profile_pins_every_release_bound_image():
    for p in profiles().values():
        for name in ("vllm_image", "scheduler_image", "routing_sidecar_image"):
            assert ":" in p.versions[name].rsplit("/", 1)[-1] and not p.versions[name].endswith(":main")


def test_v090_charts_and_crd_bundles():
    typed = validate(stack_config("ib", V090), set(), "ib", "llmd")
    v = typed.versions
    # [G] guides/env.sh:9,16 (Gateway API v1.5.1, GAIE v1.5.0); docs/infrastructure/gateway/istio.md (1.29.2)
    assert (v.gateway_api_crds, v.inference_extension_crds, v.istio_chart) == ("v1.5.1", "v1.5.0", "1.29.2")
    # ../shared/crds/README.md: agentgateway v1.1.0 at v0.9.0 (the field comes with the agentgateway provider)
    assert profile("v0.9.0").versions["agentgateway_chart"] == "v1.1.0"
    # [G] guides/pd-disaggregation/README.md:160-245 applies GAIE's v1-manifests.yaml
    assert v.inference_extension_crd_url.endswith("/v1.5.0/v1-manifests.yaml")
    override = validate(stack_config("ib", {"versions": {"llmd": "v0.9.0", "istioChart": "1.29.3"}}), set(), "ib", "llmd")
    assert override.versions.istio_chart == "1.29.3" and override.versions.gateway_api_crds == "v1.5.1"


def test_gke_v090_needs_the_latest_driver_setting():
    """CUDA 13 images need driver 580+; on GKE only gpuDriverVersion LATEST may install that branch."""
    import pulumi

    from tools.mock_runtime import run_program

    config = stack_config("gke", V090)
    config["platform"]["gpuPool"]["gpuDriverVersion"] = "DEFAULT"
    result = run_program("gke", config, expect_error=True)
    assert isinstance(result.error, pulumi.RunError)
    assert "llmd:platform.gpuPool.gpuDriverVersion: is DEFAULT, but llm-d v0.9.0's images are CUDA 13" in str(result.error)
    assert result.registrations == []
    config["versions"] = {}  # v0.5.0 (CUDA 12) accepts DEFAULT on this GKE version
    assert run_program("gke", config).error is None


def test_existing_clusters_are_warned_of_the_driver_and_of_v050_only_keys():
    run = run_stack("ib", {**V090, "scheduler": {"selectivePdThreshold": 0, "hashBlockSize": 5}})
    assert run.error is None and run.registrations
    driver, block = run.warnings
    assert driver.startswith("llmd:versions.llmd is v0.9.0, whose model-server images are CUDA 13: the GPU nodes need NVIDIA driver 580")
    assert block.startswith("llmd:scheduler.hashBlockSize has no effect with versions.llmd v0.9.0")
    assert run_stack("ib", {"scheduler": {"hashBlockSize": 5}}).warnings == []  # v0.5.0 uses both
    assert run_stack("gke", V090).warnings == [w for w in run_stack("gke").warnings]  # GKE: a rule, not a warning
