"""The offline validator must both pass good objects and fail bad ones, naming the bad field."""
import copy
import json

import kubernetes_validate
import pytest

from tools.k8s_schema import SchemaValidator, crd_dir_from_env

GATEWAY_PARAMETERS = ("gateway.kgateway.dev/v1alpha1", "GatewayParameters")


@pytest.fixture(scope="module")
def v():
    return SchemaValidator(crd_dir_from_env(), no_schema_allowed={GATEWAY_PARAMETERS})


def meta(name="x", **extra):
    return {"name": name, "namespace": "llm-d", **extra}


def deployment():
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta("ms-pd-decode", labels={"app.kubernetes.io/name": "decode", "llm-d.ai/role": "decode"}),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"llm-d.ai/role": "decode"}},
            "template": {
                "metadata": {"labels": {"llm-d.ai/role": "decode"}},
                "spec": {"containers": [{
                    "name": "vllm", "image": "vllm/vllm-openai:v0.10.0",
                    "ports": [{"containerPort": 8000, "name": "http"}],
                    "resources": {"limits": {"nvidia.com/gpu": "1"}},
                }]},
            },
        },
    }


def inference_pool(api_version="inference.networking.k8s.io/v1"):
    return {
        "apiVersion": api_version, "kind": "InferencePool", "metadata": meta("pool"),
        "spec": {"selector": {"matchLabels": {"llm-d.ai/inferenceServing": "true"}},
                 "targetPorts": [{"number": 8000}],
                 "endpointPickerRef": {"name": "x", "port": {"number": 9002}}},
    }


def http_route():
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta("route"),
        "spec": {"parentRefs": [{"name": "gw"}],
                 "rules": [{"backendRefs": [{"group": "inference.networking.k8s.io", "kind": "InferencePool",
                                             "name": "pool", "port": 8000}]}]},
    }


def health_check_policy():
    return {
        "apiVersion": "networking.gke.io/v1", "kind": "HealthCheckPolicy", "metadata": meta("hc"),
        "spec": {"default": {"checkIntervalSec": 5, "timeoutSec": 5,
                             "config": {"type": "HTTP", "httpHealthCheck": {"requestPath": "/health", "port": 8000}}},
                 "targetRef": {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "pool"}},
    }


def destination_rule(api_version="networking.istio.io/v1beta1"):
    return {
        "apiVersion": api_version, "kind": "DestinationRule", "metadata": meta("epp"),
        "spec": {"host": "epp.llm-d.svc.cluster.local",
                 "trafficPolicy": {"tls": {"mode": "SIMPLE", "insecureSkipVerify": True},
                                   "connectionPool": {"http": {"http1MaxPendingRequests": 256000}}}},
    }


def service_monitor(target_port=8000):
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta("sm"),
        "spec": {"selector": {"matchLabels": {"app": "epp"}},
                 "endpoints": [{"targetPort": target_port, "path": "/metrics", "interval": "30s"}]},
    }


def pod_monitoring(port="metrics"):
    return {
        "apiVersion": "monitoring.googleapis.com/v1", "kind": "PodMonitoring", "metadata": meta("pm"),
        "spec": {"selector": {"matchLabels": {"llm-d.ai/role": "decode"}},
                 "endpoints": [{"port": port, "interval": "30s", "path": "/metrics"}]},
    }


# --- built-in kinds -------------------------------------------------------------------------------

def test_valid_deployment_passes(v):
    assert v.errors(deployment()) == []


def test_unknown_container_field_names_path(v):
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0]["foo"] = 1
    assert v.errors(d) == ["Deployment/ms-pd-decode: spec.template.spec.containers[0].foo: unknown field"]


def test_wrong_type_fails(v):
    d = deployment()
    d["spec"]["replicas"] = "two"
    [error] = v.errors(d)
    assert error.startswith("Deployment/ms-pd-decode: spec.replicas: 'two' is not of type 'integer'")


