"""The NCCL gIB / RDMA installer DaemonSet (container-engine-accelerators gpudirect-rdma/nccl-rdma-installer.yaml).

On each GPU node it copies the gIB NCCL plugin into the driver's lib64 and /home/kubernetes/bin/gib
(libraries, scripts/set_nccl_env.sh, tuner configs), which model-server pods mount read-only.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.kube import meta
from components.versions import Versions

NAME = "nccl-rdma-installer"
NAMESPACE = "kube-system"
HOST_NVIDIA_LIB64 = "/home/kubernetes/bin/nvidia/lib64"
HOST_GIB = "/home/kubernetes/bin/gib"
# Where the installer image expects the host directories.
INSTALL_ROOT = "/usr/local"
INSTALL_SCRIPT = f"""set -ex
/scripts/container_entry.sh install
cp -r /var/lib/gib/lib64/. {INSTALL_ROOT}{HOST_NVIDIA_LIB64}
cp -r /var/lib/gib/. {INSTALL_ROOT}{HOST_GIB}
echo "installation finishes"
"""


def daemonset_spec(versions: Versions, accelerator: str) -> dict:
    labels = {"k8s-app": NAME}
    return {
        "selector": {"matchLabels": labels},
        "updateStrategy": {"type": "RollingUpdate"},
        "template": {
            "metadata": {"labels": {**labels, "name": NAME}},
            "spec": {
                "priorityClassName": "system-node-critical",
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "cloud.google.com/gke-accelerator", "operator": "In", "values": [accelerator]}
                                    ]
                                }
                            ]
                        }
                    }
                },
                "tolerations": [{"operator": "Exists"}],
                "hostNetwork": True,
                "hostPID": True,
                "volumes": [
                    {"name": "library-dir-host", "hostPath": {"path": HOST_NVIDIA_LIB64, "type": "DirectoryOrCreate"}},
                    {"name": "gib", "hostPath": {"path": HOST_GIB, "type": "DirectoryOrCreate"}},
                ],
                "initContainers": [
                    {
                        "name": NAME,
                        "image": versions.gib_installer_image,
                        "command": ["/bin/sh", "-c", INSTALL_SCRIPT],
                        "securityContext": {"privileged": True},
                        "resources": {"requests": {"cpu": "150m", "memory": "128Mi"}},
                        "volumeMounts": [
                            {"name": "library-dir-host", "mountPath": f"{INSTALL_ROOT}{HOST_NVIDIA_LIB64}"},
                            {"name": "gib", "mountPath": f"{INSTALL_ROOT}{HOST_GIB}"},
                        ],
                    }
                ],
                # Keeps the pod Running once the init container is done, so the DaemonSet reports Ready.
                "containers": [
                    {
                        "name": "pause",
                        "image": versions.pause_image,
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    }
                ],
            },
        },
    }


def create_gib_installer(
    name: str, versions: Versions, accelerator: str, opts: pulumi.ResourceOptions
) -> k8s.apps.v1.DaemonSet:
    return k8s.apps.v1.DaemonSet(
        f"{name}-gib-installer",
        metadata=meta(NAME, NAMESPACE, {"k8s-app": NAME}),
        spec=daemonset_spec(versions, accelerator),
        opts=opts,
    )
