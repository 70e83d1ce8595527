"""A custom resource whose `status` is read back (a Gateway's assigned address)."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s


class CustomResourceWithStatus(k8s.apiextensions.CustomResource):
    """A CustomResource whose `status` is read back (e.g. a Gateway's assigned address)."""

    status: pulumi.Output[Any]

    def _internal_init(self, resource_name, api_version, kind, opts=None, metadata=None, spec=None, __props__=None):
        props = k8s.apiextensions.CustomResourceArgs.__new__(k8s.apiextensions.CustomResourceArgs)
        props.__dict__.update(api_version=api_version, kind=kind, metadata=metadata, spec=spec, status=None)
        pulumi.CustomResource.__init__(self, f"kubernetes:{api_version}:{kind}", resource_name, props, opts)
