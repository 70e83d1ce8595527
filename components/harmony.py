"""gpt-oss's Harmony encoding, staged in the shared cache so servers start without the internet.

vLLM 0.14.1 serves a model whose config.json has model_type gpt_oss with OpenAI's Harmony format
(vllm-project/vllm@v0.14.1:vllm/entrypoints/openai/serving_chat.py and serving_responses.py,
`use_harmony`), and loads the encoding while the server starts
(vllm/entrypoints/openai/parser/harmony_utils.py: load_harmony_encoding(HARMONY_GPT_OSS)).
openai-harmony (openai/harmony@v0.0.8, unchanged since 0.0.3 which vLLM 0.14.1 requires at least:
src/registry.rs, src/tiktoken_ext/public_encodings.rs) loads the O200kHarmony vocabulary from the
file `o200k_base.tiktoken`: from `$TIKTOKEN_ENCODINGS_BASE/o200k_base.tiktoken` when that variable
is set (sha256-checked, no download), otherwise it downloads it from
https://openaipublic.blob.core.windows.net/encodings/ into `$TIKTOKEN_RS_CACHE_DIR` (default
`<tmp>/tiktoken-rs-cache`). HF_HUB_OFFLINE does not apply to it.
"""

import json

BASE_URL = "https://openaipublic.blob.core.windows.net/encodings/"
# File name -> the sha256 openai-harmony checks it against (expected_hash in public_encodings.rs).
ENCODINGS = {"o200k_base.tiktoken": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"}
ENCODINGS_BASE_ENV = "TIKTOKEN_ENCODINGS_BASE"
DOWNLOAD_CACHE_ENV = "TIKTOKEN_RS_CACHE_DIR"


def fill_env(target_dir: str) -> list[dict]:
    """What the fill Job's staging step reads."""
    return [
        {"name": "ENCODINGS_URL", "value": BASE_URL},
        {"name": "ENCODINGS_DIR", "value": target_dir},
        {"name": "ENCODINGS", "value": json.dumps(ENCODINGS, separators=(",", ":"))},
    ]


# Idempotent: a file already there with the right sha256 is kept; a new one is written beside it
# and renamed into place only once its sha256 matches, so a reader never sees a partial file.
FILL_STEP = """python3 - <<'PY'
import hashlib, json, os, urllib.request
base, target = os.environ["ENCODINGS_URL"], os.environ["ENCODINGS_DIR"]
os.makedirs(target, exist_ok=True)
def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
for name, expected in json.loads(os.environ["ENCODINGS"]).items():
    path = os.path.join(target, name)
    if os.path.exists(path) and sha256(path) == expected:
        print(f"encoding {name} already staged")
        continue
    partial = path + ".partial"
    urllib.request.urlretrieve(base + name, partial)
    actual = sha256(partial)
    if actual != expected:
        os.remove(partial)
        raise SystemExit(f"{base}{name}: sha256 {actual}, expected {expected}")
    os.replace(partial, path)
    print(f"staged encoding {name}")
PY
"""
