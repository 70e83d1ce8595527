"""verify_pd.py against loopback fakes of the Kubernetes API, vLLM, the EPP and the Gateway."""

import ast
import json
import subprocess
import sys

import pytest

from components.names import EPP_METRICS_PORT, Release
from components.verification import SCRIPT, job_env, script_text, verify_pd
from verification.fakes import EPP_TOKEN, KUBE_TOKEN, MODEL, FakeCluster, Scenario


def run(capsys, cluster: FakeCluster, tmp_path, **env) -> tuple[int, list[str], dict]:
    code = verify_pd.main(cluster.env(tmp_path, **env))
    lines = capsys.readouterr().out.splitlines()
    return code, lines, json.loads(lines[-1])


def failed(lines: list[str], step: str) -> str:
    return next(line for line in lines if line.startswith(f"FAIL [{step}]"))


# --- success ---------------------------------------------------------------------------------------
def test_disaggregated_request_passes_every_step(capsys, tmp_path):
    with FakeCluster() as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path)
    assert code == 0, lines
    assert [line.split("]")[0] for line in lines[:-1]] == [
        "PASS [pods", "PASS [pods", "PASS [snapshot", "PASS [request",
        "PASS [prefill", "PASS [decode", "PASS [epp-decision", "PASS [kv-transfer"]
    assert summary == {"result": "pass", "failedStep": None, "prefillRequests": 1, "decodeRequests": 1,
                       "pdDecisions": 1, "kvTransfers": 1, "kvBytes": 80000000, "kvGBps": 20.0,
                       "failedTransfers": 0, "prefillPods": 2, "decodePods": 1, "gatewayAttempts": 1}
    # Pending and terminating pods are not scraped; both running prefill pods are.
    assert lines[0].endswith("prefill: 2 Ready pod(s) ms-pd-llm-d-modelservice-prefill-0 127.0.0.1, "
                             "ms-pd-llm-d-modelservice-prefill-1 127.0.0.2; 6 more not Ready")
    assert lines[1].endswith("decode: 1 Ready pod(s) ms-pd-llm-d-modelservice-decode-0 127.0.0.11; 3 more not Ready")
    # The real route was used, with the model and a long, unique prompt.
    (request,) = cluster.requests
    assert request["model"] == MODEL
    assert len(request["messages"][0]["content"].split()) >= 1200
    assert set(cluster.epp_auth) == {f"Bearer {EPP_TOKEN}"}
    assert "prefill pods' vllm:request_success_total +1, vllm:prompt_tokens_total +12" in lines[4]
    assert "decode pods' vllm:request_success_total +1, vllm:generation_tokens_total +32" in lines[5]
    assert "80.0 MB in 4.0 ms = 20.00 GB/s, 0 failed" in lines[-2] and "UCX" in lines[-2]


def test_prompts_are_unique_so_no_prefix_cache_hides_the_transfer(capsys, tmp_path):
    with FakeCluster() as cluster:
        run(capsys, cluster, tmp_path)
        run(capsys, cluster, tmp_path)
    first, second = (r["messages"][0]["content"] for r in cluster.requests)
    assert first.split()[:2] != second.split()[:2]


def test_counters_that_move_after_the_response_are_waited_for(capsys, tmp_path):
    with FakeCluster(Scenario(counter_lag=0.2)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path, SETTLE_SECONDS=3)
    assert code == 0, lines
    assert summary["kvTransfers"] == 1


def test_gateway_503_then_200_is_retried(capsys, tmp_path):
    with FakeCluster(Scenario(gateway_statuses=[503, 503])) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path)
    assert code == 0, lines
    assert summary["gatewayAttempts"] == 3


# --- failures, each naming its step and what to look at ---------------------------------------------
def test_pool_selects_no_pods(capsys, tmp_path):
    with FakeCluster(Scenario(prefill_pods=0, decode_pods=0)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path)
    assert code == 1
    assert summary["failedStep"] == "pods"
    assert "pool selects no pods" in failed(lines, "pods")
    assert "InferencePool selector" in summary["message"]
    assert not cluster.requests


def test_no_prefill_pods(capsys, tmp_path):
    with FakeCluster(Scenario(prefill_pods=0, unready_pods=2)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path)
    assert (code, summary["failedStep"]) == (1, "pods")
    assert "no prefill pods matching 'llm-d.ai/pool=gaie-pd,llm-d.ai/role=prefill' are Ready" in failed(lines, "pods")
    assert "(2 match but are not Ready;" in failed(lines, "pods")
    assert (summary["prefillPods"], summary["decodePods"]) == (0, 1)


