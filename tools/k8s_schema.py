"""Offline, strict schema validation of Kubernetes objects (plain dicts, as sent to the API server).

Strict as in `kubectl apply --validate=strict`: an unknown field is an error.

* Built-in kinds: the strict JSON schemas shipped with `kubernetes_validate` (`v<version>-local-strict`),
  compiled the way `kubernetes_validate.validate(obj, version, strict=True)` does, but cached (that
  function re-reads a 1.4 MB file per call) and reporting every error rather than the first.
* Custom resources: the `openAPIV3Schema` of each served CRD version under the CRD directory (skipping
  `_*` directories), made strict: `additionalProperties: false` unless `x-kubernetes-preserve-unknown-fields`;
  `nullable`, `x-kubernetes-int-or-string`, `x-kubernetes-embedded-resource` and list types `set`/`map`
  are honoured. null is rejected unless `nullable` (the API server would silently drop it).
* Not checked: CEL rules (`x-kubernetes-validations`), `format`, defaulting, OpenAPI 3.0's boolean
  `exclusiveMinimum` (no CRD here uses it). Top-level `metadata` is checked by hand.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
from typing import Any, Iterator

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.utils import all_versions
from packaging.version import Version
from referencing import Registry, Resource

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Kinds whose project publishes no CRD schema to validate against; only their metadata is checked.
# (kgateway's GatewayParameters has one now: the `kgateway-v2.1.1` set, picked by the gateway provider.)
NO_PUBLISHED_SCHEMA: frozenset[tuple[str, str]] = frozenset()
_BUILTIN_SCHEMAS = pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


def crd_dir_from_env() -> pathlib.Path:
    """$LLMD_CRD_DIR if set, else <repo>/../shared/crds (the repo root is the parent of tools/)."""
    env = os.environ.get("LLMD_CRD_DIR")
    path = pathlib.Path(env) if env else pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "crds"
    if not path.is_dir():
        raise FileNotFoundError(f"CRD schema directory {path} does not exist; set LLMD_CRD_DIR to the "
                                "directory holding the CRD files (e.g. `export LLMD_CRD_DIR=/work/shared/crds`)")
    return path


def _list_map_keys(validator, keys, instance, schema):
    seen = set()
    for i, item in enumerate(instance if isinstance(instance, list) else []):
        key = json.dumps([item.get(k) for k in keys], sort_keys=True) if isinstance(item, dict) else i
        if key in seen:
            yield jsonschema.ValidationError(f"duplicate entry for map keys {keys}: {key}", path=[i])
        seen.add(key)


_CRValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"x-kubernetes-list-map-keys": _list_map_keys})


def _strict(node: dict) -> dict:
    """Return a JSON-schema copy of an OpenAPI v3 structural schema node (see module docstring)."""
    node = dict(node)
    for key in ("properties", "patternProperties"):
        if key in node:
            node[key] = {name: _strict(sub) for name, sub in node[key].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            node[key] = _strict(node[key])
    if node.get("x-kubernetes-embedded-resource") and "properties" in node:
        node["properties"] = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                              "metadata": {"type": "object"}, **node["properties"]}
    if "properties" in node and "additionalProperties" not in node \
            and node.get("x-kubernetes-preserve-unknown-fields") is not True:
        node["additionalProperties"] = False
    if node.get("x-kubernetes-int-or-string"):
        node.setdefault("type", ["integer", "string"])
        if node.get("anyOf") == [{"type": "integer"}, {"type": "string"}]:
            del node["anyOf"]  # same check as `type`; keeping both reports every error twice
    if node.get("x-kubernetes-list-type") == "set":
        node["uniqueItems"] = True
    if node.get("nullable"):
        if "type" in node:
            types = node["type"] if isinstance(node["type"], list) else [node["type"]]
            node["type"] = [*types, "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
    return node


def _root_schema(schema: dict) -> dict:
    strict = _strict(schema)
    # The API server always accepts these at the root (Istio's CRDs do not declare them), and
    # validates metadata as ObjectMeta itself: keep the CRD's own metadata node, unstrictified.
    strict["properties"] = {**strict.get("properties", {}), "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": schema.get("properties", {}).get("metadata", {"type": "object"})}
    strict.setdefault("additionalProperties", False)
    return strict


def _json_schema_kind(schema: dict, stem: str, path: pathlib.Path) -> str:
    # The file name is lower case; recover the CamelCase kind from the description's own spelling.
    words = [w for w in re.findall(r"\w+", schema.get("description", "")) if w.lower() == stem.lower()]
    if found := schema.get("properties", {}).get("kind", {}).get("enum") or words:
        return found[0]
    raise ValueError(f"{path}: cannot infer the kind (no properties.kind.enum, and '{stem}' not in description)")


_SCHEMA_SUFFIXES = (".yaml", ".yml", ".json")


def _group_dirs(crd_dir: pathlib.Path, alt_set: str) -> list[pathlib.Path]:
    """The API-group folders of `_alt/<alt_set>`: its subfolders, or itself when it names one group."""
    base = crd_dir / "_alt" / alt_set
    if not base.is_dir():
        raise FileNotFoundError(f"CRD set {alt_set!r} not found: no folder {base}")
    if any(p.is_file() and p.suffix in _SCHEMA_SUFFIXES for p in base.iterdir()):
        return [base]
    return sorted(p for p in base.iterdir() if p.is_dir())


def schema_files(crd_dir: pathlib.Path, crd_sets: tuple[str, ...] = (),
                 groups_removed: tuple[str, ...] = ()) -> list[pathlib.Path]:
    """The default set (every file outside `_*` folders), with each API group that an `_alt/` set in
    `crd_sets` provides taken from that set instead, and the groups in `groups_removed` left out."""
    overrides = [d for alt_set in crd_sets for d in _group_dirs(crd_dir, alt_set)]
    replaced = {d.name for d in overrides} | set(groups_removed)
    files = [path for path in crd_dir.rglob("*")
             if path.is_file() and path.suffix in _SCHEMA_SUFFIXES
             and not any(part.startswith("_") for part in path.relative_to(crd_dir).parts[:-1])
             and path.relative_to(crd_dir).parts[0] not in replaced]
    files += [path for d in overrides for path in d.rglob("*") if path.is_file() and path.suffix in _SCHEMA_SUFFIXES]
    return sorted(files)


# CRDs the program needs that the shared set lacks, kept with the code (Istio's AuthorizationPolicy).
REPO_CRD_DIR = pathlib.Path(__file__).resolve().parent / "crds"


def _all_crd_schemas(crd_dir: pathlib.Path, crd_sets: tuple[str, ...] = (),
                     groups_removed: tuple[str, ...] = ()) -> Iterator[tuple[str, str, dict, pathlib.Path]]:
    shared = list(_crd_schemas(crd_dir, crd_sets, groups_removed))
    known = {(api_version, kind) for api_version, kind, _, _ in shared}
    yield from shared
    if REPO_CRD_DIR.is_dir() and REPO_CRD_DIR.resolve() != crd_dir.resolve():
        yield from (entry for entry in _crd_schemas(REPO_CRD_DIR) if entry[:2] not in known)


def _crd_schemas(crd_dir: pathlib.Path, crd_sets: tuple[str, ...] = (),
                 groups_removed: tuple[str, ...] = ()) -> Iterator[tuple[str, str, dict, pathlib.Path]]:
    """Yield (apiVersion, kind, openAPIV3Schema, file) for every served version of every CRD."""
    for path in schema_files(crd_dir, crd_sets, groups_removed):
        if path.suffix == ".json":  # one already-converted version: <group>/<kind>_<version>.json
            schema = json.loads(path.read_text())
            stem, _, version = path.stem.rpartition("_")
            yield f"{path.parent.name}/{version}", _json_schema_kind(schema, stem, path), schema, path
            continue
        for doc in yaml.load_all(path.read_text(), Loader=_YAML_LOADER):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                spec = doc["spec"]
                for v in spec["versions"]:
                    if v.get("served"):
                        yield (f"{spec['group']}/{v['name']}", spec["names"]["kind"],
                               v["schema"]["openAPIV3Schema"], path)


_LABEL_NAME = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_LABEL_CHARS = "alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Custom resources and most built-ins need DNS-1123 subdomain names; these built-ins differ.
_SUBDOMAIN_RULE = (_DNS_SUBDOMAIN, 253, "a DNS-1123 subdomain (<= 253 chars)")
_NAME_RULES = {"Service": (re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?"), 63, "a DNS-1035 label (<= 63 chars)"),
               "Namespace": (_DNS_LABEL, 63, "a DNS-1123 label (<= 63 chars)"),
               **dict.fromkeys(("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"),
                               (re.compile(r"(?!\.\.?$)[^/]+"), 1 << 20, "a path segment (no '/', not . or ..)"))}
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_STR = {"type": "string"}
_CR_METADATA = jsonschema.Draft202012Validator({
    "type": "object", "additionalProperties": False, "properties": {
        "name": _STR, "namespace": _STR, "generateName": _STR, "labels": _STR_MAP, "annotations": _STR_MAP,
        "finalizers": {"type": "array", "items": _STR},
        "ownerReferences": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "name", "uid"],
            "properties": {"apiVersion": _STR, "kind": _STR, "name": _STR, "uid": _STR,
                           "controller": {"type": "boolean"}, "blockOwnerDeletion": {"type": "boolean"}}}}}})


def _qualified_name_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and not (len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        return "prefix must be a DNS-1123 subdomain of at most 253 characters"
    if not (0 < len(name) <= 63 and _LABEL_NAME.fullmatch(name)):
        return f"name part must be 1-63 {_LABEL_CHARS}"
    return None


def _name_problem(kind: str, name: str, builtin: bool) -> str | None:
    regex, limit, rule = _NAME_RULES.get(kind, _SUBDOMAIN_RULE) if builtin else _SUBDOMAIN_RULE
    return None if len(name) <= limit and regex.fullmatch(name) else f"{name!r} is not {rule}"


def _label_errors(meta: dict, where: tuple) -> Iterator[tuple[tuple, str]]:
    for field in ("labels", "annotations"):
        entries = meta.get(field)
        for key, value in (entries.items() if isinstance(entries, dict) else ()):
            if problem := _qualified_name_problem(key):
                yield (*where, field, key), f"invalid key: {problem}"
            if field == "labels" and isinstance(value, str) \
                    and not (len(value) <= 63 and _LABEL_NAME.fullmatch(value)):
                yield (*where, field, key), f"invalid label value {value!r}: at most 63 {_LABEL_CHARS}"


def _metadata_errors(obj: dict, builtin: bool) -> Iterator[tuple[tuple, str]]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        yield ("metadata",), "required object"
        return
    if not builtin:  # built-in schemas already check ObjectMeta's keys and types
        yield from _schema_errors(_CR_METADATA, meta, ("metadata",))
    name = meta.get("name")
    if isinstance(name, str) and (problem := _name_problem(obj["kind"], name, builtin)):
        yield ("metadata", "name"), problem
    elif name is None and not meta.get("generateName"):
        yield ("metadata", "name"), "required (or generateName)"
    namespace = meta.get("namespace")
    if isinstance(namespace, str) and not (len(namespace) <= 63 and _DNS_LABEL.fullmatch(namespace)):
        yield ("metadata", "namespace"), f"{namespace!r} is not a DNS-1123 label (<= 63 chars)"
    yield from _label_errors(meta, ("metadata",))
    template = obj["spec"].get("template") if isinstance(obj.get("spec"), dict) else None
    if isinstance(template, dict) and isinstance(template.get("metadata"), dict):
        yield from _label_errors(template["metadata"], ("spec", "template", "metadata"))


def _schema_errors(validator, instance: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, str]]:
    for e in validator.iter_errors(instance):
        path = (*prefix, *e.absolute_path)
        if e.validator == "additionalProperties" and e.validator_value is False and isinstance(e.instance, dict):
            known, patterns = e.schema.get("properties", {}), e.schema.get("patternProperties", {})
            for key in e.instance:
                if key not in known and not any(re.search(p, key) for p in patterns):
                    yield (*path, key), "unknown field"
        else:
            message = e.message if len(e.message) <= 200 else e.message[:197] + "..."
            yield path, message


def _format_path(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" if re.fullmatch(r"[A-Za-z_$][\w$-]*", p)
                   else f"[{json.dumps(p)}]" for p in path).removeprefix(".")


def _api_version(gvk: dict) -> str:
    return f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]


class SchemaValidator:
    def __init__(self, crd_dir: str | os.PathLike, kubernetes_version: str = "1.33.0",
                 no_schema_allowed: set[tuple[str, str]] | frozenset = frozenset(), program_crds: bool = False,
                 crd_sets: tuple[str, ...] = (), groups_removed: tuple[str, ...] = ()):
        """`program_crds`: also the CRDs kept with the program (REPO_CRD_DIR) for kinds `crd_dir` lacks.
        `crd_sets` / `groups_removed`: the CRD versions of a release (`schema_files`); the release
        profile's `crd_sets` and `crd_groups_removed` (components/releases/)."""
        self.no_schema_allowed = set(no_schema_allowed)
        self.kubernetes_version = self._schema_version(kubernetes_version)
        self._builtin_dir = _BUILTIN_SCHEMAS / f"v{self.kubernetes_version}-local-strict"
        definitions = json.loads((self._builtin_dir / "_definitions.json").read_text())
        self._registry = Resource.from_contents(definitions) @ Registry()
        self._builtin: dict[tuple[str, str], Any] = {}  # (apiVersion, kind) -> validator or None
        self._crd: dict[tuple[str, str], Any] = {}
        self._served: dict[str, list[str]] = {}  # kind -> apiVersions served by CRDs
        origin: dict[tuple[str, str], pathlib.Path] = {}
        sets = (pathlib.Path(crd_dir), tuple(crd_sets), tuple(groups_removed))
        schemas = _all_crd_schemas(*sets) if program_crds else _crd_schemas(*sets)
        for api_version, kind, schema, path in schemas:
            if (api_version, kind) in origin:
                raise ValueError(f"{api_version}/{kind} is defined twice: {origin[api_version, kind]} and {path}")
            origin[api_version, kind] = path
            self._crd[api_version, kind] = _CRValidator(_root_schema(schema))
            self._served.setdefault(kind, []).append(api_version)

    @staticmethod
    def _schema_version(requested: str) -> str:
        """Newest bundled schema version not newer than `requested` (same rule as kubernetes_validate)."""
        want = Version(requested.lstrip("v")).release[:2]
        versions = all_versions()
        candidates = [v for v in versions if Version(v).release[:2] <= want]
        if not candidates or want > Version(versions[-1]).release[:2]:
            raise ValueError(f"kubernetes_validate {kubernetes_validate.__version__} has no schemas for "
                             f"Kubernetes {requested}; it ships {', '.join(versions)}")
        return candidates[-1]

    def kinds_with_schema(self) -> set[tuple[str, str]]:
        """(apiVersion, kind) pairs known from CRDs."""
        return set(self._crd)

    def _builtin_validator(self, api_version: str, kind: str):
        key = (api_version, kind)
        if key not in self._builtin:
            # kubernetes_validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1
            group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            path = self._builtin_dir / f"{kind.lower()}-{group_version}.json"
            schema = json.loads(path.read_text()) if path.is_file() else {}
            gvks = schema.get("x-kubernetes-group-version-kind", [])
            ok = any(_api_version(g) == api_version and g["kind"] == kind for g in gvks)
            self._builtin[key] = jsonschema.Draft202012Validator(schema, registry=self._registry) if ok else None
        return self._builtin[key]

    def _builtin_api_versions(self, kind: str) -> list[str]:
        found = []
        for path in self._builtin_dir.glob(f"{kind.lower()}-*.json"):
            gvks = json.loads(path.read_text()).get("x-kubernetes-group-version-kind", [])
            found += [_api_version(g) for g in gvks if g["kind"] == kind]
        return sorted(found)

    def errors(self, obj: dict) -> list[str]:
        """Empty list when valid. Each error names kind/name and the JSON path of the bad field, e.g.
        'Deployment/ms-pd-decode: spec.template.spec.containers[0].foo: unknown field'."""
        api_version, kind, meta = obj.get("apiVersion"), obj.get("kind"), obj.get("metadata")
        name = (meta.get("name") or meta.get("generateName")) if isinstance(meta, dict) else None
        label = f"{kind}/{name or '<unnamed>'}"
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return [f"{label}: apiVersion and kind must both be strings"]
        key = (api_version, kind)
        if key in self._crd:
            problems = [*_schema_errors(self._crd[key], obj), *_metadata_errors(obj, builtin=False)]
        elif key in self.no_schema_allowed:
            problems = list(_metadata_errors(obj, builtin=False))
        elif validator := self._builtin_validator(api_version, kind):
            problems = [*_schema_errors(validator, obj), *_metadata_errors(obj, builtin=True)]
        elif served := self._served.get(kind, []) + self._builtin_api_versions(kind):
            problems = [((), f"apiVersion {api_version} is not served for {kind}; served: {', '.join(served)}")]
        else:
            problems = [((), f"no schema for {api_version}/{kind}")]
        return [f"{label}: {_format_path(path)}: {msg}" if path else f"{label}: {msg}" for path, msg in problems]
