"""A custom resource whose `status` is read back (a Gateway's assigned address), through public APIs only.

pulumi_kubernetes' `apiextensions.CustomResource` declares no `status` output, and the Python SDK
makes an output only for the keys in a resource's props (pulumi 3.272.0 `runtime/rpc.py`
transfer_properties). So this registers the same resource, with the same type token
(`kubernetes:<apiVersion>:<kind>`), inputs and plugin version as `CustomResource` does
(pulumi_kubernetes 4.34.2 `apiextensions/CustomResource.py` _internal_init), through the public
`pulumi.CustomResource` constructor, with `status` declared as an output-only property. URNs are
unchanged. tests/gateway/test_status.py registers both side by side and fails if they diverge.
"""

import importlib.metadata
from typing import Any, Optional

import pulumi

PLUGIN_VERSION = importlib.metadata.version("pulumi_kubernetes")


class CustomResourceWithStatus(pulumi.CustomResource):
    status: pulumi.Output[Any]  # output only: the controller writes it

    def __init__(
        self,
        resource_name: str,
        api_version: str,
        kind: str,
        metadata: Optional[Any] = None,
        spec: Optional[Any] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=PLUGIN_VERSION))
        props = {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec, "status": None}
        super().__init__(f"kubernetes:{api_version}:{kind}", resource_name, props, opts)
