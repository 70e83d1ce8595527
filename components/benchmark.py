"""The guide's benchmark: inference-perf's `sanity_random` workload through the Gateway, results on a PVC.

Off by default. `pulumi up` does not wait for it (a full run takes tens of minutes); the stack
outputs say how to follow it and how to turn its results into the report (`make bench-report`).
"""

import json
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.config.credentials import EXTERNAL_SECRETS_ANNOTATION
from components.config.model import StackConfig
from components.kube import SKIP_AWAIT, child, claim_spec, content_hash, meta, named_by_spec, resources
from components.names import HF_TOKEN_KEY, Release
from components.security.keys import KeyRef

RESULTS_DIR = "/results"
CONFIG_DIR = "/etc/inference-perf"


def inference_perf_config(config: StackConfig, base_url: str) -> dict:
    bench, model = config.benchmark, config.model.served

    def fixed(tokens: int) -> dict:
        return {"min": tokens, "max": tokens, "mean": tokens, "std": 0}

    return {
        "load": {
            "type": "concurrent",
            "stages": [{"num_requests": s.requests, "concurrency_level": s.concurrency} for s in bench.stages],
            "num_workers": bench.num_workers,
            "worker_max_concurrency": bench.worker_max_concurrency,
        },
        "api": {"type": "completion", "streaming": True},
        "server": {"type": "vllm", "model_name": model, "base_url": base_url, "ignore_eos": True},
        "tokenizer": {"pretrained_model_name_or_path": config.model.name},
        "data": {"type": "random", "input_distribution": fixed(bench.input_tokens), "output_distribution": fixed(bench.output_tokens)},
        "report": {"request_lifecycle": {"summary": True, "per_stage": True, "per_request": True}},
        "storage": {"local_storage": {"path": RESULTS_DIR}},
    }


class Benchmark(pulumi.ComponentResource):
    """One run = one ConfigMap + one Job, both named after a digest of everything the run reads.

    `pulumi up` does not await the Job (`pulumi.com/skipAwait`), and for a Job that also skips
    awaiting its deletion (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/metadata/overrides.go
    `DeletedCondition`: `allowsSkipAwaitWithDelete` lists batch/v1 Job). A replacement under the same
    name would then create the new Job while the old one is still being deleted (AlreadyExists).
    Named from its inputs, a changed run is a new name: nothing to race, and any change to the
    workload (stages, token counts, model, Gateway address, image) is a new Job that runs again.
    The old run is deleted first, so two benchmarks never load the Gateway together.
    """

    def __init__(
        self,
        name: str,
        config: StackConfig,
        release: Release,
        gateway_url: pulumi.Output[str],
        hf_secret: Optional[str],
        depends_on: list[pulumi.Resource],
        serving: list[pulumi.Resource],
        opts: Optional[pulumi.ResourceOptions] = None,
        api_key: Optional[KeyRef] = None,
    ):
        """`depends_on`: what its volume and config need; `serving`: what the Job runs against."""
        super().__init__("llmd:serving:Benchmark", name, None, opts)
        bench_name = release.benchmark
        labels = release.component_labels("benchmark")
        # Like the cache's claims: a new class or size is a new claim (and so a new run), created first.
        claim_spec_ = claim_spec("ReadWriteOnce", config.benchmark.results_size, config.benchmark.storage_class)
        results = named_by_spec(f"{bench_name}-results", claim_spec_)
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-results",
            metadata=meta(results, release.namespace, labels, dict(SKIP_AWAIT)),
            spec=claim_spec_,
            opts=child(self, depends_on),
        )
        workload_text = gateway_url.apply(lambda url: yaml.safe_dump(inference_perf_config(config, url), sort_keys=False))
        run_name = workload_text.apply(
            lambda text: run_name_for(bench_name, text, _pod_template(config, labels, results, hf_secret, CONFIG_NAME_PLACEHOLDER, api_key))
        )
        workload = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=meta(run_name, release.namespace, labels),
            data={"config.yml": workload_text},
            opts=child(self, depends_on),
        )
        self.job = k8s.batch.v1.Job(
            name,
            metadata=meta(run_name, release.namespace, labels, dict(SKIP_AWAIT)),
            spec={"backoffLimit": 0, "template": _pod_template(config, labels, results, hf_secret, run_name, api_key)},
            opts=child(self, depends_on + serving + [claim, workload], delete_before_replace=True),
        )
        self.commands = result_commands(release.namespace, bench_name, run_name, results)
        self.register_outputs(self.commands)


