"""Schema validation of every Kubernetes object, with the validator the tests use.

The validator parses ~3 MB of CRD YAML on construction (~0.3 s, most of a plan's own time). The
first plan checks the CRD directory with the real validator and leaves a JSON copy of every served
CRD schema under build/.cache; later plans build the validator from that copy (same schemas, same
validator code), keyed by the CRD files' names, sizes and mtimes and by the validator's source.
"""

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Iterable, Optional

from tools import k8s_schema as _k8s_schema
from tools.mock_runtime import ROOT, Registration
from tools.plan.errors import PlanInputError

NO_SCHEMA_ALLOWED = _k8s_schema.NO_PUBLISHED_SCHEMA
CACHE_ROOT = ROOT / "build" / ".cache" / "crd-json"
_COMPLETE = ".complete"


@dataclass(frozen=True)
class ObjectErrors:
    urn: str
    errors: list[str]  # each names kind/name and the field, e.g. "Deployment/x: spec.replicas: ..."


def check(registrations: Iterable[Registration], validator=None) -> tuple[int, list[ObjectErrors]]:
    """(objects checked, objects that failed with their errors)."""
    validator = validator or default_validator()
    objects = [r for r in registrations if r.is_kube_object]
    failed = [ObjectErrors(r.urn, errors) for r in objects if (errors := validator.errors(r.inputs))]
    return len(objects), failed


def k8s_schema() -> ModuleType:
    return _k8s_schema


def default_validator(crd_dir: Optional[os.PathLike] = None, crd_sets: tuple[str, ...] = (),
                      groups_removed: tuple[str, ...] = ()):
    """The validator for the CRD versions of a release (its profile's `crd_sets`, `crd_groups_removed`)."""
    module = k8s_schema()
    try:
        crd_dir = crd_dir or module.crd_dir_from_env()
        return _validator(str(Path(crd_dir).resolve()), tuple(crd_sets), tuple(groups_removed))
    except FileNotFoundError as error:
        raise PlanInputError(str(error)) from None


@lru_cache(maxsize=4)
def _validator(crd_dir: str, crd_sets: tuple[str, ...] = (), groups_removed: tuple[str, ...] = ()):
    module = k8s_schema()
    source = Path(crd_dir)
    mirror = CACHE_ROOT / _fingerprint(source, Path(module.__file__), crd_sets, groups_removed)
    if (mirror / _COMPLETE).is_file():
        return module.SchemaValidator(mirror, no_schema_allowed=NO_SCHEMA_ALLOWED, program_crds=True)
    validator = module.SchemaValidator(source, no_schema_allowed=NO_SCHEMA_ALLOWED, program_crds=True, crd_sets=crd_sets,
                                       groups_removed=groups_removed)  # all its checks
    _write_mirror(module, source, mirror, crd_sets, groups_removed)
    return validator


def _fingerprint(crd_dir: Path, validator_source: Path, crd_sets: tuple[str, ...] = (),
                 groups_removed: tuple[str, ...] = ()) -> str:
    digest = hashlib.sha256(validator_source.read_bytes())
    digest.update(json.dumps([crd_sets, groups_removed]).encode())
    for path in sorted(crd_dir.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(crd_dir)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def _write_mirror(module: ModuleType, source: Path, mirror: Path, crd_sets: tuple[str, ...] = (),
                  groups_removed: tuple[str, ...] = ()) -> None:
    """<group>/<kind>_<version>.json per served version: the layout the validator reads as JSON."""
    tmp = mirror.with_name(f".tmp-{os.getpid()}-{mirror.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        for api_version, kind, schema, _ in module._crd_schemas(source, crd_sets, groups_removed):
            group, version = api_version.rsplit("/", 1)
            properties = dict(schema.get("properties") or {})
            # Only for the validator to recover the CamelCase kind; it replaces `kind` at the root.
            properties["kind"] = {**properties.get("kind", {"type": "string"}), "enum": [kind]}
            path = tmp / group / f"{kind.lower()}_{version}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({**schema, "properties": properties}))
        (tmp / _COMPLETE).write_text("")
        os.replace(tmp, mirror)
    except OSError:
        pass  # another plan wrote it first, or build/ is read-only: the next plan parses YAML again
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
