"""Gateway API and Inference Extension CRDs: vendored, typed, in one of three modes, never deleted
(issue 11, items 7 and 8)."""

import pathlib

import pulumi
import pytest

from components.gateway import crds
from components.gateway.base import CRD_TYPE, retain_crds
from conftest import run_stack
from tools import mock_runtime

PATCH_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinitionPatch"
SHARED_CRDS = pathlib.Path(__file__).resolve().parents[3] / "shared" / "crds"


def crd_runs(mode):
    return run_stack("ib", {"gateway": {"provider": "istio", "crds": mode}})


@pytest.fixture(scope="module")
def aliases(request):
    """Every registration's alias specs (name, parent URN), recorded as the engine receives them."""
    seen = {}
    original = mock_runtime._RecordingMonitor.RegisterResource

    def record(self, req):
        seen[req.name] = [(a.spec.name, a.spec.parentUrn, a.spec.noParent, a.spec.type) for a in req.aliases]
        return original(self, req)

    mock_runtime._RecordingMonitor.RegisterResource = record
    try:
        run = crd_runs("install")
    finally:
        mock_runtime._RecordingMonitor.RegisterResource = original
    return run, seen


def test_install_registers_typed_retained_crds_from_the_vendored_files(aliases):
    run, _ = aliases
    registered = run.of_type(CRD_TYPE)
    assert len(registered) == 11 and not run.of_type("kubernetes:yaml/v2:ConfigFile")
    vendored = {d["metadata"]["name"]: d for b, v in (("gateway-api", "v1.4.0"), ("gaie", "v1.3.0")) for d in crds.definitions(b, v)}
    for crd in registered:
        assert crd.retain_on_delete, crd.name
        name = crd.inputs["metadata"]["name"]
        assert crd.inputs["spec"] == vendored[name]["spec"]
        assert "pulumi.com/patchForce" not in crd.inputs["metadata"].get("annotations", {})


def test_crds_keep_the_urns_of_the_configfile_children_they_replace(aliases):
    """An existing stack's CRDs (children of the yaml/v2 ConfigFiles) are the same resources, not deleted and recreated."""
    run, seen = aliases
    provider = next(r for r in run.registrations if r.type == "llmd:gateway:GatewayProvider")
    for crd in run.of_type(CRD_TYPE):
        bundle = crd.name.split(":", 1)[0]
        assert crd.name == f"{bundle}:{crd.inputs['metadata']['name']}"  # yaml/v2: <prefix>:<object name>
        old_parent = f"{provider.urn}$kubernetes:yaml/v2:ConfigFile::{bundle}".replace(
            "llmd:gateway:GatewayProvider::gateway$", "llmd:gateway:GatewayProvider$")
        assert ("", old_parent, False, CRD_TYPE) in seen[crd.name], seen[crd.name]


@pytest.mark.parametrize("folder,reference", [
    ("gaie-v1.3.0", ""),  # GAIE v1.3.0 is the default set
    ("gaie-v1.5.0", "_alt/gaie-v1.5.0"),
    ("gateway-api-v1.5.1", "_alt/gateway-api-v1.5.1"),
])
def test_vendored_files_are_the_upstream_files(folder, reference):
    """Byte-identical to the reference copies (../shared/crds/README.md names repo, tag and path of each)."""
    files = sorted((crds.VENDORED / folder).glob("*.yaml"))
    assert files
    for path in files:
        group = path.name.split("_", 1)[0]
        assert path.read_bytes() == (SHARED_CRDS / reference / group / path.name).read_bytes(), path.name


def test_adopt_patches_existing_crds_with_force_and_keeps_them():
    run = crd_runs("adopt")
    assert not run.of_type(CRD_TYPE)
    patches = run.of_type(PATCH_TYPE)
    assert len(patches) == 11
    for patch in patches:
        assert patch.retain_on_delete
        assert patch.inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"


def test_skip_installs_no_crds_and_nothing_waits_for_them():
    run = crd_runs("skip")
    assert not run.of_type(CRD_TYPE) and not run.of_type(PATCH_TYPE)
    assert run.one("InferencePool") and run.one("Gateway")


def test_chart_crds_are_kept_on_destroy():
    """The control-plane charts that carry CRDs (Istio base, kgateway-crds, agentgateway-crds) keep them."""
    opts = pulumi.ResourceOptions()
    crd = retain_crds(pulumi.ResourceTransformArgs(True, CRD_TYPE, "base:x", {"metadata": {"name": "x"}}, opts))
    assert crd.opts.retain_on_delete is True
    assert retain_crds(pulumi.ResourceTransformArgs(True, "kubernetes:apps/v1:Deployment", "d", {}, opts)) is None


def test_first_gke_preview_needs_no_cluster_and_no_network():
    """On GKE versions before 1.34.0-gke.1626000 the program installs the Inference Extension CRDs: typed
    resources, so no multi-language component is constructed on the not-yet-known cluster's provider."""
    run = run_stack("gke", {"platform": {**run_stack_platform(), "gkeVersion": "1.33.5-gke.1080000"}},
                    preview=True, unknown_outputs="[computed]")
    assert len(run.of_type(CRD_TYPE)) == 5
    assert not [r.type for r in run.registrations if r.type.startswith(("kubernetes:yaml/", "kubernetes:helm.sh/"))]


def run_stack_platform():
    return mock_runtime.stack_config("gke")["platform"]


@pytest.mark.parametrize("overrides,key,gist", [
    ({"versions": {"gatewayApiCrds": "v1.3.0"}}, "llmd:versions.gatewayApiCrds", "vendored"),
    ({"versions": {"inferenceExtensionCrds": "v0.5.1"}}, "llmd:versions.inferenceExtensionCrds", "gateway.crds: skip"),
    ({"gateway": {"installCrds": False}}, "llmd:gateway", "use crds: skip"),
])
def test_refused_with_the_fix(overrides, key, gist):
    run = run_stack("ib", overrides, expect_error=True)
    assert isinstance(run.error, pulumi.RunError) and not run.registrations
    assert f"{key}:" in str(run.error) and gist in str(run.error), run.error


def test_a_version_the_cluster_already_serves_needs_no_vendored_files():
    run = run_stack("ib", {"gateway": {"provider": "istio", "crds": "skip"}, "versions": {"gatewayApiCrds": "v1.3.0"}})
    assert run.error is None


@pytest.mark.parametrize("provider", ["istio"])
def test_on_gke_the_gateway_api_crds_come_from_the_cluster_whatever_the_provider(provider):
    """The cluster's Gateway API channel (standard) installs them on every GKE version; before
    1.34.0-gke.1626000 the stack installs only the Inference Extension's (once only for provider gke)."""
    run = run_stack("gke", {"platform": {**run_stack_platform(), "gkeVersion": "1.33.5-gke.1080000"},
                            "gateway": {"provider": provider}})
    assert {r.inputs["spec"]["group"] for r in run.of_type(CRD_TYPE)} == {"inference.networking.k8s.io", "inference.networking.x-k8s.io"}


def test_the_plan_names_each_crd_bundle_and_what_happens_to_it(aliases):
    from tools.plan import summary  # noqa: PLC0415

    run, _ = aliases
    assert [line for line in summary.versions(run.registrations) if line.startswith("CRDs ")] == [
        "CRDs gateway.networking.k8s.io v1.4.0 (6, installed, kept on destroy)",
        "CRDs inference.networking.k8s.io v1.3.0 (1, installed, kept on destroy)",
        "CRDs inference.networking.x-k8s.io v1.3.0 (4, installed, kept on destroy)",
    ]