# Copies the config with server.api_key from $API_KEY, then runs inference-perf on the copy.
WITH_API_KEY = (
    "import os, sys, yaml; src, dst = sys.argv[1:3]; c = yaml.safe_load(open(src)); "
    "c['server']['api_key'] = os.environ['API_KEY']; "
    "fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600); yaml.safe_dump(c, os.fdopen(fd, 'w')); "
    "os.execvp('inference-perf', ['inference-perf', '--config_file', dst])"
)


CONFIG_NAME_PLACEHOLDER = "<run>"


def run_name_for(bench_name: str, workload_text: str, template: dict) -> str:
    """`<bench>-<digest>`: changes with the workload and with the Job's pod template."""
    return f"{bench_name}-{content_hash(workload_text, json.dumps(template, sort_keys=True))[:8]}"


def _pod_template(
    config: StackConfig, labels: dict, results: str, hf_secret: Optional[str], config_map: pulumi.Input[str], api_key: Optional[KeyRef]
) -> dict:
    env = [{"name": "HF_HOME", "value": "/tmp/hf"}]
    if hf_secret:
        env.append({"name": HF_TOKEN_KEY, "valueFrom": {"secretKeyRef": {"name": hf_secret, "key": HF_TOKEN_KEY}}})
    # inference-perf v0.4.0 reads the key from its config file only (server.api_key,
    # kubernetes-sigs/inference-perf@v0.4.0:inference_perf/config.py), so the key is added to a
    # copy of the config in the pod's /tmp at start, never to the ConfigMap.
    command, args = ["inference-perf"], ["--config_file", f"{CONFIG_DIR}/config.yml"]
    metadata: dict = {"labels": labels}
    if api_key:
        env.append(api_key.env())
        command, args = ["python", "-c", WITH_API_KEY], [f"{CONFIG_DIR}/config.yml", "/tmp/config.yml"]
        if api_key.external:
            metadata["annotations"] = {EXTERNAL_SECRETS_ANNOTATION: api_key.secret}
    return {
        "metadata": metadata,
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "inference-perf",
                    "image": config.versions.inference_perf_image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": command,
                    "args": args,
                    "env": env,
                    "resources": resources("8", "16Gi"),
                    "securityContext": {"allowPrivilegeEscalation": False},
                    "volumeMounts": [
                        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                        {"name": "results", "mountPath": RESULTS_DIR},
                        {"name": "tmp", "mountPath": "/tmp"},
                    ],
                }
            ],
            "volumes": [
                {"name": "config", "configMap": {"name": config_map}},
                {"name": "results", "persistentVolumeClaim": {"claimName": results}},
                {"name": "tmp", "emptyDir": {}},
            ],
        },
    }


def result_commands(namespace: str, bench_name: str, run_name: pulumi.Input[str], results: str) -> dict[str, pulumi.Input[str]]:
    """How to follow the run, copy its results off the PVC once it has finished, and report them."""
    reader = f"{bench_name}-reader"
    overrides = json.dumps(
        {
            "spec": {
                "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": results}}],
                "containers": [
                    {
                        "name": "reader",
                        "image": "busybox:1.36",
                        "command": ["sleep", "3600"],
                        "volumeMounts": [{"name": "results", "mountPath": RESULTS_DIR}],
                    }
                ],
            }
        },
        separators=(",", ":"),
    )
    kubectl = f"kubectl -n {namespace}"
    return {
        "follow": pulumi.Output.concat(kubectl, " logs -f job/", run_name),
        "fetch": (
            f"{kubectl} run {reader} --image=busybox:1.36 --restart=Never --overrides='{overrides}' && "
            f"{kubectl} wait --for=condition=Ready pod/{reader} && "
            f"{kubectl} cp {reader}:{RESULTS_DIR} ./bench-results && {kubectl} delete pod {reader}"
        ),
        "report": "make bench-report RESULTS=./bench-results",
    }
