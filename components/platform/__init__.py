"""Where the workloads run: a Kubernetes provider, and how GPU pods reach their RDMA NICs."""
