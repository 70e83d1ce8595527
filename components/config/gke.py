"""Stack config of the `gke` platform: a GKE cluster with a3-ultragpu-8g nodes and GPUDirect RDMA (RoCE)."""

from typing import TYPE_CHECKING, Literal

from components.config.base import Strict
from components.config.problems import Problem

if TYPE_CHECKING:
    from components.config.model import StackConfig


class GkeClusterConfig(Strict):
    """A new GKE cluster created by this program (path A: classic multi-networking)."""

    kind: Literal["gke"]
    project: str
    region: str
    zone: str

    @property
    def gpus_per_node(self) -> int:
        return 8


def check_gke(config: "StackConfig") -> list[Problem]:
    """Rules of the gke platform that involve several keys (zone vs region, capacity options...)."""
    return []
