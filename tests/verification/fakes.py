"""Loopback fakes of everything verify_pd.py talks to: the Kubernetes API, vLLM /metrics, the Gateway, the EPP.

Every server is an http.server in a daemon thread on 127.0.0.x with a free port. Prefill pods get
127.0.0.1, 127.0.0.2, ... and decode pods 127.0.0.11, ... on one port per role, like real pods that
share a container port on distinct IPs. A request that the fake Gateway answers with 200 moves the
counters the way a disaggregated request does, unless the Scenario says otherwise.
"""

import json
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = 'org/model "quoted"}, x'  # a served name that needs escaping in label values
EPP_TOKEN = "epp-metrics-token"
KUBE_TOKEN = "kube-sa-token"
NAMESPACE = "llm-d-pd"
POOL = {"llm-d.ai/inference-serving": "true", "llm-d.ai/pool": "gaie-pd"}


@dataclass
class Scenario:
    prefill_pods: int = 2
    decode_pods: int = 1
    prefill_moves: bool = True
    decode_moves: bool = True
    decision: str | None = "prefill-decode"  # None: the EPP never exposes the P/D decision counter
    # The EPP's decision counter and its other labels (llm-d Router v0.10.0: llm_d_epp_disagg_decision_total
    # with plugin_name and plugin_type, pkg/epp/framework/plugins/scheduling/profilehandler/disagg/metrics.go:79-90).
    decision_metric: str = "llm_d_inference_scheduler_pd_decision_total"
    decision_labels: str = ""
    kv_moves: bool = True
    kv_failed: int = 0
    kv_seconds: float = 0.004
    kv_bytes: float = 80e6
    gateway_statuses: list[int] = field(default_factory=list)  # answered (in order) before the first 200
    gateway_always: int | None = None  # answer this forever
    gateway_delay: float = 0.0
    epp_delay: float = 0.0
    counter_lag: float = 0.0  # counters move this long after the response
    unready_pods: int = 0  # extra prefill pods that never become Ready
    kube_anonymous: bool = False  # the API lists pods without a token
    empty_answer: bool = False  # 200 with a choice that says nothing


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class VllmPod:
    def __init__(self, name: str, ip: str, role: str):
        self.name, self.ip, self.role = name, ip, role
        self.success = {"stop": 5.0, "length": 2.0, "abort": 0.0}
        self.prompt_tokens, self.generation_tokens = 7000.0, 900.0
        self.xfer_count, self.xfer_seconds, self.xfer_bytes = 3.0, 0.01, 2e8
        self.failed_transfers = 0.0

    def metrics(self) -> str:
        labels = f'model_name="{_escape(MODEL)}",engine="0"'
        lines = ["# HELP vllm:request_success_total Count of successfully processed requests.",
                 "# TYPE vllm:request_success_total counter"]
        for reason, value in self.success.items():
            lines.append(f'vllm:request_success_total{{{labels},finished_reason="{reason}"}} {value}')
            lines.append(f'vllm:request_success_created{{{labels},finished_reason="{reason}"}} 1.7e9')
        lines += ["# TYPE vllm:prompt_tokens_total counter", f"vllm:prompt_tokens_total{{{labels}}} {self.prompt_tokens}",
                  f"vllm:generation_tokens_total{{{labels}}} {self.generation_tokens}",
                  f'vllm:kv_cache_usage_perc{{{labels}}} 0.1', "process_cpu_seconds_total 12.5"]
        lines += ["# TYPE vllm:nixl_xfer_time_seconds histogram",
                  f'vllm:nixl_xfer_time_seconds_bucket{{{labels},le="+Inf"}} {self.xfer_count}',
                  f"vllm:nixl_xfer_time_seconds_count{{{labels}}} {self.xfer_count}",
                  f"vllm:nixl_xfer_time_seconds_sum{{{labels}}} {self.xfer_seconds}",
                  f"vllm:nixl_bytes_transferred_count{{{labels}}} {self.xfer_count}",
                  f"vllm:nixl_bytes_transferred_sum{{{labels}}} {self.xfer_bytes}",
                  f"vllm:nixl_num_failed_transfers_total{{{labels}}} {self.failed_transfers}",
                  f"vllm:nixl_num_failed_notifications_total{{{labels}}} 0.0"]
        return "\n".join(lines) + "\n"


