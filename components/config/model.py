"""The stack configuration, as a typed model.

Every key a stack file may hold under `llmd:` is a field here, spelled in camelCase as in the
YAML. Unknown keys are errors at every depth. Rules that involve several keys live in
`rules.py`; this module checks each value on its own.
"""

import ipaddress
from typing import Annotated, Literal, Optional, Union

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from components.config.base import (
    DNS_LABEL,
    EXTENDED_RESOURCE,
    HF_MODEL_ID,
    DnsLabel,
    Duration,
    EnvName,
    LabelKey,
    LabelValue,
    Quantity,
    Strict,
)
from components import releases
from components.config.gke import GkeClusterConfig
from components.model_catalog import DEFAULT_MODEL, DEFAULT_SIZE_GB, KNOWN_MODELS
from components.versions import Versions


def _power_of_two(value: int) -> int:
    if value < 1 or value & (value - 1):
        raise ValueError(f"must be a power of two (1, 2, 4, 8); got {value}")
    return value


class Toleration(Strict):
    key: Optional[LabelKey] = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: Optional[LabelValue] = None
    effect: Optional[Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]] = None

    @model_validator(mode="after")
    def _as_the_api_server_requires(self):
        if self.key is None and self.operator != "Exists":
            raise ValueError("a toleration without a key must have operator: Exists (it then tolerates every taint)")
        if self.operator == "Exists" and self.value is not None:
            raise ValueError("a toleration with operator: Exists takes no value; remove it or use operator: Equal")
        return self


class SecretEnv(Strict):
    """An environment variable read from an existing Kubernetes Secret in the release's namespace."""

    secret: DnsLabel
    key: Annotated[str, StringConstraints(pattern=r"^[-._a-zA-Z0-9]+$")]


class RoleConfig(Strict):
    """One model-server role (prefill or decode): how many pods, how wide, what they get."""

    replicas: int = Field(ge=1, le=256)
    tensor_parallel: int
    data_parallel: int = Field(default=1, ge=1, le=8)
    cpu: Quantity
    memory: Quantity
    shm_size: Quantity = "16Gi"
    extra_args: list[str] = Field(default_factory=list)
    env: dict[EnvName, str] = Field(default_factory=dict)
    # Credentials: referenced from a Secret, never written into the Deployment or the state.
    secret_env: dict[EnvName, SecretEnv] = Field(default_factory=dict)
    node_selector: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)

    @field_validator("tensor_parallel")
    @classmethod
    def _tp_power_of_two(cls, value: int) -> int:
        return _power_of_two(value)

    @property
    def gpus(self) -> int:
        return self.tensor_parallel * self.data_parallel


# The guide's topology of the release profile (v0.5.0: 4 prefill pods at TP1, 1 decode pod at TP4;
# v0.9.0: 8 x TP1, 2 x TP4). A stack's role block is laid over these, so `prefill: {replicas: 2}`
# keeps the rest.
ROLE_DEFAULTS = releases.thaw(releases.profile(releases.DEFAULT).role_defaults)


def role_defaults(llmd: object) -> dict:
    """The topology defaults of the profile a stack names (the default profile's for a bad name)."""
    name = llmd if isinstance(llmd, str) and llmd in releases.profiles() else releases.DEFAULT
    return releases.thaw(releases.profile(name).role_defaults)


def default_prefill() -> RoleConfig:
    return RoleConfig.model_validate(ROLE_DEFAULTS["prefill"])


def default_decode() -> RoleConfig:
    return RoleConfig.model_validate(ROLE_DEFAULTS["decode"])


