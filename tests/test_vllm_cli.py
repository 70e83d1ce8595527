"""extraArgs cannot set a managed vLLM flag under any spelling vLLM 0.14.1 accepts.

The rules come from vllm-project/vllm@v0.14.1: vllm/utils/argparse_utils.py
(FlexibleArgumentParser.parse_args: `--model` moved to the front, `_` read as `-`, dotted JSON keys,
`-O<n>`) and argparse's prefix matching (allow_abbrev) over the option strings of
vllm/engine/arg_utils.py and vllm/entrypoints/openai/cli_args.py, vendored in
components/vllm_cli_0_14_1.py.
"""

import pytest

from components.config.rules import MANAGED_FLAG_SOURCE
from components.vllm import MANAGED_FLAGS, managed_flag
from components.vllm_cli_0_14_1 import SERVE_OPTIONS
from conftest import run_stack
from test_bad_input import assert_stopped_cleanly

BYPASSES = {
    "--tensor-parallel": "--tensor-parallel-size",  # prefix (allow_abbrev), value in the next element
    "--tensor_parallel_size=2": "--tensor-parallel-size",  # underscores
    "--tensor_par=2": "--tensor-parallel-size",  # both
    "-tp=2": "--tensor-parallel-size",
    "-t": "--tensor-parallel-size",  # a prefix of the short option -tp
    "-dp": "--data-parallel-size",
    "--kv-transfer-config.kv_role=kv_producer": "--kv-transfer-config",  # replaces the whole JSON
    "--kv_transfer_config.kv_connector": "--kv-transfer-config",
    "--kv-transfer.kv_role=kv_both": "--kv-transfer-config",
    "--model": "--model",  # moved to the front: our model path becomes an unrecognized argument
    "--model=x": "--model",
    "--port=1": "--port",
    "--served=x": "--served-model-name",
    "--block=16": "--block-size",
    "--max_model_len=8192": "--max-model-len",
    "--data-parallel-size=2": "--data-parallel-size",
}

HARMLESS = [
    "--enable-prefix-caching",
    "--no-enable-prefix-caching",
    "--gpu-memory-utilization=0.9",
    "--gpu_memory_utilization=0.9",
    "--max-num-seqs",
    "256",
    "--enforce-eager",
    "-O3",
    "--data-parallel-size-local=1",  # a flag of its own, not a prefix match
    "--compilation-config.mode=3",
    "--tool-call-parser=openai",
    "-q=fp8",
]


@pytest.mark.parametrize("arg", list(BYPASSES))
def test_every_spelling_of_a_managed_flag_is_found(arg):
    assert managed_flag(arg).split(" ")[0] == BYPASSES[arg]


@pytest.mark.parametrize("arg", HARMLESS)
def test_harmless_arguments_pass(arg):
    assert managed_flag(arg) is None


def test_an_ambiguous_prefix_that_could_be_a_managed_flag_is_refused():
    # vLLM stops on it ("ambiguous option"); it is refused here, naming the candidates.
    flag = managed_flag("--mod")
    assert flag.startswith("--model (ambiguous") and "--model-impl" in flag


def test_the_vendored_flag_list_is_vllm_0_14_1s():
    assert len(SERVE_OPTIONS) > 250
    for flag in MANAGED_FLAGS:
        assert SERVE_OPTIONS[flag] == flag
    assert SERVE_OPTIONS["-tp"] == "--tensor-parallel-size" and SERVE_OPTIONS["-dp"] == "--data-parallel-size"
    assert SERVE_OPTIONS["--no-enable-prefix-caching"] == "--no-enable-prefix-caching"
    assert set(MANAGED_FLAG_SOURCE) == set(MANAGED_FLAGS)


@pytest.mark.parametrize(
    "args, index, flag, source",
    [
        (["--enforce-eager", "--tensor-parallel", "2"], 1, "--tensor-parallel-size", "prefill.tensorParallel"),
        (["--kv-transfer-config.kv_role=kv_producer"], 0, "--kv-transfer-config", "NIXL"),
        (["--model", "x"], 0, "--model", "model.name"),
        (["--port=1"], 0, "--port", "ports"),
    ],
)
def test_the_program_stops_naming_the_key_and_the_flag(args, index, flag, source):
    run = run_stack("ib", {"prefill": {"extraArgs": args}}, expect_error=True)
    assert_stopped_cleanly(run, f"llmd:prefill.extraArgs[{index}]", f"reads as {flag};")
    assert source in str(run.error)