def test_agrees_with_kubernetes_validate(v):
    good, bad = deployment(), deployment()
    bad["spec"]["template"]["spec"]["containers"][0]["foo"] = 1
    kubernetes_validate.validate(good, "1.33.0", strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.33.0", strict=True)


def test_builtin_unserved_version_names_served_ones(v):
    d = deployment()
    d["apiVersion"] = "apps/v1beta1"
    assert v.errors(d) == ["Deployment/ms-pd-decode: apiVersion apps/v1beta1 is not served for Deployment; "
                           "served: apps/v1"]


def test_service_name_must_be_dns_1035_label(v):
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": meta("8000-svc"), "spec": {"ports": [{"port": 80}]}}
    assert [e for e in v.errors(svc) if "metadata.name" in e]


# --- custom resources -----------------------------------------------------------------------------

def test_valid_inference_pool_passes(v):
    assert v.errors(inference_pool()) == []


def test_inference_pool_unknown_spec_field_fails(v):
    pool = inference_pool()
    pool["spec"]["appProtocol"] = "http"  # only GAIE >= v1.5 has it; the default set is v1.3.0
    assert v.errors(pool) == ["InferencePool/pool: spec.appProtocol: unknown field"]


def test_inference_pool_constraints(v):
    pool = inference_pool()
    pool["spec"]["targetPorts"] = [{"number": 70000}]
    del pool["spec"]["endpointPickerRef"]["name"]
    errors = v.errors(pool)
    assert any("spec.targetPorts[0].number: 70000 is greater than the maximum" in e for e in errors)
    assert any("spec.endpointPickerRef: 'name' is a required property" in e for e in errors)


def test_inference_pool_unserved_version_names_served_ones(v):
    [error] = v.errors(inference_pool("inference.networking.k8s.io/v1alpha2"))
    assert "not served" in error
    assert "inference.networking.k8s.io/v1" in error and "inference.networking.x-k8s.io/v1alpha2" in error


def test_valid_http_route_passes(v):
    assert v.errors(http_route()) == []


def test_http_route_bad_backend_ref_field_fails(v):
    route = http_route()
    route["spec"]["rules"][0]["backendRefs"][0]["servicePort"] = 8000
    assert v.errors(route) == ["HTTPRoute/route: spec.rules[0].backendRefs[0].servicePort: unknown field"]


def test_gateway_duplicate_listener_names_fail(v):
    listener = {"name": "http", "port": 80, "protocol": "HTTP"}
    gw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": meta("gw"),
          "spec": {"gatewayClassName": "gke-l7-rilb", "listeners": [listener, dict(listener)]}}
    assert any("spec.listeners[1]: duplicate entry" in e for e in v.errors(gw))
    gw["spec"]["listeners"].pop()
    assert v.errors(gw) == []


def test_valid_gke_network_param_set_passes(v):
    obj = {"apiVersion": "networking.gke.io/v1", "kind": "GKENetworkParamSet", "metadata": {"name": "rdma-0"},
           "spec": {"vpc": "rdma-vpc", "vpcSubnet": "rdma-subnet-0", "deviceMode": "RDMA"}}
    assert v.errors(obj) == []
    obj["spec"]["deviceMode"] = "InfiniBand"
    assert [e for e in v.errors(obj) if e.startswith("GKENetworkParamSet/rdma-0: spec.deviceMode:")]


def test_health_check_policy(v):
    assert v.errors(health_check_policy()) == []
    bad = health_check_policy()
    bad["spec"]["default"]["config"]["type"] = "HTTP3"
    bad["spec"]["default"]["timeoutSec"] = 0
    del bad["spec"]["targetRef"]
    errors = v.errors(bad)
    assert len(errors) == 3
    assert any(e.startswith("HealthCheckPolicy/hc: spec.default.config.type: 'HTTP3' is not one of") for e in errors)
    assert any("spec.default.timeoutSec: 0 is less than the minimum of 1" in e for e in errors)
    assert any("spec: 'targetRef' is a required property" in e for e in errors)


