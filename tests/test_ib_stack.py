"""The ib stack as Pulumi.ib.yaml describes it: every object upstream deploys, with the guide's fields."""

import json

import yaml

from conftest import run_stack

NS = "llm-d-pd"
GUIDE_MODEL = "openai/gpt-oss-120b"


def container(deployment, name):
    spec = deployment.inputs["spec"]["template"]["spec"]
    return next(c for c in spec.get("containers", []) + spec.get("initContainers", []) if c["name"] == name)


def arg_after(args, flag):
    return args[args.index(flag) + 1]


def test_components_are_the_documented_tree(ib):
    components = {r.type for r in ib.registrations if r.type.startswith("llmd:")}
    assert components == {
        "llmd:platform:ExistingCluster",
        "llmd:core:ReleaseNamespace",
        "llmd:gateway:GatewayProvider",
        "llmd:security:Security",
        "llmd:serving:InferencePool",
        "llmd:serving:ModelCache",
        "llmd:serving:ModelServer",
        "llmd:serving:Route",
        "llmd:serving:Verification",
    }
    servers = [r for r in ib.registrations if r.type == "llmd:serving:ModelServer"]
    assert sorted(r.name for r in servers) == ["decode", "prefill"]


def test_every_kubernetes_object_uses_the_explicit_provider_and_a_component_parent(ib):
    provider = ib.of_type("pulumi:providers:kubernetes")
    assert len(provider) == 1
    for obj in ib.registrations:
        if obj.type.startswith("kubernetes:"):
            assert obj.provider.startswith(provider[0].urn), obj.urn
            assert ib.by_urn(obj.parent).custom is False, f"{obj.urn} is not parented to a component"


def test_crds_and_istio_control_plane_are_pinned(ib):
    """Gateway API v1.4.0 (standard channel) and Inference Extension v1.3.0, from vendored files."""
    versions = {(r.inputs["spec"]["group"], (r.inputs["metadata"].get("annotations") or {}).get(
        "gateway.networking.k8s.io/bundle-version") or r.inputs["metadata"]["annotations"].get(
        "inference.networking.k8s.io/bundle-version")) for r in ib.kube("CustomResourceDefinition")}
    assert versions == {("gateway.networking.k8s.io", "v1.4.0"), ("inference.networking.k8s.io", "v1.3.0"),
                        ("inference.networking.x-k8s.io", "v1.3.0")}
    assert len(ib.kube("CustomResourceDefinition")) == 6 + 5
    charts = {r.name: r.inputs for r in ib.of_type("kubernetes:helm.sh/v4:Chart")}
    assert {c["chart"] for c in charts.values()} == {"base", "istiod"}
    assert {c["version"] for c in charts.values()} == {"1.28.1"}
    istiod = charts["gateway-istiod"]["values"]
    assert istiod["pilot"]["env"]["ENABLE_GATEWAY_API_INFERENCE_EXTENSION"] == "true"
    assert istiod["meshConfig"]["defaultConfig"]["proxyMetadata"]["ENABLE_GATEWAY_API_INFERENCE_EXTENSION"] == "true"


def test_gateway_and_its_istio_parameters(ib):
    gateway = ib.one("Gateway", "infra-pd-inference-gateway")
    spec = gateway.inputs["spec"]
    assert spec["gatewayClassName"] == "istio"
    assert spec["listeners"] == [
        {"name": "default", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "Same"}}}
    ]
    assert spec["infrastructure"]["parametersRef"] == {"group": "", "kind": "ConfigMap", "name": gateway.object_name}
    assert gateway.inputs["metadata"]["labels"]["istio.io/enable-inference-extproc"] == "true"
    params = ib.one("ConfigMap", "infra-pd-inference-gateway")
    proxy = yaml.safe_load(params.inputs["data"]["deployment"])["spec"]["template"]["spec"]["containers"][0]
    assert proxy["name"] == "istio-proxy"
    assert arg_after(proxy["args"], "--proxyLogLevel") == "error"
    assert proxy["resources"] == {"limits": {"cpu": "16", "memory": "16Gi"}, "requests": {"cpu": "4", "memory": "4Gi"}}


