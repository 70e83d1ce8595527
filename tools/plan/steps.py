"""The step `pulumi up` takes for each resource between two plans, and why (rules: engine_rules.py).

One entry per URN in either plan: same, update, replace-create-first, replace-delete-first, create or
delete, with the reasons (each naming its rule's source) and the changed input paths. Steps are decided
as the engine does: ignoreChanges first, then the provider's forceNew inputs and replaceOnChanges, an
input read from a replaced resource's computed outputs counting as changed (unknown at preview), a
replaced provider replacing its resources, and the deleteBeforeReplace option overriding the provider.
"""

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

import yaml

from tools.mock_runtime import computed_outputs
from tools.plan import engine_rules as rules
from tools.plan.diff import ABSENT, Change, fields
from tools.plan.records import COMPUTED

STEPS = ("same", "update", "replace-create-first", "replace-delete-first", "create", "delete")
REPLACE = ("replace-create-first", "replace-delete-first")
UNKNOWN = "[unknown at preview]"  # the new value of an input read from a replaced resource's outputs
GPU_SUFFIX = "/gpu"


@dataclass
class Step:
    urn: str
    type: str
    step: str
    reasons: list[dict[str, str]] = field(default_factory=list)  # {"reason": ..., "source": ...}
    paths: list[str] = field(default_factory=list)
    label: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "step": self.step, "reasons": self.reasons, "paths": self.paths}

    def because(self, reason: str, source: str) -> None:
        item = {"reason": reason, "source": source}
        if item not in self.reasons:
            self.reasons.append(item)


def plan_steps(base: list[dict], new: list[dict]) -> list[Step]:
    """Every resource's step, by URN."""
    return _Planner(base, new).run()


