"""Turn inference-perf results into a Markdown table and the guide's three plots.

    python -m tools.bench_report RESULTS_DIR [--out OUT_DIR] [--concurrency 50,100,200,300,400]

inference-perf writes `summary_lifecycle_metrics.json` for the whole run and, with
`report.request_lifecycle.per_stage: true`, one `stage_<N>_lifecycle_metrics.json`
per load stage in the same directory (inference_perf/reportgen/base.py, docs/reports.md).
Both share one shape: `successes.{count,latency,throughput,...}`, `failures.count`,
latencies in seconds. Stage files record `load_summary.concurrency` for concurrency
stages; `--concurrency` fills it in (by stage number) where they don't.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import namedtuple
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after the backend is chosen)

from tools import bench_baseline  # noqa: E402

SUMMARY = "summary_lifecycle_metrics.json"
STAGE_RE = re.compile(r"^stage_(\d+)_lifecycle_metrics\.json$")
PLOTS = ("latency_vs_concurrency.png", "throughput_vs_concurrency.png", "throughput_vs_latency.png")


class ReportError(Exception):
    """A problem with the inputs; reported as one line, exit code 2."""


# --------------------------------------------------------------------------- inputs


def find_results(results_dir: Path) -> tuple[Path, dict[int, Path], list[Path]]:
    """(summary, {stage number: stage file}, other summaries) under results_dir.

    Results on a PVC are nested (one directory per run), so search recursively;
    with several runs the newest summary wins and its own directory's stage files are used.
    """
    summaries = sorted(results_dir.rglob(SUMMARY), key=lambda p: (p.stat().st_mtime, str(p)))
    if not summaries:
        raise ReportError(f"no {SUMMARY} found under {results_dir}")
    summary = summaries[-1]
    stages = {int(m.group(1)): p for p in summary.parent.iterdir() if (m := STAGE_RE.match(p.name))}
    return summary, stages, summaries[:-1]


def _num(value, what: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReportError(f"{path}: malformed: {what} is {value!r}, expected a number")
    return float(value)


def _stat(block, name: str, stat: str, scale: float = 1.0):
    """block[name][stat] * scale, or None when the metric was not recorded."""
    metric = block.get(name) if isinstance(block, dict) else None
    value = metric.get(stat) if isinstance(metric, dict) else None
    return value * scale if isinstance(value, (int, float)) else None


_P4 = (("mean", "mean"), ("p50", "median"), ("p90", "p90"), ("p99", "p99"))  # (column suffix, JSON key)


def load_row(path: Path, name: str, concurrency=None) -> dict:
    """One table row (ms for TTFT/TPOT/ITL, s for request latency) from a lifecycle file."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ReportError(f"{path}: malformed: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("successes"), dict):
        raise ReportError(f"{path}: malformed: no 'successes' object (not an inference-perf lifecycle report?)")
    ok, lat = data["successes"], data["successes"].get("latency")
    tput = ok.get("throughput")
    if not isinstance(tput, dict):
        raise ReportError(f"{path}: malformed: no 'successes.throughput' object")
    failures = _num((data.get("failures") or {}).get("count", 0), "failures.count", path)
    successes = _num(ok.get("count"), "successes.count", path)
    load = data.get("load_summary") or {}
    prompt = ok.get("prompt_len") or ok.get("prompt_tokens")  # renamed in newer inference-perf
    return {
        "name": name,
        "concurrency": concurrency if load.get("concurrency") is None else load["concurrency"],
        "requests": successes + failures,
        "failures": failures,
        "rps": _num(tput.get("requests_per_sec"), "requests_per_sec", path),
        "in_tps": _num(tput.get("input_tokens_per_sec"), "input_tokens_per_sec", path),
        "out_tps": _num(tput.get("output_tokens_per_sec"), "output_tokens_per_sec", path),
        "total_tps": _num(tput.get("total_tokens_per_sec"), "total_tokens_per_sec", path),
        **{f"ttft_{s}": _stat(lat, "time_to_first_token", k, 1e3) for s, k in _P4},
        **{f"tpot_{s}": _stat(lat, "time_per_output_token", k, 1e3) for s, k in _P4},
        "itl_mean": _stat(lat, "inter_token_latency", "mean", 1e3),
        "itl_p99": _stat(lat, "inter_token_latency", "p99", 1e3),
        "e2e_mean": _stat(lat, "request_latency", "mean"),
        "e2e_p50": _stat(lat, "request_latency", "median"),
        "e2e_p99": _stat(lat, "request_latency", "p99"),
        "prompt_len": (prompt or {}).get("mean"),
        "output_len": (ok.get("output_len") or {}).get("mean"),
    }


