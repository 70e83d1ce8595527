"""How long a cold start may take, derived from the model size and the path the weights take.

The startup probe and Pulumi's waits come from here instead of fixed numbers, so a larger model
or a slower path gets a longer budget, and a fast path does not hide a hung server for an hour.
"""

import math
from typing import Literal

LoadPath = Literal["hub", "pvc", "gcs"]

# Sustained read rate of one pod, MB/s, deliberately conservative:
# - hub: a single Hugging Face download (CDN-backed, typically 100-200 MB/s per client);
# - pvc: an RWX network filesystem shared by all pods of a release;
# - gcs: Cloud Storage FUSE with the file cache and parallel downloads (gcsfuse documents up to
#   9x faster model loads than without them) on a node with multi-100-Gbps networking.
READ_MB_PER_S: dict[LoadPath, int] = {"hub": 100, "pvc": 500, "gcs": 1000}
# Engine start once weights are local: CUDA graphs, torch.compile, NIXL/UCX registration.
ENGINE_START_SECONDS = 600
SAFETY_FACTOR = 2
PROBE_PERIOD_SECONDS = 30
IMAGE_PULL_SECONDS = 20 * 60  # the llm-d CUDA image is about 20 GB
FILL_START_SECONDS = 5 * 60  # the fill Job's small Python image and its hub client install


def load_seconds(size_gb: float, path: LoadPath) -> int:
    return math.ceil(size_gb * 1000 / READ_MB_PER_S[path])


def startup_budget_seconds(size_gb: float, path: LoadPath) -> int:
    return SAFETY_FACTOR * (load_seconds(size_gb, path) + ENGINE_START_SECONDS)


def startup_failure_threshold(size_gb: float, path: LoadPath) -> int:
    return math.ceil(startup_budget_seconds(size_gb, path) / PROBE_PERIOD_SECONDS)


def fill_seconds(size_gb: float) -> int:
    """Budget for the one download from the hub into the shared cache."""
    return SAFETY_FACTOR * load_seconds(size_gb, "hub") + FILL_START_SECONDS


def rollout_wait(size_gb: float, path: LoadPath, node_provisioning_seconds: int = 0) -> str:
    """Pulumi's create/update timeout for a model-server Deployment, as a duration string."""
    return minutes(node_provisioning_seconds + startup_budget_seconds(size_gb, path) + IMAGE_PULL_SECONDS)


def rollout_batch(replicas: int) -> int:
    """Pods replaced at once by a rolling update without surge: a quarter of the role, at least one.

    At most four serial rounds however many replicas, while three quarters keep serving.
    """
    return max(1, math.ceil(replicas / 4))


def rollout_rounds(replicas: int) -> int:
    return math.ceil(replicas / rollout_batch(replicas))


def update_wait(size_gb: float, path: LoadPath, replicas: int, node_provisioning_seconds: int = 0) -> str:
    """Pulumi's update timeout: pods roll in serial rounds, each a full cold start (image pull included)."""
    per_round = startup_budget_seconds(size_gb, path) + IMAGE_PULL_SECONDS
    return minutes(node_provisioning_seconds + rollout_rounds(replicas) * per_round)


def minutes(seconds: int) -> str:
    return f"{math.ceil(seconds / 60)}m"
