"""Post-deploy verification: a stdlib-only script that proves a real request was P/D-disaggregated.

`verify_pd.py` runs in a Kubernetes Job (stock python image, script from a ConfigMap); `job_env`
derives its environment from the same `Release` as the pool, the pods and the EPP, so the
selectors, ports and URLs it checks cannot disagree with what was deployed.
"""

from pathlib import Path

from components.names import EPP_METRICS_PORT, ROLES, Release

SCRIPT = Path(__file__).with_name("verify_pd.py")


def script_text() -> str:
    return SCRIPT.read_text(encoding="utf-8")


def job_env(release: Release, gateway_url: str, **overrides: str) -> dict[str, str]:
    """The script's environment for `release`; `overrides` are further variables (e.g. PROMPT_TOKENS)."""
    env = {
        "GATEWAY_URL": gateway_url,
        "MODEL": release.served_model,
        "NAMESPACE": release.namespace,
        "EPP_METRICS_URL": f"http://{release.epp_host}:{EPP_METRICS_PORT}/metrics",
    }
    for role in ROLES:
        env[f"{role.upper()}_SELECTOR"] = ",".join(f"{k}={v}" for k, v in release.role_selector(role).items())
        env[f"{role.upper()}_METRICS_PORT"] = str(release.vllm_port(role))
    return {**env, **{k: str(v) for k, v in overrides.items()}}
