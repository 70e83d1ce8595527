"""One model-server role (prefill or decode): vLLM with the NIXL KV connector over RDMA.

The same component serves both roles; what differs (ports, the decode routing sidecar) comes
from `Release`, so the pool, the sidecar and vLLM agree on ports by construction.
"""

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components import cold_start, vllm
from components.config.credentials import EXTERNAL_SECRETS_ANNOTATION
from components.config.model import ModelConfig, RoleConfig
from components.kube import child, env_list, meta, resources
from components.model_cache import IMAGE_USER, CacheWiring
from components.names import (
    HF_TOKEN_KEY,
    POOL_TARGET_PORT,
    SIDECAR_PORT_NAME,
    VLLM_PORT_NAME,
    Release,
    RoleName,
)
from components.platform.wiring import PodWiring
from components.versions import Versions


@dataclass(frozen=True)
class ModelServerArgs:
    role: RoleName
    spec: RoleConfig
    model: ModelConfig
    release: Release
    wiring: PodWiring
    cache: CacheWiring
    versions: Versions
    hf_secret: Optional[str]  # Secret name holding HF_TOKEN, or None
    monitoring_interval: Optional[str]  # scrape interval, or None for no monitor
    metrics_backend: str = "prometheus-operator"  # or "gmp" (Google Managed Prometheus)
    sidecar_log_level: str = "error"


class ModelServer(pulumi.ComponentResource):
    deployment: k8s.apps.v1.Deployment

    def __init__(
        self,
        name: str,
        args: ModelServerArgs,
        depends_on: list[pulumi.Resource],
        pods_wait_for: list[pulumi.Resource],
        opts=None,
    ):
        """`depends_on`: what every object needs; `pods_wait_for`: what only the pods need (GPU nodes, cache)."""
        super().__init__("llmd:serving:ModelServer", name, None, opts)
        release, role = args.release, args.role
        deployment_name = release.deployment(role)
        labels = {**release.component_labels(role), **release.role_labels(role)}

        account = k8s.core.v1.ServiceAccount(
            name,
            metadata=meta(deployment_name, release.namespace, labels, args.cache.service_account_annotations),
            automount_service_account_token=False,
            opts=child(self, depends_on),
        )
        # Pulumi waits as long as the startup probe allows for this model size and load path: pods
        # start together on create, and roll in serial rounds of `batch` pods on update.
        size, path, replicas = args.model.size_gb, args.cache.load_path, args.spec.replicas
        wait = cold_start.rollout_wait(size, path, args.wiring.node_provisioning_seconds)
        update_wait = cold_start.update_wait(size, path, replicas, args.wiring.node_provisioning_seconds)
        batch = cold_start.rollout_batch(replicas)
        self.deployment = k8s.apps.v1.Deployment(
            name,
            metadata=meta(deployment_name, release.namespace, labels),
            spec={
                "replicas": args.spec.replicas,
                # GPUs are fully booked: never surge onto GPUs that do not exist; replace `batch` pods at a time.
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": batch}},
                "selector": {"matchLabels": release.role_selector(role)},
                "template": {
                    "metadata": {"labels": release.role_labels(role), **_annotations(args)},
                    "spec": pod_spec(args, deployment_name),
                },
            },
            opts=child(
                self,
                depends_on + pods_wait_for + [account],
                custom_timeouts=pulumi.CustomTimeouts(create=wait, update=update_wait),
                # A replacement (new name, namespace or selector) frees the GPUs first: new pods
                # created beside the old ones would wait for GPUs those still hold.
                delete_before_replace=True,
            ),
        )
        self.monitor = self._pod_monitor(name, args, labels, depends_on) if args.monitoring_interval else None
        self.register_outputs({"deployment": deployment_name, "replicas": args.spec.replicas, "gpusPerPod": args.spec.gpus})

    def _pod_monitor(self, name, args: ModelServerArgs, labels, depends_on):
        release = args.release
        endpoint = {"port": "vllm", "path": "/metrics", "interval": args.monitoring_interval}
        selector = {"matchLabels": release.role_selector(args.role)}
        if args.metrics_backend == "gmp":
            api, kind, spec = "monitoring.googleapis.com/v1", "PodMonitoring", {"selector": selector, "endpoints": [endpoint]}
        else:
            api, kind, spec = "monitoring.coreos.com/v1", "PodMonitor", {"selector": selector, "podMetricsEndpoints": [endpoint]}
        return k8s.apiextensions.CustomResource(
            f"{name}-podmonitor",
            api_version=api,
            kind=kind,
            metadata=meta(release.pod_monitor(args.role), release.namespace, labels),
            spec=spec,
            opts=child(self, depends_on),
        )


def _annotations(args: ModelServerArgs) -> dict:
    annotations = {**args.wiring.annotations, **args.cache.pod_annotations}
    external = sorted({ref.secret for ref in args.spec.secret_env.values()})
    if external:
        annotations[EXTERNAL_SECRETS_ANNOTATION] = ",".join(external)
    return {"annotations": annotations} if annotations else {}


