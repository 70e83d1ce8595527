"""Stack outputs: where the endpoint is, how to call it, and how to see both roles served."""

import json
import shlex
from typing import Optional

import pulumi

from components.config.model import StackConfig
from components.names import ROLES, Release
from components.security.keys import KeyRef


def chat_curl(endpoint: str, model: str, authenticated: bool = False) -> str:
    """The curl a client runs; with a key, it reads $LLMD_API_KEY (see the `apiKey` output), never the key itself."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Explain P/D disaggregation in one sentence."}]})
    url = f"http://{endpoint or '<gateway-address>'}/v1/chat/completions"
    auth = ' -H "Authorization: Bearer $LLMD_API_KEY"' if authenticated else ""
    return f"curl -sS {shlex.quote(url)} -H 'Content-Type: application/json'{auth} -d {shlex.quote(body)}"


def api_key_output(release: Release, key: Optional[KeyRef], exposure: str) -> dict:
    """How a client gets the key, as a command; the key itself is never an output."""
    if key is None:
        return {"required": False, "exposure": exposure}
    return {"required": True, "exposure": exposure, "secret": key.secret, "key": key.key, "load": key.read_command(release.namespace)}


def served_requests_command(release: Release, role: str) -> str:
    """Sums vLLM's successful-request counter over the role's pods (run before and after a request)."""
    selector = ",".join(f"{k}={v}" for k, v in release.role_selector(role).items())
    port = release.vllm_port(role)
    scrape = (
        "python3 -c \"import urllib.request,re;t=urllib.request.urlopen('http://localhost:"
        f"{port}/metrics').read().decode();print(sum(float(v) for v in "
        "re.findall(r'^vllm:request_success_total{[^}]*} ([0-9.e+]+)',t,re.M)))\""
    )
    return (
        f"for p in $(kubectl -n {release.namespace} get pods -l {selector} -o name); do "
        f"echo \"$p $(kubectl -n {release.namespace} exec $p -c vllm -- {scrape})\"; done"
    )


def port_forward_command(release: Release) -> str:
    return (
        f"kubectl -n {release.namespace} port-forward "
        f"$(kubectl -n {release.namespace} get svc -l gateway.networking.k8s.io/gateway-name={release.gateway} "
        f"-o name | head -1) 8080:80"
    )


def export(config: StackConfig, release: Release, address: pulumi.Output[str], key: Optional[KeyRef] = None) -> None:
    authenticated = key is not None
    pulumi.export("namespace", release.namespace)
    pulumi.export("gatewayName", release.gateway)
    pulumi.export("endpoint", address)
    pulumi.export("chatCompletionsCurl", address.apply(lambda a: chat_curl(a, config.model.served, authenticated)))
    pulumi.export("portForward", port_forward_command(release))
    pulumi.export("localCurl", chat_curl("localhost:8080", config.model.served, authenticated))
    pulumi.export("apiKey", api_key_output(release, key, config.gateway.exposure))
    pulumi.export("servedRequests", {role: served_requests_command(release, role) for role in ROLES})
    pulumi.export(
        "topology",
        {
            "model": config.model.served,
            "prefill": f"{config.prefill.replicas} x TP{config.prefill.tensor_parallel}",
            "decode": f"{config.decode.replicas} x TP{config.decode.tensor_parallel}",
            "gpus": config.prefill.replicas * config.prefill.gpus + config.decode.replicas * config.decode.gpus,
            "gatewayProvider": config.gateway.provider,
        },
    )