class ModelConfig(Strict):
    name: Annotated[str, StringConstraints(pattern=HF_MODEL_ID)] = DEFAULT_MODEL
    served_name: Optional[str] = None
    max_model_len: int = Field(default=32000, ge=256)
    block_size: Literal[16, 32, 64, 128] = 128
    requires_token: bool = False
    # Bytes of weights fetched from the hub per download (gpt-oss-120b: about 65 GB). Left out, a
    # model of components/model_catalog.py gets its own size; any other model gets this default.
    size_gb: float = Field(default=DEFAULT_SIZE_GB, gt=0)
    # num_key_value_heads of the model's config.json; known models' values are in model_catalog.
    num_kv_heads: Optional[int] = Field(default=None, ge=1, le=1024)
    # Whether vLLM serves it with the Harmony encoding (config.json model_type gpt_oss); default:
    # known models' value, else whether the name says gpt-oss.
    harmony: Optional[bool] = None

    @model_validator(mode="before")
    @classmethod
    def _known_size(cls, data):
        name = data.get("name") if isinstance(data, dict) else None
        if isinstance(name, str) and "sizeGb" not in data and name in KNOWN_MODELS:
            data = {**data, "sizeGb": KNOWN_MODELS[name].size_gb}
        return data

    @property
    def served(self) -> str:
        return self.served_name or self.name

    @property
    def kv_heads(self) -> Optional[int]:
        known = KNOWN_MODELS.get(self.name)
        return self.num_kv_heads or (known.kv_heads if known else None)

    @property
    def uses_harmony(self) -> bool:
        if self.harmony is not None:
            return self.harmony
        known = KNOWN_MODELS.get(self.name)
        return known.harmony if known else "gpt-oss" in self.name.lower()


class ModelCacheConfig(Strict):
    """Where weights come from when a pod starts."""

    # shared: filled once per cluster by a Job (PVC on an existing cluster, GCS on GKE), read-only
    #   in every pod, so restarts and scale-ups pull nothing from the hub;
    # download: each pod downloads into its own emptyDir, as the upstream guide does.
    mode: Literal["shared", "download"] = "shared"
    # Capacity: the PVC size, or the emptyDir limit in download mode. Must hold the weights.
    size: Quantity = "250Gi"
    # Existing cluster, shared mode: a ReadWriteMany storage class (default: the cluster's default).
    storage_class: Optional[str] = None
    # GKE: bucket for the weights (default: derived from project and release, globally unique).
    bucket: Optional[Annotated[str, StringConstraints(pattern=r"^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$")]] = None
    # Retired: true is refused (see _no_shared_compile_cache); the key stays so old stacks get the reason.
    persistent_compile_cache: bool = False

    @field_validator("persistent_compile_cache")
    @classmethod
    def _no_shared_compile_cache(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "a shared compile cache is not offered: vLLM 0.14.1 keys torch.compile's cache with every "
                "VLLM_* variable (vllm/envs.py compile_factors), VLLM_NIXL_SIDE_CHANNEL_HOST (the pod IP) "
                "included, so a restarted pod never reuses it and the volume fills with dead entries. Remove "
                "the key (each pod compiles into its own volume, as upstream)"
            )
        return value


class BenchmarkStage(Strict):
    concurrency: int = Field(ge=1, le=10000)
    requests: int = Field(ge=1)


def guide_stages() -> list[BenchmarkStage]:
    return [BenchmarkStage(concurrency=c, requests=n) for c, n in ((50, 500), (100, 1000), (200, 2000), (300, 3000), (400, 4000))]


class BenchmarkConfig(Strict):
    """The guide's inference-perf `sanity_random` run through the Gateway, results on a PVC."""

    enabled: bool = False
    stages: list[BenchmarkStage] = Field(default_factory=guide_stages, min_length=1)
    input_tokens: int = Field(default=1000, ge=1)
    output_tokens: int = Field(default=1000, ge=1)
    num_workers: int = Field(default=45, ge=1)
    worker_max_concurrency: int = Field(default=10, ge=1)
    results_size: Quantity = "20Gi"
    storage_class: Optional[str] = None


class VerificationConfig(Strict):
    """A Job that `pulumi up` waits for: one request through the Gateway, proven disaggregated."""

    enabled: bool = True
    timeout_seconds: int = Field(default=600, ge=30)


class SchedulerConfig(Strict):
    # Prompts whose uncached part is shorter than this many bytes skip prefill (0 = always P/D).
    selective_pd_threshold: int = Field(default=0, ge=0)
    hash_block_size: int = Field(default=5, ge=1)
    log_verbosity: int = Field(default=1, ge=0, le=5)


class MonitoringConfig(Strict):
    enabled: bool = True
    model_server_interval: Duration = "30s"
    scheduler_interval: Duration = "10s"
    # Namespaces whose pods scrape metrics (NetworkPolicies admit them); default: gmp-system on GKE,
    # monitoring elsewhere (the usual Prometheus Operator namespace).
    namespaces: Optional[list[DnsLabel]] = Field(default=None, min_length=1, max_length=16)


