"""The InferencePool and its endpoint picker (the llm-d inference scheduler with the P/D plugins)."""

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components import scheduler_config
from components.config.model import StackConfig
from components.gateway.base import GatewayBackend, PoolTarget
from components.kube import child, content_hash, meta, resources, role_ref, service_account
from components.names import (
    EPP_GRPC_PORT,
    EPP_HEALTH_PORT,
    EPP_METRICS_PORT,
    INFERENCE_POOL_GROUP,
    POOL_TARGET_PORT,
    Release,
)

POOL_API = f"{INFERENCE_POOL_GROUP}/v1"
READ_VERBS = ["get", "list", "watch"]


class InferencePool(pulumi.ComponentResource):
    pool: k8s.apiextensions.CustomResource
    epp: k8s.apps.v1.Deployment

    def __init__(
        self,
        name: str,
        config: StackConfig,
        release: Release,
        gateway: GatewayBackend,
        crds: list[pulumi.Resource],
        depends_on: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
        security_policy: Optional[str] = None,  # GKE: Cloud Armor policy for the backend (components/security)
        security_ready: Optional[list[pulumi.Resource]] = None,
    ):
        super().__init__("llmd:serving:InferencePool", name, None, opts)
        self._release = release
        labels = {**release.component_labels("endpoint-picker"), "app.kubernetes.io/name": release.epp}
        ns = release.namespace
        profile = config.versions.profile

        account = k8s.core.v1.ServiceAccount(
            f"{name}-epp", metadata=meta(release.epp, ns, labels), opts=child(self, depends_on)
        )
        role = k8s.rbac.v1.Role(
            f"{name}-epp",
            metadata=meta(release.epp, ns, labels),
            rules=[
                {
                    "apiGroups": list(profile.epp.objective_groups),
                    "resources": ["inferenceobjectives", "inferencemodelrewrites"],
                    "verbs": READ_VERBS,
                },
                {"apiGroups": [INFERENCE_POOL_GROUP], "resources": ["inferencepools"], "verbs": READ_VERBS},
                {"apiGroups": [""], "resources": ["pods"], "verbs": READ_VERBS},
            ],
            opts=child(self, depends_on),
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-epp",
            metadata=meta(release.epp, ns, labels),
            role_ref=role_ref("Role", release.epp),
            subjects=[service_account(release.epp, ns)],
            opts=child(self, depends_on + [role, account]),
        )
        plugins = k8s.core.v1.ConfigMap(
            f"{name}-epp",
            metadata=meta(release.epp, ns, labels),
            data={scheduler_config.CONFIG_FILE: scheduler_config.plugins_config_yaml(config.scheduler, profile.scheduler, config.model.max_model_len)},
            opts=child(self, depends_on),
        )
        self.epp = k8s.apps.v1.Deployment(
            f"{name}-epp",
            metadata=meta(release.epp, ns, labels),
            spec=self._epp_spec(config, labels),
            opts=child(self, depends_on + [binding, plugins]),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-epp",
            metadata=meta(release.epp, ns, labels),
            spec={
                "type": "ClusterIP",
                "selector": release.epp_selector,
                "ports": [
                    {"name": "grpc-ext-proc", "port": EPP_GRPC_PORT, "targetPort": EPP_GRPC_PORT, "protocol": "TCP", "appProtocol": "http2"},
                    {"name": "http-metrics", "port": EPP_METRICS_PORT, "targetPort": EPP_METRICS_PORT, "protocol": "TCP"},
                ],
            },
            opts=child(self, depends_on),
        )
        pool_spec = {
            "selector": {"matchLabels": release.pool_selector},
            "targetPorts": [{"number": POOL_TARGET_PORT}],
            "endpointPickerRef": {
                "group": "",
                "kind": "Service",
                "name": release.epp,
                "port": {"number": EPP_GRPC_PORT},
                "failureMode": profile.pool.failure_mode,
            },
        }
        if profile.pool.app_protocol:
            pool_spec["appProtocol"] = profile.pool.app_protocol
        self.pool = k8s.apiextensions.CustomResource(
            f"{name}-pool",
            api_version=POOL_API,
            kind="InferencePool",
            metadata=meta(release.pool, ns, labels),
            spec=pool_spec,
            opts=child(self, depends_on + crds + [self.service]),
        )
        # What the gateway provider needs around the pool (e.g. a DestinationRule, load-balancer policies).
        self.extras: list[pulumi.Resource] = gateway.pool_policies(
            PoolTarget(self, name, release, labels, depends_on, crds, self.pool, security_policy, list(security_ready or []))
        )
        # The picker authenticates and authorizes every /metrics scrape (its default), monitored or not.
        self.metrics_auth = self._metrics_auth(name, labels, depends_on + [account])
        if config.monitoring.enabled:
            self.extras += self._metrics(name, config, labels, depends_on + [account, *self.metrics_auth])
        self.register_outputs({"poolName": release.pool, "eppService": release.epp})

    def _epp_spec(self, config: StackConfig, labels: dict) -> dict:
        release = self._release
        epp = config.versions.profile.epp
        args = [
            "--pool-name", release.pool,
            "--pool-namespace", release.namespace,
            "--pool-group", INFERENCE_POOL_GROUP,
            "--zap-encoder", "json",
            "--config-file", f"{scheduler_config.CONFIG_DIR}/{scheduler_config.CONFIG_FILE}",
            *epp.extra_flags,
            "--grpc-port", str(EPP_GRPC_PORT),
            "--grpc-health-port", str(EPP_HEALTH_PORT),
            "--metrics-port", str(EPP_METRICS_PORT),
            "--v", str(config.scheduler.log_verbosity),
            "--tracing=false",
        ]
        health = {"grpc": {"port": EPP_HEALTH_PORT, "service": "inference-extension"}}
        return {
            "replicas": 1,
            # One picker at a time: two would each keep their own view of queue state.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": release.epp_selector},
            "template": {
                "metadata": {
                    "labels": {**labels, **release.epp_selector},
                    # The picker reads --config-file once, at start: a config change must roll it. Its
                    # ConfigMap is replaced (delete-first, same name) before this Deployment updates; the
                    # running picker parsed it already, so an in-place update would gain nothing.
                    "annotations": {
                        scheduler_config.CONFIG_HASH_ANNOTATION: content_hash(scheduler_config.plugins_config_yaml(config.scheduler, config.versions.profile.scheduler, config.model.max_model_len))
                    },
                },
                "spec": {
                    "serviceAccountName": release.epp,
                    "terminationGracePeriodSeconds": 130,
                    "containers": [
                        {
                            "name": "epp",
                            "image": config.versions.scheduler_image,
                            "imagePullPolicy": "IfNotPresent",
                            "args": args,
                            "ports": [
                                {"name": "grpc", "containerPort": EPP_GRPC_PORT},
                                {"name": "grpc-health", "containerPort": EPP_HEALTH_PORT},
                                {"name": "metrics", "containerPort": EPP_METRICS_PORT},
                            ],
                            "livenessProbe": {**health, "initialDelaySeconds": 5, "periodSeconds": 10},
                            "readinessProbe": {**health, "periodSeconds": 2},
                            "resources": resources(epp.cpu_request, epp.memory_request, limit_memory=epp.memory_limit),
                            "env": [
                                {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            ],
                            "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
                            "volumeMounts": [{"name": "plugins-config", "mountPath": scheduler_config.CONFIG_DIR}],
                        }
                    ],
                    "volumes": [{"name": "plugins-config", "configMap": {"name": release.epp}}],
                },
            },
        }

    def _metrics_auth(self, name, labels, depends_on) -> list[pulumi.Resource]:
        """TokenReview/SubjectAccessReview rights for the picker's metrics auth (no scraper uses its token)."""
        release = self._release
        metrics_auth = k8s.rbac.v1.ClusterRole(
            f"{name}-epp-metrics",
            metadata=meta(release.epp_cluster_role, labels=labels),
            rules=[
                {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
                {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
            ],
            opts=child(self, depends_on),
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-epp-metrics",
            metadata=meta(release.epp_cluster_role, labels=labels),
            role_ref=role_ref("ClusterRole", release.epp_cluster_role),
            subjects=[service_account(release.epp, release.namespace)],
            opts=child(self, depends_on + [metrics_auth]),
        )
        return [metrics_auth, binding]

    def _metrics(self, name, config: StackConfig, labels, depends_on) -> list[pulumi.Resource]:
        """The picker's /metrics needs a token; scrapers present one of an account that may only GET /metrics.

        The picker authenticates each scrape with a TokenReview and authorizes it with a
        SubjectAccessReview for verb get on the non-resource path /metrics
        (sigs.k8s.io/controller-runtime@v0.22.5:pkg/metrics/filters/filters.go,
        WithAuthenticationAndAuthorization, which kubernetes-sigs/gateway-api-inference-extension@v1.3.0:
        cmd/epp/runner/runner.go installs with --metrics-endpoint-auth, on by default; the llm-d
        scheduler v0.5.0 runs that runner). The picker's own account, which lists pods and creates
        reviews, never leaves its pod.
        """
        release = self._release
        scraper = release.epp_metrics_scraper
        account = k8s.core.v1.ServiceAccount(
            f"{name}-epp-metrics-scraper",
            metadata=meta(scraper, release.namespace, labels),
            automount_service_account_token=False,
            opts=child(self, depends_on),
        )
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-epp-metrics-scraper",
            metadata=meta(release.epp_metrics_scraper_role, labels=labels),
            rules=[{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
            opts=child(self, depends_on),
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-epp-metrics-scraper",
            metadata=meta(release.epp_metrics_scraper_role, labels=labels),
            role_ref=role_ref("ClusterRole", release.epp_metrics_scraper_role),
            subjects=[service_account(scraper, release.namespace)],
            opts=child(self, depends_on + [role, account]),
        )
        token = k8s.core.v1.Secret(
            f"{name}-epp-metrics-token",
            metadata=meta(
                release.epp_metrics_token,
                release.namespace,
                labels,
                {"kubernetes.io/service-account.name": scraper},
            ),
            type="kubernetes.io/service-account-token",
            opts=child(self, depends_on + [account]),
        )
        interval = config.monitoring.scheduler_interval
        after = depends_on + [token, binding, self.service]
        if config.metrics_backend == "gmp":
            return [account, role, binding, token, *self._gmp_monitor(name, interval, labels, after)]
        monitor = k8s.apiextensions.CustomResource(
            f"{name}-epp-monitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=meta(release.epp_monitor, release.namespace, labels),
            spec={
                "jobLabel": release.epp,
                "endpoints": [
                    {
                        "port": "http-metrics",
                        "path": "/metrics",
                        "interval": interval,
                        "authorization": {"credentials": {"name": release.epp_metrics_token, "key": "token"}},
                    }
                ],
                "namespaceSelector": {"matchNames": [release.namespace]},
                "selector": {"matchLabels": {"app.kubernetes.io/name": release.epp}},
            },
            opts=child(self, after),
        )
        return [account, role, binding, token, monitor]

    def _gmp_monitor(self, name, interval, labels, depends_on) -> list[pulumi.Resource]:
        """Google Managed Prometheus: its collector (gmp-system/collector) may read only the token Secret."""
        release = self._release
        reader = release.epp_token_reader
        role = k8s.rbac.v1.Role(
            f"{name}-gmp-token-reader",
            metadata=meta(reader, release.namespace, labels),
            rules=[{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [release.epp_metrics_token], "verbs": ["get", "list", "watch"]}],
            opts=child(self, depends_on),
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-gmp-token-reader",
            metadata=meta(reader, release.namespace, labels),
            role_ref=role_ref("Role", reader),
            subjects=[service_account("collector", "gmp-system")],
            opts=child(self, depends_on + [role]),
        )
        monitoring = k8s.apiextensions.CustomResource(
            f"{name}-epp-monitor",
            api_version="monitoring.googleapis.com/v1",
            kind="PodMonitoring",
            metadata=meta(release.epp_monitor, release.namespace, labels),
            spec={
                "selector": {"matchLabels": release.epp_selector},
                "endpoints": [
                    {
                        "port": "metrics",
                        "scheme": "http",
                        "path": "/metrics",
                        "interval": interval,
                        "authorization": {
                            "type": "Bearer",
                            "credentials": {"secret": {"name": release.epp_metrics_token, "key": "token"}},
                        },
                    }
                ],
            },
            opts=child(self, depends_on + [binding]),
        )
        return [role, binding, monitoring]
