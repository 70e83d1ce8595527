"""The Gateway's status is read through public APIs only, and the resource stays the one
`pulumi_kubernetes.apiextensions.CustomResource` registers (type token, URN, inputs, plugin version)."""

import pulumi
import pulumi_kubernetes as k8s

from components.gateway.status import CustomResourceWithStatus

SPEC = {"gatewayClassName": "istio", "listeners": [{"name": "default", "port": 80, "protocol": "HTTP"}]}
META = {"name": "gw", "namespace": "ns", "annotations": {"pulumi.com/waitFor": "condition=Programmed"}}


class Recorder(pulumi.runtime.Mocks):
    def __init__(self):
        self.seen = {}

    def new_resource(self, args):
        self.seen[args.name] = (args.typ, args.inputs)
        status = {"addresses": [{"type": "IPAddress", "value": "10.0.0.7"}]} if args.name == "ours" else None
        return [f"{args.name}-id", {**args.inputs, "status": status}]

    def call(self, args):
        return {}


def test_same_registration_as_the_sdk_custom_resource_and_status_readable():
    mocks = Recorder()
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="p", stack="s", preview=False)

    @pulumi.runtime.test
    def program():
        sdk = k8s.apiextensions.CustomResource("sdk", api_version="gateway.networking.k8s.io/v1", kind="Gateway", metadata=META, spec=SPEC)
        ours = CustomResourceWithStatus("ours", api_version="gateway.networking.k8s.io/v1", kind="Gateway", metadata=META, spec=SPEC)
        urns = pulumi.Output.all(sdk.urn, ours.urn)
        return pulumi.Output.all(urns, ours.status).apply(check)

    def check(values):
        (sdk_urn, our_urn), status = values
        assert sdk_urn.rsplit("::", 1)[0] == our_urn.rsplit("::", 1)[0]  # same type token, so same URN for the same name
        assert status["addresses"][0]["value"] == "10.0.0.7"

    program()
    assert mocks.seen["sdk"] == mocks.seen["ours"]


def test_plugin_version_matches_the_sdk():
    from pulumi_kubernetes import _utilities  # noqa: PLC0415 - only to compare against what the SDK sends

    from components.gateway.status import PLUGIN_VERSION  # noqa: PLC0415

    assert PLUGIN_VERSION == _utilities.get_version()
