"""Every name, label and port of one release, derived once from the config.

Components never spell a name, label or port themselves; they ask a `Release`. That is what
makes the pool selector, the pod labels, the EPP flags, the sidecar ports and the route
references agree by construction.
"""

import re
from dataclasses import dataclass
from typing import Literal

from components.config.model import StackConfig

RoleName = Literal["prefill", "decode"]
ROLES: tuple[RoleName, ...] = ("prefill", "decode")
DEFAULT_SUFFIX = "pd"

# The port the InferencePool targets on every model-server pod. Prefill vLLM listens on it
# directly (the decode sidecar sends prefill requests to <pod-ip>:<this port>); on decode pods the
# routing sidecar owns it and forwards to vLLM on DECODE_VLLM_PORT.
POOL_TARGET_PORT = 8000
DECODE_VLLM_PORT = 8200
NIXL_SIDE_CHANNEL_PORT = 5600
# Container port names on model-server pods (NetworkPolicies name them, so they follow the numbers).
VLLM_PORT_NAME = "vllm"
NIXL_PORT_NAME = "nixl"
SIDECAR_PORT_NAME = "sidecar"
EPP_GRPC_PORT = 9002
EPP_HEALTH_PORT = 9003
EPP_METRICS_PORT = 9090
# The API-key authorizer (Istio ext_authz over HTTP) and the key the program's own Secret holds.
AUTHZ_PORT = 8080
API_KEY_KEY = "api-key"
# Label Istio 1.28 (manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml) puts on the
# pods of a Gateway it deploys; the data-plane Service carries it too.
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"

HF_TOKEN_KEY = "HF_TOKEN"
GUIDE_LABEL = "pd-disaggregation"
INFERENCE_POOL_GROUP = "inference.networking.k8s.io"