def test_json_schema_policies_are_loaded(v):
    kinds = v.kinds_with_schema()
    for kind in ("HealthCheckPolicy", "GCPBackendPolicy", "GCPGatewayPolicy"):
        assert ("networking.gke.io/v1", kind) in kinds


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha3"])
def test_destination_rule(v, version):
    dr = destination_rule(f"networking.istio.io/{version}")
    assert v.errors(dr) == []
    dr["spec"]["trafficPolicy"]["tls"]["skipVerify"] = True
    dr["spec"]["trafficPolicy"]["loadBalancer"] = {"simple": "FASTEST"}
    errors = v.errors(dr)
    assert "DestinationRule/epp: spec.trafficPolicy.tls.skipVerify: unknown field" in errors
    assert any(e.startswith("DestinationRule/epp: spec.trafficPolicy.loadBalancer.simple:") for e in errors)


def test_nullable(v):
    dr = destination_rule()
    dr["spec"]["trafficPolicy"]["tls"]["insecureSkipVerify"] = None  # nullable: true
    assert v.errors(dr) == []
    dr["spec"]["trafficPolicy"]["tls"]["sni"] = None  # not nullable
    assert [e for e in v.errors(dr) if "spec.trafficPolicy.tls.sni: None is not of type" in e]


def test_valid_service_monitor_and_pod_monitor(v):
    assert v.errors(service_monitor()) == []
    pod_monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": meta("pm"),
                   "spec": {"selector": {"matchLabels": {"app": "vllm"}},
                            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics"}]}}
    assert v.errors(pod_monitor) == []


def test_valid_gmp_pod_monitoring(v):
    assert v.errors(pod_monitoring()) == []
    assert v.errors(pod_monitoring(8000)) == []
    bad = pod_monitoring()
    del bad["spec"]["endpoints"][0]["interval"]
    assert v.errors(bad) == ["PodMonitoring/pm: spec.endpoints[0]: 'interval' is a required property"]


@pytest.mark.parametrize("value,ok", [(8000, True), ("metrics", True), (1.5, False), (True, False), ([1], False)])
def test_int_or_string(v, value, ok):
    expected = [] if ok else [f"ServiceMonitor/sm: spec.endpoints[0].targetPort: {value!r} is not of type "
                              "'integer', 'string'"]
    assert v.errors(service_monitor(value)) == expected


# --- kinds without schema, metadata ---------------------------------------------------------------

def test_unknown_kind_fails(v):
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta("w"), "spec": {}}
    assert v.errors(obj) == ["Widget/w: no schema for example.com/v1/Widget"]


def test_allowlisted_kind_passes_but_metadata_is_checked(v):
    obj = {"apiVersion": GATEWAY_PARAMETERS[0], "kind": GATEWAY_PARAMETERS[1], "metadata": meta("gp"),
           "spec": {"anything": {"goes": True}}}
    assert v.errors(obj) == []
    obj["metadata"]["labels"] = {"bad": "not ok!"}
    assert len(v.errors(obj)) == 1
    assert SchemaValidator(crd_dir_from_env()).errors(obj)[0].endswith("no schema for gateway.kgateway.dev/v1alpha1/GatewayParameters")


@pytest.mark.parametrize("make", [deployment, inference_pool])
@pytest.mark.parametrize("labels,bad_path", [
    ({"app": "x" * 64}, 'metadata.labels.app'),
    ({"app": "-leading-dash"}, 'metadata.labels.app'),
    ({"app": "has space"}, 'metadata.labels.app'),
    ({"Bad_Prefix.io/app": "x"}, 'metadata.labels["Bad_Prefix.io/app"]'),
    ({"a/b/c": "x"}, 'metadata.labels["a/b/c"]'),
])
def test_bad_label_fails(v, make, labels, bad_path):
    obj = make()
    obj["metadata"]["labels"] = labels
    errors = v.errors(obj)
    assert len(errors) == 1 and f": {bad_path}: invalid" in errors[0], errors


def test_good_labels_pass(v):
    pool = inference_pool()
    pool["metadata"]["labels"] = {"": "x"} | {"app.kubernetes.io/name": "a.b-c_d", "empty": "", "x": "y" * 63}
    assert v.errors(pool) == ['InferencePool/pool: metadata.labels[""]: invalid key: name part must be 1-63 '
                              "alphanumerics, '-', '_' or '.', starting and ending alphanumeric"]
    del pool["metadata"]["labels"][""]
    assert v.errors(pool) == []