def load_rows(summary: Path, stages: dict[int, Path], concurrency: list[int] | None):
    """(overall row, stage rows sorted by concurrency then stage number)."""
    if concurrency and stages and len(concurrency) != len(stages):
        raise ReportError(f"--concurrency has {len(concurrency)} values but {len(stages)} stage files were found")
    overall_c = concurrency[0] if concurrency and not stages and len(concurrency) == 1 else None
    overall = load_row(summary, "overall", overall_c)
    rows = []
    for i, n in enumerate(sorted(stages)):
        row = load_row(stages[n], f"stage {n}", concurrency[i] if concurrency else None)
        rows.append((row["concurrency"] is None, row["concurrency"] or 0, n, row))
    return overall, [r for *_, r in sorted(rows, key=lambda t: t[:3])]


# --------------------------------------------------------------------------- table

# (header, row key, decimals; None = integer)
COLUMNS = [
    ("Run", "name", None), ("Concurrency", "concurrency", None),
    ("Requests", "requests", None), ("Failures", "failures", None), ("Req/s", "rps", 2),
    ("Input tok/s", "in_tps", 1), ("Output tok/s", "out_tps", 1), ("Total tok/s", "total_tps", 1),
    ("TTFT mean (ms)", "ttft_mean", 1), ("TTFT p50 (ms)", "ttft_p50", 1),
    ("TTFT p90 (ms)", "ttft_p90", 1), ("TTFT p99 (ms)", "ttft_p99", 1),
    ("TPOT mean (ms)", "tpot_mean", 2), ("TPOT p50 (ms)", "tpot_p50", 2),
    ("TPOT p90 (ms)", "tpot_p90", 2), ("TPOT p99 (ms)", "tpot_p99", 2),
    ("ITL mean (ms)", "itl_mean", 2), ("ITL p99 (ms)", "itl_p99", 2),
    ("Latency mean (s)", "e2e_mean", 2), ("Latency p50 (s)", "e2e_p50", 2), ("Latency p99 (s)", "e2e_p99", 2),
    ("Prompt len (mean)", "prompt_len", 1), ("Output len (mean)", "output_len", 1),
]


