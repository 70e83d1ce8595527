"""Every version the program deploys, pinned in one place.

Defaults reproduce llm-d v0.5.0's P/D guide. A stack may override any entry under
`llmd:versions`; unknown entries are rejected by the config model.
"""

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic.alias_generators import to_camel

# Image tags and chart versions of the llm-d v0.5.0 release.
LLMD_RELEASE = "v0.5.0"


class Versions(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)

    vllm_image: str = f"ghcr.io/llm-d/llm-d-cuda:{LLMD_RELEASE}"
    scheduler_image: str = f"ghcr.io/llm-d/llm-d-inference-scheduler:{LLMD_RELEASE}"
    routing_sidecar_image: str = f"ghcr.io/llm-d/llm-d-routing-sidecar:{LLMD_RELEASE}"
    gateway_api_crds: str = "v1.4.0"
    inference_extension_crds: str = "v1.3.0"
    istio_chart: str = "1.28.1"
    kgateway_chart: str = "v2.1.1"
    inference_perf_image: str = "quay.io/inference-perf/inference-perf:v0.4.0"
    verifier_image: str = "python:3.12-slim"
    # The model-cache fill: a small Python image (the verifier's, one pull per node) that installs
    # HF_HUB_REQUIREMENT, so a vLLM image bump never re-runs the fill.
    fill_image: str = "python:3.12-slim"
    gib_installer_image: str = "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib:v1.1.1"
    pause_image: str = (
        "gke.gcr.io/pause:3.8@sha256:880e63f94b145e46f1b1082bb71b85e21f16b99b180b9996407d61240ceb9830"
    )

    @field_validator(
        "vllm_image",
        "scheduler_image",
        "routing_sidecar_image",
        "inference_perf_image",
        "verifier_image",
        "fill_image",
        "gib_installer_image",
        "pause_image",
    )
    @classmethod
    def _pinned(cls, image: str) -> str:
        return require_pinned_image(image)

    @property
    def gateway_api_crd_url(self) -> str:
        return (
            "https://github.com/kubernetes-sigs/gateway-api/releases/download/"
            f"{self.gateway_api_crds}/standard-install.yaml"
        )

    @property
    def inference_extension_crd_url(self) -> str:
        return (
            "https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download/"
            f"{self.inference_extension_crds}/manifests.yaml"
        )


# The hub client the fill Job installs (huggingface/huggingface_hub@v1.28.0:
# src/huggingface_hub/_snapshot_download.py, snapshot_download(repo_id, local_dir, ignore_patterns,
# max_workers); python_requires >= 3.10).
HF_HUB_REQUIREMENT = "huggingface_hub==1.28.0"

ISTIO_CHART_REPO = "https://istio-release.storage.googleapis.com/charts"
KGATEWAY_CHART_REPO = "oci://cr.kgateway.dev/kgateway-dev/charts"


def require_pinned_image(image: str) -> str:
    """An image must name a tag other than `latest`, or a digest."""
    if "@sha256:" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        raise ValueError(f"image {image!r} has no tag; pin a tag such as :{LLMD_RELEASE} or a digest")
    if last.rsplit(":", 1)[1] == "latest":
        raise ValueError(f"image {image!r} uses :latest; pin a release tag or a digest")
    return image


def default_versions() -> Versions:
    return Versions()

