"""The GKE shared model cache: a Cloud Storage bucket, filled once, mounted through Cloud Storage FUSE.

Chosen over vLLM's Run:ai streamer because the same local-directory contract serves both
platforms (vLLM loads a path, nothing GCS-specific in its args), and because the FUSE file cache
on the node keeps a restarted pod's reload local; gcsfuse documents parallel downloads, which
this mount enables, as up to 9x faster for large-file model loads.
"""

import hashlib
from typing import Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.config.model import StackConfig
from components.kube import child, meta
from components.model_cache import IMAGE_USER, POD_COMPILE_CACHE, CacheWiring, _mounts, _offline_env, fill_job, model_dir
from components.names import ROLES, Release

FUSE_DRIVER = "gcsfuse.csi.storage.gke.io"
# The FUSE sidecar may use what the node has while a 65 GB model streams through it.
FUSE_POD_ANNOTATIONS = {
    "gke-gcsfuse/volumes": "true",
    "gke-gcsfuse/cpu-limit": "0",
    "gke-gcsfuse/memory-limit": "0",
    "gke-gcsfuse/ephemeral-storage-limit": "0",
}


def bucket_name(config: StackConfig) -> str:
    """Per project, cluster and release (bucket names are global, at most 63 characters).

    The length limit keeps room for the retired "-compile" twin bucket, so existing names stay.
    """
    platform = config.platform
    base = config.model_cache.bucket or f"{platform.project}-{platform.cluster_name}-{config.release_suffix}-models"
    if len(base) > 63 - len("-compile"):
        base = f"{platform.project}-llmd-{_short_id(config)}-models"
    return base


def account_id(config: StackConfig, purpose: str) -> str:
    """A service-account id (6-30 characters) unique per cluster and release in the project."""
    return f"llmd-{_short_id(config)}-{purpose}"


def _short_id(config: StackConfig) -> str:
    return hashlib.sha256(f"{config.platform.cluster_name}/{config.release_suffix}".encode()).hexdigest()[:8]


def _fuse_volume(name: str, bucket: pulumi.Input[str], read_only: bool, file_cache: bool) -> dict:
    options = f"implicit-dirs,uid={IMAGE_USER},gid={IMAGE_USER}"
    attributes: dict = {"bucketName": bucket}
    if file_cache:
        options += ",file-cache:enable-parallel-downloads:true"
        attributes.update(
            fileCacheCapacity="-1",
            fileCacheForRangeRead="true",
            metadataCacheTTLSeconds="-1",
            metadataStatCacheCapacity="-1",
            metadataTypeCacheCapacity="-1",
        )
    attributes["mountOptions"] = options
    return {"name": name, "csi": {"driver": FUSE_DRIVER, "readOnly": read_only, "volumeAttributes": attributes}}


class GcsCache:
    """Builds the GCS-backed cache as children of the ModelCache component."""

    def __init__(self, parent, name, config: StackConfig, release: Release, hf_secret: Optional[str], depends_on):
        platform = config.platform
        project, labels = platform.project, release.component_labels("model-cache")
        models_name = bucket_name(config)

        def bucket(suffix: str, bucket_name: str) -> gcp.storage.Bucket:
            return gcp.storage.Bucket(
                f"{name}-{suffix}",
                name=bucket_name,
                project=project,
                location=platform.region.upper(),  # same region as the nodes: no egress, lowest latency
                uniform_bucket_level_access=True,
                hierarchical_namespace=gcp.storage.BucketHierarchicalNamespaceArgs(enabled=True),
                public_access_prevention="enforced",
                # Everything in it can be fetched again; destroy must not stop at a non-empty bucket.
                force_destroy=True,
                labels={"app": "llm-d", "release": release.suffix},
                # After the cluster, which waits for the project's APIs (storage, IAM) to be on.
                opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
            )

        def identity(suffix: str, ksa_names: list[str], grants: list[tuple[gcp.storage.Bucket, str]]):
            account = gcp.serviceaccount.Account(
                f"{name}-{suffix}",
                account_id=account_id(config, suffix),
                project=project,
                display_name=f"llm-d {platform.cluster_name}/{release.suffix} model cache ({suffix})",
                opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
            )
            # The pods wait for these: a FUSE mount before its grant and binding exist fails with 403.
            access: list[pulumi.Resource] = [
                gcp.storage.BucketIAMMember(
                    f"{name}-{suffix}-{i}",
                    bucket=target.name,
                    role=role,
                    member=account.email.apply(lambda e: f"serviceAccount:{e}"),
                    opts=pulumi.ResourceOptions(parent=parent),
                )
                for i, (target, role) in enumerate(grants)
            ]
            access += [
                gcp.serviceaccount.IAMMember(
                    f"{name}-{suffix}-{ksa}",
                    service_account_id=account.name,
                    role="roles/iam.workloadIdentityUser",
                    member=f"serviceAccount:{project}.svc.id.goog[{release.namespace}/{ksa}]",
                    # The workload identity pool exists once the cluster does.
                    opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
                )
                for ksa in ksa_names
            ]
            return account, access

        models = bucket("models", models_name)
        filler, fill_access = identity("fill", [release.model_fill], [(models, "roles/storage.objectUser")])
        reader, read_access = identity("read", [release.deployment(role) for role in ROLES], [(models, "roles/storage.objectViewer")])

        fill_account = k8s.core.v1.ServiceAccount(
            f"{name}-fill",
            metadata=meta(release.model_fill, release.namespace, labels, {"iam.gke.io/gcp-service-account": filler.email}),
            opts=child(parent, depends_on),
        )
        job = fill_job(
            parent,
            name,
            config,
            release,
            _fuse_volume("model-cache", models.name, read_only=False, file_cache=False),
            hf_secret,
            dict(FUSE_POD_ANNOTATIONS),
            release.model_fill,
            depends_on + [fill_account, models, *fill_access],
        )
        self.wiring = CacheWiring(
            model_ref=model_dir(config.model.name),
            load_path="gcs",
            volumes=[_fuse_volume("model-cache", models.name, read_only=True, file_cache=True), POD_COMPILE_CACHE],
            mounts=_mounts(read_only_models=True),
            env=_offline_env(config.model.uses_harmony),
            needs_hf_token=False,
            pod_annotations=dict(FUSE_POD_ANNOTATIONS),
            service_account_annotations={"iam.gke.io/gcp-service-account": reader.email},
            ready=[job, *read_access],
        )
