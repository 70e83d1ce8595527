"""Outputs the cloud computes on create and the program reads (e.g. to build a kubeconfig).

The mock runtime echoes a resource's inputs back as its outputs, so an output that is not an input
(a cluster's endpoint) is missing and the program fails on it. A plan fills such outputs in: with
the value GCP derives from the inputs where that is deterministic (a service account's email), else
with COMPUTED, which then shows in the written files where the real value will go.
"""

import contextlib
from typing import Any, Callable, Iterator

from tools import mock_runtime
from tools.plan.records import COMPUTED


def _account(inputs: dict) -> dict:
    email = f"{inputs.get('accountId', COMPUTED)}@{inputs.get('project', COMPUTED)}.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}"}


COMPUTED_OUTPUTS: dict[str, Callable[[dict], dict[str, Any]]] = {
    "gcp:container/cluster:Cluster": lambda _: {"endpoint": COMPUTED, "masterAuth": {"clusterCaCertificate": COMPUTED}},
    "gcp:serviceaccount/account:Account": _account,
}


@contextlib.contextmanager
def computed_outputs() -> Iterator[None]:
    original = mock_runtime._Mocks.new_resource

    def new_resource(self, args):
        resource_id, state = original(self, args)
        extra = COMPUTED_OUTPUTS.get(args.typ)
        return resource_id, {**(extra(args.inputs) if extra else {}), **state}

    mock_runtime._Mocks.new_resource = new_resource
    try:
        yield
    finally:
        mock_runtime._Mocks.new_resource = original
