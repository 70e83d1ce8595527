"""llm-d v0.9.0 (2026-08-18): llm-d Router v0.10.0, GAIE v1.5.0, vLLM v0.26.0.

Sources, by tag: [G] llm-d/llm-d@e3dbeca1 (the v0.9.0 release-pin commit, "Update env for release
v0.9.0 (#2315)"); [R] llm-d/llm-d-router@v0.10.0; [I] kubernetes-sigs/gateway-api-inference-extension@v1.5.0;
[V] vllm==0.26.0. Field by field in ../shared/reference/llmd-current-pd-spec.md.
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

NAME = "v0.9.0"
ROUTER = "v0.10.0"  # [G] guides/env.sh: the router chart and images of llm-d v0.9.0

# [R] cmd/epp/runner/runner.go:570-690 registers every type below as Beta (no
# --allow-experimental-plugins needed); each factory decodes its parameters strictly
# ([R] pkg/epp/framework/interface/plugin/registry.go:36-48, StrictDecoder), so only known keys appear.
SCHEDULER = SchedulerProfile(
    # [R] pkg/epp/config/loader/configloader.go:53-71: llm-d.ai/v1alpha1 (llm-d.ai/v1 is not registered)
    api_version="llm-d.ai/v1alpha1",
    # [R] pkg/epp/framework/plugins/scheduling/profilehandler/disagg/disagg_profile_handler.go:73-255:
    # nested {profiles, deciders} parameters, strictly decoded; it sets x-prefiller-host-port itself
    # (PreRequest, line 526), so the deprecated disagg-headers-handler is not configured.
    profile_handler="disagg-profile-handler",
    # [R] .../disagg/always_disagg_pd_decider.go: every request goes prefill -> decode (threshold 0).
    always_decider="always-disagg-pd-decider",
    # [R] .../disagg/prefix_based_pd_decider.go:22-30: {nonCachedTokens, promptTokens}; P/D runs when
    # the prompt's tokens not cached on the chosen decode pod reach nonCachedTokens (0 disables it).
    selective_decider="prefix-based-pd-decider",
    # [R] pkg/epp/framework/plugins/requestcontrol/dataproducer/tokenizer/estimate.go:37 (bytesPerToken):
    # the token-producer the picker adds when none is configured packs 4 bytes per token.
    bytes_per_token=4,
    # [G] guides/pd-disaggregation/router/pd-disaggregation.values.yaml:14-59
    plugins=frozen(
        [
            {"type": "prefill-filter"},
            {"type": "decode-filter"},
            # [R] .../dataproducer/approximateprefix/types.go:136-155
            {"type": "approx-prefix-cache-producer", "parameters": {"maxPrefixTokensToMatch": 131072}},
            {"type": "inflight-load-producer"},
            # [R] .../scheduling/filter/prefixcacheaffinity/plugin.go:60-92; the guide's value, calibrated
            # with guides/recipes/router/calibration/calibrate.sh (gpt-oss-120b on H200)
            {"type": "prefix-cache-affinity-filter", "parameters": {"peakPrefillThroughput": 33821}},
            {"type": "token-load-scorer"},
            {"type": "active-request-scorer"},
            {"type": "max-score-picker"},
        ]
    ),
    # `weight` is a float at v0.10.0 ([R] apix/config endpointpickerconfig_types.go:178).
    prefill_profile=frozen(
        [
            {"pluginRef": "prefill-filter"},
            {"pluginRef": "prefix-cache-affinity-filter"},
            {"pluginRef": "token-load-scorer", "weight": 1.0},
            {"pluginRef": "max-score-picker"},
        ]
    ),
    decode_profile=frozen(
        [
            {"pluginRef": "decode-filter"},
            {"pluginRef": "active-request-scorer", "weight": 1.0},
            {"pluginRef": "max-score-picker"},
        ]
    ),
    # Selective P/D: the decode pick favours pods holding the prompt's prefix, whose match the decider
    # then reads ([R] .../disagg/README.md "PrefixBasedPDDecider": PrefixCacheMatchInfo from
    # approx-prefix-cache-producer). [R] .../scheduling/scorer/prefix/plugin.go:68-95: defaults for
    # every parameter, and it reads the producer's default match data.
    selective_plugins=frozen([{"type": "prefix-cache-scorer"}]),
    selective_decode_refs=frozen([{"pluginRef": "prefix-cache-scorer", "weight": 1.0}]),
    # The prefix match is counted in tokens by approx-prefix-cache-producer; there is no hash block size
    # to align any more ([R] .../disagg/pd_profile_handler.go:34-44 dropped hashBlockSize).
    unused_keys=("hash_block_size",),
)

PROFILE = Profile(
    name=NAME,
    versions=frozen(
        {
            # Model server: ghcr.io/llm-d/llm-d-cuda:v0.9.0 (vLLM v0.26.0 per the llm-d v0.9.0 release
            # table), rather than the guide's docker.io/vllm/vllm-openai:v0.26.0 ([G]
            # recipes/modelserver/components/images/gpu-vllm/release): the same image family as v0.5.0, so
            # the shared model cache's owner (uid/gid 2000) and the fill Job's user stay right, and
            # llm-d builds it with the NIXL/UCX stack its RDMA guides test. Both are CUDA 13: driver >= 580.
            "vllm_image": f"ghcr.io/llm-d/llm-d-cuda:{NAME}",
            # [R] Dockerfile.epp / Dockerfile.sidecar; hack/push-chart.sh:42-47 stamps the release tag
            # (the guide's overlays pull the sidecar at :main; we pin it).
            "scheduler_image": f"ghcr.io/llm-d/llm-d-router-endpoint-picker:{ROUTER}",
            "routing_sidecar_image": f"ghcr.io/llm-d/llm-d-router-disagg-sidecar:{ROUTER}",
            # [G] guides/env.sh:9,16; docs/infrastructure/gateway/install-crds.md:23-26
            "gateway_api_crds": "v1.5.1",
            "inference_extension_crds": "v1.5.0",
            # [G] docs/infrastructure/gateway/istio.md (Istio 1.29.2); agentgateway.md (v1.1.0).
            # kgateway is deprecated at v0.9.0 ([G] guides/recipes/gateway/README.md:8-9): its v0.5.0 pin stays.
            "istio_chart": "1.29.2",
            "kgateway_chart": "v2.1.1",
            "agentgateway_chart": "v1.1.0",
        }
    ),
    # [G] guides/pd-disaggregation/README.md:160-245 applies v1-manifests.yaml: only the
    # inference.networking.k8s.io InferencePool ([I] Makefile `artifacts`).
    inference_extension_crd_file="v1-manifests.yaml",
    # ../shared/crds/README.md "Which set belongs to which llm-d release".
    # Of gaie-v1.5.0 only the v1 group: v0.9.0 installs no inference.networking.x-k8s.io CRD.
    crd_sets=("gateway-api-v1.5.1", "gaie-v1.5.0/inference.networking.k8s.io", "istio-1.29.2"),
    crd_groups_removed=("inference.networking.x-k8s.io",),
    scheduler=SCHEDULER,
    epp=EppProfile(
        extra_flags=(),
        # [R] pkg/epp/server/options.go:46-54,395-400: set explicitly, these fail Validate() and the
        # picker exits (engineConfigs of core-metrics-extractor replace them; vLLM's names are the default).
        rejected_flags=(
            "--total-queued-requests-metric",
            "--total-running-requests-metric",
            "--kv-cache-usage-percentage-metric",
            "--lora-info-metric",
            "--cache-info-metric",
            # removed since v0.5.0: unknown to pflag, so the picker exits
            "--model-server-metrics-scheme",
            "--model-server-metrics-path",
            "--model-server-metrics-port",
            "--model-server-metrics-https-insecure-skip-verify",
        ),
        # [G] guides/recipes/router/base.values.yaml:10-15
        cpu_request="4",
        memory_request="8Gi",
        memory_limit="16Gi",
        # [R] cmd/epp/runner/runner.go:360-366; pkg/epp/server/controller_config.go:33-92: informers for
        # both groups when their CRDs exist.
        objective_groups=("inference.networking.x-k8s.io", "llm-d.ai"),
    ),
    # [I] api/v1/inferencepool_types.go:59-189 (appProtocol new in v1.5); FailOpen from [G]
    # guides/recipes/router/base.values.yaml.
    pool=PoolProfile(failure_mode="FailOpen", app_protocol="http"),
    sidecar=SidecarProfile(
        # [R] pkg/sidecar/proxy/options.go:57-82,192-345 (pflag): --kv-connector replaces the removed
        # --connector; --model-server-port replaces the deprecated --vllm-port (options.go:366-371).
        args=(
            "--port={port}",
            "--model-server-port={model_server_port}",
            "--kv-connector=nixlv2",
            "--zap-encoder=json",
            "--zap-log-level={log_level}",
            "--secure-proxy=false",
        ),
        model_server_port_flags=("--model-server-port", "--vllm-port"),
    ),
    vllm=VllmProfile(
        # [G] recipes/modelserver/base/single-host/pd/*; each flag exists in vllm==0.26.0's parser [V].
        flags=(
            "--disable-access-log-for-endpoints=/health,/metrics,/v1/models",
            "--no-disable-hybrid-kv-cache-manager",
        ),
        # The sidecar keeps idle connections to prefill for 90 s ([R] pkg/sidecar/proxy/proxy.go:546-550);
        # vLLM's default keep-alive is 5 s [V envs.py], so reused connections were reset. [G] patch-prefill.yaml:35-39
        env=frozen({"prefill": {"VLLM_HTTP_TIMEOUT_KEEP_ALIVE": "120"}, "decode": {}}),
    ),
    # [R] pkg/epp/framework/plugins/scheduling/profilehandler/disagg/metrics.go:79-90: the
    # disagg-profile-handler records only llm_d_epp_disagg_decision_total{..., decision_type}.
    metrics=Metrics(pd_decision="llm_d_epp_disagg_decision_total"),
    # [G] guides/pd-disaggregation/modelserver/gpu/vllm/base/patch-{prefill,decode}.yaml: 8 x TP1, 2 x TP4.
    # CPU and memory stay this program's (memory holds the memory-backed /dev/shm).
    role_defaults=frozen(
        {
            "prefill": {"replicas": 8, "tensorParallel": 1, "cpu": "8", "memory": "64Gi"},
            "decode": {"replicas": 2, "tensorParallel": 4, "cpu": "16", "memory": "64Gi"},
        }
    ),
    # vLLM >= 0.20 images are CUDA 13.0 (vLLM v0.20.0 release notes), which needs driver 580+.
    min_nvidia_driver="580",
    # GKE: LATEST is the newest driver GKE offers for the node version; DEFAULT may be an older branch.
    gke_gpu_driver_versions=("LATEST",),
)
