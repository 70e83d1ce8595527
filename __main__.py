"""llm-d prefill/decode disaggregation: config -> platform -> gateway -> pool -> model servers -> route."""

import pulumi

from components import outputs
from components.benchmark import Benchmark
from components.config.load import load
from components.gateway import GatewayProvider
from components.inference_pool import InferencePool
from components.model_cache import ModelCache
from components.model_server import ModelServer, ModelServerArgs
from components.names import ROLES, Release
from components.platform.select import build_platform
from components.release_namespace import ReleaseNamespace
from components.route import Route
from components.security import Security, mesh_extension_providers
from components.verification.job import Verification

loaded = load()  # stops here, before any resource, on bad input
config, release = loaded.config, Release.from_config(loaded.config)

platform = build_platform(config)
k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": platform.provider})

namespace = ReleaseNamespace(
    "release", release, config.create_namespace, loaded.hf_token, opts=k8s_opts, depends_on=platform.cluster_ready
)
in_cluster = platform.cluster_ready + namespace.ready

gateway = GatewayProvider(
    "gateway",
    config.gateway,
    release,
    config.versions,
    class_name=config.gateway_class,
    manages_crds=platform.manages_gateway_crds,
    depends_on=in_cluster,
    opts=k8s_opts,
    extension_providers=mesh_extension_providers(config, release),
)
security = Security("security", config, release, loaded.api_key, depends_on=in_cluster, kinds_ready=gateway.kinds_ready, opts=k8s_opts)
pool = InferencePool(
    "pool",
    config,
    release,
    crds=gateway.kinds_ready,
    depends_on=in_cluster,
    opts=k8s_opts,
    security_policy=security.backend_security_policy,
    security_ready=security.ready,
)
hf_secret = release.hf_secret if namespace.hf_secret else None
cache = ModelCache("model-cache", config, release, hf_secret, depends_on=in_cluster + namespace.workload_ready, opts=k8s_opts)

servers = {
    role: ModelServer(
        role,
        ModelServerArgs(
            role=role,
            spec=getattr(config, role),
            model=config.model,
            release=release,
            wiring=platform.wiring,
            cache=cache.wiring,
            versions=config.versions,
            hf_secret=hf_secret,
            monitoring_interval=config.monitoring.model_server_interval if config.monitoring.enabled else None,
            metrics_backend=config.metrics_backend,
        ),
        depends_on=in_cluster,
        pods_wait_for=platform.gpu_ready + namespace.workload_ready + cache.wiring.ready + [pool.pool],
        opts=k8s_opts,
    )
    for role in ROLES
}

route = Route(
    "route",
    release,
    depends_on=in_cluster + [gateway.gateway, pool.pool],
    provider=config.gateway.provider,
    opts=k8s_opts,
)

serving = [route.route, pool.pool, *(server.deployment for server in servers.values())]
if config.verification.enabled:
    verification = Verification(
        "verification", config, release, gateway.url, depends_on=in_cluster, serving=serving + security.ready, opts=k8s_opts,
        api_key=security.key,
    )
    pulumi.export("verification", verification.result)

if config.benchmark.enabled:
    benchmark = Benchmark(
        "benchmark",
        config,
        release,
        gateway.url,
        hf_secret,
        depends_on=namespace.workload_ready + in_cluster,
        serving=serving + security.ready + ([verification.job] if config.verification.enabled else []),
        opts=k8s_opts,
        api_key=security.key,
    )
    pulumi.export("benchmark", benchmark.commands)

outputs.export(config, release, gateway.address, security.key)
