"""The guide's published benchmark, the baseline a run is compared with (tools/bench_report.py).

Source: llm-d v0.5.0, guides/pd-disaggregation/README.md, "Benchmarking" -> "Results", the
`summary_lifecycle_metrics.json` it publishes (kept as tests/fixtures/guide_summary_lifecycle_metrics.json):
GKE, 2 x a3-ultragpu-8g (16 x H200, RoCE), openai/gpt-oss-120b, 1 prefill x TP8 + 1 decode x TP8,
inference-perf `sanity_random` (~1000 input / ~1000 output tokens, concurrency 50 to 400).
"""

SOURCE = ("llm-d v0.5.0 guides/pd-disaggregation/README.md, Benchmarking: GKE, 2 x a3-ultragpu-8g, "
          "gpt-oss-120b, 1 prefill x TP8 + 1 decode x TP8, sanity_random 1000/1000 tokens, concurrency 50-400")

# (report row key, label, baseline value in the report's unit, higher is better)
METRICS = [
    ("requests", "Requests", 10500, None),  # the same workload, not a score
    ("failures", "Failures", 0, False),
    ("rps", "Req/s", 13.24, True),
    ("total_tps", "Total tok/s", 26567, True),
    ("ttft_p50", "TTFT p50 (ms)", 700.0, False),
    ("tpot_p50", "TPOT p50 (ms)", 16.2, False),
]
# Within this fraction of the baseline counts as "as validated": runs of one setup vary by a few percent.
TOLERANCE = 0.10
