"""The control-plane version: an exact pin as given, or a prefix resolved to the newest version offered.

`gcp.container.get_engine_versions` (the provider's google_container_engine_versions data source) filters
each release channel's valid versions by string prefix and returns the first, i.e. the newest, in
`release_channel_latest_version`; `latest_master_version` is the newest matching valid master version.
"""

import pulumi
from pulumi_gcp import container

from components.config.gke import GkeClusterConfig, is_exact, lookup_prefix
from components.config.gke_rules import resolved_version_problems
from components.config.problems import InvalidConfig, Problem

CONTAINER_API = "container.googleapis.com"


def resolve_version(config: GkeClusterConfig, container_api: pulumi.Resource) -> pulumi.Input[str]:
    """The version to create the control plane at; read at every preview and up.

    The lookup waits for the Kubernetes Engine API, which a new project has off until the program
    enables it; a resolution that contradicts the offline checks stops the run before the cluster.
    """
    pin = config.gke_version
    if is_exact(pin):
        return pin
    offered = container.get_engine_versions_output(
        project=config.project,
        location=config.region,
        version_prefix=lookup_prefix(pin),
        opts=pulumi.InvokeOutputOptions(depends_on=[container_api]),
    )
    return offered.apply(lambda result: _checked(config, result))


def _checked(config: GkeClusterConfig, offered) -> str:
    channel = config.release_channel
    if channel == "UNSPECIFIED":
        version = offered.latest_master_version
    else:
        version = (offered.release_channel_latest_version or {}).get(channel)
    problems = resolved_version_problems(config, version) if version else [_not_offered(config)]
    if problems:
        raise pulumi.RunError(str(InvalidConfig(problems, pulumi.get_stack(), pulumi.get_project())))
    return version


def _not_offered(config: GkeClusterConfig) -> Problem:
    return Problem(
        "platform.gkeVersion",
        f"is {config.gke_version}, but the {config.release_channel} channel offers no such version in {config.region}. "
        f"List the offered ones with `gcloud container get-server-config --region {config.region} "
        f"--flatten=channels --filter=channels.channel={config.release_channel} "
        '--format="value(channels.validVersions)"` and pin one of their minor versions.',
    )
