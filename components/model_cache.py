"""Where model weights come from: one shared cache filled once per cluster, or a download per pod.

Shared mode pulls from the Hugging Face hub exactly once (a fill Job); every model-server pod
mounts the filled cache read-only, so a restart or a scale-up pulls nothing from the hub.
- existing cluster: a ReadWriteMany PVC;
- GKE: a regional Cloud Storage bucket mounted with the Cloud Storage FUSE CSI driver (file cache
  plus parallel downloads), reached through Workload Identity (write for the filler, read for the
  servers).
Download mode reproduces the upstream guide: an emptyDir per pod, filled by vLLM itself.
"""

import json
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components import cold_start, harmony
from components.config.model import StackConfig
from components.kube import REPLACE_UNREADY, SKIP_AWAIT, child, claim_spec, meta, named_by_spec, resources
from components.names import HF_TOKEN_KEY, Release
from components.versions import HF_HUB_REQUIREMENT

MODEL_CACHE_DIR = "/model-cache"
COMPILE_CACHE_DIR = "/compile-cache"
COMPLETE_MARKER = ".complete"
# gpt-oss's Harmony encoding files (components/harmony.py), beside the weights.
ENCODINGS_DIR = f"{MODEL_CACHE_DIR}/tiktoken-encodings"
# Alternate formats some repos carry beside the weights vLLM loads (gpt-oss: original/, metal/):
# downloading them would double the bytes the cache, the Job's deadline and the PVC are sized for.
IGNORED_FILES = ["original/*", "metal/*"]
# VLLM_CACHE_ROOT is each pod's own: vLLM 0.14.1 keys torch.compile's cache
# (VLLM_CACHE_ROOT/torch_compile_cache/<hash>, vllm/compilation/backends.py) with every VLLM_*
# variable but an ignore list (vllm/envs.py compile_factors), and VLLM_NIXL_SIDE_CHANNEL_HOST, the
# pod IP, is not on it: a shared volume would never be reused by a restarted pod, only filled. It
# also holds per-node files (gpu_p2p_access_cache_for_<devices>.json, deep_gemm JIT kernels).
POD_COMPILE_CACHE = {"name": "compile-cache", "emptyDir": {}}
# The llm-d CUDA image runs as this user; volumes are group-writable/readable for it.
IMAGE_USER = 2000
FILL_PYTHONPATH = "/tmp/pylib"


@dataclass(frozen=True)
class CacheWiring:
    """What a model-server pod needs to read its weights."""

    model_ref: str  # what `vllm serve` loads: a hub id (download) or a local path (shared)
    load_path: cold_start.LoadPath
    volumes: list[dict]
    mounts: list[dict]
    env: dict[str, str]
    needs_hf_token: bool
    pod_annotations: dict[str, str] = field(default_factory=dict)
    service_account_annotations: dict[str, str] = field(default_factory=dict)
    ready: list[pulumi.Resource] = field(default_factory=list)  # the fill Job


def model_dir(model: str) -> str:
    return f"{MODEL_CACHE_DIR}/models/{model}"


