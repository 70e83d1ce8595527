"""The P/D stack on GKE: managed Gateway, GKE policies, GMP, the GCS model cache, and the upstream
benchmark variant's bugs made impossible."""

import pytest

from conftest import HF_TOKEN
from gke_runs import run_gke, waits_for, with_platform
from tools.mock_runtime import ProgramRun


@pytest.fixture(scope="module")
def gke() -> ProgramRun:
    return run_gke(secrets={"hfToken": HF_TOKEN})


def gpu_pool(run):
    return next(r for r in run.of_type("gcp:container/nodePool:NodePool") if "guestAccelerators" in r.inputs["nodeConfig"])


def test_managed_gateway_with_no_control_plane_to_install(gke):
    gateway = gke.one("Gateway")
    # Private by default: the regional internal class (issue 13); public is gateway.exposure: public.
    assert gateway.inputs["spec"]["gatewayClassName"] == "gke-l7-rilb"
    assert "infrastructure" not in gateway.inputs["spec"]
    assert not gke.of_type("kubernetes:helm.sh/v4:Chart")
    # GKE 1.34.1 manages both CRD bundles.
    assert not gke.kube("CustomResourceDefinition")


def test_external_gateway_class_by_config():
    config = with_platform({})
    config["gateway"] = {"provider": "gke", "exposure": "public", "gkeClass": "gke-l7-regional-external-managed"}
    run = run_gke(config, secrets={"hfToken": HF_TOKEN, "gatewayApiKey": "k" * 32})
    assert run.one("Gateway").inputs["spec"]["gatewayClassName"] == "gke-l7-regional-external-managed"


def test_older_gke_gets_only_the_inference_extension_crds():
    run = run_gke(with_platform({"gkeVersion": "1.33.5-gke.1080000"}))
    crds = run.kube("CustomResourceDefinition")
    assert {r.inputs["spec"]["group"] for r in crds} == {"inference.networking.k8s.io", "inference.networking.x-k8s.io"}
    assert set(run.one("InferencePool").dependencies) >= {r.urn for r in crds}