class _Planner:
    def __init__(self, base: list[dict], new: list[dict]):
        self.old = {r["urn"]: r for r in base}
        self.new = {r["urn"]: r for r in new}
        self.steps: dict[str, Step] = {}
        self.visiting: set[str] = set()
        self._pending: dict[str, list[tuple[str, str]]] = {}  # reasons found while looking at dependents
        # old URN -> new URN, for an alias naming a URN of the base plan: the same resource, moved
        self.aliases = {a: r["urn"] for r in new for a in (r.get("options") or {}).get("aliases", []) if a in self.old}

    def run(self) -> list[Step]:
        for urn in sorted(self.new.keys() | self.old.keys()):
            self.step(urn)
        return [self.steps[urn] for urn in sorted(self.steps)]

    def step(self, urn: str) -> Step:
        if urn in self.steps:
            return self.steps[urn]
        if urn in self.visiting:  # a cycle cannot be registered; be safe anyway
            return Step(urn, "", "same")
        self.visiting.add(urn)
        cur = self.new.get(urn)
        old = self.old.get(urn)
        if old is None and cur is not None:
            source = next((a for a, target in self.aliases.items() if target == urn), None)
            old = self.old.get(source) if source else None
        if cur is None:
            result = self._deleted(old) if urn not in self.aliases else None
        elif old is None:
            result = self._created(cur)
        else:
            result = self._existing(old, cur)
        self.visiting.discard(urn)
        if result is not None:
            self.steps[urn] = result
        return result or Step(urn, "", "same")

    # --- create and delete ----------------------------------------------------------------------

    def _created(self, cur: dict) -> Step:
        step = Step(cur["urn"], cur["type"], "create", label=_label(cur))
        step.because("a URN not in the base plan (a new resource name, type or parent)", rules.engine("urn"))
        _transform_notes(step, cur)
        twin = self._twin(cur)
        if twin is not None:
            step.because(f"the deleted {_label(twin)} has the same name: the engine creates before it deletes, so "
                         "this create fails with 'already exists'; give the resource an alias to the old URN",
                         rules.KUBE_ALREADY_EXISTS_SOURCE if _is_kube(cur) else rules.GCP_AUTONAMED_SOURCE)
        return step

    def _deleted(self, old: dict) -> Step:
        step = Step(old["urn"], old["type"], "delete", label=_label(old))
        step.because("a URN not in the new plan", rules.engine("urn"))
        options = old.get("options") or {}
        if options.get("retainOnDelete"):
            step.because("retainOnDelete: only forgotten, it keeps running in the cloud", rules.engine("retainOnDelete"))
        if options.get("protect"):
            step.because("protect: the delete fails until the resource is unprotected", rules.engine("protect"))
        _delete_guard(step, old)
        return step

    def _twin(self, cur: dict) -> Optional[dict]:
        """A deleted resource whose cloud identity (kind, namespace, name) this new one takes."""
        identity = _identity(cur)
        if identity is None:
            return None
        return next((o for urn, o in self.old.items() if urn not in self.new and _identity(o) == identity), None)

    # --- same, update, replace ------------------------------------------------------------------

    def _existing(self, old: dict, cur: dict) -> Step:
        step = Step(cur["urn"], cur["type"], "same", label=_label(cur))
        changes = fields(old.get("inputs", {}), cur.get("inputs", {}))
        unknown = self._unknowns(cur)
        changes = [c for c in changes if c.path not in {u.path for u in unknown}] + unknown
        options = cur.get("options") or {}
        changes = self._ignore(changes, options.get("ignoreChanges") or [], step)
        step.paths = sorted({c.path for c in changes})
        custom = cur.get("custom", True)
        if cur["type"].startswith("pulumi:providers:"):
            return self._provider(step, changes)
        if not custom:
            if changes and options.get("remote"):
                step.step = "update"
                step.because("its provider renders the children again at preview and diffs them one by one "
                             "(not expanded offline); the component itself only records the new inputs",
                             rules.KUBE_COMPONENTS)
                _transform_notes(step, cur)
            return step
        provider_replaced = self._provider_replaced(old, cur)
        if provider_replaced:
            step.because(f"its provider {provider_replaced} is replaced", rules.engine("provider"))
        forced = self._forced(old, cur, changes, step)
        if provider_replaced or forced:
            return self._replace(step, old, cur, by_provider=bool(provider_replaced) and not forced)
        if changes:
            step.step = "update"
            self._annotation_notes(step, changes)
        elif _options_changed(old, cur):
            step.because("only options changed: recorded in the state, no provider call", rules.engine("options"))
        self._replace_unready_note(step, cur)
        return step

    def _ignore(self, changes: list[Change], ignored: list[str], step: Step) -> list[Change]:
        if not ignored:
            return changes
        patterns = [_tokens(p) for p in ignored]
        kept = [c for c in changes if not any(_under(_tokens(c.path), p) for p in patterns)]
        dropped = sorted({c.path for c in changes} - {c.path for c in kept})
        if dropped:
            step.because(f"ignoreChanges {ignored}: kept the old values of {', '.join(dropped)}",
                         rules.engine("ignoreChanges"))
        return kept

    def _unknowns(self, cur: dict) -> list[Change]:
        """Inputs read from the computed outputs of a dependency being created or replaced."""
        found: list[Change] = []
        for key, deps in (cur.get("propertyDependencies") or {}).items():
            for dep_urn in deps:
                dep = self.new.get(dep_urn)
                if dep is None or _is_kube(dep) or dep["type"].startswith("pulumi:providers:"):
                    continue  # a Kubernetes object's outputs are known at preview (the provider dry-runs it)
                if self.step(dep_urn).step not in (*REPLACE, "create"):
                    continue
                markers = _output_markers(dep)
                for path, value in _leaves(cur["inputs"].get(key), key):
                    if isinstance(value, str) and any(m in value for m in markers):
                        if not any(c.path == path for c in found):
                            found.append(Change(path, value, UNKNOWN))
                        self._dep_reason(cur, path, dep)
        return found

    def _dep_reason(self, cur: dict, path: str, dep: dict) -> None:
        self._pending.setdefault(cur["urn"], []).append(
            (f"{path} reads an output of {_label(dep)}, which is {self.step(dep['urn']).step}: unknown at preview",
             rules.engine("unknown")))

    def _provider_replaced(self, old: dict, cur: dict) -> Optional[str]:
        old_ref, new_ref = old.get("provider") or "", cur.get("provider") or ""
        new_urn = new_ref.rsplit("::", 1)[0] if new_ref else ""
        if old_ref and new_ref and old_ref.rsplit("::", 1)[0] != new_urn:
            return _label(self.new.get(new_urn) or {"urn": new_urn, "type": "", "name": new_urn})
        if new_urn in self.new and self.step(new_urn).step in REPLACE:
            return _label(self.new[new_urn])
        return None

    def _forced(self, old: dict, cur: dict, changes: list[Change], step: Step) -> list[str]:
        for reason, source in self._pending.pop(cur["urn"], []):
            step.because(reason, source)
        if not changes:
            return []
        forced: list[str] = []
        for rule in self._rules(cur):
            if rule.when and not _condition(rule.when, old, cur, self.new):
                continue
            for change in changes:
                hit = next((p for p in rule.paths for c in _expanded(change) if _forces(p, c)), None)
                if hit is not None:
                    forced.append(change.path)
                    what = "unknown at preview" if change.new == UNKNOWN else "changed"
                    step.because(f"{change.path} {what}: forces a new resource ({hit})", rule.source)
        replace_on = (cur.get("options") or {}).get("replaceOnChanges") or []
        for pattern in replace_on:
            for change in changes:
                if pattern == "*" or _under(_tokens(change.path), _tokens(pattern)):
                    forced.append(change.path)
                    step.because(f"{change.path} changed and replaceOnChanges lists {pattern}",
                                 rules.engine("replaceOnChanges"))
        return forced

    def _rules(self, cur: dict) -> list[rules.Rule]:
        if _is_kube(cur):
            inputs = cur["inputs"]
            if str(inputs.get("kind", "")).endswith("Patch"):  # patch resources: only identity replaces
                return [r for r in rules.KUBE_FORCE_NEW if r.kind == "*"]
            return rules.kube_rules(str(inputs.get("apiVersion", "")), str(inputs.get("kind", "")))
        return rules.gcp_rules(cur["type"])

    def _replace(self, step: Step, old: dict, cur: dict, by_provider: bool) -> Step:
        options = cur.get("options") or {}
        dbr = options.get("deleteBeforeReplace")
        if dbr is not None:
            delete_first = bool(dbr)
            step.because(f"deleteBeforeReplace={str(delete_first).lower()} set on the resource",
                         rules.engine("deleteBeforeReplace"))
        elif by_provider:
            delete_first = False  # the engine decides without asking the provider: create-first
        elif _is_kube(cur):
            delete_first = _kube_delete_first(old, cur)
            if delete_first:
                step.because("a named object keeps its name and namespace: it must be deleted first",
                             rules.KUBE_DELETE_FIRST_SOURCE)
        else:
            delete_first = False
            if cur["type"] in rules.GCP_DELETE_BEFORE_REPLACE:
                delete_first = True
                step.because("the provider replaces this type delete-first",
                             rules.GCP_DELETE_BEFORE_REPLACE[cur["type"]])
            field_ = rules.GCP_AUTONAMED.get(cur["type"])
            if field_ and cur["inputs"].get(field_) not in (None, ""):
                delete_first = True
                step.because(f"{field_} is set by the program, not autonamed: the old one must go first",
                             rules.GCP_AUTONAMED_SOURCE)
        step.step = "replace-delete-first" if delete_first else "replace-create-first"
        if options.get("protect"):
            step.because("protect: the replacement fails until the resource is unprotected", rules.engine("protect"))
        _delete_guard(step, old)
        return step

    def _provider(self, step: Step, changes: list[Change]) -> Step:
        keys = sorted({_tokens(c.path)[0] for c in changes if c.path})
        replacing = [k for k in keys if k in rules.KUBE_PROVIDER_REPLACE_KEYS and step.type.endswith(":kubernetes")]
        ids = [(rec["inputs"] or {}).get("clusterIdentifier") for rec in (self.old[step.urn], self.new[step.urn])]
        if "clusterIdentifier" in replacing and not (ids[0] and ids[1]):
            # DiffConfig replaces on diff.Updated(clusterIdentifier) only: adding or removing it is not a
            # replacement by itself ("to make on- and off-boarding less risky"); the kubeconfig rules decide.
            replacing.remove("clusterIdentifier")
            step.because("clusterIdentifier added or removed: not a replacement by itself", rules.KUBE_PROVIDER_SOURCE)
        unknown = any(c.new == UNKNOWN for c in changes)
        if replacing and not unknown and set(replacing) <= {"kubeconfig", "context", "cluster"}:
            before, after = _active_cluster(self.old[step.urn]["inputs"]), _active_cluster(self.new[step.urn]["inputs"])
            if before is not None and before == after:
                replacing = []
                step.because("the kubeconfig's active cluster is unchanged", rules.KUBE_PROVIDER_SOURCE)
        for reason, source in self._pending.pop(step.urn, []):
            step.because(reason, source)
        if ids[0] and ids[1]:  # only a changed identifier replaces; added or removed: the other rules
            replacing = ["clusterIdentifier"] if ids[0] != ids[1] else []
            if not replacing:
                step.because("clusterIdentifier is unchanged: the provider is never replaced", rules.KUBE_PROVIDER_SOURCE)
        if replacing:
            step.step = "replace-create-first"
            step.because(f"{', '.join(replacing)} changed or unknown: it may point at another cluster",
                         rules.KUBE_PROVIDER_SOURCE)
        elif changes:
            step.step = "update"
        return step

    def _annotation_notes(self, step: Step, changes: list[Change]) -> None:
        for change in changes:
            for name, (what, source) in rules.KUBE_ANNOTATIONS.items():
                if change.path == f"metadata.annotations.{name}":
                    step.because(f"{name} changed: {what}", source)

    def _replace_unready_note(self, step: Step, cur: dict) -> None:
        annotations = ((cur.get("inputs") or {}).get("metadata") or {}).get("annotations") or {}
        if _is_kube(cur) and str(annotations.get("pulumi.com/replaceUnready", "")).lower() == "true":
            what, source = rules.KUBE_ANNOTATIONS["pulumi.com/replaceUnready"]
            step.because(f"pulumi.com/replaceUnready: {what}", source)


