"""tools.bench_report on the guide's published summary and on synthetic per-stage results."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools import bench_report

ROOT = Path(__file__).resolve().parent.parent
GUIDE = json.loads((ROOT / "tests/fixtures/guide_summary_lifecycle_metrics.json").read_text())
STAGES = [(50, 500), (100, 1000), (200, 2000), (300, 3000), (400, 4000)]  # the guide's (concurrency, requests)
PNG_SIG = b"\x89PNG\r\n\x1a\n"


def table(md: str, index: int = 0) -> list[dict]:
    """The report's `index`-th Markdown table as a list of {header: cell}."""
    blocks, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    lines = blocks[index]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return [dict(zip(cells[0], row)) for row in cells[2:]]


def write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def stage(concurrency, requests, with_concurrency=True) -> dict:
    data = copy.deepcopy(GUIDE)
    data["load_summary"] = {"count": requests, "achieved_rate": concurrency / 10}
    if with_concurrency:
        data["load_summary"]["concurrency"] = concurrency
    data["successes"]["count"] = requests
    data["successes"]["throughput"]["output_tokens_per_sec"] = 30.0 * concurrency
    data["successes"]["latency"]["time_per_output_token"]["mean"] = 0.006 + concurrency / 20000
    return data


@pytest.fixture
def guide_dir(tmp_path):
    """The guide's summary in a nested, PVC-like layout."""
    write(tmp_path / "results/pd-run/reports-20250101-000000" / bench_report.SUMMARY, GUIDE)
    return tmp_path / "results"


def test_guide_summary_table(guide_dir, capsys):
    assert bench_report.main([str(guide_dir)]) == 0
    out = guide_dir / "report"
    assert f"wrote {out / 'report.md'}" in capsys.readouterr().out
    md = (out / "report.md").read_text()
    [overall] = table(md)
    assert overall["Run"] == "overall"
    assert overall["Requests"] == "10500"
    assert overall["Failures"] == "0"
    assert overall["Req/s"] == "13.24"
    assert overall["Total tok/s"] == "26566.7"
    assert overall["TTFT mean (ms)"] == "1063.9"
    assert overall["Latency p99 (s)"] == "23.15"
    assert "single point" in md


def test_guide_pngs_valid(guide_dir, tmp_path):
    out = tmp_path / "custom-out"
    assert bench_report.main([str(guide_dir), "--out", str(out)]) == 0
    for name in bench_report.PLOTS:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_SIG), name
        assert len(data) > 10_000, name
        assert f"({name})" in (out / "report.md").read_text()


def test_single_point_series():
    row = bench_report.load_row(ROOT / "tests/fixtures/guide_summary_lifecycle_metrics.json", "overall")
    series = bench_report.plot_series([row])
    assert set(series) == set(bench_report.PLOTS)
    assert all(len(pts) == 1 for panels in series.values() for p in panels for pts in p.lines.values())


def test_five_stages(tmp_path):
    run = tmp_path / "pvc/run"
    write(run / bench_report.SUMMARY, GUIDE)
    for n, (c, reqs) in reversed(list(enumerate(STAGES))):  # written out of order on purpose
        write(run / f"stage_{n}_lifecycle_metrics.json", stage(c, reqs))
    write(run / "stage_0_session_lifecycle_metrics.json", {"not": "a lifecycle report"})  # must be ignored
    assert bench_report.main([str(tmp_path / "pvc")]) == 0

    rows = table((tmp_path / "pvc/report/report.md").read_text())
    assert [r["Run"] for r in rows] == ["overall"] + [f"stage {n}" for n in range(5)]
    assert [r["Concurrency"] for r in rows[1:]] == ["50", "100", "200", "300", "400"]
    assert [r["Requests"] for r in rows[1:]] == ["500", "1000", "2000", "3000", "4000"]

    summary, stages, _ = bench_report.find_results(tmp_path / "pvc")
    _, stage_rows = bench_report.load_rows(summary, stages, None)
    series = bench_report.plot_series(stage_rows)
    for name, panels in series.items():
        for panel in panels:
            for label, pts in panel.lines.items():
                assert len(pts) == 5, (name, panel.title, label)
    [ttft, *_] = series["latency_vs_concurrency.png"]
    assert [x for x, _, _ in ttft.lines["mean"]] == [50, 100, 200, 300, 400]
    [vs_tpot, _] = series["throughput_vs_latency.png"]
    assert [y for _, y, _ in vs_tpot.lines["output tokens/s"]] == [1500, 3000, 6000, 9000, 12000]