def _free_port_on(ips: list[str]) -> int:
    """A port that is free on every one of `ips`."""
    for _ in range(20):
        probe = socket.socket()
        probe.bind((ips[0], 0))
        port = probe.getsockname()[1]
        probe.close()
        try:
            for ip in ips:
                with socket.socket() as s:
                    s.bind((ip, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no common free port")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that timed out closed the socket: fine
        pass


class FakeCluster:
    def __init__(self, scenario: Scenario | None = None):
        self.s = scenario or Scenario()
        self.stopping = threading.Event()
        self.requests: list[dict] = []
        self.epp_auth: list[str | None] = []
        self.decisions = {"decode-only": 4.0, "prefill-decode": 9.0}
        self.prefill = [VllmPod(f"ms-pd-llm-d-modelservice-prefill-{i}", f"127.0.0.{1 + i}", "prefill")
                        for i in range(self.s.prefill_pods)]
        self.decode = [VllmPod(f"ms-pd-llm-d-modelservice-decode-{i}", f"127.0.0.{11 + i}", "decode")
                       for i in range(self.s.decode_pods)]
        self.servers: list[ThreadingHTTPServer] = []

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "FakeCluster":
        self.kube_port = self._serve("127.0.0.1", 0, self._kube)
        self.gateway_port = self._serve("127.0.0.1", 0, self._gateway)
        self.epp_port = self._serve("127.0.0.1", 0, self._epp)
        for role, pods in (("prefill", self.prefill), ("decode", self.decode)):
            port = _free_port_on([p.ip for p in pods]) if pods else 1
            for pod in pods:
                self._serve(pod.ip, port, self._vllm(pod))
            setattr(self, f"{role}_port", port)
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        stoppers = [threading.Thread(target=server.shutdown) for server in self.servers]
        for stopper in stoppers:
            stopper.start()
        for stopper, server in zip(stoppers, self.servers):
            stopper.join()
            server.server_close()

    def _serve(self, ip: str, port: int, handle) -> int:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                handle(self)

            do_POST = do_GET

        server = _Server((ip, port), Handler)
        self.servers.append(server)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server.server_address[1]

    def env(self, tmp_path, **overrides) -> dict[str, str]:
        (tmp_path / "kube-token").write_text(KUBE_TOKEN + "\n")
        (tmp_path / "epp-token").write_text(EPP_TOKEN + "\n")
        env = {
            "GATEWAY_URL": f"http://127.0.0.1:{self.gateway_port}",
            "MODEL": MODEL,
            "PREFILL_SELECTOR": "llm-d.ai/pool=gaie-pd,llm-d.ai/role=prefill",
            "DECODE_SELECTOR": "llm-d.ai/pool=gaie-pd,llm-d.ai/role=decode",
            "EPP_METRICS_URL": f"http://127.0.0.1:{self.epp_port}/metrics",
            "EPP_TOKEN_FILE": str(tmp_path / "epp-token"),
            "KUBE_API_URL": f"http://127.0.0.1:{self.kube_port}",
            "KUBE_TOKEN_FILE": str(tmp_path / "kube-token"),
            "KUBE_CA_FILE": str(tmp_path / "no-ca.crt"),
            "NAMESPACE": NAMESPACE,
            "PREFILL_METRICS_PORT": str(self.prefill_port),
            "DECODE_METRICS_PORT": str(self.decode_port),
            "TIMEOUT_SECONDS": "2",
            "READY_WAIT_SECONDS": "2",
            "RETRY_SECONDS": "0.1",
            "SETTLE_SECONDS": "0.2",
            "PROMPT_TOKENS": "1200",
        }
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    # --- handlers ----------------------------------------------------------------------------
    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, body: str, ctype: str = "application/json") -> None:
        data = body.encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass

    def _kube(self, h: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(h.path)
        if h.headers.get("Authorization") != f"Bearer {KUBE_TOKEN}" and not self.s.kube_anonymous:
            return self._reply(h, 403, json.dumps({"kind": "Status", "reason": "Forbidden"}))
        if url.path != f"/api/v1/namespaces/{NAMESPACE}/pods":
            return self._reply(h, 404, "{}")
        wanted = dict(term.split("=", 1) for term in urllib.parse.parse_qs(url.query)["labelSelector"][0].split(","))
        items = []
        for pod in self.prefill + self.decode:
            labels = {**POOL, "llm-d.ai/role": pod.role}
            ready = [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]
            items.append({"metadata": {"name": pod.name, "labels": labels},
                          "status": {"phase": "Running", "podIP": pod.ip, "conditions": ready}})
            # Neither a pending, an unready nor a terminating pod may be scraped.
            items.append({"metadata": {"name": pod.name + "-pending", "labels": labels}, "status": {"phase": "Pending"}})
            items.append({"metadata": {"name": pod.name + "-starting", "labels": labels}, "status": {
                "phase": "Running", "podIP": "127.0.0.98", "conditions": [{"type": "Ready", "status": "False"}]}})
            items.append({"metadata": {"name": pod.name + "-old", "labels": labels, "deletionTimestamp": "2025-01-01T00:00:00Z"},
                          "status": {"phase": "Running", "podIP": "127.0.0.99", "conditions": ready}})
        for i in range(self.s.unready_pods):
            labels = {**POOL, "llm-d.ai/role": "prefill"}
            items.append({"metadata": {"name": f"unready-prefill-{i}", "labels": labels}, "status": {"phase": "Pending"}})
        items = [i for i in items if all(i["metadata"]["labels"].get(k) == v for k, v in wanted.items())]
        self._reply(h, 200, json.dumps({"kind": "PodList", "apiVersion": "v1", "items": items}))

    def _vllm(self, pod: VllmPod):
        def handle(h: BaseHTTPRequestHandler) -> None:
            if h.path != "/metrics":
                return self._reply(h, 404, "")
            self._reply(h, 200, pod.metrics(), "text/plain; version=0.0.4")
        return handle

    def _epp(self, h: BaseHTTPRequestHandler) -> None:
        self.epp_auth.append(h.headers.get("Authorization"))
        if self.s.epp_delay and self.stopping.wait(self.s.epp_delay):
            return
        if h.headers.get("Authorization") != f"Bearer {EPP_TOKEN}":
            return self._reply(h, 401, "Unauthorized", "text/plain")
        lines = ["# HELP inference_pool_ready_pods The number of ready pods", "inference_pool_ready_pods{name=\"gaie-pd\"} 3"]
        if self.s.decision is not None:
            metric = self.s.decision_metric
            lines.append(f"# TYPE {metric} counter")
            lines += [f'{metric}{{{self.s.decision_labels}decision_type="{d}",model_name="{_escape(MODEL)}"}} {v}'
                      for d, v in self.decisions.items()]
        self._reply(h, 200, "\n".join(lines) + "\n", "text/plain")

    def _gateway(self, h: BaseHTTPRequestHandler) -> None:
        if h.command != "POST" or h.path != "/v1/chat/completions":
            return self._reply(h, 404, "{}")
        body = json.loads(h.rfile.read(int(h.headers["Content-Length"])))
        self.requests.append(body)
        if self.s.gateway_delay and self.stopping.wait(self.s.gateway_delay):
            return
        status = self.s.gateway_always or (self.s.gateway_statuses.pop(0) if self.s.gateway_statuses else 200)
        if status != 200:
            return self._reply(h, status, '{"error": "no healthy upstream"}')
        if self.s.counter_lag:
            threading.Timer(self.s.counter_lag, self._serve_request, [body]).start()
        else:
            self._serve_request(body)
        self._reply(h, 200, json.dumps({"id": "chatcmpl-1", "model": body["model"], "choices": [
            {"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": None,
                                                               "reasoning_content": "" if self.s.empty_answer
                                                               else "P/D splits the work."}}]}))

    def _serve_request(self, body: dict) -> None:
        """What one request does to the counters when it is disaggregated (as far as the Scenario allows)."""
        words = len(body["messages"][0]["content"].split())
        if self.s.decision is not None:
            self.decisions["prefill-decode" if self.s.prefill_moves else "decode-only"] += 1
        if self.s.prefill_moves:
            pod = self.prefill[-1]
            pod.success["length"] += 1  # the sidecar asks prefill for max_tokens=1
            pod.prompt_tokens += words
            pod.generation_tokens += 1
        if self.s.decode_moves:
            pod = self.decode[0]
            pod.success["length"] += 1
            pod.prompt_tokens += words
            pod.generation_tokens += body["max_tokens"]
            if self.s.kv_moves:
                pod.xfer_count += 1
                pod.xfer_seconds += self.s.kv_seconds
                pod.xfer_bytes += self.s.kv_bytes
            pod.failed_transfers += self.s.kv_failed