class ModelCache(pulumi.ComponentResource):
    wiring: CacheWiring

    def __init__(
        self,
        name: str,
        config: StackConfig,
        release: Release,
        hf_secret: Optional[str],
        depends_on: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("llmd:serving:ModelCache", name, None, opts)
        self._config, self._release, self._depends_on = config, release, depends_on
        cache = config.model_cache
        if cache.mode == "download":
            self.wiring = self._download()
        elif config.platform.kind == "gke":
            from components.model_cache_gcs import GcsCache  # noqa: PLC0415 - pulls in pulumi_gcp

            self.wiring = GcsCache(self, name, config, release, hf_secret, depends_on).wiring
        else:
            self.wiring = self._pvc(name, hf_secret)
        self.register_outputs({"mode": cache.mode, "loadPath": self.wiring.load_path})

    def _download(self) -> CacheWiring:
        env = {"HF_HOME": MODEL_CACHE_DIR, "VLLM_CACHE_ROOT": COMPILE_CACHE_DIR}
        if self._config.model.uses_harmony:
            # As upstream, each pod downloads the encoding at start; kept in the pod's volume, so
            # a container restart reuses it. The volume's root: openai-harmony does not create an
            # overridden cache directory (resolve_cache_dir in public_encodings.rs).
            env[harmony.DOWNLOAD_CACHE_ENV] = MODEL_CACHE_DIR
        return CacheWiring(
            model_ref=self._config.model.name,
            load_path="hub",
            volumes=[
                {"name": "model-cache", "emptyDir": {"sizeLimit": self._config.model_cache.size}},
                POD_COMPILE_CACHE,
            ],
            mounts=_mounts(read_only_models=False),
            env=env,
            needs_hf_token=True,
        )

    def _pvc(self, name: str, hf_secret: Optional[str]) -> CacheWiring:
        config, release = self._config, self._release
        cache = config.model_cache
        labels = release.component_labels("model-cache")

        def claim(suffix: str, base_name: str, size: str) -> tuple[k8s.core.v1.PersistentVolumeClaim, str]:
            # A claim's class and access modes are immutable and a shrink is refused: a storage change
            # gets a new claim (named from its spec, created first, filled, the Deployments roll onto
            # it) and the old one is deleted last, once no pod mounts it (pvc-protection).
            spec = claim_spec("ReadWriteMany", size, cache.storage_class)
            claim_name = named_by_spec(base_name, spec)
            # Bound by the fill Job's pod; a WaitForFirstConsumer class would hold a plain await forever.
            pvc = k8s.core.v1.PersistentVolumeClaim(
                f"{name}-{suffix}",
                metadata=meta(claim_name, release.namespace, labels, dict(SKIP_AWAIT)),
                spec=spec,
                opts=child(self, self._depends_on),
            )
            return pvc, claim_name

        models, models_claim = claim("models", release.model_cache, cache.size)
        volumes = [
            {"name": "model-cache", "persistentVolumeClaim": {"claimName": models_claim, "readOnly": True}},
            POD_COMPILE_CACHE,
        ]
        ready: list[pulumi.Resource] = [models]
        fill_volume = {"name": "model-cache", "persistentVolumeClaim": {"claimName": models_claim}}
        job = fill_job(self, name, config, release, fill_volume, hf_secret, {}, None, self._depends_on + [models])
        return CacheWiring(
            model_ref=model_dir(config.model.name),
            load_path="pvc",
            volumes=volumes,
            mounts=_mounts(read_only_models=True),
            env=_offline_env(config.model.uses_harmony),
            needs_hf_token=False,
            ready=ready + [job],
        )


def _offline_env(uses_harmony: bool) -> dict[str, str]:
    # Everything is local: never reach the hub (or, for gpt-oss, openaipublic) from a serving pod.
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": f"{COMPILE_CACHE_DIR}/hf", "VLLM_CACHE_ROOT": COMPILE_CACHE_DIR}
    if uses_harmony:
        env[harmony.ENCODINGS_BASE_ENV] = ENCODINGS_DIR
    return env


def _mounts(read_only_models: bool) -> list[dict]:
    return [
        {"name": "model-cache", "mountPath": MODEL_CACHE_DIR, "readOnly": read_only_models},
        {"name": "compile-cache", "mountPath": COMPILE_CACHE_DIR},
    ]


def fill_script(model: str, uses_harmony: bool = False) -> str:
    target = model_dir(model)
    return (
        "set -euo pipefail\n"
        # Before the weights' skip, so a cache filled before the encoding was staged gets it too.
        + (harmony.FILL_STEP if uses_harmony else "")
        + f'target="{target}"\n'
        f'if [ -f "$target/{COMPLETE_MARKER}" ]; then echo "cache already holds {model}"; exit 0; fi\n'
        # A stock Python image: the pinned hub client is installed beside the cache, unless the
        # image (e.g. a mirror's) already has one.
        "python3 -c 'import huggingface_hub' 2>/dev/null || "
        f'pip install --quiet --no-cache-dir --disable-pip-version-check --target "{FILL_PYTHONPATH}" "{HF_HUB_REQUIREMENT}"\n'
        "python3 -c 'import os; from huggingface_hub import snapshot_download; "
        'snapshot_download(repo_id=os.environ["MODEL"], local_dir=os.environ["TARGET"], max_workers=16, '
        f"ignore_patterns={json.dumps(IGNORED_FILES)})'\n"
        f'touch "$target/{COMPLETE_MARKER}"\n'
        'echo "filled $target"\n'
    )


def fill_job(
    parent: pulumi.Resource,
    name: str,
    config: StackConfig,
    release: Release,
    volume: dict,
    hf_secret: Optional[str],
    pod_annotations: dict[str, str],
    service_account: Optional[str],
    depends_on: list[pulumi.Resource],
) -> k8s.batch.v1.Job:
    """The one download from the hub into the shared cache; idempotent, so re-runs pull nothing.

    Its pod template holds only the model, the storage and the release's names: a vLLM image bump
    does not touch it (a small Python image runs it), so the Job is replaced, and runs again, only
    when the model or the cache's storage changes. Replaced when it did not complete (a failed
    download never blocks the next `pulumi up`).
    """
    env = [
        {"name": "MODEL", "value": config.model.name},
        {"name": "TARGET", "value": model_dir(config.model.name)},
        {"name": "HF_HOME", "value": "/tmp/hf"},
        {"name": "HF_HUB_DISABLE_PROGRESS_BARS", "value": "1"},
        {"name": "HOME", "value": "/tmp"},
        {"name": "PYTHONPATH", "value": FILL_PYTHONPATH},
    ]
    if config.model.uses_harmony:
        env += harmony.fill_env(ENCODINGS_DIR)
    if hf_secret:
        env.append({"name": HF_TOKEN_KEY, "valueFrom": {"secretKeyRef": {"name": hf_secret, "key": HF_TOKEN_KEY}}})
    deadline = cold_start.fill_seconds(config.model.size_gb)
    pod_spec: dict = {
        "restartPolicy": "OnFailure",
        "securityContext": {"runAsUser": IMAGE_USER, "runAsGroup": IMAGE_USER, "fsGroup": IMAGE_USER},
        "containers": [
            {
                "name": "fill",
                "image": config.versions.fill_image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["/bin/bash", "-c", fill_script(config.model.name, config.model.uses_harmony)],
                "env": env,
                "resources": resources("4", "16Gi"),
                "securityContext": {"allowPrivilegeEscalation": False},
                "volumeMounts": [{"name": "model-cache", "mountPath": MODEL_CACHE_DIR}, {"name": "tmp", "mountPath": "/tmp"}],
            }
        ],
        "volumes": [volume, {"name": "tmp", "emptyDir": {}}],
    }
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    template_meta: dict = {"labels": release.component_labels("model-fill")}
    if pod_annotations:
        template_meta["annotations"] = pod_annotations
    return k8s.batch.v1.Job(
        f"{name}-fill",
        metadata=meta(release.model_fill, release.namespace, release.component_labels("model-fill"), dict(REPLACE_UNREADY)),
        spec={
            "backoffLimit": 4,
            "activeDeadlineSeconds": deadline,
            "template": {"metadata": template_meta, "spec": pod_spec},
        },
        opts=child(
            parent,
            depends_on,
            custom_timeouts=pulumi.CustomTimeouts(create=cold_start.minutes(deadline), update=cold_start.minutes(deadline)),
        ),
    )
