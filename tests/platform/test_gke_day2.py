"""The gke stack across its life: credentials, version pins, IAM ordering, destroy order, and a provider
identity that survives cluster updates."""

import json

import pulumi
import pytest

from components.config.gke import MANAGED_GATEWAY_CRDS_VERSION, straddles, version_at_least
from components.platform.gke.kubeconfig import ADC_FLAG
from components.release_namespace import NAMESPACE_DELETE_TIMEOUT
from gke_runs import gke_stack, one, owned, run_gke, waits_for, with_platform
from tools import mock_runtime
from tools.mock_runtime import ProgramRun

PROJECT, REGION = "my-gcp-project", "europe-west1"
CLUSTER = "gcp:container/cluster:Cluster"
PROVIDER = "pulumi:providers:kubernetes"
IDENTITY = f"projects/{PROJECT}/locations/{REGION}/clusters/llmd-pd"


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return gke_stack()


def cluster_version(run: ProgramRun) -> str:
    return one(run, CLUSTER).inputs["minMasterVersion"]


# --- 9: credentials -----------------------------------------------------------------------------
def test_the_auth_plugin_uses_application_default_credentials(run):
    """Without the flag gke-gcloud-auth-plugin shells out to `gcloud` for the `gcloud auth login` account
    (kubernetes/cloud-provider-gcp cmd/gke-gcloud-auth-plugin); CI with only ADC then fails."""
    exec_ = json.loads(one(run, PROVIDER).inputs["kubeconfig"])["users"][0]["user"]["exec"]
    assert exec_["command"] == "gke-gcloud-auth-plugin" and exec_["args"] == [ADC_FLAG]
    assert ADC_FLAG == "--use_application_default_credentials"


# --- 10: version prefixes -----------------------------------------------------------------------
def test_the_stack_pins_a_minor_version_resolved_to_the_newest_offered(run):
    assert mock_runtime.stack_config("gke")["platform"]["gkeVersion"] == "1.34"
    assert cluster_version(run) == "1.34.1-gke.1829001"  # the newest 1.34 in the mock's REGULAR channel


@pytest.mark.parametrize(
    ("pin", "resolved"),
    [("1.33", "1.33.5-gke.1080000"), ("1.34.0", "1.34.0-gke.1626000"), ("1.34.0-gke.1626000", "1.34.0-gke.1626000")],
)
def test_prefixes_resolve_and_exact_pins_stay(pin, resolved):
    assert cluster_version(run_gke(with_platform({"gkeVersion": pin}))) == resolved


def test_without_a_release_channel_the_newest_valid_master_version_is_used(monkeypatch):
    monkeypatch.setattr(mock_runtime, "ENGINE_VERSIONS", ["1.34.2-gke.1000000", "1.34.1-gke.1829001"])
    assert cluster_version(run_gke(with_platform({"releaseChannel": "UNSPECIFIED"}))) == "1.34.2-gke.1000000"


def test_a_prefix_straddling_a_threshold_is_checked_on_the_resolved_version(monkeypatch):
    """1.34 spans 1.34.0-gke.1626000: planned as GKE-managed CRDs, and `up` stops if GKE resolves it lower."""
    assert straddles("1.34", MANAGED_GATEWAY_CRDS_VERSION) and version_at_least("1.34", MANAGED_GATEWAY_CRDS_VERSION)
    monkeypatch.setattr(mock_runtime, "ENGINE_VERSIONS", ["1.34.0-gke.1500000", "1.33.5-gke.1080000"])
    result = run_gke(expect_error=True)
    assert isinstance(result.error, pulumi.RunError), result.error
    message = str(result.error)
    assert "llmd:platform.gkeVersion" in message and "1.34.0-gke.1500000" in message
    assert MANAGED_GATEWAY_CRDS_VERSION in message
    assert not owned(result, CLUSTER) or "minMasterVersion" not in one(result, CLUSTER).inputs


def test_a_prefix_the_channel_does_not_offer_stops_with_the_gcloud_command(monkeypatch):
    monkeypatch.setattr(mock_runtime, "ENGINE_VERSIONS", ["1.33.5-gke.1080000"])
    result = run_gke(expect_error=True)
    assert "llmd:platform.gkeVersion: is 1.34, but the REGULAR channel offers no such version" in str(result.error)
    assert "gcloud container get-server-config" in str(result.error)