def test_kubernetes_api_refusal_names_the_rbac_fix(capsys, tmp_path):
    with FakeCluster() as cluster:
        env = cluster.env(tmp_path)
        (tmp_path / "kube-token").write_text("someone-else")
        code = verify_pd.main(env)
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert "answered 403" in failed(lines, "pods") and "get/list on pods" in failed(lines, "pods")


def test_gateway_503_until_the_wait_ends(capsys, tmp_path):
    with FakeCluster(Scenario(gateway_always=503)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path, READY_WAIT_SECONDS=0.5)
    assert (code, summary["failedStep"]) == (1, "request")
    message = failed(lines, "request")
    assert "no 200 within READY_WAIT_SECONDS=0.5" in message and "HTTP 503" in message and "HTTPRoute" in message
    assert summary["gatewayAttempts"] >= 2


def test_a_refused_request_is_not_retried(capsys, tmp_path):
    with FakeCluster(Scenario(gateway_always=400)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path, READY_WAIT_SECONDS=30)
    assert (code, summary["failedStep"], summary["gatewayAttempts"]) == (1, "request", 1)
    assert "HTTP 400" in failed(lines, "request") and "served model name" in failed(lines, "request")


def test_slow_gateway_beyond_the_timeout(capsys, tmp_path):
    with FakeCluster(Scenario(gateway_delay=5)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path, TIMEOUT_SECONDS=0.3, READY_WAIT_SECONDS=0)
    assert (code, summary["failedStep"]) == (1, "request")
    assert "timed out" in failed(lines, "request") and "TIMEOUT_SECONDS=0.3" in failed(lines, "request")
    assert summary["gatewayAttempts"] == 1


def test_slow_epp_metrics_beyond_the_timeout(capsys, tmp_path):
    with FakeCluster(Scenario(epp_delay=5)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path, TIMEOUT_SECONDS=0.3)
    assert (code, summary["failedStep"]) == (1, "snapshot")
    assert "cannot scrape http://127.0.0.1:" in failed(lines, "snapshot") and "timed out" in failed(lines, "snapshot")


def test_request_served_decode_only(capsys, tmp_path):
    """The EPP skipped prefill: the prefill counter and the KV transfer stay still."""
    with FakeCluster(Scenario(prefill_moves=False, kv_moves=False)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path)
    assert (code, summary["failedStep"]) == (1, "prefill")
    message = failed(lines, "prefill")
    assert "did not pick a prefill endpoint" in message and "pd-profile-handler threshold" in message
    assert "decode-only +1" in message
    assert "PASS [decode]" in "\n".join(lines)
    assert "chose decode-only" in failed(lines, "epp-decision")
    assert summary["prefillRequests"] == 0 and summary["decodeRequests"] == 1


def test_decode_counter_does_not_move(capsys, tmp_path):
    with FakeCluster(Scenario(decode_moves=False)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path)
    assert (code, summary["failedStep"]) == (1, "decode")
    assert "DECODE_SELECTOR" in failed(lines, "decode") and "routing sidecar" in failed(lines, "decode")


def test_epp_decision_counter_missing(capsys, tmp_path):
    with FakeCluster(Scenario(decision=None)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path)
    assert (code, summary["failedStep"]) == (1, "epp-decision")
    assert "exposes no llm_d_inference_scheduler_pd_decision_total" in failed(lines, "epp-decision")
    assert summary["pdDecisions"] == 0


def test_kv_transfer_does_not_move(capsys, tmp_path):
    with FakeCluster(Scenario(kv_moves=False)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path)
    assert (code, summary["failedStep"]) == (1, "kv-transfer")
    assert verify_pd.FALLBACK in failed(lines, "kv-transfer")
    assert "vllm:nixl_xfer_time_seconds_count did not move" in failed(lines, "kv-transfer")
    assert summary["kvTransfers"] == 0


def test_failed_nixl_transfers(capsys, tmp_path):
    with FakeCluster(Scenario(kv_failed=2)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path)
    assert (code, summary["failedStep"]) == (1, "kv-transfer")
    assert "2 failed transfer(s)" in failed(lines, "kv-transfer") and "UCX_TLS" in failed(lines, "kv-transfer")
    assert summary["failedTransfers"] == 2


