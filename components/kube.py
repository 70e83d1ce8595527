"""Small helpers for building Kubernetes objects as plain (camelCase) dicts."""

import hashlib
import json
from typing import Any, Optional, Sequence

import pulumi


def meta(
    name: str,
    namespace: Optional[str] = None,
    labels: Optional[dict[str, str]] = None,
    annotations: Optional[dict[str, str]] = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    if labels:
        out["labels"] = dict(labels)
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def child(
    parent: pulumi.Resource,
    depends_on: Optional[Sequence[pulumi.Resource]] = None,
    **options: Any,
) -> pulumi.ResourceOptions:
    """Options for a child: parented (so it inherits the provider), with explicit ordering."""
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on or []), **options)


def resources(cpu: str, memory: str, limit_memory: Optional[str] = None) -> dict:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": limit_memory or memory}}


def claim_spec(access_mode: str, size: str, storage_class: Optional[str]) -> dict:
    """A PersistentVolumeClaim spec; without a class, the cluster's default class provisions it."""
    spec: dict[str, Any] = {"accessModes": [access_mode], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return spec


def env_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in sorted(values.items())]


def role_ref(kind: str, name: str) -> dict[str, str]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}


def service_account(name: str, namespace: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


# Read at pulumi/pulumi-kubernetes@v4.32.0 (the newest tag mirrored; requirements pin 4.34.2) and main:
# - an awaited Job that ended failed (or never finished) is replaced on the next `pulumi up` instead
#   of awaited again: provider/pkg/metadata/annotations.go `AnnotationReplaceUnready`;
#   provider/pkg/provider/provider.go `Diff` reads the live Job and, when `checkjob.Ready` is false,
#   asks for a replacement; same name, so delete-first with the deletion awaited;
# - `skipAwait` on a Job also skips awaiting its deletion: provider/pkg/metadata/overrides.go
#   `DeletedCondition` -> `allowsSkipAwaitWithDelete` lists batch/v1 Job (issue #3154 calls it racy).
REPLACE_UNREADY = {"pulumi.com/replaceUnready": "true"}
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}


def named_by_spec(base: str, spec: dict) -> str:
    """`<base>-<digest of spec>`: for an object whose spec cannot change in place (a claim), so a
    change is a new object created beside the old one instead of a replacement under one name."""
    return f"{base}-{content_hash(json.dumps(spec, sort_keys=True))[:8]}"


def content_hash(*parts: str) -> str:
    """A short, stable digest of text a workload reads at start (names and pod-template annotations)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:10]
