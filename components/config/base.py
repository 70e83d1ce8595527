"""Building blocks shared by every config block: strict camelCase models and value types."""

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# Kubernetes resource.Quantity, e.g. "16", "500m", "64Gi", "1.5T".
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
# An extended resource name such as "rdma/ib" or "nvidia.com/gpu".
EXTENDED_RESOURCE = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
HF_MODEL_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"
DURATION = r"^[0-9]+(s|m|h)$"

# Kubernetes label keys ([prefix/]name) and values.
LABEL_KEY = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"

DnsLabel = Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=63)]
LabelKey = Annotated[str, StringConstraints(pattern=LABEL_KEY, max_length=316)]
LabelValue = Annotated[str, StringConstraints(pattern=LABEL_VALUE, max_length=63)]


def _number_as_quantity(value):
    """`pulumi config set --path decode.cpu 16` stores a number: read it as Kubernetes does.

    The API server takes a bare JSON number for a quantity (kubernetes/apimachinery
    pkg/api/resource/quantity.go, Quantity.UnmarshalJSON: the quotes are optional), so 16 is "16"
    and 0.5 is "0.5". Booleans stay booleans (and are refused): YAML's `yes` is not a quantity.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return format(value, "f").rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


Quantity = Annotated[str, BeforeValidator(_number_as_quantity), StringConstraints(pattern=QUANTITY)]
EnvName = Annotated[str, StringConstraints(pattern=ENV_NAME)]
Duration = Annotated[str, StringConstraints(pattern=DURATION)]


class Strict(BaseModel):
    """Base for every config block: camelCase keys, no unknown keys, immutable."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True, strict=True
    )



_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity_value(quantity: str) -> float:
    """A Kubernetes quantity as a plain number (bytes for memory and storage)."""
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", quantity).groups()
    return float(number) * _UNITS[unit]