# --- helpers -------------------------------------------------------------------------------------

_INDEX = re.compile(r"\[[^\]]*\]")


def _tokens(path: str) -> list[str]:
    """`a.b[0].c["x.y"]` -> [a, b, c, x.y]: list items carry no index, as in the rules."""
    path = path.removesuffix(" (order)")
    quoted = re.findall(r'\["([^"]*)"\]', path)
    for i, q in enumerate(quoted):
        path = path.replace(f'["{q}"]', f".\0{i}")
    parts = [p for p in _INDEX.sub("", path).split(".") if p]
    return [quoted[int(p[1:])] if p.startswith("\0") else p for p in parts]


def _under(path: list[str], prefix: list[str]) -> bool:
    return len(path) >= len(prefix) and all(b in ("*", a) for a, b in zip(path, prefix))


def _forces(rule_path: str, change: Change) -> bool:
    tokens = _tokens(change.path)
    if rule_path.endswith(".#"):  # a block or list item added or removed
        block = rule_path[:-2].split(".")
        if change.new == UNKNOWN:
            return _under(block, tokens)
        return tokens == block and (change.old is ABSENT or change.new is ABSENT)
    target = rule_path.split(".")
    if change.new == UNKNOWN:  # an unknown value may change anything under it
        return _under(tokens, target) or _under(target, tokens)
    return _under(tokens, target)


