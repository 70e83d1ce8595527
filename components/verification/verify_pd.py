#!/usr/bin/env python3
"""Prove that one real request through the Gateway was disaggregated: prefill pod -> NIXL KV -> decode pod.

Python 3 stdlib only: it runs as a Kubernetes Job (python:3.12-slim) from a ConfigMap. It finds the pods
(Kubernetes API), snapshots their vLLM /metrics and the EPP's, sends one chat completion through the
Gateway, re-scrapes, and prints one PASS/FAIL line per check (pods, snapshot, request, prefill, decode,
epp-decision, kv-transfer) and a JSON summary line. Exit 0 pass, 1 fail, 2 bad configuration.
Metrics, from the pinned sources: vLLM v0.14.1 (v1/metrics/loggers.py) vllm:request_success_total,
vllm:prompt_tokens_total, vllm:generation_tokens_total; its NixlConnector (NixlPromMetrics, observed by
the decode worker that READs the KV) vllm:nixl_xfer_time_seconds and vllm:nixl_bytes_transferred
(histograms), vllm:nixl_num_failed_{transfers,notifications}_total; llm-d-inference-scheduler v0.5.0
(pkg/metrics) llm_d_inference_scheduler_pd_decision_total{model_name, decision_type}. UCX's transport
(rc / cuda_ipc vs tcp) is in no metric: NIXL throughput is the proxy (MIN_KV_GBPS).

Environment (* required; defaults in brackets):
  GATEWAY_URL*          Gateway base URL, e.g. http://<gateway-svc>.<ns>.svc.cluster.local:80
  API_KEY               sent as `Authorization: Bearer <key>` when the Gateway requires a key (from a Secret)
  MODEL*                served model name to request
  PREFILL_SELECTOR*     label selector of the prefill pods, e.g. llm-d.ai/pool=gaie-pd,llm-d.ai/role=prefill
  DECODE_SELECTOR*      label selector of the decode pods
  EPP_METRICS_URL*      e.g. http://gaie-pd-epp.<ns>.svc.cluster.local:9090/metrics
  EPP_TOKEN_FILE        bearer token for the EPP's /metrics [KUBE_TOKEN_FILE]
  PREFILL_METRICS_PORT  vLLM port of prefill pods [8000];  DECODE_METRICS_PORT  of decode pods [8200]
  METRICS_URL_TEMPLATE  scrape URL of a pod, fields {ip} {port} {name} [http://{ip}:{port}/metrics]
  NAMESPACE             the pods' namespace [contents of KUBE_NAMESPACE_FILE]
  KUBE_API_URL [https://kubernetes.default.svc]; KUBE_TOKEN_FILE, KUBE_CA_FILE, KUBE_NAMESPACE_FILE
                        [/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}]
  TIMEOUT_SECONDS       timeout of every HTTP call, the completion included [60]
  READY_WAIT_SECONDS    retry the request until the Gateway answers 200 or this passes [300]
  RETRY_SECONDS         pause between those attempts [2]
  SETTLE_SECONDS        re-scrape until every counter moved or this passes [30]
  PROMPT_TOKENS         prompt length in words (~tokens), above any selective-P/D threshold [1024]
  MAX_TOKENS            completion length [32]
  MIN_KV_GBPS           fail below this NIXL throughput in GB/s, a TCP-fallback heuristic [0 = report only]
"""
import http.client
import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
REQUEST_SUCCESS, PROMPT, GENERATION = "vllm:request_success", "vllm:prompt_tokens", "vllm:generation_tokens"
XFER_TIME, XFER_BYTES = "vllm:nixl_xfer_time_seconds", "vllm:nixl_bytes_transferred"
XFER_FAILURES = ("vllm:nixl_num_failed_transfers", "vllm:nixl_num_failed_notifications")
PD_DECISION = "llm_d_inference_scheduler_pd_decision_total"
FALLBACK = "KV transfer fell back to TCP or did not happen: look at UCX_TLS / rdma resources / the vLLM logs for nixl"
REQUIRED = ("GATEWAY_URL", "MODEL", "PREFILL_SELECTOR", "DECODE_SELECTOR", "EPP_METRICS_URL")
NUMBERS = {"PREFILL_METRICS_PORT": (8000, int), "DECODE_METRICS_PORT": (8200, int), "TIMEOUT_SECONDS": (60, float),
           "READY_WAIT_SECONDS": (300, float), "RETRY_SECONDS": (2, float), "SETTLE_SECONDS": (30, float),
           "PROMPT_TOKENS": (1024, int), "MAX_TOKENS": (32, int), "MIN_KV_GBPS": (0, float)}
