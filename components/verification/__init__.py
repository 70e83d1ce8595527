"""Post-deploy verification: a stdlib-only script that proves a real request was P/D-disaggregated.

`verify_pd.py` runs in a Kubernetes Job (stock python image, script from a ConfigMap); `job_env`
derives its environment from the same `Release` as the pool, the pods and the EPP, so the
selectors, ports and URLs it checks cannot disagree with what was deployed.
"""

import re
from pathlib import Path
from typing import Optional

from components.names import EPP_METRICS_PORT, ROLES, Release
from components.releases import Metrics

SCRIPT = Path(__file__).with_name("verify_pd.py")
# The script's metric-name constants that differ between releases: Metrics field -> script constant.
RELEASE_METRICS = {"pd_decision": "PD_DECISION"}


def script_text(metrics: Optional[Metrics] = None) -> str:
    """The script as shipped in the Job's ConfigMap, with the release's metric names in its constants.

    verify_pd.py stays a runnable script whose constants are the v0.5.0 names; a release that renamed
    a metric gets the same script with that one assignment rewritten.
    """
    text = SCRIPT.read_text(encoding="utf-8")
    for field, constant in RELEASE_METRICS.items():
        if metrics is None:
            continue
        pattern = re.compile(rf'^{constant} = "[^"]*"$', re.MULTILINE)
        text, count = pattern.subn(f'{constant} = "{getattr(metrics, field)}"', text)
        if count != 1:
            raise ValueError(f"{SCRIPT.name}: expected one `{constant} = \"...\"` line, found {count}")
    return text


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