def _expanded(change: Change) -> list[Change]:
    """A block added or removed whole, and each field in it: a field may force what the block does not."""
    side = change.new if change.old is ABSENT else change.old if change.new is ABSENT else None
    if not isinstance(side, (dict, list)):
        return [change]
    leaves = [Change(path, ABSENT, value) if change.old is ABSENT else Change(path, value, ABSENT)
              for path, value in _leaves(side, change.path)]
    return [change, *leaves]


def _condition(name: str, old: dict, cur: dict, new_by_urn: dict[str, dict]) -> bool:
    inputs, before = cur.get("inputs") or {}, old.get("inputs") or {}
    if name in ("secret_immutable", "configmap_immutable"):
        if inputs.get("immutable") is True:
            return True
        option = "enableSecretMutable" if name == "secret_immutable" else "enableConfigMapMutable"
        provider = new_by_urn.get((cur.get("provider") or "").rsplit("::", 1)[0]) or {}
        return str((provider.get("inputs") or {}).get(option, "false")).lower() != "true"
    if name == "cidr_shrinks":
        try:
            was, now = ipaddress.ip_network(before.get("ipCidrRange")), ipaddress.ip_network(inputs.get("ipCidrRange"))
        except (TypeError, ValueError):
            return True
        return not (now.version == was.version and was.subnet_of(now))  # type: ignore[arg-type]
    if name == "disabled_after_enabled":
        return any(before.get(k) is True and inputs.get(k) is not True
                   for k in ("enableL4IlbSubsetting", "enableFqdnNetworkPolicy"))
    raise ValueError(f"unknown rule condition {name!r}")