def test_health_check_and_backend_policies_target_the_pool(gke):
    pool = gke.one("InferencePool")
    target = {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": pool.object_name}
    health = gke.one("HealthCheckPolicy")
    assert health.inputs["spec"]["targetRef"] == target
    check = health.inputs["spec"]["default"]["config"]["httpHealthCheck"]
    assert check == {"requestPath": "/health", "port": pool.inputs["spec"]["targetPorts"][0]["number"]}
    backend = gke.one("GCPBackendPolicy")
    assert backend.inputs["spec"]["targetRef"] == target
    assert backend.inputs["spec"]["default"]["timeoutSec"] == 300


def test_metrics_go_to_google_managed_prometheus(gke):
    assert not gke.kube("ServiceMonitor") and not gke.kube("PodMonitor")
    monitors = {m.object_name: m for m in gke.kube("PodMonitoring")}
    epp = monitors["gaie-pd-epp-monitor"]
    endpoint = epp.inputs["spec"]["endpoints"][0]
    assert endpoint["authorization"]["credentials"]["secret"]["name"] == "gaie-pd-epp-metrics-scraper"
    token = gke.one("Secret", "gaie-pd-epp-metrics-scraper")
    assert token.inputs["metadata"]["annotations"]["kubernetes.io/service-account.name"] == "gaie-pd-epp-metrics-scraper"
    scraper = gke.one("ClusterRole", "gaie-pd-llm-d-pd-epp-metrics-scraper")
    assert scraper.inputs["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    epp_pods = gke.one("Deployment", "gaie-pd-epp").inputs["spec"]["template"]["metadata"]["labels"]
    assert all(epp_pods[k] == v for k, v in epp.inputs["spec"]["selector"]["matchLabels"].items())
    binding = gke.one("RoleBinding", "gaie-pd-epp-metrics-token-reader")
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": "collector", "namespace": "gmp-system"}]
    assert {"ms-pd-llm-d-modelservice-prefill-podmonitor", "ms-pd-llm-d-modelservice-decode-podmonitor"} <= set(monitors)


def test_route_leaves_port_and_timeout_to_the_gke_policies(gke):
    rule = gke.one("HTTPRoute").inputs["spec"]["rules"][0]
    assert "timeouts" not in rule and "port" not in rule["backendRefs"][0]


def test_upstream_benchmark_bugs_cannot_happen(gke, validator):
    """The gke_pd_rdma variant shipped a pool selecting no pods, a 5Mi model volume, a :latest sidecar
    and no GKE policies."""
    selector = gke.one("InferencePool").inputs["spec"]["selector"]["matchLabels"]
    servers = [d for d in gke.kube("Deployment") if d.object_name.startswith("ms-pd-")]
    assert len(servers) == 2
    for server in servers:
        labels = server.inputs["spec"]["template"]["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in selector.items())
        spec = server.inputs["spec"]["template"]["spec"]
        for c in spec["containers"] + spec.get("initContainers", []):
            assert ":" in c["image"].rsplit("/", 1)[-1] and not c["image"].endswith(":latest")
        model_volume = next(v for v in spec["volumes"] if v["name"] == "model-cache")
        assert model_volume["csi"]["driver"] == "gcsfuse.csi.storage.gke.io"
    assert gke.one("HealthCheckPolicy") and gke.one("GCPBackendPolicy")
    assert [e for obj in gke.kube() for e in validator.errors(obj.inputs)] == []


def test_gcs_model_cache(gke):
    buckets = {b.inputs["name"]: b for b in gke.of_type("gcp:storage/bucket:Bucket")}
    models = buckets["my-gcp-project-llmd-pd-pd-models"]  # project, cluster, release
    assert models.inputs["location"] == "EUROPE-WEST1"
    assert models.inputs["uniformBucketLevelAccess"] is True and models.inputs["publicAccessPrevention"] == "enforced"
    grants = {(m.inputs["role"], m.name.split("-")[-2]) for m in gke.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")}
    assert ("roles/storage.objectUser", "fill") in grants and ("roles/storage.objectViewer", "read") in grants
    identities = {m.inputs["member"] for m in gke.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    assert "serviceAccount:my-gcp-project.svc.id.goog[llm-d-pd/ms-pd-llm-d-modelservice-model-fill]" in identities
    assert "serviceAccount:my-gcp-project.svc.id.goog[llm-d-pd/ms-pd-llm-d-modelservice-decode]" in identities
    decode_sa = gke.one("ServiceAccount", "ms-pd-llm-d-modelservice-decode")
    reader = next(a for a in gke.of_type("gcp:serviceaccount/account:Account") if a.inputs["accountId"].endswith("-read"))
    assert decode_sa.inputs["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == f"{reader.inputs['accountId']}@my-gcp-project.iam.gserviceaccount.com"
    decode = gke.one("Deployment", "ms-pd-llm-d-modelservice-decode").inputs["spec"]["template"]
    assert decode["metadata"]["annotations"]["gke-gcsfuse/volumes"] == "true"
    volume = next(v for v in decode["spec"]["volumes"] if v["name"] == "model-cache")
    assert volume["csi"]["readOnly"] is True
    assert "file-cache:enable-parallel-downloads:true" in volume["csi"]["volumeAttributes"]["mountOptions"]


def test_only_model_servers_wait_for_the_gpu_pool(gke):
    pool = gpu_pool(gke)
    waiting = {(r.kind, r.object_name) for r in gke.kube() if waits_for(gke, r, pool)}
    # The model servers and the Job that checks them; nothing else (CRDs, gateway, EPP, route,
    # RDMA objects, service accounts, monitors, the cache fill) waits the 35-90 minutes.
    assert waiting == {
        ("Deployment", "ms-pd-llm-d-modelservice-prefill"),
        ("Deployment", "ms-pd-llm-d-modelservice-decode"),
        ("Job", "ms-pd-llm-d-modelservice-verify"),
    }
    fill = gke.one("Job", "ms-pd-llm-d-modelservice-model-fill")
    assert not waits_for(gke, fill, pool), "the cache fill runs on CPU nodes while the GPU pool is created"


def test_gateway_and_pool_go_before_the_cluster_network_on_destroy(gke):
    proxy_only = next(s for s in gke.of_type("gcp:compute/subnetwork:Subnetwork") if s.inputs.get("purpose") == "REGIONAL_MANAGED_PROXY")
    for kind in ("Gateway", "InferencePool", "HTTPRoute", "GCPBackendPolicy"):
        assert waits_for(gke, gke.one(kind), proxy_only), kind


def test_two_clusters_in_one_project_get_their_own_cache_names():
    names = []
    for cluster in ("llmd-pd", "llmd-pd-b"):
        run = run_gke(with_platform({"clusterName": cluster}))
        names.append({r.inputs.get("name") or r.inputs["accountId"] for r in run.registrations
                      if r.type in ("gcp:storage/bucket:Bucket", "gcp:serviceaccount/account:Account") and "llmd-" in str(r.inputs)})
    assert names[0] and names[0].isdisjoint(names[1])
    assert all(len(n) <= 30 for n in names[0] if "@" not in n and not n.endswith(("models", "compile")))


def test_flex_start_rollouts_wait_for_gpu_nodes_to_appear(gke):
    from components import cold_start

    decode = gke.one("Deployment", "ms-pd-llm-d-modelservice-decode")
    assert decode.custom_timeouts["create"] == cold_start.rollout_wait(65, "gcs", 90 * 60)
    script = decode.inputs["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert script.index("test -f /usr/local/gib/scripts/set_nccl_env.sh") < script.index("source /usr/local/gib")


def test_the_gcs_cache_stages_gpt_oss_harmony_encoding(gke):
    """The fill Job writes o200k_base.tiktoken into the bucket; servers read it, offline (components/harmony.py)."""
    fill = gke.one("Job", "ms-pd-llm-d-modelservice-model-fill").inputs["spec"]["template"]["spec"]["containers"][0]
    assert {e["name"]: e.get("value") for e in fill["env"]}["ENCODINGS_DIR"] == "/model-cache/tiktoken-encodings"
    decode = gke.one("Deployment", "ms-pd-llm-d-modelservice-decode").inputs["spec"]["template"]["spec"]
    vllm = next(c for c in decode["containers"] if c["name"] == "vllm")
    assert {e["name"]: e.get("value") for e in vllm["env"]}["TIKTOKEN_ENCODINGS_BASE"] == "/model-cache/tiktoken-encodings"