def test_the_lookup_waits_for_the_kubernetes_engine_api_and_asks_with_a_safe_prefix(monkeypatch):
    seen = []
    lookup = mock_runtime.CALLS["gcp:container/getEngineVersions:getEngineVersions"]
    monkeypatch.setitem(
        mock_runtime.CALLS, "gcp:container/getEngineVersions:getEngineVersions", lambda args: seen.append(args) or lookup(args)
    )
    run_gke()
    assert seen == [{"project": PROJECT, "location": REGION, "versionPrefix": "1.34."}]  # "1.34" would match 1.340


# --- 11: APIs and IAM ordering ------------------------------------------------------------------
def test_the_iam_credentials_api_is_enabled(run):
    services = {s.inputs["service"] for s in owned(run, "gcp:projects/service:Service")}
    assert "iamcredentials.googleapis.com" in services


def iam_of(run: ProgramRun, suffix: str) -> list:
    types = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:serviceaccount/iAMMember:IAMMember")
    return [r for r in run.registrations if r.type in types and r.name.startswith(f"model-cache-{suffix}-")]


def test_the_fill_job_waits_for_its_bucket_grant_and_workload_identity_binding(run):
    job, grants = next(j for j in run.kube("Job") if j.name == "model-cache-fill"), iam_of(run, "fill")
    assert len(grants) == 2 and all(waits_for(run, job, grant) for grant in grants)


def test_the_model_servers_wait_for_their_bucket_grants_and_bindings(run):
    grants = iam_of(run, "read")
    assert len(grants) == 3  # models (read), one binding per role (no compile cache: see test_model_cache.py)
    servers = [d for d in run.kube("Deployment") if "llm-d.ai/role" in d.inputs["spec"]["template"]["metadata"]["labels"]]
    assert len(servers) == 2 and all(waits_for(run, d, g) for d in servers for g in grants)


# --- 12: destroy order --------------------------------------------------------------------------
def test_the_namespace_goes_before_the_cluster_networks_and_pools_and_has_time_to(run):
    """On destroy the namespace waits for the NEG controller to delete the Gateway's NEGs; only then may the
    cluster, the system pool and the proxy-only subnet go."""
    namespace = run.one("Namespace")
    assert namespace.custom_timeouts.get("delete") == NAMESPACE_DELETE_TIMEOUT == "30m"
    for target in (one(run, CLUSTER), one(run, "gcp:container/nodePool:NodePool", "gke-system-pool")):
        assert waits_for(run, namespace, target)
    assert waits_for(run, namespace, one(run, "gcp:compute/subnetwork:Subnetwork", "gke-proxy-only"))


# --- 13: planned inputs are real ----------------------------------------------------------------
def test_workload_identity_bindings_name_their_service_account(run):
    bindings = [r for r in run.registrations if r.type == "gcp:serviceaccount/iAMMember:IAMMember"]
    assert bindings
    for binding in bindings:
        account = binding.inputs.get("serviceAccountId", "")
        assert account.startswith(f"projects/{PROJECT}/serviceAccounts/llmd-") and account.endswith(".iam.gserviceaccount.com")


# --- 17: a provider identity that a cluster update does not change ------------------------------
def test_the_provider_has_a_cluster_identifier_known_before_the_cluster(run):
    """pulumi-kubernetes' DiffConfig replaces a provider whose kubeconfig is unknown (any cluster update, in
    preview) unless clusterIdentifier is set and unchanged (pulumi/pulumi-kubernetes@v4.32.0:
    provider/pkg/provider/provider.go, DiffConfig; testdata/diffconfig/computed-kubeconfig-with-identifier)."""
    unknown = run_gke(preview=True, unknown_outputs="<computed>")
    known, planned = one(run, PROVIDER).inputs, one(unknown, PROVIDER).inputs
    assert known["kubeconfig"] != planned["kubeconfig"]  # built from the cluster's outputs
    assert known["clusterIdentifier"] == planned["clusterIdentifier"] == IDENTITY


def test_only_a_different_cluster_changes_the_identifier():
    renamed = run_gke(with_platform({"clusterName": "llmd-pd-2"}))
    assert one(renamed, PROVIDER).inputs["clusterIdentifier"] == f"projects/{PROJECT}/locations/{REGION}/clusters/llmd-pd-2"
    upgraded = run_gke(with_platform({"gkeVersion": "1.35"}))
    assert cluster_version(upgraded) == "1.35.0-gke.1795000"
    assert one(upgraded, PROVIDER).inputs["clusterIdentifier"] == IDENTITY