def _active_cluster(inputs: dict) -> Optional[dict]:
    """The kubeconfig's cluster entry the provider would use, or None when it cannot be read offline."""
    text = inputs.get("kubeconfig")
    try:
        config = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        return None
    if not isinstance(config, dict):
        return None
    context_name = inputs.get("context") or config.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in config.get("contexts") or [] if isinstance(c, dict)}
    clusters = {c.get("name"): c.get("cluster") for c in config.get("clusters") or [] if isinstance(c, dict)}
    cluster_name = inputs.get("cluster") or contexts.get(context_name, {}).get("cluster")
    if cluster_name is None and len(clusters) == 1:
        cluster_name = next(iter(clusters))
    return clusters.get(cluster_name)


def _transform_notes(step: Step, rec: dict) -> None:
    for type_, effects in sorted(((rec.get("options") or {}).get("transformEffects") or {}).items()):
        what = "; ".join(f"{k} {v}" for k, v in sorted(effects.items()))
        step.because(f"its transforms set on each {type_.rsplit(':', 1)[-1]} child: {what}", rules.engine("transforms"))


def _delete_guard(step: Step, old: dict) -> None:
    guard = rules.GCP_DELETE_GUARDS.get(old["type"])
    if guard is not None:
        input_, blocking, what, source = guard
        if ((old.get("inputs") or {}).get(input_) is True) == blocking:
            step.because(what, source)


def _kube_delete_first(old: dict, cur: dict) -> bool:
    meta, before = (cur["inputs"].get("metadata") or {}), (old["inputs"].get("metadata") or {})
    named = bool(meta.get("name")) and not meta.get("generateName")
    return named and meta.get("name") == before.get("name") and meta.get("namespace") == before.get("namespace")


def _options_changed(old: dict, cur: dict) -> bool:
    keys = ("options", "customTimeouts", "dependencies", "parent")
    return any(old.get(k) != cur.get(k) for k in keys if k in old)


def _output_markers(dep: dict) -> list[str]:
    """Strings that only come from `dep`'s outputs: its ID, and what the cloud computes on create."""
    markers = [f"{dep['name']}-id", COMPUTED]
    markers += [v for v in computed_outputs(dep["type"], dep.get("inputs") or {}).values() if isinstance(v, str) and v]
    return markers


def _leaves(value: Any, path: str):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def _is_kube(rec: dict) -> bool:
    return rec.get("custom", True) and rec["type"].startswith("kubernetes:") and "kind" in (rec.get("inputs") or {}) \
        and not rec["type"].startswith(("kubernetes:helm.sh/", "kubernetes:yaml/"))


def _identity(rec: dict) -> Optional[tuple]:
    inputs = rec.get("inputs") or {}
    if _is_kube(rec):
        meta = inputs.get("metadata") or {}
        return ("k8s", inputs.get("kind"), meta.get("namespace"), meta.get("name")) if meta.get("name") else None
    field_ = rules.GCP_AUTONAMED.get(rec["type"])
    if field_ and isinstance(inputs.get(field_), str):
        scope = inputs.get("project"), inputs.get("location") or inputs.get("region"), inputs.get("cluster")
        return ("gcp", rec["type"], scope, inputs[field_])
    return None


def _label(rec: dict) -> str:
    inputs = rec.get("inputs") or {}
    if _is_kube(rec):
        return f"{inputs.get('kind')} {(inputs.get('metadata') or {}).get('name') or rec.get('name')}"
    kind = rec.get("type", "").rsplit(":", 1)[-1] or "resource"
    return f"{kind} {rec.get('name', rec['urn'])}"


def gpu_workload(rec: dict) -> bool:
    """A Kubernetes workload whose pods ask for GPUs, or a node pool with accelerators."""
    inputs = rec.get("inputs") or {}
    if rec.get("type") == "gcp:container/nodePool:NodePool":
        return bool((inputs.get("nodeConfig") or {}).get("guestAccelerators"))
    text = json.dumps(inputs.get("spec") or {})
    return _is_kube(rec) and GPU_SUFFIX + '": ' in text


# --- the report ----------------------------------------------------------------------------------

_MARK = {"update": "~", "replace-create-first": "+-", "replace-delete-first": "-+", "create": "+", "delete": "-"}
_GONE = {"replace-create-first": "replaced (new one first, then the old one deleted)",
         "replace-delete-first": "deleted, then created again", "delete": "deleted"}