class ProxyResources(Strict):
    """The gateway proxy's container resources; an unset field takes the provider's default."""

    cpu_request: Optional[Quantity] = None
    memory_request: Optional[Quantity] = None
    cpu_limit: Optional[Quantity] = None
    memory_limit: Optional[Quantity] = None


GKE_CLASSES = {"internal": "gke-l7-rilb", "public": "gke-l7-regional-external-managed"}


def _source_range(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR range; write one like 203.0.113.0/24 (host bits zero)") from None
    return str(network)


SourceRange = Annotated[str, AfterValidator(_source_range)]
SecretKeyName = Annotated[str, StringConstraints(pattern=r"^[-._a-zA-Z0-9]+$", max_length=253)]


class GatewayAuth(Strict):
    """Who may call the model: clients present `Authorization: Bearer <key>`."""

    # none | apiKey; default: apiKey when gateway.exposure is public, none when internal.
    mode: Optional[Literal["none", "apiKey"]] = None
    # An existing Secret in the release namespace holding the keys (every value is a valid key, so a
    # key is rotated by adding the new one and removing the old). Or set the Pulumi secret
    # `gatewayApiKey`, which the program turns into a Secret.
    secret: Optional[DnsLabel] = None
    # The key of that Secret the verification and benchmark Jobs present.
    key: SecretKeyName = "api-key"


class GatewayConfig(Strict):
    # istio / kgateway / agentgateway: control plane installed from its Helm charts; gke: the managed
    # GKE Gateway. One module per provider under components/gateway/ (select.py lists them).
    provider: Literal["istio", "kgateway", "agentgateway", "gke"] = "istio"
    # internal: reachable only inside the cluster (istio/kgateway: ClusterIP Service) or the VPC (GKE:
    # gke-l7-rilb); public: an external load balancer, always with authentication.
    exposure: Literal["internal", "public"] = "internal"
    auth: GatewayAuth = Field(default_factory=GatewayAuth)
    # GKE, public: only these source ranges reach the load balancer (Cloud Armor). Empty: any.
    allowed_source_ranges: list[SourceRange] = Field(default_factory=list, max_length=64)
    # GKE Gateway class; derived from `exposure` (internal: gke-l7-rilb, public:
    # gke-l7-regional-external-managed). Setting it must agree with `exposure`.
    gke_class: Optional[Literal["gke-l7-regional-external-managed", "gke-l7-rilb"]] = None
    # The Gateway API + Inference Extension CRDs: install (create; fails if they exist), adopt (take
    # over existing ones), skip (the cluster has them). Never deleted on destroy. See components/gateway/crds.py.
    crds: Literal["install", "adopt", "skip"] = "install"
    # Turn off on a cluster where another stack or an admin already installed the control plane.
    install_control_plane: bool = True
    proxy_log_level: Literal["trace", "debug", "info", "warning", "error", "critical", "off"] = "error"
    proxy_resources: ProxyResources = Field(default_factory=ProxyResources)
    listener_port: int = Field(default=80, ge=1, le=65535)

    @model_validator(mode="before")
    @classmethod
    def _install_crds_was_replaced(cls, data):
        if isinstance(data, dict) and "installCrds" in data:
            mode = {True: "install", False: "skip"}.get(data["installCrds"], "install, adopt or skip")
            raise ValueError(f"gateway.installCrds was replaced by gateway.crds: install | adopt | skip; use crds: {mode}")
        return data


class RdmaConfig(Strict):
    """How a pod on an existing cluster asks for its RDMA devices (a device-plugin resource)."""

    resource_name: Annotated[str, StringConstraints(pattern=EXTENDED_RESOURCE)] = "rdma/ib"
    count: int = Field(default=1, ge=1, le=64)
    # Locking memory for RDMA registration needs IPC_LOCK.
    capabilities: list[Literal["IPC_LOCK", "SYS_RAWIO", "NET_ADMIN", "NET_RAW", "SYS_RESOURCE"]] = Field(
        default_factory=lambda: ["IPC_LOCK"]
    )
    # UCX/NCCL tuning for this fabric, e.g. UCX_TLS, UCX_NET_DEVICES, UCX_IB_ADDR_TYPE.
    env: dict[EnvName, str] = Field(default_factory=dict)


class ExistingClusterConfig(Strict):
    """An existing Kubernetes cluster with GPUs and an RDMA device plugin, reached by kubeconfig."""

    kind: Literal["existing"]
    # A path (kept as written: the provider expands `~` itself, so the state holds no home directory)
    # or the contents; default: $KUBECONFIG or ~/.kube/config.
    kubeconfig: Optional[str] = None
    # Required: without it the provider follows the kubeconfig's current-context, whichever cluster
    # the shell last pointed at. Checked below so the message names the key and the fix.
    context: Optional[str] = Field(default=None, validate_default=True)
    gpus_per_node: int = Field(default=8, ge=1, le=16)
    gpu_resource: Annotated[str, StringConstraints(pattern=EXTENDED_RESOURCE)] = "nvidia.com/gpu"
    rdma: RdmaConfig = Field(default_factory=RdmaConfig)

    @field_validator("context")
    @classmethod
    def _explicit_context(cls, value: Optional[str]) -> str:
        if not value or not value.strip():
            raise ValueError(
                "is not set. Without it the Kubernetes provider uses the kubeconfig's current-context, so an "
                "`up` or `destroy` from a shell pointed at another cluster would act on that cluster. Set it to "
                "the target cluster's context (`kubectl config get-contexts`): "
                "pulumi config set --path platform.context <context>"
            )
        return value


PlatformConfig = Annotated[Union[ExistingClusterConfig, GkeClusterConfig], Field(discriminator="kind")]


class PricingConfig(Strict):
    """Overrides of the plan's price list (USD per hour, see tools/plan/prices.py). Nothing deployed reads them."""

    # GKE: one GPU node at the configured capacity (default: the list's price for the machine, region, capacity).
    gpu_node_hour: Optional[float] = Field(default=None, ge=0)
    # Existing cluster: one GPU of the cluster (default: $85 per 8-GPU H200 node hour / 8).
    gpu_hour: Optional[float] = Field(default=None, ge=0)
    # GKE: one node of the CPU system pool.
    system_node_hour: Optional[float] = Field(default=None, ge=0)


class StackConfig(Strict):
    platform: PlatformConfig
    namespace: DnsLabel = "llm-d-pd"
    create_namespace: bool = True
    # Every object name derives from it, so two releases can share a namespace.
    release_suffix: Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=20)] = "pd"
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    model_cache: ModelCacheConfig = Field(default_factory=ModelCacheConfig)
    prefill: RoleConfig = Field(default_factory=default_prefill)
    decode: RoleConfig = Field(default_factory=default_decode)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    verification: VerificationConfig = Field(default_factory=VerificationConfig)
    benchmark: BenchmarkConfig = Field(default_factory=BenchmarkConfig)
    versions: Versions = Field(default_factory=Versions)
    pricing: PricingConfig = Field(default_factory=PricingConfig)

    @property
    def metrics_backend(self) -> Literal["prometheus-operator", "gmp"]:
        """GKE clusters scrape with Google Managed Prometheus; others with the Prometheus Operator."""
        return "gmp" if self.platform.kind == "gke" else "prometheus-operator"

    @property
    def gateway_class(self) -> str:
        """The Gateway's class, as the provider module names it (components/gateway/)."""
        from components.gateway.select import gateway_backend  # noqa: PLC0415 - the providers import this module

        return gateway_backend(self.gateway.provider).class_name(self.gateway, self.versions)

    @property
    def auth_mode(self) -> Literal["none", "apiKey"]:
        """A public gateway authenticates unless told otherwise (and the rules refuse `none` there)."""
        return self.gateway.auth.mode or ("apiKey" if self.gateway.exposure == "public" else "none")

    @model_validator(mode="before")
    @classmethod
    def _role_defaults(cls, data):
        if isinstance(data, dict):
            versions = data.get("versions")
            llmd = versions.get("llmd") if isinstance(versions, dict) else None
            for role, defaults in role_defaults(llmd).items():
                if isinstance(data.get(role), dict) or (llmd is not None and role not in data):
                    data = {**data, role: {**defaults, **(data.get(role) or {})}}
        return data
