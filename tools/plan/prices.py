"""Hourly prices (USD) the plan's cost estimate uses: data, each with its source and date.

Estimates only: list prices, no discounts or credits, no network egress, load-balancer data
processing or disk. Override any of them per stack with `llmd:pricing` (gpuNodeHour, gpuHour,
systemNodeHour). A region without its own entry uses us-central1's and the plan says so.
"""

from dataclasses import dataclass
from typing import Optional

CHECKED = "2026-12-01"  # when these numbers were last compared with their sources
FALLBACK_REGION = "us-central1"


@dataclass(frozen=True)
class Price:
    usd_per_hour: float
    source: str


A3U_SOURCE = ("third-party aggregators, no Google list price published (reference gke-a3ultra-rdma.md §5: "
              "$84.81/h on-demand in us-central1, spot ~$50.87/h); check https://cloud.google.com/compute/gpus-pricing")
# One a3-ultragpu-8g node (8 x H200) per hour, by region and capacity kind.
GPU_NODE = {
    ("a3-ultragpu-8g", "us-central1"): {
        "onDemand": Price(84.81, A3U_SOURCE),
        # A specific reservation is billed at the on-demand rate whether used or not (committed-use
        # discounts apply on top: ~$58.5/h 1-year, ~$37.2/h 3-year, same source).
        "reservation": Price(84.81, A3U_SOURCE + "; reservations bill at the on-demand rate"),
        "spot": Price(50.87, A3U_SOURCE),
        # Google: flex-start (DWS) GPUs and vCPUs are discounted "up to 53%": the best case.
        "flexStart": Price(round(84.81 * 0.47, 2), A3U_SOURCE + "; flex-start: on-demand less the 'up to 53%' DWS discount"),
    },
}
# Regions where A3 Ultra is known to cost differently but no number is on file.
REGION_CAVEATS = {
    "europe-west1": "A3 Ultra prices in Europe and Asia rose on 2026-05-01 (reference §5); no number on file",
    "europe-west4": "A3 Ultra prices in Europe and Asia rose on 2026-05-01 (reference §5); no number on file",
    "asia-northeast1": "A3 Ultra prices in Europe and Asia rose on 2026-05-01 (reference §5); no number on file",
}

# Existing cluster: what one GPU costs, from an a3-ultragpu-8g hour (~$85) over its 8 H200s.
EXISTING_GPU_HOUR = Price(85.0 / 8, "~$85 per 8 x H200 node-hour (a3-ultragpu-8g on-demand) / 8 GPUs; "
                                    "set llmd:pricing.gpuHour to your cluster's cost")

# Compute Engine list price, https://cloud.google.com/compute/vm-instance-pricing (E2: $0.021811 per
# vCPU-hour + $0.002923 per GB-hour in us-central1).
SYSTEM_NODE = {("e2-standard-16", "us-central1"): Price(0.536, "Compute Engine list price (16 vCPU x $0.021811 + 64 GB x $0.002923)")}
GKE_CLUSTER = Price(0.10, "GKE Standard cluster management fee, https://cloud.google.com/kubernetes-engine/pricing")
# Cloud NAT: $0.0014 per VM-hour, at most $0.044/h (32+ VMs); data processed ($0.045/GiB) not included.
NAT_PER_VM = Price(0.0014, "Cloud NAT gateway, https://cloud.google.com/vpc/network-pricing#nat-pricing")
NAT_CAP = 0.044
# A regional (external or internal) Application Load Balancer: forwarding rule + one proxy instance.
REGIONAL_ALB = Price(0.05, "regional Application Load Balancer: forwarding rule $0.025/h + proxy instance $0.025/h, "
                           "https://cloud.google.com/vpc/network-pricing#lb; data processing not included")
# Cloud Storage Standard, regional: $0.020 per GB-month (730 hours).
BUCKET_GB_HOUR = Price(0.020 / 730, "Cloud Storage Standard regional $0.020/GB-month, https://cloud.google.com/storage/pricing")


def gpu_node(machine: str, region: str, capacity: str) -> tuple[Optional[Price], str]:
    """(price, note) for one GPU node; the note says when another region's number stands in."""
    table = GPU_NODE.get((machine, region))
    note = ""
    if table is None:
        table = GPU_NODE.get((machine, FALLBACK_REGION))
        note = f"{FALLBACK_REGION}'s price; {REGION_CAVEATS.get(region, f'no price on file for {region}')}"
    return (table or {}).get(capacity), note


def system_node(machine: str, region: str) -> tuple[Optional[Price], str]:
    price = SYSTEM_NODE.get((machine, region))
    if price is not None:
        return price, ""
    price = SYSTEM_NODE.get((machine, FALLBACK_REGION))
    return price, (f"{FALLBACK_REGION}'s price" if price else f"no price on file for {machine}")