def test_template_label_checked(v):
    d = deployment()
    d["spec"]["template"]["metadata"]["labels"]["version"] = "v0.10.0+cu128"
    assert v.errors(d) == ["Deployment/ms-pd-decode: spec.template.metadata.labels.version: invalid label value "
                           "'v0.10.0+cu128': at most 63 alphanumerics, '-', '_' or '.', starting and ending "
                           "alphanumeric"]


def test_custom_resource_metadata(v):
    pool = inference_pool()
    pool["metadata"].update(uid="123", annotations={"note": 5})
    pool["metadata"]["name"] = "Pool_1"
    errors = v.errors(pool)
    assert "InferencePool/Pool_1: metadata.uid: unknown field" in errors
    assert any(e.startswith("InferencePool/Pool_1: metadata.annotations.note: 5 is not of type") for e in errors)
    assert any(e.startswith("InferencePool/Pool_1: metadata.name: 'Pool_1' is not a DNS-1123 subdomain") for e in errors)
    del pool["metadata"]["name"]
    assert "InferencePool/<unnamed>: metadata.name: required (or generateName)" in v.errors(pool)


# --- loading --------------------------------------------------------------------------------------

def test_underscore_dirs_are_skipped(v):
    kinds = {kind for _, kind in v.kinds_with_schema()}
    assert "InferenceModel" not in kinds  # only in _alt/gaie-v0.5.1
    assert ("gateway.networking.k8s.io/v1alpha3", "BackendTLSPolicy") not in v.kinds_with_schema()  # not served


def test_tiny_crd_dir(tmp_path):
    """preserve-unknown-fields and embedded resources in a hand-made CRD; `_` dirs and duplicates."""
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "spec": {"group": "example.com", "names": {"kind": "Widget"}, "versions": [{
               "name": "v1", "served": True, "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                   "spec": {"type": "object", "properties": {
                       "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                "properties": {"n": {"type": "integer"}}},
                       "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                                    "properties": {"spec": {"type": "object"}}}}}}}}}]}}
    (tmp_path / "example.com").mkdir()
    (tmp_path / "example.com" / "widget.json").write_text("{}")  # JSON without a kind: must be rejected
    with pytest.raises(ValueError, match="cannot infer the kind"):
        SchemaValidator(tmp_path)
    (tmp_path / "example.com" / "widget.json").unlink()
    (tmp_path / "example.com" / "widget.yaml").write_text(json.dumps(crd))
    (tmp_path / "_old").mkdir()
    (tmp_path / "_old" / "widget.yaml").write_text(json.dumps(crd))  # would be a duplicate if read
    v = SchemaValidator(tmp_path)
    assert v.kinds_with_schema() == {("example.com/v1", "Widget")}
    w = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
         "spec": {"free": {"n": 1, "extra": [1]}, "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {},
                                                               "spec": {}}}}
    assert v.errors(w) == []
    bad = copy.deepcopy(w)
    bad["spec"]["free"]["n"] = "1"
    bad["spec"]["template"]["status"] = {}
    assert v.errors(bad) == ["Widget/w: spec.free.n: '1' is not of type 'integer'",
                             "Widget/w: spec.template.status: unknown field"]
    (tmp_path / "example.com" / "copy.yml").write_text(json.dumps(crd))
    with pytest.raises(ValueError, match="defined twice"):
        SchemaValidator(tmp_path)


def test_crd_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMD_CRD_DIR", str(tmp_path))
    assert crd_dir_from_env() == tmp_path
    monkeypatch.setenv("LLMD_CRD_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="LLMD_CRD_DIR"):
        crd_dir_from_env()


def test_kubernetes_versions(tmp_path):
    assert SchemaValidator(tmp_path, "1.33.4").kubernetes_version == "1.33.0"
    assert SchemaValidator(tmp_path, "v1.37").kubernetes_version == "1.37.0"
    for bad in ("1.24.0", "1.99.0"):
        with pytest.raises(ValueError, match="it ships 1.25.0"):
            SchemaValidator(tmp_path, bad)