NET_ERRORS = (OSError, http.client.HTTPException)  # URLError, refused, reset and timeouts are OSErrors

# --- Prometheus text format: name{label="value",...} value [timestamp] ------------------------------
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def parse_metrics(text):
    """[(name, {label: value}, float)]; comments (# HELP/TYPE/EOF), NaN and malformed lines are skipped."""
    samples = []
    for line in text.splitlines():
        m = _SAMPLE.match(line.strip())
        if not m:
            continue
        labels, body, pos = {}, m.group(2) or "", 0
        while pos < len(body) and (lm := _LABEL.match(body, pos)):
            labels[lm.group(1)] = re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), e.group(0)), lm.group(2))
            pos = lm.end()
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        if not body[pos:].strip() and value == value:
            samples.append((m.group(1), labels, value))
    return samples


def total(samples, name, **match):
    """Sum of `name` over every label set that has `match`; None if there is no such series."""
    values = [v for n, labels, v in samples if n == name and all(labels.get(k) == x for k, x in match.items())]
    return sum(values) if values else None


def counter(samples, name):
    """A counter by base name: prometheus_client exposes `<name>_total` (and `<name>_created`, not summed)."""
    value = total(samples, name + "_total")
    return value if value is not None else total(samples, name)


# --- plumbing -------------------------------------------------------------------------------------
class ConfigError(Exception):
    pass


class StepFailed(Exception):
    def __init__(self, step, message):
        super().__init__(message)
        self.step = step


