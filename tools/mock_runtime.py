"""Run the real Pulumi program offline under the Pulumi mock runtime and record what it registers.

Used by the tests and by the offline plan. No cloud, no Pulumi CLI: every resource the program
registers is recorded with its inputs (secrets unwrapped but remembered), parent, explicit
dependencies, provider and options.
"""

import base64
import json
import logging
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
import yaml
from pulumi.runtime import mocks, rpc
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "llmd"
SECRET_SIG = rpc._special_sig_key
SECRET_VALUE = rpc._special_secret_sig


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    secret_inputs: set[str]  # top-level input keys whose value is (or holds) a secret
    dependencies: list[str]
    provider: str
    custom_timeouts: dict[str, str]
    retain_on_delete: bool
    delete_before_replace: bool
    secret_paths: set[str] = field(default_factory=set)  # dotted paths of every secret value
    # The other options that change what the engine does (see tools/plan/steps.py).
    protect: bool = False
    delete_before_replace_defined: bool = False  # set explicitly: it then overrides the provider's choice
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    deleted_with: str = ""
    transforms: int = 0  # transform callbacks: on a Chart/ConfigFile they also rewrite its children
    # What those transforms set on a child of each probed type (e.g. ignoreChanges on a webhook config).
    transform_effects: dict[str, dict[str, Any]] = field(default_factory=dict)
    remote: bool = False  # a component the provider builds (helm.sh/v4 Chart, yaml/v2 ConfigFile)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)  # input key -> URNs it reads

    @property
    def is_kube_object(self) -> bool:
        """A plain Kubernetes object (not a provider, Helm chart or YAML bundle)."""
        return (
            self.custom
            and self.type.startswith("kubernetes:")
            and not self.type.startswith(("kubernetes:helm.sh/", "kubernetes:yaml/"))
            and "kind" in self.inputs
        )

    @property
    def kind(self) -> str:
        return self.inputs.get("kind", "")

    @property
    def object_name(self) -> str:
        return (self.inputs.get("metadata") or {}).get("name", "")