def test_concurrency_from_caller(tmp_path):
    write(tmp_path / bench_report.SUMMARY, GUIDE)
    for n, (c, reqs) in enumerate(STAGES):
        write(tmp_path / f"stage_{n}_lifecycle_metrics.json", stage(c, reqs, with_concurrency=False))
    assert bench_report.main([str(tmp_path), "--concurrency", "50,100,200,300,400"]) == 0
    rows = table((tmp_path / "report/report.md").read_text())
    assert [r["Concurrency"] for r in rows[1:]] == ["50", "100", "200", "300", "400"]
    assert bench_report.main([str(tmp_path), "--concurrency", "50,100"]) == 2


def test_newest_run_wins(tmp_path, capsys):
    old, new = tmp_path / "old/reports-a", tmp_path / "new/reports-b"
    write(old / bench_report.SUMMARY, {**GUIDE, "successes": {**GUIDE["successes"], "count": 7}})
    write(new / bench_report.SUMMARY, GUIDE)
    os.utime(old / bench_report.SUMMARY, (1, 1))
    assert bench_report.main([str(tmp_path)]) == 0
    md = (tmp_path / "report/report.md").read_text()
    assert table(md)[0]["Requests"] == "10500"
    assert "`old/reports-a/summary_lifecycle_metrics.json`" in md


@pytest.mark.parametrize("content", [None, "{not json", "[]", '{"successes": {"count": 1}}'])
def test_missing_or_malformed_summary(tmp_path, capsys, content):
    if content is not None:
        (tmp_path / bench_report.SUMMARY).write_text(content)
    assert bench_report.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bench_report: error: ") and err.count("\n") == 1
    assert not (tmp_path / "report").exists()


def test_module_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tools.bench_report", str(tmp_path / "nope")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"bench_report: error: no {bench_report.SUMMARY} found under {tmp_path / 'nope'}"]


def test_the_guide_run_compared_with_its_own_baseline_is_as_validated(guide_dir):
    """The fixture is the guide's published summary: every metric matches the baseline."""
    bench_report.main([str(guide_dir)])
    md = (guide_dir / "report" / "report.md").read_text()
    assert "## Compared with the guide's baseline" in md and "2 x a3-ultragpu-8g" in md
    rows = {r["Metric"]: r for r in table(md, 1)}
    assert list(rows) == ["Requests", "Failures", "Req/s", "Total tok/s", "TTFT p50 (ms)", "TPOT p50 (ms)"]
    assert (rows["Requests"]["Guide baseline"], rows["Requests"]["This run"], rows["Requests"]["Verdict"]) == ("10500", "10500", "same workload")
    assert (rows["Failures"]["Guide baseline"], rows["Failures"]["This run"], rows["Failures"]["Verdict"]) == ("0", "0", "as validated")
    assert (rows["Req/s"]["Guide baseline"], rows["Req/s"]["This run"], rows["Req/s"]["Change"]) == ("13.24", "13.24", "+0.0%")
    assert (rows["Total tok/s"]["Guide baseline"], rows["Total tok/s"]["This run"]) == ("26567.0", "26566.7")
    assert (rows["TTFT p50 (ms)"]["Guide baseline"], rows["TTFT p50 (ms)"]["This run"], rows["TTFT p50 (ms)"]["Change"]) == ("700.0", "700.7", "+0.1%")
    assert (rows["TPOT p50 (ms)"]["Guide baseline"], rows["TPOT p50 (ms)"]["This run"]) == ("16.20", "16.23")
    assert {r["Verdict"] for m, r in rows.items() if m != "Requests"} == {"as validated"}


def test_a_slower_run_with_failures_is_called_worse(tmp_path):
    data = copy.deepcopy(GUIDE)
    data["successes"]["throughput"]["requests_per_sec"] = 6.0
    data["successes"]["latency"]["time_to_first_token"]["median"] = 2.0
    data["failures"]["count"] = 12
    write(tmp_path / bench_report.SUMMARY, data)
    overall = bench_report.load_row(tmp_path / bench_report.SUMMARY, "overall")
    rows = {r["Metric"]: r for r in table(bench_report.baseline_table(overall))}  # no plots: fast
    assert (rows["Req/s"]["Change"], rows["Req/s"]["Verdict"]) == ("-54.7%", "worse")
    assert rows["TTFT p50 (ms)"]["Verdict"] == "worse" and rows["Failures"]["Verdict"] == "worse"
    assert rows["Requests"]["This run"] == "10512" and rows["Requests"]["Verdict"].startswith("different workload")
