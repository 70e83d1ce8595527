"""Pick the platform the stack config asks for."""

from components.config.model import StackConfig
from components.platform.existing import ExistingCluster
from components.platform.wiring import Platform


def build_platform(config: StackConfig) -> Platform:
    if config.platform.kind == "gke":
        from components.platform.gke import GkeCluster  # noqa: PLC0415 - pulls in pulumi_gcp only when needed

        return GkeCluster("gke", config.platform, versions=config.versions).platform
    return ExistingCluster("cluster", config.platform).platform