def pod_spec(args: ModelServerArgs, service_account: str) -> dict:
    release, role, wiring = args.release, args.role, args.wiring
    spec: dict = {
        "serviceAccountName": service_account,
        # Shared caches are group-readable for the image's user.
        "securityContext": {"fsGroup": IMAGE_USER},
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 60,
        "containers": [vllm_container(args)],
        "volumes": _volumes(args),
    }
    if release.has_routing_sidecar(role):
        spec["initContainers"] = [routing_sidecar(args)]
    node_selector = {**wiring.node_selector, **args.spec.node_selector}
    if node_selector:
        spec["nodeSelector"] = node_selector
    tolerations = wiring.tolerations + [t.model_dump(by_alias=True, exclude_none=True) for t in args.spec.tolerations]
    if tolerations:
        spec["tolerations"] = tolerations
    if wiring.exclusive_nics:
        spec["affinity"] = _one_rdma_pod_per_node(release)
    return spec


def _one_rdma_pod_per_node(release: Release) -> dict:
    return {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": release.pool_selector}, "topologyKey": "kubernetes.io/hostname"}
            ]
        }
    }


def vllm_container(args: ModelServerArgs) -> dict:
    port = args.release.vllm_port(args.role)
    spec, wiring = args.spec, args.wiring
    # Guaranteed QoS: limits equal requests, GPUs and RDMA devices included.
    requested = {
        "cpu": spec.cpu,
        "memory": spec.memory,
        wiring.gpu_resource: str(spec.gpus),
        **{name: str(count) for name, count in wiring.rdma_resources.items()},
    }
    res = {"requests": requested, "limits": dict(requested)}
    env = vllm.nixl_env() + vllm.parallelism_env(spec) + env_list(args.cache.env)
    if args.hf_secret and args.cache.needs_hf_token:
        env.append({"name": HF_TOKEN_KEY, "valueFrom": {"secretKeyRef": {"name": args.hf_secret, "key": HF_TOKEN_KEY}}})
    # The release's env for this role first, so the platform and the stack can override it.
    env += env_list({**args.versions.profile.vllm.env.get(args.role, {}), **wiring.env, **spec.env})
    env += [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key}}}
        for name, ref in sorted(spec.secret_env.items())
    ]
    container = {
        "name": "vllm",
        "image": args.versions.vllm_image,
        "imagePullPolicy": "IfNotPresent",
        "command": vllm.serve_command(wiring.prelude),
        "args": vllm.serve_args(args.cache.model_ref, args.model, spec, port, args.versions.profile.vllm.flags),
        "env": env,
        "ports": [
            {"containerPort": port, "name": VLLM_PORT_NAME, "protocol": "TCP"},
            *[
                {"containerPort": nixl, "name": name, "protocol": "TCP"}
                for name, nixl in args.release.nixl_ports(spec.data_parallel).items()
            ],
        ],
        "resources": res,
        "startupProbe": {
            "httpGet": {"path": "/v1/models", "port": "vllm"},
            "initialDelaySeconds": 15,
            "periodSeconds": cold_start.PROBE_PERIOD_SECONDS,
            "timeoutSeconds": 5,
            "failureThreshold": cold_start.startup_failure_threshold(args.model.size_gb, args.cache.load_path),
        },
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": "vllm"},
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/v1/models", "port": "vllm"},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "volumeMounts": [
            {"name": "shm", "mountPath": "/dev/shm"},
            *args.cache.mounts,
            {"name": "metrics-volume", "mountPath": "/.config"},
            {"name": "torch-compile-cache", "mountPath": "/.cache"},
            *wiring.volume_mounts,
        ],
    }
    if wiring.capabilities:
        container["securityContext"] = {"capabilities": {"add": list(wiring.capabilities)}}
    return container


def routing_sidecar(args: ModelServerArgs) -> dict:
    """The llm-d routing sidecar: owns the pool port, runs prefill remotely, then decodes locally."""
    return {
        "name": "routing-proxy",
        "image": args.versions.routing_sidecar_image,
        "imagePullPolicy": "IfNotPresent",
        # A native sidecar: starts before vLLM and lives as long as the pod.
        "restartPolicy": "Always",
        # The release's flags (v0.5.0 --connector/--vllm-port; v0.9.0 --kv-connector/--model-server-port).
        "args": [
            arg.format(port=POOL_TARGET_PORT, model_server_port=args.release.vllm_port(args.role), log_level=args.sidecar_log_level)
            for arg in args.versions.profile.sidecar.args
        ],
        "ports": [{"containerPort": POOL_TARGET_PORT, "name": SIDECAR_PORT_NAME, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": "sidecar"}, "periodSeconds": 5},
        "resources": resources("250m", "256Mi", limit_memory="1Gi"),
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
    }


def _volumes(args: ModelServerArgs) -> list[dict]:
    return [
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": args.spec.shm_size}},
        *args.cache.volumes,
        {"name": "metrics-volume", "emptyDir": {}},
        {"name": "torch-compile-cache", "emptyDir": {}},
        *args.wiring.volumes,
    ]
