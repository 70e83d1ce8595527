"""The Gateway API and Inference Extension CRDs, from vendored upstream files, in one of three modes.

`gateway.crds` (components/config/model.py):
- install (default): typed CustomResourceDefinitions. Creating one that already exists fails with
  AlreadyExists (pulumi-kubernetes >= 4.29 no longer upserts, CHANGELOG 4.29.0), so another team's
  CRDs are never overwritten silently;
- adopt: CustomResourceDefinitionPatch resources with `pulumi.com/patchForce`: server-side apply
  takes over the fields of CRDs that exist (or creates them);
- skip: nothing; the cluster must already serve the kinds.
Every mode keeps the CRDs on `pulumi destroy` (retainOnDelete): deleting a CRD deletes every object of
its kind in the cluster, other teams' too.

Typed resources preview without a live cluster and without the network, unlike the
`yaml/v2.ConfigFile`s they replace: a multi-language component cannot be constructed on a provider
whose configuration is unknown during preview (pulumi/pulumi#16331, and for helm.v4.Chart the open
pulumi/pulumi-kubernetes#3027), which is the case on GKE before the cluster exists.
"""

import functools
import pathlib
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.config.model import StackConfig
from components.config.problems import Problem
from components.kube import child
from components.versions import Versions

VENDORED = pathlib.Path(__file__).resolve().parent / "crds"
CrdMode = Literal["install", "adopt", "skip"]
# Bundle name -> the name of the yaml/v2 ConfigFile that installed it before (its children's URNs are aliased).
BUNDLES = {"gateway-api": "gateway-api-crds", "gaie": "inference-extension-crds"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=None)
def vendored_versions(bundle: str) -> list[str]:
    return sorted(p.name.removeprefix(f"{bundle}-") for p in VENDORED.glob(f"{bundle}-*") if p.is_dir())


@functools.lru_cache(maxsize=None)
def definitions(bundle: str, version: str) -> tuple[dict, ...]:
    """The bundle's CRDs as upstream publishes them, without `status` (the API server's to write)."""
    folder = VENDORED / f"{bundle}-{version}"
    if not folder.is_dir():
        raise ValueError(f"no vendored {bundle} CRDs {version}; vendored: {', '.join(vendored_versions(bundle))}")
    docs = [d for f in sorted(folder.glob("*.yaml")) for d in yaml.load_all(f.read_text(), Loader=_LOADER)]
    return tuple({k: v for k, v in d.items() if k != "status"} for d in docs if d and d.get("kind") == "CustomResourceDefinition")


def bundles(config: StackConfig) -> list[tuple[str, str, str]]:
    """(bundle, version, the versions key that pins it) the stack installs; none where the platform
    manages them all (GKE >= 1.34.0-gke.1626000)."""
    if config.gateway.crds == "skip" or getattr(config.platform, "manages_gateway_crds", False):
        return []
    return chosen(getattr(config.platform, "manages_gateway_api_crds", False), config.versions)


def chosen(platform_has_gateway_api: bool, versions: Versions) -> list[tuple[str, str, str]]:
    """The bundles the stack installs: the Inference Extension's, and the Gateway API's unless the
    platform installs those (the GKE Gateway API channel, whichever gateway provider)."""
    out = [("gaie", versions.inference_extension_crds, "versions.inferenceExtensionCrds")]
    if not platform_has_gateway_api:
        out.insert(0, ("gateway-api", versions.gateway_api_crds, "versions.gatewayApiCrds"))
    return out


def config_problems(config: StackConfig) -> list[Problem]:
    """Every bundle the stack installs must be vendored (a preview then needs no network)."""
    return [
        Problem(
            key,
            f"is {version}; the program installs CRDs from vendored upstream files and has {bundle} "
            f"{', '.join(vendored_versions(bundle))} (components/gateway/crds/). Use one of those, vendor "
            f"{version} there, or set gateway.crds: skip if the cluster already serves these kinds.",
        )
        for bundle, version, key in bundles(config)
        if version not in vendored_versions(bundle)
    ]


def install(parent: pulumi.Resource, name: str, bundle: str, version: str, mode: CrdMode) -> list[pulumi.Resource]:
    """One resource per CRD of the bundle, named and aliased as the ConfigFile's children were."""
    if mode == "skip":
        return []
    prefix = f"{name}-{BUNDLES[bundle]}"
    old_parent = pulumi.create_urn(prefix, "kubernetes:yaml/v2:ConfigFile", parent=parent)
    out: list[pulumi.Resource] = []
    for crd in definitions(bundle, version):
        metadata = dict(crd["metadata"])
        resource = k8s.apiextensions.v1.CustomResourceDefinition
        if mode == "adopt":
            resource = k8s.apiextensions.v1.CustomResourceDefinitionPatch
            metadata["annotations"] = {**metadata.get("annotations", {}), "pulumi.com/patchForce": "true"}
        out.append(
            resource(
                f"{prefix}:{metadata['name']}",
                metadata=metadata,
                spec=crd["spec"],
                opts=child(
                    parent,
                    retain_on_delete=True,
                    aliases=[pulumi.Alias(parent=old_parent, type_="kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")],
                ),
            )
        )
    return out
