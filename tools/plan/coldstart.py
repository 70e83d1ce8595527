"""Cold-start cost: bytes pulled from the model hub on a fresh rollout and on a pod restart.

A vLLM container loads the model named by its first argument: a hub id (downloaded into HF_HOME)
or a local path (read from whatever volume is mounted there). The volume decides the cost:

* per pod (emptyDir, generic ephemeral volume, or no volume at all): every pod downloads the full
  model when it starts, and again when the pod is replaced;
* shared (PVC, CSI e.g. Cloud Storage FUSE, NFS, hostPath): filled once; pods that read it pull
  nothing from the hub, and each Job that downloads (the fill Job) counts once per completion.
"""

from dataclasses import dataclass
from typing import Optional

from tools.mock_runtime import Registration
from tools.plan import objects
from tools.plan.objects import Workload

HF_HOME_DEFAULT = "/root/.cache/huggingface"  # huggingface_hub's default when HF_HOME is unset
SHARED_VOLUMES = ("persistentVolumeClaim", "csi", "nfs", "hostPath", "gcePersistentDisk")
FILL_COMMANDS = ("snapshot_download", "hf_hub_download", "huggingface-cli download", "hf download")


@dataclass(frozen=True)
class Downloader:
    workload: Workload
    cache: str  # what it does, e.g. "downloads into emptyDir model-cache (per pod)"
    per_pod: bool

    @property
    def fresh_downloads(self) -> int:
        if self.workload.kind == "Job":
            return self.workload.pods or 1
        return (self.workload.pods or 0) if self.per_pod else 0


@dataclass(frozen=True)
class ColdStart:
    size_gb: float
    downloaders: list[Downloader]

    @property
    def fresh_rollout_gb(self) -> float:
        return self.size_gb * sum(d.fresh_downloads for d in self.downloaders)

    @property
    def restart_gb(self) -> float:
        """Per restarted model-server pod."""
        servers = [d for d in self.downloaders if d.workload.kind != "Job"]
        return self.size_gb if any(d.per_pod for d in servers) else 0.0


def cold_start(registrations: list[Registration], size_gb: float) -> ColdStart:
    return ColdStart(size_gb, [d for w in objects.workloads(registrations) if (d := downloader(w))])


def downloader(w: Workload) -> Optional[Downloader]:
    vllm = objects.vllm_container(w)
    if vllm is not None:
        ref = model_ref(vllm)
        if ref and ref.startswith("/"):
            path, how = ref, f"reads {ref} from"
        else:
            path = _env(vllm, "HF_HOME") or HF_HOME_DEFAULT
            how = "downloads into"
        volume = _volume_at(w.pod, vllm, path)
        shared = volume is not None and _source(volume) in SHARED_VOLUMES
        return Downloader(w, f"{how} {describe(volume)}", per_pod=not shared)
    if w.kind == "Job" and any(any(m in objects.command_line(c) for m in FILL_COMMANDS) for c in w.containers):
        shared = [v for v in w.pod.get("volumes") or [] if _source(v) in SHARED_VOLUMES]
        return Downloader(w, "fills " + (", ".join(map(describe, shared)) or "no shared volume"), per_pod=False)
    return None


def model_ref(container: dict) -> Optional[str]:
    """The model vLLM serves: the first argument after `vllm serve` (our commands pass it as args[0])."""
    args = container.get("args") or []
    return args[0] if args and not str(args[0]).startswith("-") else None


def describe(volume: Optional[dict]) -> str:
    if volume is None:
        return "the container filesystem (per pod)"
    source = _source(volume)
    body = volume.get(source) or {}
    if source == "persistentVolumeClaim":
        return f"PVC {body.get('claimName')} (shared)"
    if source == "csi":
        bucket = (body.get("volumeAttributes") or {}).get("bucketName")
        return f"CSI {body.get('driver')}" + (f" bucket {bucket}" if bucket else "") + " (shared)"
    return f"{source} {volume.get('name')}" + (" (shared)" if source in SHARED_VOLUMES else " (per pod)")


def _source(volume: dict) -> str:
    return next((k for k in volume if k != "name"), "?")


def _env(container: dict, name: str) -> Optional[str]:
    return next((e.get("value") for e in container.get("env") or [] if e.get("name") == name), None)


def _volume_at(pod: dict, container: dict, path: str) -> Optional[dict]:
    """The volume whose mount holds `path` (the deepest mount point that is a prefix of it)."""
    mounts = [m for m in container.get("volumeMounts") or []
              if path == m.get("mountPath") or path.startswith(m.get("mountPath", "").rstrip("/") + "/")]
    if not mounts:
        return None
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    return next((v for v in pod.get("volumes") or [] if v.get("name") == mount.get("name")), None)


def report(cs: ColdStart) -> list[str]:
    if not cs.downloaders:
        return ["no pod downloads model weights"]
    size = f"{cs.size_gb:g} GB"
    parts = [f"{d.workload.kind} {d.workload.name}: {d.fresh_downloads} x {size}; {d.cache}" for d in cs.downloaders]
    restart = (f"{cs.restart_gb:g} GB per restarted model-server pod (its cache goes with the pod)"
               if cs.restart_gb else "0 GB (model servers read a shared, pre-filled cache)")
    return [f"fresh rollout: {cs.fresh_rollout_gb:g} GB from the hub", *[f"  {p}" for p in parts],
            f"pod restart:   {restart}"]