def test_slow_kv_transfer_is_reported_as_a_fallback_when_a_floor_is_set(capsys, tmp_path):
    with FakeCluster(Scenario(kv_seconds=0.4)) as cluster:  # 80 MB in 400 ms = 0.2 GB/s, TCP territory
        code, lines, summary = run(capsys, cluster, tmp_path, MIN_KV_GBPS=5)
    assert (code, summary["failedStep"]) == (1, "kv-transfer")
    assert "0.20 GB/s" in failed(lines, "kv-transfer") and "fell back to TCP" in failed(lines, "kv-transfer")
    assert summary["kvGBps"] == 0.2


def test_epp_metrics_refuse_a_wrong_token(capsys, tmp_path):
    with FakeCluster() as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path, EPP_TOKEN_FILE=str(tmp_path / "kube-token"))
    assert (code, summary["failedStep"]) == (1, "snapshot")
    assert "answered 401" in failed(lines, "snapshot") and "nonResourceURL /metrics" in failed(lines, "snapshot")
    assert cluster.epp_auth == [f"Bearer {KUBE_TOKEN}"]


def test_epp_metrics_default_to_the_service_account_token(capsys, tmp_path):
    with FakeCluster() as cluster:
        env = cluster.env(tmp_path)
        del env["EPP_TOKEN_FILE"]
        code = verify_pd.main(env)
    lines = capsys.readouterr().out.splitlines()
    assert code == 1, lines
    assert "answered 401" in failed(lines, "snapshot") and "kube-token was refused" in failed(lines, "snapshot")
    assert cluster.epp_auth == [f"Bearer {KUBE_TOKEN}"]


def test_epp_metrics_401_without_a_token(capsys, tmp_path):
    with FakeCluster(Scenario(kube_anonymous=True)) as cluster:
        env = cluster.env(tmp_path, KUBE_TOKEN_FILE=str(tmp_path / "absent"))
        del env["EPP_TOKEN_FILE"]
        code = verify_pd.main(env)
    lines = capsys.readouterr().out.splitlines()
    assert code == 1, lines
    assert "answered 401" in failed(lines, "snapshot")
    assert cluster.epp_auth == [None]


def test_wrong_metrics_port(capsys, tmp_path):
    with FakeCluster() as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path, DECODE_METRICS_PORT=cluster.kube_port)
    assert (code, summary["failedStep"]) == (1, "snapshot")
    assert "127.0.0.11" in failed(lines, "snapshot") and "check the metrics port" in failed(lines, "snapshot")


def test_gateway_200_with_an_empty_choice(capsys, tmp_path):
    with FakeCluster(Scenario(empty_answer=True)) as cluster:
        code, lines, summary = run(capsys, cluster, tmp_path)
    assert (code, summary["failedStep"]) == (1, "request")
    assert "no non-empty choice" in failed(lines, "request")


# --- configuration ----------------------------------------------------------------------------------
def test_missing_and_malformed_configuration_exits_2(capsys, tmp_path):
    code = verify_pd.main({"MODEL": "m", "TIMEOUT_SECONDS": "soon", "GATEWAY_URL": "gw:80", "NAMESPACE": "ns",
                           "PROMPT_TOKENS": "-5", "METRICS_URL_TEMPLATE": "http://{pod_ip}/metrics"})
    lines = capsys.readouterr().out.splitlines()
    assert code == 2
    for expected in ("PREFILL_SELECTOR is required", "DECODE_SELECTOR is required", "EPP_METRICS_URL is required",
                     "TIMEOUT_SECONDS must be a non-negative float, got 'soon'", "GATEWAY_URL must start with http://",
                     "PROMPT_TOKENS must be a non-negative int, got '-5'", "METRICS_URL_TEMPLATE may use only"):
        assert expected in lines[0]
    assert json.loads(lines[-1])["failedStep"] == "config"


def test_named_but_unreadable_epp_token_exits_2(capsys, tmp_path):
    with FakeCluster() as cluster:
        code = verify_pd.main(cluster.env(tmp_path, EPP_TOKEN_FILE=str(tmp_path / "nope")))
    assert code == 2
    assert "EPP_TOKEN_FILE" in capsys.readouterr().out
    assert not cluster.requests


