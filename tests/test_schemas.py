"""Every Kubernetes object the program emits validates against the real schemas (strict)."""

import pytest

from conftest import run_stack, validator_for

VARIANTS = {
    "ib as written": {},
    "kgateway, benchmark on": {"gateway": {"provider": "kgateway"}, "benchmark": {"enabled": True}},
    "per-pod download": {"modelCache": {"mode": "download"}},
    "monitoring off, no token": {"monitoring": {"enabled": False}},
    "selective P/D, second release": {"scheduler": {"selectivePdThreshold": 512}, "releaseSuffix": "canary"},
    "tolerations and node selector": {
        "decode": {
            "nodeSelector": {"gpu.nvidia.com/model": "H200"},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "extraArgs": ["--enable-prefix-caching"],
            "env": {"UCX_TLS": "rc,sm,cuda_ipc,cuda_copy,tcp"},
        }
    },
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_object_is_schema_valid(name):
    """Against the default CRDs plus the provider's own set (kgateway v2.1.1, agentgateway v2.2.0-beta.3)."""
    run = run_stack("ib", VARIANTS[name], token=None if "no token" in name else "hf_x")
    objects = run.kube()
    assert len(objects) > 15
    validator = validator_for(("ib", VARIANTS[name]))
    errors = [e for obj in objects for e in validator.errors(obj.inputs)]
    assert errors == []


def test_validation_catches_an_unknown_field(validator, ib):
    """The check above can fail: the same objects with one stray field are rejected."""
    decode = ib.one("Deployment", "ms-pd-llm-d-modelservice-decode").inputs
    broken = {**decode, "spec": {**decode["spec"], "replica": 1}}
    assert any("replica" in e for e in validator.errors(broken))
