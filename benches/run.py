"""Run the benchmarks, write ``benches/results.json`` and print a table of figures against their targets.

``python -m benches.run [--quick] [--only NAME ...] [--merge] [--out PATH]`` (``make bench`` runs it without
options; ``--only X --merge`` reruns one benchmark and keeps the others' entries). Each benchmark module's
``run(quick=...)`` prints what it measured and returns its figures; this collects them with the machine (CPU, cores,
load), Python, date and git commit. A module returns either ``{"figures": [...]}`` (see ``benches/_common.figure``),
``{"skipped": reason}``, or free-form figures: for those, every ``{median|mean, stdev, ...}`` found is listed, and
the known targets (``TARGETS``) are applied. A module that fails is recorded with its error and the others still
run; the exit status is 1 when a module failed (not when a target is missed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benches._common import REPO, figure, machine
from moderation.cli import one_blas_thread

MODULES = ("bench_text", "bench_detectors", "bench_scan", "bench_intake", "bench_e2e", "bench_memory", "bench_hostile")
RESULTS = REPO / "benches" / "results.json"

# Targets for figures of modules that do not report them in the common shape: (module, path) -> (target, better).
TARGETS: dict[tuple[str, str], tuple[float, str]] = {
    ("bench_scan", "moderation_scan_steady_items_per_s"): (2000, "higher"),  # issue 4: the command, on one core
    ("bench_scan", "classify_many_items_per_s"): (2000, "higher"),  # what the command runs, without its JSON
    ("bench_text", "normalise_plus_match_us_per_kb"): (100, "lower"),  # issue 4: normalisation + matching
    ("bench_text", "normalise_plus_match_real_us_per_kb"): (100, "lower"),  # the same on real text (ViHOS)
}


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _spreads(value: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        if ("median" in value or "mean" in value) and "stdev" in value:
            yield path, value
            return
        for key, item in value.items():
            yield from _spreads(item, f"{path}.{key}" if path else str(key))


def figures_of(module: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The module's figures in the common shape (pass/fail where a target is known)."""
    if "figures" in result:
        return list(result["figures"])
    out = []
    for path, sp in _spreads(result):
        stat = "median" if "median" in sp else "mean"
        target, better = TARGETS.get((module, path), (None, "higher"))
        value = sp[stat]
        passed = None if target is None else (value >= target if better == "higher" else value <= target)
        out.append(
            {
                "name": path,
                "unit": "",
                "value": value,
                "stat": stat,
                "spread": {k: sp[k] for k in ("median", "mean", "min", "max", "stdev", "n") if k in sp},
                "target": target,
                "better": better,
                "passed": passed,
            }
        )
    return out


def run_all(names: list[str], quick: bool, out: Path, merge: bool = False) -> dict[str, Any]:
    """Run ``names`` and write ``out``; with ``merge``, keep the other benchmarks already in ``out`` (a rerun of
    one benchmark after it was skipped or disturbed), each entry saying when, on which commit and at what load."""
    started = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "git_commit": _git_commit(),
        "quick": quick,
        **machine(),
        "benchmarks": {},
    }
    if merge and out.is_file():
        earlier = json.loads(out.read_text(encoding="utf-8"))
        for name, kept in earlier.get("benchmarks", {}).items():
            if name not in names:
                kept.setdefault("run", {k: earlier.get(k) for k in ("date", "git_commit", "quick", "loadavg")})
                report["benchmarks"][name] = kept
    for name in names:
        print(f"\n=== {name}{' (quick)' if quick else ''} ===", flush=True)
        t0 = time.perf_counter()
        entry: dict[str, Any]
        try:
            module = importlib.import_module(f"benches.{name}")
            result = module.run(quick=quick)
            if result.get("skipped"):
                entry = {"status": "skipped", "reason": result["skipped"], "figures": []}
            else:
                entry = {"status": "ok", "figures": figures_of(name, result), "details": result}
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            entry = {"status": "error", "error": f"{type(exc).__name__}: {exc}", "figures": []}
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        entry["run"] = {
            "date": report["date"],
            "git_commit": report["git_commit"],
            "quick": quick,
            "loadavg": machine()["loadavg"],
        }
        report["benchmarks"][name] = entry
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    print_table(report)
    print(f"\nwritten {out}")
    return report


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def print_table(report: dict[str, Any]) -> None:
    print(
        f"\n{report['cpu']} x{report['cpus']}, load {report['loadavg']:.1f}, Python {report['python']}, "
        f"{report['date']}, commit {report['git_commit'][:12]}{' (quick)' if report['quick'] else ''}"
    )
    header = f"{'benchmark':16s} {'figure':44s} {'value':>12s} {'± stdev':>10s} {'n':>3s} {'target':>10s}  result"
    print(header)
    print("-" * len(header))
    for name, entry in report["benchmarks"].items():
        if entry["status"] != "ok":
            print(f"{name:16s} {entry['status'].upper()}: {entry.get('reason') or entry.get('error')}")
            continue
        for fig in entry["figures"]:
            target = fig["target"]
            sign = ">=" if fig["better"] == "higher" else "<="
            result = "" if fig["passed"] is None else ("pass" if fig["passed"] else "FAIL")
            sp = fig["spread"]
            print(
                f"{name:16s} {fig['name'][:44]:44s} {_fmt(fig['value']):>12s} {_fmt(sp.get('stdev')):>10s} "
                f"{sp.get('n', ''):>3} {(sign + ' ' + _fmt(target)) if target is not None else '-':>10s}  "
                f"{result}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benches.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats: a smoke run")
    parser.add_argument("--only", nargs="+", choices=MODULES, help="run only these modules")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    parser.add_argument(
        "--merge", action="store_true", help="keep the other benchmarks' entries already in the results file"
    )
    args = parser.parse_args(argv)
    # As the classifying commands do: OpenBLAS with one thread, set before a benchmark imports numpy. Otherwise its
    # pool's threads spin for about 0.1 s of another core's CPU after the import, which the CPU-time figures of the
    # first rounds counted (normalisation of real text: 57-58 against 52-54 µs/KB in the first two of five rounds).
    one_blas_thread()
    report = run_all(list(args.only or MODULES), args.quick, args.out, merge=args.merge)
    return 1 if any(e["status"] == "error" for e in report["benchmarks"].values()) else 0


__all__ = ["figure", "main", "run_all"]

if __name__ == "__main__":
    sys.exit(main())