def http(url, timeout, data=None, headers=None, cafile=None):
    """(status, body); HTTP error statuses are returned, network errors and timeouts raise NET_ERRORS."""
    ctx = ssl.create_default_context(cafile=cafile) if url.startswith("https") and cafile else None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
    try:
        with opener.open(urllib.request.Request(url, data, headers or {}), timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def load_config(env):
    def get(name, default=""):
        return (env.get(name) or "").strip() or default

    problems = [f"{name} is required" for name in REQUIRED if not get(name)]
    cfg = {name.lower(): get(name) for name in REQUIRED}
    cfg.update(template=get("METRICS_URL_TEMPLATE", "http://{ip}:{port}/metrics"),
               kube_api=get("KUBE_API_URL", "https://kubernetes.default.svc").rstrip("/"),
               kube_token_file=get("KUBE_TOKEN_FILE", f"{SA}/token"), kube_ca=get("KUBE_CA_FILE", f"{SA}/ca.crt"),
               namespace=get("NAMESPACE"), api_key=get("API_KEY"))
    for name, (default, cast) in NUMBERS.items():
        try:
            cfg[name.lower()] = cast(get(name, str(default)))
            if cfg[name.lower()] < 0 or (name == "TIMEOUT_SECONDS" and not cfg[name.lower()]):
                raise ValueError
        except ValueError:
            problems.append(f"{name} must be a non-negative {cast.__name__}, got {get(name)!r}")
    try:
        cfg["template"].format(ip="10.0.0.1", port=8000, name="pod")
    except (KeyError, IndexError, ValueError):
        problems.append(f"METRICS_URL_TEMPLATE may use only {{ip}}, {{port}} and {{name}}, got {cfg['template']!r}")
    for name in ("GATEWAY_URL", "EPP_METRICS_URL", "KUBE_API_URL"):
        if get(name) and not re.match(r"https?://", get(name)):
            problems.append(f"{name} must start with http:// or https://, got {get(name)!r}")
    if not cfg["namespace"]:
        try:
            cfg["namespace"] = read(get("KUBE_NAMESPACE_FILE", f"{SA}/namespace"))
        except OSError:
            problems.append("NAMESPACE is not set and KUBE_NAMESPACE_FILE is not readable")
    cfg["epp_token_file"] = get("EPP_TOKEN_FILE", cfg["kube_token_file"])
    try:
        cfg["epp_token"] = read(cfg["epp_token_file"])
    except OSError:  # no token at all: the EPP's 401 will say so, unless a token file was named
        cfg["epp_token"] = ""
        if get("EPP_TOKEN_FILE"):
            problems.append(f"EPP_TOKEN_FILE {cfg['epp_token_file']} is not readable")
    if problems:
        raise ConfigError("; ".join(problems))
    return cfg


# --- the checks -----------------------------------------------------------------------------------
class Verifier:
    def __init__(self, cfg):
        self.cfg, self.failures, self.pods = cfg, [], {}
        self.summary = {"result": "fail", "failedStep": None, "prefillRequests": 0, "decodeRequests": 0,
                        "pdDecisions": 0, "kvTransfers": 0, "kvBytes": 0, "kvGBps": None, "failedTransfers": 0,
                        "prefillPods": 0, "decodePods": 0, "gatewayAttempts": 0}

    def check(self, step, ok, message):
        print(f"{'PASS' if ok else 'FAIL'} [{step}] {message}", flush=True)
        if not ok:
            self.failures.append((step, message))

    def run(self):
        try:
            self.find_pods()
            before = self.measure("snapshot")
            self.check("snapshot", True, f"requests served: prefill {before['prefill']:g}, decode {before['decode']:g}; "
                       f"EPP prefill-decode decisions {before['pd']:g}; decode NIXL transfers {before['kv']:g}")
            self.request()
            self.compare(before)
        except StepFailed as failed:
            self.check(failed.step, False, str(failed))
        except Exception as err:  # an answer nobody expected: still report, and still print the summary
            self.check("error", False, f"{type(err).__name__}: {err}")
        self.summary.update({"result": "pass"} if not self.failures else
                            {"failedStep": self.failures[0][0], "message": self.failures[0][1]})
        print(json.dumps(self.summary), flush=True)
        return 1 if self.failures else 0

    def find_pods(self):
        cfg, ns = self.cfg, self.cfg["namespace"]
        matched = {}
        for role in ("prefill", "decode"):
            self.pods[role], matched[role] = self.list_pods(cfg[f"{role}_selector"])
            self.summary[f"{role}Pods"] = len(self.pods[role])
        if not any(matched.values()):
            raise StepFailed("pods", f"pool selects no pods: no pod in namespace {ns} matches "
                             f"{cfg['prefill_selector']!r} or {cfg['decode_selector']!r}; compare the InferencePool "
                             "selector with the pods' labels (kubectl get pods --show-labels) and the Deployments' events")
        for role, pods in self.pods.items():
            selector = cfg[f"{role}_selector"]
            if not pods:
                raise StepFailed("pods", f"no {role} pods matching {selector!r} are Ready with an IP in namespace {ns} "
                                 f"({matched[role]} match but are not Ready; kubectl -n {ns} get pods -l {selector})")
            self.check("pods", True, f"{role}: {len(pods)} Ready pod(s) " + ", ".join(f"{n} {ip}" for n, ip in pods)
                       + (f"; {matched[role] - len(pods)} more not Ready" if matched[role] > len(pods) else ""))

    def list_pods(self, selector):
        cfg, token = self.cfg, ""
        url = f"{cfg['kube_api']}/api/v1/namespaces/{cfg['namespace']}/pods?labelSelector={urllib.parse.quote(selector)}"
        if os.path.exists(cfg["kube_token_file"]):
            token = read(cfg["kube_token_file"])
        try:
            status, body = http(url, cfg["timeout_seconds"], headers={"Authorization": f"Bearer {token}"} if token else {},
                                cafile=cfg["kube_ca"] if os.path.exists(cfg["kube_ca"]) else None)
        except NET_ERRORS as err:
            raise StepFailed("pods", f"cannot reach the Kubernetes API at {cfg['kube_api']}: {err}")
        if status != 200:
            raise StepFailed("pods", f"the Kubernetes API answered {status} listing pods in {cfg['namespace']}: the "
                             f"Job's service account needs get/list on pods there. {body[:200]}")
        try:
            items = json.loads(body)["items"] or []
        except (ValueError, KeyError, TypeError):
            raise StepFailed("pods", f"{cfg['kube_api']} answered no PodList: {body[:200]}")
        ready = [(p["metadata"]["name"], p["status"]["podIP"]) for p in items if p.get("status", {}).get("podIP")
                 and not p["metadata"].get("deletionTimestamp") and any(
                     c.get("type") == "Ready" and c.get("status") == "True" for c in p["status"].get("conditions", []))]
        return ready, len(items)

    def scrape(self, step, url, headers=None):
        try:
            status, body = http(url, self.cfg["timeout_seconds"], headers=headers)
        except NET_ERRORS as err:
            raise StepFailed(step, f"cannot scrape {url}: {err} (TIMEOUT_SECONDS={self.cfg['timeout_seconds']:g}); "
                             "check the metrics port, NetworkPolicies and that the pod is Ready")
        if status in (401, 403) and url == self.cfg["epp_metrics_url"]:
            raise StepFailed(step, f"EPP metrics {url} answered {status}: the bearer token from "
                             f"{self.cfg['epp_token_file']} was refused; mount the EPP's metrics-reader token Secret "
                             "or bind the Job's service account to a ClusterRole allowing GET on nonResourceURL /metrics")
        if status != 200:
            raise StepFailed(step, f"{url} answered {status}: {body[:200]}")
        return parse_metrics(body)

    def measure(self, step):
        """Counters summed over each role's pods, and the EPP's P/D decisions."""
        cfg, out = self.cfg, dict.fromkeys(("prefill", "decode", "prefill_tokens", "decode_tokens", "kv", "kv_seconds",
                                            "kv_bytes", "kv_failed"), 0.0)
        out["kv_exposed"] = False
        for role, pods in self.pods.items():
            for name, ip in pods:
                url = cfg["template"].format(ip=ip, port=cfg[f"{role}_metrics_port"], name=name)
                samples = self.scrape(step, url)
                served = counter(samples, REQUEST_SUCCESS)
                if served is None:
                    raise StepFailed(step, f"{url} (pod {name}) has no {REQUEST_SUCCESS}_total: is vLLM on "
                                     f"{role.upper()}_METRICS_PORT={cfg[f'{role}_metrics_port']}?")
                out[role] += served
                out[f"{role}_tokens"] += counter(samples, PROMPT if role == "prefill" else GENERATION) or 0
                out["kv_failed"] += sum(counter(samples, metric) or 0 for metric in XFER_FAILURES)
                if role == "decode" and total(samples, XFER_TIME + "_count") is not None:
                    out["kv_exposed"] = True
                    out["kv"] += total(samples, XFER_TIME + "_count")
                    out["kv_seconds"] += total(samples, XFER_TIME + "_sum") or 0
                    out["kv_bytes"] += total(samples, XFER_BYTES + "_sum") or 0
        epp = self.scrape(step, cfg["epp_metrics_url"], {"Authorization": f"Bearer {cfg['epp_token']}"}
                          if cfg["epp_token"] else None)
        out["pd_exposed"] = total(epp, PD_DECISION) is not None  # a CounterVec: no series before the 1st decision
        out["pd"] = total(epp, PD_DECISION, decision_type="prefill-decode") or 0
        out["decode_only"] = total(epp, PD_DECISION, decision_type="decode-only") or 0
        return out

    def request(self):
        cfg, url = self.cfg, self.cfg["gateway_url"].rstrip("/") + "/v1/chat/completions"
        # A fresh nonce first, so that no prefix cache can turn the KV transfer into a no-op.
        words = (f"[verify-pd {uuid.uuid4().hex}] " + "Prefill computes the KV cache, decode streams the tokens. "
                 * (cfg["prompt_tokens"] // 9 + 1)).split()[:max(cfg["prompt_tokens"], 8)]
        body = json.dumps({"model": cfg["model"], "max_tokens": cfg["max_tokens"], "temperature": 0, "messages": [
            {"role": "user", "content": " ".join(words) + "\nSummarise the text above in one sentence."}]}).encode()
        deadline = time.monotonic() + cfg["ready_wait_seconds"]
        while True:
            self.summary["gatewayAttempts"] += 1
            started, status = time.monotonic(), None
            try:
                headers = {"Content-Type": "application/json"}
                if cfg["api_key"]:
                    headers["Authorization"] = f"Bearer {cfg['api_key']}"
                status, text = http(url, cfg["timeout_seconds"], body, headers)
                if status == 200:
                    break
                last = f"HTTP {status} {text[:200]}"
                if status in (401, 403):  # the Gateway's authentication: waiting will not fix the key
                    raise StepFailed("request", f"{url} refused the request ({last}): " + (
                        "the API key from API_KEY was not accepted (or, on GKE, this pod's egress address is outside "
                        "gateway.allowedSourceRanges); check the Secret holds a key the Gateway checks"
                        if cfg["api_key"] else "the Gateway requires an API key and API_KEY is not set"))
            except NET_ERRORS as err:
                last = f"{type(err).__name__}: {err} (TIMEOUT_SECONDS={cfg['timeout_seconds']:g})"
            if status in (400, 422):  # waiting will not fix the request itself
                raise StepFailed("request", f"{url} refused the request: {last}. Is MODEL={cfg['model']!r} the served "
                                 "model name?")
            if time.monotonic() >= deadline:
                raise StepFailed("request", f"{url} gave no 200 within READY_WAIT_SECONDS={cfg['ready_wait_seconds']:g} "
                                 f"({self.summary['gatewayAttempts']} attempt(s)); last: {last}. Check that the Gateway "
                                 "is Programmed, the HTTPRoute Accepted with ResolvedRefs, the EPP and the pods Ready")
            time.sleep(min(cfg["retry_seconds"], max(0.0, deadline - time.monotonic())))
        try:  # a reasoning model (gpt-oss) may spend a short completion on reasoning_content alone
            message = json.loads(text)["choices"][0]["message"]
            answer = (message.get("content") or message.get("reasoning_content") or message.get("reasoning") or "").strip()
        except (ValueError, LookupError, TypeError, AttributeError):
            answer = ""
        self.check("request", bool(answer), f"HTTP 200 in {time.monotonic() - started:.2f}s, attempt "
                   f"{self.summary['gatewayAttempts']}, {len(words)}-word prompt; " +
                   (f"answer {answer[:80]!r}" if answer else f"but no non-empty choice: {text[:200]}"))

    def compare(self, before):
        deadline = time.monotonic() + self.cfg["settle_seconds"]
        while True:  # vLLM and the EPP update their counters as the request finishes: allow them a moment
            after = self.measure("counters")
            d = {k: after[k] - before[k] for k in before if not k.endswith("_exposed")}
            if all(d[k] > 0 for k in ("prefill", "decode", "pd", "kv")) or time.monotonic() >= deadline:
                break
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        gbps = d["kv_bytes"] / d["kv_seconds"] / 1e9 if d["kv_seconds"] > 0 else None
        self.summary.update(prefillRequests=int(d["prefill"]), decodeRequests=int(d["decode"]), pdDecisions=int(d["pd"]),
                            kvTransfers=int(d["kv"]), kvBytes=int(d["kv_bytes"]), failedTransfers=int(d["kv_failed"]),
                            kvGBps=None if gbps is None else round(gbps, 3))
        decode_only = f" (the EPP recorded decode-only +{d['decode_only']:g})" if d["decode_only"] else ""
        hints = {"prefill": (PROMPT, f"{decode_only}: the EPP did not pick a prefill endpoint, so the request was served "
                             "decode-only; check the pd-profile-handler threshold (scheduler.selectivePdThreshold) "
                             "against PROMPT_TOKENS, the prefill pods' llm-d.ai/role=prefill label and the routing "
                             "sidecar's logs for x-prefiller-host-port"),
                 "decode": (GENERATION, ": the request did not reach vLLM on a pod matching DECODE_SELECTOR; check the "
                            "InferencePool selector and target port 8000, the routing sidecar forwarding to vLLM on "
                            "8200, and DECODE_METRICS_PORT")}
        for role, (tokens, hint) in hints.items():
            self.check(role, d[role] > 0, f"{role} pods' {REQUEST_SUCCESS}_total +{d[role]:g}, {tokens}_total "
                       f"+{d[role + '_tokens']:g}" + ("" if d[role] > 0 else hint))
        if not after["pd_exposed"]:
            self.check("epp-decision", False, f"the EPP exposes no {PD_DECISION}: the pd-profile-handler never "
                       "decided; check the EPP's plugin config (pd-profile-handler with prefill and decode profiles) "
                       "and that the scheduler image is v0.5.0")
        else:
            self.check("epp-decision", d["pd"] > 0, f'{PD_DECISION}{{decision_type="prefill-decode"}} +{d["pd"]:g}' + (
                "" if d["pd"] > 0 else f"{decode_only}: the pd-profile-handler chose decode-only; the uncached "
                "prompt was under its threshold, or the prefill profile found no pod"))
        self.check_kv(d, after["kv_exposed"], gbps)

    def check_kv(self, d, exposed, gbps):
        if not exposed:
            self.check("kv-transfer", False, f"decode pods expose no {XFER_TIME}: vLLM is not running the "
                       f"NixlConnector (check --kv-transfer-config). {FALLBACK}")
        elif d["kv"] <= 0:
            self.check("kv-transfer", False, f"{XFER_TIME}_count did not move on the decode pods. {FALLBACK}")
        elif d["kv_failed"] > 0:
            self.check("kv-transfer", False, f"NIXL reported {d['kv_failed']:g} failed transfer(s)/notification(s) "
                       f"beside {d['kv']:g} done. {FALLBACK} (transfer_setup_failed, notification_failed) and at "
                       "the NIXL side-channel port between the pods")
        else:
            seen = (f"{d['kv']:g} NIXL transfer(s) into decode, {d['kv_bytes'] / 1e6:.1f} MB in "
                    f"{d['kv_seconds'] * 1e3:.1f} ms" + ("" if gbps is None else f" = {gbps:.2f} GB/s") + ", 0 failed")
            slow = self.cfg["min_kv_gbps"] > 0 and (gbps is None or gbps < self.cfg["min_kv_gbps"])
            self.check("kv-transfer", not slow, seen + (f", below MIN_KV_GBPS={self.cfg['min_kv_gbps']:g}. {FALLBACK}"
                       if slow else "; UCX's transport is not a metric (UCX_PROTO_INFO=y logs the lanes)"))


def main(env=None):
    try:
        cfg = load_config(os.environ if env is None else env)
    except ConfigError as err:
        print(f"FAIL [config] {err}", flush=True)
        print(json.dumps({"result": "fail", "failedStep": "config", "message": str(err)}), flush=True)
        return 2
    return Verifier(cfg).run()


if __name__ == "__main__":
    sys.exit(main())
