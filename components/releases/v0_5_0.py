"""llm-d v0.5.0 (2026-02): the seed guide's validated P/D configuration; the default profile.

Sources: llm-d/llm-d@v0.5.0 guides/pd-disaggregation (helmfile, values), the llm-d-inference-scheduler
and llm-d-routing-sidecar v0.5.0 images; field by field in ../shared/reference/llmd-pd-spec.md.
"""

from components.releases import (
    EppProfile,
    Metrics,
    PoolProfile,
    Profile,
    SchedulerProfile,
    SidecarProfile,
    VllmProfile,
    frozen,
)

NAME = "v0.5.0"

PROFILE = Profile(
    name=NAME,
    versions=frozen(
        {
            # llm-d/llm-d@v0.5.0:guides/pd-disaggregation/ms-pd/values.yaml (vLLM 0.14.1, CUDA 12)
            "vllm_image": f"ghcr.io/llm-d/llm-d-cuda:{NAME}",
            # llm-d/llm-d@v0.5.0:guides/pd-disaggregation/gaie-pd/values.yaml
            "scheduler_image": f"ghcr.io/llm-d/llm-d-inference-scheduler:{NAME}",
            "routing_sidecar_image": f"ghcr.io/llm-d/llm-d-routing-sidecar:{NAME}",
            # llm-d/llm-d@v0.5.0:guides/prereq/gateway-provider (CRD bundles, Istio, kgateway)
            "gateway_api_crds": "v1.4.0",
            "inference_extension_crds": "v1.3.0",
            "istio_chart": "1.28.1",
            "kgateway_chart": "v2.1.1",
            # llm-d/llm-d@v0.5.0:guides/prereq/gateway-provider/helmfile (agentgateway environment)
            "agentgateway_chart": "v2.2.0-beta.3",
        }
    ),
    # gateway-api-inference-extension@v1.3.0 release asset: every GAIE CRD
    inference_extension_crd_file="manifests.yaml",
    crd_sets=(),  # the default schema set is v0.5.0's (../shared/crds/README.md)
    crd_groups_removed=(),
    scheduler=SchedulerProfile(
        # llm-d-inference-scheduler@v0.5.0: pd-profile-handler {threshold, hashBlockSize}
        api_version="inference.networking.x-k8s.io/v1alpha1",
        profile_handler="pd-profile-handler",
    ),
    epp=EppProfile(
        extra_flags=("--kv-cache-usage-percentage-metric", "vllm:kv_cache_usage_perc"),
        rejected_flags=(),
        cpu_request="1",
        memory_request="1Gi",
        memory_limit="4Gi",
        objective_groups=("inference.networking.x-k8s.io",),
    ),
    pool=PoolProfile(failure_mode="FailClose", app_protocol=None),
    sidecar=SidecarProfile(
        # llm-d-routing-sidecar@v0.5.0 (Go `flag`): --connector, --vllm-port
        args=(
            "--port={port}",
            "--vllm-port={model_server_port}",
            "--connector=nixlv2",
            "--zap-encoder=json",
            "--zap-log-level={log_level}",
            "--secure-proxy=false",
        ),
        model_server_port_flags=("--vllm-port",),
    ),
    vllm=VllmProfile(flags=("--disable-uvicorn-access-log",)),
    # llm-d-inference-scheduler@v0.5.0:pkg/metrics (pd-profile-handler's counter)
    metrics=Metrics(pd_decision="llm_d_inference_scheduler_pd_decision_total"),
    # llm-d/llm-d@v0.5.0:guides/pd-disaggregation/ms-pd/values.yaml: 4 prefill x TP1, 1 decode x TP4
    role_defaults=frozen(
        {
            "prefill": {"replicas": 4, "tensorParallel": 1, "cpu": "8", "memory": "64Gi"},
            "decode": {"replicas": 1, "tensorParallel": 4, "cpu": "16", "memory": "64Gi"},
        }
    ),
)