@dataclass
class ProgramRun:
    registrations: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: Optional[BaseException] = None  # set only when run with expect_error=True
    warnings: list[str] = field(default_factory=list)  # what `pulumi.log.warn` said (the CLI's warnings)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def kube(self, kind: Optional[str] = None, name: Optional[str] = None) -> list[Registration]:
        return [
            r
            for r in self.registrations
            if r.is_kube_object and kind in (None, r.kind) and name in (None, r.object_name)
        ]

    def one(self, kind: str, name: Optional[str] = None) -> Registration:
        found = self.kube(kind, name)
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {[r.object_name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def ancestors(self, registration: Registration) -> list[Registration]:
        chain, parent = [], registration.parent
        urns = {r.urn: r for r in self.registrations}
        while parent in urns:
            chain.append(urns[parent])
            parent = urns[parent].parent
        return chain


# Outputs the cloud computes on create that the program reads (the mock echoes inputs only):
# documentation-range endpoint, a placeholder CA, and the email GCP derives from an account id.
CLUSTER_ENDPOINT = "203.0.113.10"
CLUSTER_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----placeholder-----END CERTIFICATE-----").decode()


def computed_outputs(type_: str, inputs: dict[str, Any], unknown: Optional[str] = None) -> dict[str, Any]:
    """`unknown`, when given, stands for values that cannot be derived offline (the plan shows it)."""
    if type_ == "gcp:container/cluster:Cluster":
        return {"endpoint": unknown or CLUSTER_ENDPOINT, "masterAuth": {"clusterCaCertificate": unknown or CLUSTER_CA}}
    if type_ == "gcp:serviceaccount/account:Account":
        email = f"{inputs.get('accountId')}@{inputs.get('project')}.iam.gserviceaccount.com"
        # `name` is what IAM bindings on the account take as serviceAccountId.
        name = f"projects/{inputs.get('project')}/serviceAccounts/{email}"
        return {"email": email, "member": f"serviceAccount:{email}", "name": name}
    return {}


# The GKE versions a region offers, newest first (what the engine-versions lookup reads); tests may
# replace it. The newest of each minor is past every threshold in components/config/gke.py.
ENGINE_VERSIONS = [
    "1.35.0-gke.1795000",
    "1.34.1-gke.1829001",
    "1.34.0-gke.1626000",
    "1.33.5-gke.1080000",
    "1.32.9-gke.1108000",
    "1.31.13-gke.1023000",
]
RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE", "EXTENDED")


def engine_versions(args: dict[str, Any]) -> dict[str, Any]:
    """gcp:container/getEngineVersions: like the provider, string-prefix filtered, first match per channel."""
    matching = [v for v in ENGINE_VERSIONS if v.startswith(args.get("versionPrefix") or "")]
    newest = matching[0] if matching else ""
    return {
        "id": "engine-versions",
        "location": args.get("location"),
        "project": args.get("project"),
        "defaultClusterVersion": ENGINE_VERSIONS[0],
        "latestMasterVersion": newest,
        "latestNodeVersion": newest,
        "validMasterVersions": matching,
        "validNodeVersions": matching,
        "releaseChannelDefaultVersion": {c: ENGINE_VERSIONS[0] for c in RELEASE_CHANNELS},
        "releaseChannelLatestVersion": {c: newest for c in RELEASE_CHANNELS} if newest else {},
    }


CALLS = {"gcp:container/getEngineVersions:getEngineVersions": engine_versions}


class _Logs(logging.Handler):
    """The engine's log channel under mocks: warnings collected for the caller, nothing printed."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.warnings: list[str] = []
        self.logger = logging.Logger("llmd-mock-engine")  # not registered: one per run, no propagation
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.warnings.append(record.getMessage())


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, unknown: Optional[str] = None):
        self.unknown = unknown

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        return [f"{args.name}-id", {**computed_outputs(args.typ, args.inputs, self.unknown), **args.inputs}]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token in CALLS:
            return CALLS[args.token](plain(args.args))
        raise NotImplementedError(f"the program called {args.token}; add a fixture for it")


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, unknown: Optional[str] = None):
        super().__init__(_Mocks(unknown))
        self.recorded: list[Registration] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = _sync_await(_deserialize(request.object))
            timeouts = request.customTimeouts
            self.recorded.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=bool(request.custom),
                    inputs=plain(raw),
                    secret_inputs={path.split(".", 1)[0] for path in secret_paths(raw)},
                    secret_paths=secret_paths(raw),
                    dependencies=list(request.dependencies),
                    provider=request.provider,
                    custom_timeouts={
                        k: getattr(timeouts, k) for k in ("create", "update", "delete") if getattr(timeouts, k)
                    },
                    retain_on_delete=bool(request.retainOnDelete),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    **_engine_options(request),
                )
            )
        return response


def _engine_options(request) -> dict[str, Any]:
    aliases = [_alias(a) for a in request.aliases] + list(request.aliasURNs)
    return {
        "protect": bool(request.protect),
        "delete_before_replace_defined": bool(request.deleteBeforeReplaceDefined),
        "ignore_changes": list(request.ignoreChanges),
        "replace_on_changes": list(request.replaceOnChanges),
        "aliases": sorted(set(aliases)),
        "deleted_with": request.deletedWith,
        "transforms": len(request.transforms),
        "transform_effects": _transform_effects(request),
        "remote": bool(request.remote),
        "property_dependencies": {
            key: sorted(set(deps.urns)) for key, deps in request.propertyDependencies.items() if deps.urns
        },
    }


# Children a Helm chart or YAML bundle renders that a controller may also write: a transform on the
# component runs for each child at `up`; offline we run it once per type on a bare object of that type.
TRANSFORM_PROBES = tuple(f"kubernetes:{t}" for t in (
    "admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io/v1:MutatingWebhookConfiguration",
    "apiextensions.k8s.io/v1:CustomResourceDefinition", "apps/v1:Deployment", "apps/v1:DaemonSet",
    "apps/v1:StatefulSet", "core/v1:Service", "core/v1:ConfigMap", "core/v1:Secret", "core/v1:ServiceAccount",
    "rbac.authorization.k8s.io/v1:ClusterRole", "rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    "rbac.authorization.k8s.io/v1:Role", "rbac.authorization.k8s.io/v1:RoleBinding", "policy/v1:PodDisruptionBudget",
    "autoscaling/v2:HorizontalPodAutoscaler",
))


def _transform_effects(request) -> dict[str, dict[str, Any]]:
    """type -> the engine options the resource's transforms set on a child of that type."""
    if not request.transforms:
        return {}
    from google.protobuf import struct_pb2  # noqa: PLC0415
    from pulumi.runtime.proto import resource_pb2  # noqa: PLC0415

    # The SDK keeps each transform behind a callback token; this is the one private use (tests/
    # test_plan_options.py fails if the SDK changes it).
    server = pulumi.runtime.settings.SETTINGS.callbacks
    effects: dict[str, dict[str, Any]] = {}
    for type_ in TRANSFORM_PROBES:
        api_version, kind = type_.removeprefix("kubernetes:").replace("core/", "", 1).rsplit(":", 1)
        props = struct_pb2.Struct()
        props.update({"apiVersion": api_version, "kind": kind, "metadata": {"name": f"{request.name}-probe"}})
        for callback in request.transforms:
            probe = resource_pb2.TransformRequest(type=type_, name=f"{request.name}-probe", custom=True,
                                                  parent="", properties=props,
                                                  options=resource_pb2.TransformResourceOptions())
            response = _sync_await(server._callbacks[callback.token](probe.SerializeToString()))
            options = response.options
            found = {"ignoreChanges": list(options.ignore_changes), "replaceOnChanges": list(options.replace_on_changes),
                     "deleteBeforeReplace": options.delete_before_replace if options.HasField("delete_before_replace")
                     else None, "retainOnDelete": options.retain_on_delete if options.HasField("retain_on_delete")
                     else None, "protect": options.protect if options.HasField("protect") else None}
            for key, value in found.items():
                if value not in (None, []):
                    merged = effects.setdefault(type_, {})
                    merged[key] = sorted({*merged.get(key, []), *value}) if isinstance(value, list) else value
    return effects


def _alias(alias) -> str:
    """A URN, or the fields an alias spec sets (e.g. the SDK's old type tokens) as `type=...,name=...`."""
    if alias.urn:
        return alias.urn
    spec = alias.spec
    fields = {"name": spec.name, "type": spec.type, "stack": spec.stack, "project": spec.project,
              "parentUrn": spec.parentUrn, "noParent": "true" if spec.noParent else ""}
    return ",".join(f"{key}={value}" for key, value in fields.items() if value)


async def _deserialize(struct) -> dict:
    return rpc.deserialize_properties(struct, keep_unknowns=True, keep_internal=False) or {}


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE


def secret_paths(value: Any, prefix: str = "") -> set[str]:
    if _is_secret(value):
        return {prefix}
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((f"[{i}]", v) for i, v in enumerate(value))
    else:
        return set()
    found: set[str] = set()
    for key, item in items:
        path = f"{prefix}{key}" if not prefix or str(key).startswith("[") else f"{prefix}.{key}"
        found |= secret_paths(item, path)
    return found


def plain(value: Any) -> Any:
    """Secrets unwrapped; whole floats back to ints (the mock runtime sends numbers as floats)."""
    if _is_secret(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def stack_config(stack: str, overrides: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The stack file's `llmd:*` values (as YAML types), with top-level overrides applied."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    values = (yaml.safe_load(path.read_text()) or {}).get("config", {}) if path.exists() else {}
    # The program's own keys without their prefix; keys of other namespaces as written (the program
    # names its own keys misplaced there). Keys without any namespace: see `bare_keys`.
    config = {k.removeprefix(f"{PROJECT}:"): v for k, v in values.items() if ":" in k}
    for key, value in (overrides or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config


def bare_keys(stack: str) -> list[str]:
    """Keys of the stack file's `config:` without a `<namespace>:` (e.g. `decode:` for `llmd:decode:`)."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    values = (yaml.safe_load(path.read_text()) or {}).get("config", {}) if path.exists() else {}
    return sorted(str(k) for k in values if ":" not in str(k))


def run_program(
    stack: str,
    config: dict[str, Any],
    secrets: Optional[dict[str, str]] = None,
    preview: bool = False,
    expect_error: bool = False,
    unknown_outputs: Optional[str] = None,
) -> ProgramRun:
    """Run __main__.py with `config` (top-level keys without the project prefix) and `secrets`.

    An error in the program is raised, unless `expect_error`: then it is returned in `run.error`,
    with whatever was registered before it. `unknown_outputs` replaces the documentation values
    that stand for cloud-computed outputs (e.g. a cluster's endpoint) with a marker.
    """
    monitor = _RecordingMonitor(unknown_outputs)
    # A fresh root stack per run, so stack outputs of an earlier run in this process do not leak in.
    pulumi.runtime.settings.ROOT.set(None)
    logs = _Logs()
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor, logger=logs.logger)
    # A key with a namespace (`gcp:project`, a misplaced `lmd:decode`) is passed as written.
    flat = {k if ":" in k else f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    secret_keys = [k if ":" in k else f"{PROJECT}:{k}" for k in (secrets or {})]
    flat.update({k if ":" in k else f"{PROJECT}:{k}": v for k, v in (secrets or {}).items()})
    pulumi.runtime.set_all_config(flat, secret_keys)
    run = ProgramRun(warnings=logs.warnings)

    @pulumi.runtime.test
    def program():
        cwd = os.getcwd()
        os.chdir(ROOT)
        try:
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        finally:
            os.chdir(cwd)
        stack_outputs = pulumi.runtime.settings.get_root_resource().outputs
        return pulumi.Output.all(**stack_outputs).apply(run.outputs.update) if stack_outputs else None

    try:
        program()
    except Exception as error:  # noqa: BLE001 - handed back to the caller who asked for it
        if not expect_error:
            raise
        run.error = error
    run.registrations = monitor.recorded
    return run
