"""In-cluster RDMA wiring of the gke stack: the pod networks, the gIB installer, and the model-server pods."""

import json

import pytest

from components.platform.gke.rdma import rdma_network_names
from components.versions import Versions
from gke_runs import gke_stack, one, waits_for
from tools.mock_runtime import ProgramRun

GPU_POOL, SYSTEM_POOL = "gke-gpu-pool", "gke-system-pool"
NODE_POOL = "gcp:container/nodePool:NodePool"


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return gke_stack()


def rdma_objects(run):
    return run.kube("GKENetworkParamSet") + run.kube("Network") + run.kube("DaemonSet")


def model_server_templates(run) -> dict[str, dict]:
    return {
        d.object_name: d.inputs["spec"]["template"]
        for d in run.kube("Deployment")
        if "llm-d.ai/role" in d.inputs["spec"]["template"]["metadata"]["labels"]
    }


def test_param_sets_point_at_the_rdma_vpc_and_its_subnets_in_order(run):
    param_sets = sorted(run.kube("GKENetworkParamSet"), key=lambda r: r.object_name)
    assert [p.object_name for p in param_sets] == rdma_network_names() == [f"rdma-{i}" for i in range(8)]
    for i, param_set in enumerate(param_sets):
        assert param_set.inputs["spec"] == {"vpc": "llmd-pd-rdma", "vpcSubnet": f"llmd-pd-rdma-{i}", "deviceMode": "RDMA"}
        assert "namespace" not in param_set.inputs["metadata"]  # cluster-scoped


def test_each_network_is_a_device_network_of_its_param_set(run):
    param_sets = {p.object_name: p for p in run.kube("GKENetworkParamSet")}
    for network in run.kube("Network"):
        spec = network.inputs["spec"]
        assert spec["type"] == "Device"
        assert spec["parametersRef"] == {"group": "networking.gke.io", "kind": "GKENetworkParamSet", "name": network.object_name}
        assert waits_for(run, network, param_sets[network.object_name])
        assert len(network.object_name) <= 41  # GKE limit for Device networks


def test_rdma_objects_are_schema_valid(run, validator):
    for obj in rdma_objects(run):
        assert validator.errors(obj.inputs) == []


def test_rdma_objects_need_the_cluster_but_not_the_gpu_pool(run):
    cluster = one(run, "gcp:container/cluster:Cluster")
    for obj in rdma_objects(run):
        assert waits_for(run, obj, cluster), obj.name
        assert not waits_for(run, obj, one(run, NODE_POOL, GPU_POOL)), f"{obj.name} would wait 35-90 min for GPU nodes"
        assert not waits_for(run, obj, one(run, NODE_POOL, SYSTEM_POOL))


def test_model_servers_wait_for_the_pod_networks_and_the_installer(run):
    needed = run.kube("Network") + run.kube("DaemonSet")
    for deployment in run.kube("Deployment"):
        if deployment.object_name in model_server_templates(run):
            assert all(waits_for(run, deployment, obj) for obj in needed)


def test_pod_annotation_names_exactly_the_networks_created(run):
    created = {n.object_name for n in run.kube("Network")}
    for name, template in model_server_templates(run).items():
        annotations = template["metadata"]["annotations"]
        assert annotations["networking.gke.io/default-interface"] == "eth0"
        interfaces = json.loads(annotations["networking.gke.io/interfaces"])
        assert interfaces[0] == {"interfaceName": "eth0", "network": "default"}
        assert {i["network"] for i in interfaces[1:]} == created, name
        assert [i["interfaceName"] for i in interfaces] == ["eth0"] + [f"eth{i}" for i in range(2, 10)]


def test_model_server_pods_get_gpus_drivers_and_nccl_plugin(run):
    for name, template in model_server_templates(run).items():
        spec = template["spec"]
        vllm = next(c for c in spec["containers"] if c["name"] == "vllm")
        assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "8"
        assert not any(k.startswith("networking.gke.io") for k in vllm["resources"]["limits"])
        host_paths = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
        assert host_paths == {"library-dir-host": "/home/kubernetes/bin/nvidia", "gib": "/home/kubernetes/bin/gib"}
        mounts = {m["name"]: m for m in vllm["volumeMounts"]}
        assert (mounts["library-dir-host"]["mountPath"], mounts["library-dir-host"]["readOnly"]) == ("/usr/local/nvidia", True)
        assert (mounts["gib"]["mountPath"], mounts["gib"]["readOnly"]) == ("/usr/local/gib", True)
        script = vllm["command"][2]
        assert "source /usr/local/gib/scripts/set_nccl_env.sh" in script
        ld_export = next(line for line in script.splitlines() if line.startswith("export LD_LIBRARY_PATH="))
        assert "/usr/local/nvidia/lib64" in ld_export and "/usr/local/gib/lib64" in ld_export
        assert "$LD_LIBRARY_PATH" in ld_export  # extends the image's path instead of replacing it
        assert "LD_LIBRARY_PATH" not in {e["name"] for e in vllm["env"]}, name


def test_model_server_pods_land_one_per_gpu_node(run):
    for name, template in model_server_templates(run).items():
        spec = template["spec"]
        assert spec["nodeSelector"] == {
            "cloud.google.com/gke-accelerator": "nvidia-h200-141gb",
            "cloud.google.com/gke-nodepool": "gpu",
        }
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
        anti = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert anti[0]["topologyKey"] == "kubernetes.io/hostname", name


def test_gib_installer_daemonset(run):
    daemonset = run.one("DaemonSet", "nccl-rdma-installer")
    assert daemonset.inputs["metadata"]["namespace"] == "kube-system"
    pod = daemonset.inputs["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["hostPID"] is True
    assert pod["priorityClassName"] == "system-node-critical"
    assert pod["tolerations"] == [{"operator": "Exists"}]
    term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    accelerator = {"key": "cloud.google.com/gke-accelerator", "operator": "In", "values": ["nvidia-h200-141gb"]}
    assert term["matchExpressions"] == [accelerator]
    (installer,) = pod["initContainers"]
    assert installer["image"] == Versions().gib_installer_image and installer["image"].endswith(":v1.1.1")
    assert installer["securityContext"] == {"privileged": True}
    assert "/scripts/container_entry.sh install" in installer["command"][-1]
    assert {v["hostPath"]["path"] for v in pod["volumes"]} == {"/home/kubernetes/bin/nvidia/lib64", "/home/kubernetes/bin/gib"}
    (pause,) = pod["containers"]
    assert pause["image"] == Versions().pause_image
    for container in pod["initContainers"] + pod["containers"]:
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), container["name"]