def test_namespace_comes_from_the_service_account_when_not_set(tmp_path):
    (tmp_path / "namespace").write_text("llm-d-pd\n")
    env = {name: "http://x" for name in verify_pd.REQUIRED} | {"KUBE_NAMESPACE_FILE": str(tmp_path / "namespace")}
    cfg = verify_pd.load_config(env)
    assert cfg["namespace"] == "llm-d-pd"
    assert (cfg["prefill_metrics_port"], cfg["decode_metrics_port"], cfg["prompt_tokens"]) == (8000, 8200, 1024)
    with pytest.raises(verify_pd.ConfigError, match="NAMESPACE is not set"):
        verify_pd.load_config({**env, "KUBE_NAMESPACE_FILE": str(tmp_path / "absent")})


def test_job_env_comes_from_the_release():
    release = Release(namespace="ns1", suffix="blue", served_model="openai/gpt-oss-120b")
    env = job_env(release, "http://gw.ns1.svc.cluster.local:80", PROMPT_TOKENS=2048)
    assert env["PREFILL_SELECTOR"] == ",".join(f"{k}={v}" for k, v in release.role_selector("prefill").items())
    assert "llm-d.ai/pool=gaie-blue" in env["DECODE_SELECTOR"] and "llm-d.ai/role=decode" in env["DECODE_SELECTOR"]
    assert (env["PREFILL_METRICS_PORT"], env["DECODE_METRICS_PORT"]) == ("8000", "8200")
    assert env["EPP_METRICS_URL"] == f"http://gaie-blue-epp.ns1.svc.cluster.local:{EPP_METRICS_PORT}/metrics"
    assert (env["MODEL"], env["NAMESPACE"], env["PROMPT_TOKENS"]) == ("openai/gpt-oss-120b", "ns1", "2048")
    cfg = verify_pd.load_config(env)
    assert cfg["prompt_tokens"] == 2048


# --- the script itself --------------------------------------------------------------------------------
def test_script_uses_the_standard_library_only():
    tree = ast.parse(script_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules and modules <= set(sys.stdlib_module_names), modules - set(sys.stdlib_module_names)


def test_script_runs_standalone_as_a_job_would(tmp_path):
    with FakeCluster() as cluster:
        done = subprocess.run([sys.executable, "-I", str(SCRIPT)], env=cluster.env(tmp_path), cwd=tmp_path,
                              capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["result"] == "pass"
    assert done.stderr == ""


# --- Prometheus text format ---------------------------------------------------------------------------
def test_parser_handles_escapes_comments_timestamps_and_label_sets():
    text = "\n".join([
        "# HELP vllm:request_success_total Count of successfully processed requests.",
        "# TYPE vllm:request_success_total counter",
        'vllm:request_success_total{model_name="a \\"b\\" } c,d",finished_reason="stop"} 3',
        'vllm:request_success_total{model_name="back\\\\slash\\nnl",finished_reason="length",} 4.5 1700000000000',
        'vllm:request_success_created{model_name="x",finished_reason="stop"} 1.7e9',
        "vllm:request_success_total 1e1",
        'vllm:nixl_xfer_time_seconds_bucket{le="+Inf"} 2',
        'vllm:kv_cache_usage_perc{engine="0"} NaN',
        'broken{model_name="unterminated} 5',
        "",
        "# EOF",
    ])
    samples = verify_pd.parse_metrics(text)
    labels = [s[1] for s in samples if s[0] == "vllm:request_success_total"]
    assert labels == [{"model_name": 'a "b" } c,d', "finished_reason": "stop"},
                      {"model_name": "back\\slash\nnl", "finished_reason": "length"}, {}]
    assert verify_pd.counter(samples, "vllm:request_success") == 17.5  # summed over label sets, _created left out
    assert verify_pd.total(samples, "vllm:request_success_total", finished_reason="stop") == 3
    assert verify_pd.total(samples, "vllm:nixl_xfer_time_seconds_bucket", le="+Inf") == 2
    assert verify_pd.total(samples, "vllm:kv_cache_usage_perc") is None  # NaN is no value
    assert verify_pd.total(samples, "broken") is None
    assert verify_pd.counter(samples, "absent") is None


def test_counter_without_the_total_suffix():
    assert verify_pd.counter(verify_pd.parse_metrics("old_counter 3\nold_counter{a=\"b\"} 4\n"), "old_counter") == 7