def costly(step: Step, rec: dict) -> Optional[str]:
    """In plain words, what a step loses: data, GPUs or hours. None for a cheap step."""
    if step.step not in _GONE or "retainOnDelete" in " ".join(r["reason"] for r in step.reasons):
        return None
    gone, type_, name = _GONE[step.step], rec["type"], _label(rec)
    if type_ == "gcp:container/cluster:Cluster":
        return (f"the GKE cluster {rec['inputs'].get('name', name)} is {gone}: every node, workload and volume in "
                "it goes with it; rebuilding takes hours (cluster, node pools, GPU nodes, model load)")
    if type_ == "gcp:container/nodePool:NodePool":
        if gpu_workload(rec):
            return (f"the GPU node pool {rec['inputs'].get('name', name)} is {gone}: its GPUs are released and "
                    "its pods evicted; getting the capacity back takes 35-90 minutes, or fails without a reservation")
        return f"the node pool {rec['inputs'].get('name', name)} is {gone}: its nodes are drained"
    if type_ in ("gcp:compute/network:Network", "gcp:compute/subnetwork:Subnetwork"):
        what = "network" if type_.endswith("Network") else "subnet"
        return (f"the {what} {rec['inputs'].get('name', name)} is {gone}: the cluster and nodes attached to it "
                "are cut off or replaced with it")
    if type_ == "gcp:storage/bucket:Bucket":
        return (f"the bucket {rec['inputs'].get('name', name)} is {gone}: what it holds (model weights, compile cache) "
                "is lost and must be filled again")
    kind = (rec.get("inputs") or {}).get("kind") if _is_kube(rec) else None
    if kind == "PersistentVolumeClaim":
        return f"the PVC {name.split(' ', 1)[1]} is {gone}: its volume and the data on it (model cache) are lost"
    if kind == "Namespace" and step.step in ("delete", "replace-delete-first", "replace-create-first"):
        return f"the namespace {name.split(' ', 1)[1]} is {gone}: Kubernetes deletes every object in it"
    if kind and gpu_workload(rec):
        if step.step == "replace-create-first":
            return (f"the GPU {name} is replaced create-first: its new pods need GPUs while the old ones still hold "
                    "theirs; on a full cluster they stay Pending and the update times out")
        if step.step == "replace-delete-first":
            return f"the GPU {name} is deleted, then created again: it serves nothing until its new pods load the model"
        return f"the GPU {name} is deleted: its model stops serving"
    return None


# Worst first: what takes longest to get back, then what loses data, then GPU serving.
_RANK = ("gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool", "gcp:compute/network:Network",
         "gcp:compute/subnetwork:Subnetwork", "gcp:storage/bucket:Bucket", "kubernetes:core/v1:Namespace",
         "kubernetes:core/v1:PersistentVolumeClaim")


def warnings(steps: list[Step], records: dict[str, dict]) -> list[str]:
    """costly() of every step, worst first."""
    found = [(s, w) for s in steps if (w := costly(s, records[s.urn]))]
    found.sort(key=lambda item: _RANK.index(item[0].type) if item[0].type in _RANK else len(_RANK))
    return [w for _, w in found]


def report(steps: list[Step], base: list[dict], new: list[dict]) -> list[str]:
    records = {**{r["urn"]: r for r in base}, **{r["urn"]: r for r in new}}
    lines = []
    warnings_ = warnings(steps, records)
    if warnings_:
        lines.append(f"LOSES DATA, GPUs OR HOURS ({len(warnings_)}):")
        lines += [f"  ! {w}" for w in warnings_]
    counts = {name: sum(s.step == name for s in steps) for name in STEPS}
    lines.append(", ".join(f"{n} {name}" for name, n in counts.items() if n))
    for s in steps:
        if s.step == "same":
            continue
        lines.append(f"{_MARK[s.step]:<2} {s.step:<20} {s.label}  [{s.type}]")
        for reason in s.reasons:
            lines.append(f"       {reason['reason']}  ({reason['source'].rsplit('/', 1)[-1]})")
    return lines


def to_json(steps: list[Step]) -> str:
    return json.dumps([s.to_json() for s in steps], indent=1, ensure_ascii=False) + "\n"