def test_inference_pool_and_picker(ib):
    pool = ib.one("InferencePool", "gaie-pd")
    assert pool.inputs["apiVersion"] == "inference.networking.k8s.io/v1"
    assert pool.inputs["spec"]["targetPorts"] == [{"number": 8000}]
    assert pool.inputs["spec"]["endpointPickerRef"]["port"] == {"number": 9002}
    epp = ib.one("Deployment", "gaie-pd-epp")
    picker = container(epp, "epp")
    assert picker["image"] == "ghcr.io/llm-d/llm-d-inference-scheduler:v0.5.0"
    assert arg_after(picker["args"], "--config-file") == "/config/pd-config.yaml"
    assert arg_after(picker["args"], "--kv-cache-usage-percentage-metric") == "vllm:kv_cache_usage_perc"
    assert epp.inputs["spec"]["strategy"] == {"type": "Recreate"}
    service = ib.one("Service", "gaie-pd-epp")
    assert {p["name"]: p["port"] for p in service.inputs["spec"]["ports"]} == {"grpc-ext-proc": 9002, "http-metrics": 9090}


def test_pd_plugin_config(ib):
    config = yaml.safe_load(ib.one("ConfigMap", "gaie-pd-epp").inputs["data"]["pd-config.yaml"])
    types = [p["type"] for p in config["plugins"]]
    assert {"prefill-header-handler", "prefill-filter", "decode-filter", "queue-scorer", "pd-profile-handler"} <= set(types)
    handler = next(p for p in config["plugins"] if p["type"] == "pd-profile-handler")
    assert handler["parameters"]["threshold"] == 0
    profiles = {p["name"]: [ref["pluginRef"] for ref in p["plugins"]] for p in config["schedulingProfiles"]}
    assert profiles["prefill"][0] == "prefill-filter" and profiles["decode"][0] == "decode-filter"
    # Every referenced plugin is declared.
    assert {ref for refs in profiles.values() for ref in refs} <= set(types)


def test_selective_pd_threshold_adds_the_prefix_state_it_needs():
    run = run_stack("ib", {"scheduler": {"selectivePdThreshold": 256}})
    config = yaml.safe_load(run.one("ConfigMap", "gaie-pd-epp").inputs["data"]["pd-config.yaml"])
    handler = next(p for p in config["plugins"] if p["type"] == "pd-profile-handler")
    assert handler["parameters"]["threshold"] == 256
    decode = next(p for p in config["schedulingProfiles"] if p["name"] == "decode")
    assert "prefix-cache-scorer" in [ref["pluginRef"] for ref in decode["plugins"]]


def test_istio_destination_rule_for_the_picker(ib):
    rule = ib.one("DestinationRule", "gaie-pd-epp")
    assert rule.inputs["spec"]["host"] == f"gaie-pd-epp.{NS}.svc.cluster.local"
    policy = rule.inputs["spec"]["trafficPolicy"]
    assert policy["tls"] == {"mode": "SIMPLE", "insecureSkipVerify": True}
    assert policy["connectionPool"]["tcp"]["maxConnections"] == 256000


def test_picker_rbac_is_read_only_plus_metrics_auth(ib):
    role = ib.one("Role", "gaie-pd-epp")
    assert all(rule["verbs"] == ["get", "list", "watch"] for rule in role.inputs["rules"])
    cluster_role = ib.one("ClusterRole", f"gaie-pd-{NS}-epp")
    verbs = {v for rule in cluster_role.inputs["rules"] for v in rule["verbs"]}
    assert verbs == {"create"}


def test_monitoring_objects(ib):
    monitor = ib.one("ServiceMonitor", "gaie-pd-epp-monitor")
    token = ib.one("Secret", "gaie-pd-epp-metrics-scraper")
    assert token.inputs["type"] == "kubernetes.io/service-account-token"
    assert monitor.inputs["spec"]["endpoints"][0]["authorization"]["credentials"]["name"] == token.object_name
    assert {m.object_name for m in ib.kube("PodMonitor")} == {
        "ms-pd-llm-d-modelservice-prefill-podmonitor",
        "ms-pd-llm-d-modelservice-decode-podmonitor",
    }


def test_scrapers_present_a_token_that_can_only_get_metrics(ib):
    """The picker authorizes a scrape with a SubjectAccessReview for get on /metrics
    (sigs.k8s.io/controller-runtime@v0.22.5:pkg/metrics/filters/filters.go); the token scrapers present
    belongs to an account granted exactly that, not to the picker's (which lists pods, creates reviews)."""
    token = ib.one("Secret", "gaie-pd-epp-metrics-scraper")
    owner = token.inputs["metadata"]["annotations"]["kubernetes.io/service-account.name"]
    picker = ib.one("Deployment", "gaie-pd-epp").inputs["spec"]["template"]["spec"]["serviceAccountName"]
    assert owner != picker
    bindings = [b for b in ib.kube("RoleBinding") + ib.kube("ClusterRoleBinding") if {"kind": "ServiceAccount", "name": owner, "namespace": NS} in b.inputs["subjects"]]
    rules = [rule for b in bindings for rule in ib.one(b.inputs["roleRef"]["kind"], b.inputs["roleRef"]["name"]).inputs["rules"]]
    assert rules == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    assert ib.one("ServiceAccount", owner).inputs["automountServiceAccountToken"] is False


