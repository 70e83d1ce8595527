"""Leave istiod the webhook fields it owns at run time, so the Istio charts never fight it.

Istio 1.28.1's charts render (istio/istio@1.28.1):
- `manifests/charts/base/templates/defaultrevision-validatingwebhookconfiguration.yaml`:
  ValidatingWebhookConfiguration `istiod-default-validator`, label `istio.io/rev: "default"`;
- `manifests/charts/istio-control/istio-discovery/templates/validatingwebhookconfiguration.yaml`:
  ValidatingWebhookConfiguration `istio-validator-istio-system`, label `istio.io/rev: "default"`;
both with `failurePolicy: Ignore` and no `caBundle` (base.validationCABundle is empty by default).
istiod's webhook controller (`pkg/webhooks/validation/controller/controller.go`,
updateValidatingWebhookConfiguration) watches every ValidatingWebhookConfiguration labelled with its
revision and, for each entry of `webhooks`, writes `clientConfig.caBundle` and, once its endpoint
rejects invalid config, `failurePolicy: Fail`.
- `manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml`:
  MutatingWebhookConfiguration `istio-sidecar-injector`; istiod's cert patcher
  (`pkg/webhooks/webhookpatch.go`, patchMutatingWebhookConfig) writes `clientConfig.caBundle` of its
  webhooks.
The transform below gives exactly those fields of exactly those objects `ignoreChanges`.
Limit: under server-side apply, pulumi-kubernetes drops ignored fields owned by another manager from
its patch only for paths without lists (provider/pkg/await/await.go handleSSAIgnoreFields, "TODO:
Enhance support for ignoreField path to support nested arrays"), so an update of these objects (an
Istio chart upgrade) re-sends the old value; README "Shared clusters" says what to do.
"""

from dataclasses import dataclass
from typing import Optional

import pulumi

TYPE_PREFIX = "kubernetes:admissionregistration.k8s.io/v1:"
# kind -> (the objects the 1.28.1 charts render with the default revision, the fields istiod writes)
OWNED = {
    "ValidatingWebhookConfiguration": (
        ("istiod-default-validator", "istio-validator-istio-system"),
        ("webhooks[*].failurePolicy", "webhooks[*].clientConfig.caBundle"),
    ),
    "MutatingWebhookConfiguration": (("istio-sidecar-injector",), ("webhooks[*].clientConfig.caBundle",)),
}


@dataclass(frozen=True)
class IgnoreIstiodOwnedWebhookFields:
    """A `transforms` entry for the Istio charts: `ignoreChanges` on the webhook fields istiod owns.

    Matches by kind: it is attached to the `base` and `istiod` charts only, and every webhook
    configuration they render with our values (default revision) is one of OWNED's, which istiod's
    controllers select by their `istio.io/rev` label. Its attributes say what it does, for the plan
    (which probes each transform with a bare object per type, tools/mock_runtime.py) and the tests."""

    @property
    def ignore_changes(self) -> dict[str, tuple[str, ...]]:
        """kind -> ignored paths."""
        return {kind: paths for kind, (_, paths) in OWNED.items()}

    def paths_for(self, type_: str) -> Optional[tuple[str, ...]]:
        kind = type_.removeprefix(TYPE_PREFIX) if type_.startswith(TYPE_PREFIX) else None
        return OWNED[kind][1] if kind in OWNED else None

    def __call__(self, args: pulumi.ResourceTransformArgs) -> Optional[pulumi.ResourceTransformResult]:
        paths = self.paths_for(args.type_)
        if paths is None:
            return None
        added = [path for path in paths if path not in (args.opts.ignore_changes or [])]
        # merge() appends list options: the chart's own ignoreChanges are kept.
        return pulumi.ResourceTransformResult(
            props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(ignore_changes=added))
        )
