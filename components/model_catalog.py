"""Models whose weights size (and gating) we know, so a changed `model.name` sizes the waits right.

Sizes are the bytes a download of the repository's weights and tokenizer pulls (the fill Job skips
alternate formats such as gpt-oss's `original/` and `metal/`), in GB (1e9 bytes), rounded up.
Each entry names its source. A model not listed keeps `model.sizeGb`'s default, and the config
warns that the waits are sized from it.
"""

from dataclasses import dataclass
from typing import Optional

DEFAULT_MODEL = "openai/gpt-oss-120b"
DEFAULT_SIZE_GB = 65.0


@dataclass(frozen=True)
class KnownModel:
    size_gb: float
    gated: bool  # the Hugging Face repository asks users to accept a license: a token is needed
    source: str
    # From the repository's config.json on huggingface.co:
    kv_heads: Optional[int] = None  # num_key_value_heads: bounds heterogeneous TP (config/rules.py)
    harmony: bool = False  # model_type gpt_oss: vLLM serves it with the Harmony encoding (components/harmony.py)


KNOWN_MODELS = {
    DEFAULT_MODEL: KnownModel(
        DEFAULT_SIZE_GB, False,
        "~65 GB download (/work/shared/reference/llmd-pd-spec.md, 'the ~65 GB download'); Apache-2.0, not gated",
        kv_heads=8, harmony=True,
    ),
    "openai/gpt-oss-20b": KnownModel(
        14.0, False,
        "HF model card openai/gpt-oss-20b: 21B parameters, MoE weights in MXFP4, 'run within 16GB of memory'; "
        "the repository's safetensors are ~13.8 GB; Apache-2.0, not gated",
        kv_heads=8, harmony=True,
    ),
    "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic": KnownModel(
        73.0, False,
        "HF safetensors metadata: 70.6B parameters, F8_E4M3 linear layers + BF16 embeddings and lm_head "
        "(~68.5 GB + ~4.2 GB); the first llm-d P/D guide's model; not gated",
        kv_heads=8,
    ),
    "meta-llama/Llama-3.3-70B-Instruct": KnownModel(
        142.0, True,
        "HF safetensors metadata: 70.6B parameters in BF16 (2 bytes each); Llama 3.3 community license, gated",
        kv_heads=8,
    ),
    "meta-llama/Llama-3.1-8B-Instruct": KnownModel(
        16.1, True,
        "HF safetensors metadata: 8.03B parameters in BF16 (2 bytes each); Llama 3.1 community license, gated",
        kv_heads=8,
    ),
}

# Organisations whose every repository is gated on Hugging Face (license acceptance + token).
GATED_ORGS = {"meta-llama": "the Llama community license (huggingface.co/meta-llama: 'You need to agree to share your contact information to access this model')"}


def known(name: str) -> "KnownModel | None":
    return KNOWN_MODELS.get(name)


def is_gated(name: str) -> bool:
    entry = KNOWN_MODELS.get(name)
    return entry.gated if entry else name.split("/", 1)[0] in GATED_ORGS