@dataclass(frozen=True)
class Release:
    namespace: str
    suffix: str
    served_model: str
    accelerator_vendor: str = "nvidia"

    @classmethod
    def from_config(cls, config: StackConfig) -> "Release":
        return cls(config.namespace, config.release_suffix, config.model.served, accelerator_vendor(config))

    # --- names -----------------------------------------------------------------------------
    @property
    def gateway(self) -> str:
        return f"infra-{self.suffix}-inference-gateway"

    @property
    def pool(self) -> str:
        return f"gaie-{self.suffix}"

    @property
    def epp(self) -> str:
        return f"gaie-{self.suffix}-epp"

    @property
    def epp_host(self) -> str:
        return f"{self.epp}.{self.namespace}.svc.cluster.local"

    @property
    def epp_cluster_role(self) -> str:
        # Cluster-scoped, so it carries the namespace to stay unique across installs.
        return f"gaie-{self.suffix}-{self.namespace}-epp"

    @property
    def epp_metrics_scraper(self) -> str:
        """ServiceAccount (and its token Secret) that scrapers present: it may only GET /metrics."""
        return f"{self.epp}-metrics-scraper"

    @property
    def epp_metrics_token(self) -> str:
        return self.epp_metrics_scraper

    @property
    def epp_metrics_scraper_role(self) -> str:
        # Cluster-scoped: /metrics is a non-resource URL.
        return f"{self.epp_cluster_role}-metrics-scraper"

    @property
    def epp_monitor(self) -> str:
        return f"{self.epp}-monitor"

    @property
    def epp_token_reader(self) -> str:
        """Role letting Google Managed Prometheus read the picker's metrics token."""
        return f"{self.epp}-metrics-token-reader"

    @property
    def model_service(self) -> str:
        return f"ms-{self.suffix}-llm-d-modelservice"

    def deployment(self, role: RoleName) -> str:
        return f"{self.model_service}-{role}"

    def pod_monitor(self, role: RoleName) -> str:
        return f"{self.deployment(role)}-podmonitor"

    @property
    def model_cache(self) -> str:
        return f"{self.model_service}-model-cache"

    @property
    def model_fill(self) -> str:
        return f"{self.model_service}-model-fill"

    @property
    def verifier(self) -> str:
        return f"{self.model_service}-verify"

    @property
    def verifier_metrics_role(self) -> str:
        # Cluster-scoped: /metrics is a non-resource URL.
        return f"{self.epp_cluster_role}-metrics-reader"

    @property
    def benchmark(self) -> str:
        return f"{self.model_service}-bench"

    @property
    def route(self) -> str:
        return f"llm-d-{self.suffix}-disaggregation"

    @property
    def hf_secret(self) -> str:
        # The guide's fixed name for the default release; suffixed for any other, so that
        # concurrent releases in one namespace do not share (and delete) one Secret.
        return "llm-d-hf-token" if self.suffix == DEFAULT_SUFFIX else f"llm-d-hf-token-{self.suffix}"

    @property
    def api_key_secret(self) -> str:
        """The Secret the program makes from the Pulumi secret `gatewayApiKey`."""
        return f"{self.gateway}-api-key"

    @property
    def authz(self) -> str:
        """The API-key authorizer the Gateway consults (Istio ext_authz)."""
        return f"{self.gateway}-authz"

    @property
    def authz_provider(self) -> str:
        """Its name in Istio's meshConfig.extensionProviders (mesh-wide, so it carries the namespace)."""
        return f"llmd-api-key-{self.namespace}-{self.suffix}"

    def network_policy(self, target: str) -> str:
        return f"{self.model_service}-{target}" if target in ("prefill", "decode") else f"gaie-{self.suffix}-{target}"

    @property
    def security_policy(self) -> str:
        """The GKE Cloud Armor policy (a GCP name: lowercase, at most 63 characters)."""
        return f"llmd-{self.namespace}-{self.suffix}"[:63].rstrip("-")

    # --- labels ----------------------------------------------------------------------------
    @property
    def pool_selector(self) -> dict[str, str]:
        """What the InferencePool selects: every model-server pod of this release, nothing else."""
        return {
            "llm-d.ai/inference-serving": "true",
            "llm-d.ai/guide": GUIDE_LABEL,
            "llm-d.ai/pool": self.pool,
        }

    def role_selector(self, role: RoleName) -> dict[str, str]:
        return {**self.pool_selector, "llm-d.ai/role": role}

    def role_labels(self, role: RoleName) -> dict[str, str]:
        """Pod labels: the selector's, plus the ones upstream's pods carry for dashboards and commands.

        The guide's values (llm-d/llm-d guides/pd-disaggregation/ms-pd/values.yaml,
        modelArtifacts.labels) put `llm-d.ai/hardware-vairant` (sic) and `llm-d.ai/accelerator-vendor`
        on every model-server pod (llm-d-incubation/llm-d-modelservice@llm-d-modelservice-v0.4.5:
        charts/llm-d-modelservice/templates/_helpers.tpl, "llm-d-modelservice.pdlabels"). Not in
        any selector, so a Deployment's immutable selector is unchanged.
        """
        return {
            **self.role_selector(role),
            "llm-d.ai/model": model_label(self.served_model),
            "llm-d.ai/accelerator-vendor": self.accelerator_vendor,
            "llm-d.ai/hardware-vairant": "gpu",
        }

    @property
    def gateway_selector(self) -> dict[str, str]:
        """The pods of the Gateway's data plane (Istio, kgateway) in the release namespace."""
        return {GATEWAY_NAME_LABEL: self.gateway}

    @property
    def authz_selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/instance": self.suffix, "app.kubernetes.io/component": "api-key-authz"}

    @property
    def epp_selector(self) -> dict[str, str]:
        return {"inferencepool": self.epp}

    def component_labels(self, component: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/part-of": "llm-d",
            "app.kubernetes.io/instance": self.suffix,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": "pulumi",
        }

    # --- ports -----------------------------------------------------------------------------
    @staticmethod
    def vllm_port(role: RoleName) -> int:
        return DECODE_VLLM_PORT if role == "decode" else POOL_TARGET_PORT

    @staticmethod
    def nixl_ports(data_parallel: int) -> dict[str, int]:
        """Every NIXL side-channel port of a pod, by port name: one per data-parallel rank.

        vllm-project/vllm@v0.14.1:vllm/distributed/kv_transfer/kv_connector/v1/nixl_connector.py
        (NixlConnectorScheduler.__init__): each engine listens on VLLM_NIXL_SIDE_CHANNEL_PORT +
        parallel_config.data_parallel_index, which vllm/v1/engine/core.py sets to the engine's DP rank.
        """
        return {(NIXL_PORT_NAME if rank == 0 else f"{NIXL_PORT_NAME}-dp{rank}"): NIXL_SIDE_CHANNEL_PORT + rank for rank in range(data_parallel)}

    @staticmethod
    def has_routing_sidecar(role: RoleName) -> bool:
        return role == "decode"


def accelerator_vendor(config: StackConfig) -> str:
    """The GPU vendor label value: the GPU resource's domain (nvidia.com/gpu: nvidia)."""
    resource = getattr(config.platform, "gpu_resource", "nvidia.com/gpu")
    return model_label(resource.split("/", 1)[0].split(".", 1)[0])


def model_label(model: str) -> str:
    """A label value for a model id: its last path segment, cut to 63 valid characters."""
    value = re.sub(r"[^A-Za-z0-9._-]", "-", model.rsplit("/", 1)[-1])[:63]
    return value.strip("-_.") or "model"
