"""The step the real engine takes for each Kubernetes object between two runs of the program.

Offline, from what each run registered: the rules are pulumi-kubernetes' own (read at
pulumi/pulumi-kubernetes@v4.32.0 and main, the newest mirrored; requirements pin 4.34.2, not mirrored):
- provider/pkg/provider/diff.go `forceNewProperties`: the fields whose change replaces an object
  (metadata name and namespace; Job `spec.template`; PVC class, access modes, selector, volume;
  ConfigMap/Secret data unless `enableConfigMapMutable`/`enableSecretMutable`; selectors; roleRef);
- provider/pkg/provider/provider.go `Diff`: a replaced object that keeps its name and namespace is
  replaced delete-first whatever the program says; otherwise the `deleteBeforeReplace` option decides,
  and the engine's default is create-first, the old object deleted at the end of the update.
`replaceUnready` depends on the live Job and cannot be decided offline.
"""

from typing import Any, Optional

from tools.mock_runtime import ProgramRun, Registration

FORCE_NEW: dict[str, list[tuple[str, ...]]] = {
    "Job": [("spec", "completions"), ("spec", "parallelism"), ("spec", "selector"), ("spec", "template")],
    "PersistentVolumeClaim": [
        ("spec", "accessModes"),
        ("spec", "selector"),
        ("spec", "storageClassName"),
        ("spec", "volumeName"),
    ],
    "ConfigMap": [("data",), ("binaryData",)],
    "Secret": [("type",), ("stringData",), ("data",)],
    "Deployment": [("spec", "selector")],
    "DaemonSet": [("spec", "selector")],
    "StatefulSet": [("spec", "selector")],
    "RoleBinding": [("roleRef",)],
    "ClusterRoleBinding": [("roleRef",)],
}

CREATE, DELETE, SAME, UPDATE = "create", "delete", "same", "update"
REPLACE_CREATE_FIRST, REPLACE_DELETE_FIRST = "replace (create first)", "replace (delete first)"


def _get(obj: dict, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _metadata(r: Registration) -> dict:
    return r.inputs.get("metadata") or {}


def step(before: Optional[Registration], after: Optional[Registration]) -> str:
    if before is None:
        return CREATE
    if after is None:
        return DELETE
    if before.inputs == after.inputs:
        return SAME
    old, new = _metadata(before), _metadata(after)
    renamed = (old.get("name"), old.get("namespace")) != (new.get("name"), new.get("namespace"))
    forced = renamed or any(_get(before.inputs, p) != _get(after.inputs, p) for p in FORCE_NEW.get(after.kind, []))
    if not forced:
        return UPDATE
    return REPLACE_DELETE_FIRST if after.delete_before_replace or not renamed else REPLACE_CREATE_FIRST


def steps(before: ProgramRun, after: ProgramRun) -> dict[str, str]:
    """URN -> step, for every Kubernetes object either run registered."""
    old = {r.urn: r for r in before.registrations if r.is_kube_object}
    new = {r.urn: r for r in after.registrations if r.is_kube_object}
    return {urn: step(old.get(urn), new.get(urn)) for urn in sorted(old.keys() | new.keys())}


def by_name(run: ProgramRun, pulumi_name: str, kind: Optional[str] = None) -> Registration:
    (found,) = [r for r in run.registrations if r.is_kube_object and r.name == pulumi_name and kind in (None, r.kind)]
    return found
