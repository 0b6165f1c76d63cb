"""Smoke test of the benchmark runner (``make bench``): it runs modules, survives skipped and broken ones, writes
``results.json`` with the machine, commit and figures against targets, and prints the table. One real benchmark
runs in quick mode (the adversarial items at 4 KiB); the service benchmarks are exercised by ``make bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from benches import run as runner
from benches._common import figure
from tests.conftest import REPO


def _module(name: str, result: Any) -> types.ModuleType:
    module = types.ModuleType(name)

    def run(quick: bool = False) -> Any:
        assert quick
        if isinstance(result, Exception):
            raise result
        return result

    module.run = run  # type: ignore[attr-defined]
    return module


def test_runner_collects_figures_skips_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes = {
        "bench_fake_ok": {
            "figures": [
                figure("posts_per_s", [900, 1100, 1000], "posts/s", target=1000),
                figure("p99_ms", [60, 70], "ms", target=50, better="lower"),
            ]
        },
        "bench_fake_free": {"rate": {"median": 5.0, "min": 4.0, "max": 6.0, "stdev": 1.0}},
        "bench_fake_skip": {"skipped": "PostgreSQL is not reachable"},
        "bench_fake_error": RuntimeError("boom"),
    }
    for name, result in fakes.items():
        monkeypatch.setitem(sys.modules, f"benches.{name}", _module(f"benches.{name}", result))
    out = tmp_path / "results.json"
    report = runner.run_all(list(fakes), quick=True, out=out)
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["benchmarks"].keys() == report["benchmarks"].keys()
    for key in ("date", "git_commit", "cpu", "cpus", "python", "loadavg"):
        assert saved[key] not in (None, "")
    ok = saved["benchmarks"]["bench_fake_ok"]
    assert [(f["name"], f["value"], f["passed"]) for f in ok["figures"]] == [
        ("posts_per_s", 1000, True),
        ("p99_ms", 65, False),
    ]
    assert ok["figures"][0]["spread"]["stdev"] == 100.0
    assert saved["benchmarks"]["bench_fake_free"]["figures"][0]["name"] == "rate"
    assert saved["benchmarks"]["bench_fake_skip"]["status"] == "skipped"
    assert saved["benchmarks"]["bench_fake_error"] == {
        **saved["benchmarks"]["bench_fake_error"],
        "status": "error",
        "error": "RuntimeError: boom",
    }
    table = capsys.readouterr().out
    assert "FAIL" in table
    assert "pass" in table
    assert "SKIPPED: PostgreSQL is not reachable" in table

    # A rerun of the skipped one with --merge keeps the others' entries, each saying which run it came from.
    monkeypatch.setitem(
        sys.modules, "benches.bench_fake_skip", _module("benches.bench_fake_skip", fakes["bench_fake_ok"])
    )
    runner.run_all(["bench_fake_skip"], quick=True, out=out, merge=True)
    merged = json.loads(out.read_text(encoding="utf-8"))["benchmarks"]
    assert merged.keys() == saved["benchmarks"].keys()
    assert merged["bench_fake_skip"]["status"] == "ok"
    assert merged["bench_fake_ok"]["figures"] == ok["figures"]
    assert merged["bench_fake_ok"]["run"]["git_commit"] == saved["git_commit"]


@pytest.mark.slow
def test_make_bench_quick_runs_a_real_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benches.run", "--quick", "--only", "bench_hostile", "--out", str(out)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    entry = json.loads(out.read_text(encoding="utf-8"))["benchmarks"]["bench_hostile"]
    assert entry["status"] == "ok"
    assert entry["figures"][0]["name"] == "hostile_worst_item_ms_4kib"
    assert "worst at 4 KiB" in done.stdout