def test_monitoring_off_creates_no_monitors():
    run = run_stack("ib", {"monitoring": {"enabled": False}})
    kinds = {r.kind for r in run.kube()}
    assert not kinds & {"ServiceMonitor", "PodMonitor"}
    assert not [s for s in run.kube("Secret") if s.inputs.get("type") == "kubernetes.io/service-account-token"]
    # The picker still authenticates scrapes (e.g. the verification Job's), so its auth rights stay.
    assert run.one("ClusterRole", "gaie-pd-llm-d-pd-epp")


def test_prefill_is_the_guides_four_tp1_pods(ib):
    prefill = ib.one("Deployment", "ms-pd-llm-d-modelservice-prefill")
    assert prefill.inputs["spec"]["replicas"] == 4
    vllm = container(prefill, "vllm")
    assert vllm["image"] == "ghcr.io/llm-d/llm-d-cuda:v0.5.0"
    assert vllm["command"] == ["vllm", "serve"]
    args = vllm["args"]
    assert args[0] == f"/model-cache/models/{GUIDE_MODEL}"  # the shared cache, filled once
    assert arg_after(args, "--served-model-name") == GUIDE_MODEL
    assert arg_after(args, "--tensor-parallel-size") == "1"
    assert arg_after(args, "--block-size") == "128"
    assert arg_after(args, "--max-model-len") == "32000"
    assert json.loads(arg_after(args, "--kv-transfer-config")) == {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
    assert vllm["resources"]["limits"] == {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "1", "rdma/ib": "1"}
    assert vllm["resources"]["requests"] == vllm["resources"]["limits"]
    assert vllm["securityContext"] == {"capabilities": {"add": ["IPC_LOCK"]}}
    env = {e["name"]: e for e in vllm["env"]}
    assert env["VLLM_NIXL_SIDE_CHANNEL_HOST"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert {p["name"]: p["containerPort"] for p in vllm["ports"]} == {"vllm": 8000, "nixl": 5600}
    assert "initContainers" not in prefill.inputs["spec"]["template"]["spec"]


def test_decode_is_one_tp4_pod_with_the_routing_sidecar(ib):
    decode = ib.one("Deployment", "ms-pd-llm-d-modelservice-decode")
    assert decode.inputs["spec"]["replicas"] == 1
    vllm = container(decode, "vllm")
    assert arg_after(vllm["args"], "--tensor-parallel-size") == "4"
    assert arg_after(vllm["args"], "--port") == "8200"
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "4"
    sidecar = container(decode, "routing-proxy")
    assert sidecar["image"] == "ghcr.io/llm-d/llm-d-routing-sidecar:v0.5.0"
    assert sidecar["restartPolicy"] == "Always"  # a native sidecar
    assert "--connector=nixlv2" in sidecar["args"]


def test_gpu_rollouts_never_surge(ib):
    for role in ("prefill", "decode"):
        strategy = ib.one("Deployment", f"ms-pd-llm-d-modelservice-{role}").inputs["spec"]["strategy"]
        assert strategy["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}


def test_probes_and_volumes(ib):
    decode = ib.one("Deployment", "ms-pd-llm-d-modelservice-decode")
    vllm = container(decode, "vllm")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert vllm[probe]["httpGet"]["port"] == "vllm"
    volumes = {v["name"]: v for v in decode.inputs["spec"]["template"]["spec"]["volumes"]}
    assert volumes["shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "16Gi"}
    mounts = {m["mountPath"]: m["name"] for m in vllm["volumeMounts"]}
    assert mounts["/dev/shm"] == "shm" and mounts["/model-cache"] == "model-cache"


def test_route_from_gateway_to_pool_without_timeouts(ib):
    route = ib.one("HTTPRoute", "llm-d-pd-disaggregation")
    rule = route.inputs["spec"]["rules"][0]
    assert rule["timeouts"] == {"request": "0s", "backendRequest": "0s"}
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]


def test_outputs(ib):
    out = ib.outputs
    assert out["namespace"] == NS
    assert out["gatewayName"] == "infra-pd-inference-gateway"
    assert "/v1/chat/completions" in out["chatCompletionsCurl"] and GUIDE_MODEL in out["chatCompletionsCurl"]
    assert set(out["servedRequests"]) == {"prefill", "decode"}
    assert "llm-d.ai/role=prefill" in out["servedRequests"]["prefill"]
    assert out["topology"]["gpus"] == 8


def test_older_guide_model_is_one_documented_change():
    """The first guide's Llama-3.3-70B FP8 on the same 4 x TP1 + 1 x TP4 topology: only `model.name` changes."""
    older = "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"
    run = run_stack("ib", {"model": {"name": older}})
    for role, tp in (("prefill", "1"), ("decode", "4")):
        vllm = container(run.one("Deployment", f"ms-pd-llm-d-modelservice-{role}"), "vllm")
        assert vllm["args"][0].endswith(older)
        assert arg_after(vllm["args"], "--served-model-name") == older
        assert arg_after(vllm["args"], "--tensor-parallel-size") == tp
    labels = run.one("Deployment", "ms-pd-llm-d-modelservice-prefill").inputs["spec"]["template"]["metadata"]["labels"]
    assert labels["llm-d.ai/model"] == "Llama-3.3-70B-Instruct-FP8-dynamic"
    assert older in run.outputs["chatCompletionsCurl"]


def test_kgateway_provider():
    run = run_stack("ib", {"gateway": {"provider": "kgateway"}})
    charts = {r.inputs["chart"]: r.inputs for r in run.of_type("kubernetes:helm.sh/v4:Chart")}
    assert set(charts) == {
        "oci://cr.kgateway.dev/kgateway-dev/charts/kgateway-crds",
        "oci://cr.kgateway.dev/kgateway-dev/charts/kgateway",
    }
    assert {c["version"] for c in charts.values()} == {"v2.1.1"}
    assert charts["oci://cr.kgateway.dev/kgateway-dev/charts/kgateway"]["values"] == {"inferenceExtension": {"enabled": True}}
    gateway = run.one("Gateway")
    assert gateway.inputs["spec"]["gatewayClassName"] == "kgateway"
    assert gateway.inputs["spec"]["infrastructure"]["parametersRef"]["kind"] == "GatewayParameters"
    assert run.one("GatewayParameters").object_name == gateway.object_name
    assert not run.kube("DestinationRule")


def test_shared_cluster_can_skip_crds_and_control_plane():
    run = run_stack("ib", {"gateway": {"provider": "istio", "crds": "skip", "installControlPlane": False}, "createNamespace": False})
    assert not run.kube("CustomResourceDefinition")
    assert not run.of_type("kubernetes:helm.sh/v4:Chart")
    assert not run.kube("Namespace")
    assert run.one("Gateway")


def test_credentials_come_from_existing_secrets_by_reference():
    run = run_stack("ib", {"prefill": {"secretEnv": {"WANDB_API_KEY": {"secret": "team-wandb", "key": "api-key"}}}})
    template = run.one("Deployment", "ms-pd-llm-d-modelservice-prefill").inputs["spec"]["template"]
    env = {e["name"]: e for e in container(run.one("Deployment", "ms-pd-llm-d-modelservice-prefill"), "vllm")["env"]}
    assert env["WANDB_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "team-wandb", "key": "api-key"}}
    assert template["metadata"]["annotations"]["llm-d.ai/external-secrets"] == "team-wandb"


def test_destination_rule_waits_for_the_istio_charts_that_bring_its_kind(ib):
    charts = {r.urn for r in ib.of_type("kubernetes:helm.sh/v4:Chart")}
    assert charts and charts <= set(ib.one("DestinationRule").dependencies)


def test_selective_pd_prefix_scorer_hashes_blocks_like_the_handler():
    run = run_stack("ib", {"scheduler": {"selectivePdThreshold": 256, "hashBlockSize": 64}})
    config = yaml.safe_load(run.one("ConfigMap", "gaie-pd-epp").inputs["data"]["pd-config.yaml"])
    params = {p["type"]: p.get("parameters", {}) for p in config["plugins"]}
    assert params["prefix-cache-scorer"]["blockSize"] == params["pd-profile-handler"]["hashBlockSize"] == 64
    assert params["prefix-cache-scorer"]["autoTune"] is False


def test_fill_job_skips_alternate_weight_formats(ib):
    script = ib.one("Job", "ms-pd-llm-d-modelservice-model-fill").inputs["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert 'ignore_patterns=["original/*", "metal/*"]' in script
