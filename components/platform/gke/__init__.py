"""A new GKE cluster with a3-ultragpu-8g nodes and GPUDirect RDMA over RoCE (reference path A)."""

from components.platform.gke.component import GkeCluster

__all__ = ["GkeCluster"]
