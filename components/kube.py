"""Small helpers for building Kubernetes objects as plain (camelCase) dicts."""

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