def _fmt(value, decimals) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{round(value):d}" if decimals is None else f"{value:.{decimals}f}"


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(h for h, _, _ in COLUMNS) + " |",
             "|" + "|".join(":---" if k == "name" else "---:" for _, k, _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(_fmt(r[k], d) for _, k, d in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def _verdict(value, baseline, higher_better) -> str:
    if value is None:
        return "not recorded"
    if higher_better is None:
        return "same workload" if value == baseline else "different workload: compare with care"
    if baseline == 0:
        return "as validated" if value == 0 else "worse"
    change = (value - baseline) / baseline
    if abs(change) <= bench_baseline.TOLERANCE:
        return "as validated"
    return "better" if (change > 0) == higher_better else "worse"


def baseline_table(overall: dict) -> str:
    """This run's overall row next to the guide's published numbers (tools/bench_baseline.py)."""
    lines = ["| Metric | Guide baseline | This run | Change | Verdict |", "|:---|---:|---:|---:|:---|"]
    for key, label, baseline, higher_better in bench_baseline.METRICS:
        value = overall.get(key)
        decimals = next(d for _, k, d in COLUMNS if k == key)
        change = "-" if value is None or baseline == 0 else f"{(value - baseline) / baseline:+.1%}"
        lines.append(f"| {label} | {_fmt(baseline, decimals)} | {_fmt(value, decimals)} | {change} | "
                     f"{_verdict(value, baseline, higher_better)} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- plots

# lines: {legend label: [(x, y, point label or ""), ...]}; xticks: None or [(x, tick label), ...]
Panel = namedtuple("Panel", "title xlabel ylabel lines xticks")


def plot_series(rows: list[dict]) -> dict[str, list[Panel]]:
    """Exactly what each PNG draws, so it can be checked without reading pixels."""
    known = all(r["concurrency"] is not None for r in rows)
    xs = [r["concurrency"] if known else i for i, r in enumerate(rows)]
    tags = [f"c={r['concurrency']}" if r["concurrency"] is not None else r["name"] for r in rows]
    xlabel = "Concurrency (requests in flight)" if known else "Run (concurrency not recorded)"
    xticks = None if known else list(zip(xs, tags))

    def vs_c(*keys_labels):  # concurrency is already on the x axis: no point labels
        return {label: [(x, r[k], "") for x, r in zip(xs, rows) if r[k] is not None]
                for k, label in keys_labels}

    def vs(xkey, ykey):
        return [(r[xkey], r[ykey], t) for r, t in zip(rows, tags) if r[xkey] is not None]

    return {
        "latency_vs_concurrency.png": [
            Panel("Time to first token", xlabel, "TTFT (ms)",
                  vs_c(("ttft_mean", "mean"), ("ttft_p50", "p50"), ("ttft_p99", "p99")), xticks),
            Panel("Per-token latency", xlabel, "Latency per token (ms)",
                  vs_c(("tpot_mean", "TPOT mean"), ("itl_mean", "ITL mean"), ("itl_p99", "ITL p99")), xticks),
            Panel("Request latency", xlabel, "Request latency (s)",
                  vs_c(("e2e_mean", "mean"), ("e2e_p50", "p50"), ("e2e_p99", "p99")), xticks),
        ],
        "throughput_vs_concurrency.png": [
            Panel("Output token throughput", xlabel, "Output tokens/s", vs_c(("out_tps", "output tokens/s")), xticks),
            Panel("Request throughput", xlabel, "Requests/s", vs_c(("rps", "requests/s")), xticks),
        ],
        "throughput_vs_latency.png": [
            Panel("Throughput vs TPOT", "Mean TPOT (ms)", "Output tokens/s",
                  {"output tokens/s": vs("tpot_mean", "out_tps")}, None),
            Panel("Throughput vs request latency", "Mean request latency (s)", "Output tokens/s",
                  {"output tokens/s": vs("e2e_mean", "out_tps")}, None),
        ],
    }


def draw(panels: list[Panel], path: Path, note: str = "") -> None:
    fig = Figure(figsize=(5.5 * len(panels), 4.5), layout="constrained")
    for ax, p in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        for label, pts in p.lines.items():
            ax.plot([x for x, _, _ in pts], [y for _, y, _ in pts], marker="o", label=label)
            for x, y, tag in pts:
                if tag:
                    ax.annotate(tag, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        if p.xticks:
            ax.set_xticks([x for x, _ in p.xticks], [t for _, t in p.xticks])
        ax.set(title=p.title, xlabel=p.xlabel, ylabel=p.ylabel)
        ax.grid(alpha=0.3)
        if len(p.lines) > 1:
            ax.legend(fontsize=8)
    if note:
        fig.suptitle(note, fontsize=9)
    fig.savefig(path, dpi=100)


# --------------------------------------------------------------------------- main


def build_report(results_dir: Path, out_dir: Path, concurrency: list[int] | None = None) -> list[Path]:
    summary, stages, older = find_results(results_dir)
    overall, stage_rows = load_rows(summary, stages, concurrency)
    rel = os.path.relpath(summary, results_dir)
    single = not stage_rows
    note = "single point: only the overall summary was found (no per-stage files)" if single else ""
    out_dir.mkdir(parents=True, exist_ok=True)

    md = ["# Benchmark report", "", f"Source: `{rel}`" + (f" and {len(stage_rows)} per-stage files" if stage_rows else ""), ""]
    if older:
        md += [f"Newest of {len(older) + 1} runs found; older: " + ", ".join(f"`{os.path.relpath(p, results_dir)}`" for p in older), ""]
    md += [markdown_table([overall] + stage_rows), "",
           "Requests = successes + failures; TTFT, TPOT and ITL in ms; request latency in s; "
           "prompt/output length in tokens.", ""]
    md += ["## Compared with the guide's baseline", "",
           f"Baseline: {bench_baseline.SOURCE}. 'As validated' = within {bench_baseline.TOLERANCE:.0%} of it; "
           "a different model, topology, workload or hardware makes the comparison indicative only.", "",
           baseline_table(overall), ""]
    if single:
        md += ["**Only the overall summary was found, so each plot has a single point for the whole run.** "
               "For per-stage rows and curves, run inference-perf with `report.request_lifecycle.per_stage: true` "
               "(writes `stage_<N>_lifecycle_metrics.json`).", ""]
    written = []
    for png, panels in plot_series(stage_rows or [overall]).items():
        draw(panels, out_dir / png, note)
        written.append(out_dir / png)
        md += [f"![{png[:-4].replace('_', ' ')}]({png})", ""]
    (out_dir / "report.md").write_text("\n".join(md))
    return [out_dir / "report.md"] + written


def _concurrency_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench_report", description=__doc__.split("\n")[0])
    ap.add_argument("results_dir", type=Path, help="directory holding inference-perf results (searched recursively)")
    ap.add_argument("--out", type=Path, help="output directory (default: RESULTS_DIR/report)")
    ap.add_argument("--concurrency", type=_concurrency_list,
                    help="stage concurrencies in stage order, for stage files that don't record it, e.g. 50,100,200,300,400")
    args = ap.parse_args(argv)
    try:
        written = build_report(args.results_dir, args.out or args.results_dir / "report", args.concurrency)
    except ReportError as e:
        print(f"bench_report: error: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
