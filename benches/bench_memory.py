"""Worker memory: resident set size of a worker process holding the full default packs, 1 M blocklisted domains
(synthetic) and 100 k protected works (synthetic, sketched), after classifying items.

Each sample is a fresh interpreter that imports the worker (``workers.celery_app``) and the classifier, builds the
registries the way a worker's loader does (``Registries.build`` with the shipped entities), builds the
``Classifier`` over the default packs, classifies a few items (so the lazy tables and the offensive model are
loaded), collects garbage and reads ``VmRSS`` and the peak ``VmHWM`` from ``/proc/self/status``. The generated
input strings are dropped before the reading, as a worker drops its database rows. Target: RSS < 1 GB.

``python -m benches.bench_memory [--quick]``; ``benches/run.py`` calls :func:`run`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from benches._common import PY, REPO, figure, machine

TARGET_RSS_MB = 1024


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(domains: int, works: int) -> dict[str, Any]:
    """Run in the child: build everything, return the memory figures."""
    import gc
    import random
    import time

    import workers.celery_app  # noqa: F401  (what a worker process imports)
    from moderation.detect.feeds import FeedProvenance, ParsedFeed
    from moderation.detect.registries import Registries
    from moderation.detect.works import Work, sketch_work
    from moderation.domain import Item, ItemKind
    from moderation.policy import Classifier, load_packs

    base = _status_mb("VmRSS")
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    suffixes = ["com", "vn", "com.vn", "net", "org", "info", "xyz", "top", "edu.vn", "gov.vn"]
    t0 = time.perf_counter()
    names = tuple(
        dict.fromkeys(
            f"{''.join(rng.choices(alphabet, k=rng.randint(5, 14)))}.{rng.choice(suffixes)}" for _ in range(domains)
        )
    )
    feed = ParsedFeed(FeedProvenance("synthetic", "bench", "domains", "", len(names)), names)
    syllables = "ba ma la nga tro khu vui lon chi phu tuong nguoi dao luan xem quy hoang thu binh minh".split()  # noqa: SIM905
    sketches = [
        sketch_work(
            Work(
                f"w{i}",
                f"Tác phẩm {i}",
                " ".join(rng.choices(syllables, k=rng.randint(150, 400))),
                "Báo X",
                "all-rights-reserved",
            )
        )
        for i in range(works)
    ]
    registries = Registries.build(feeds=[feed], works=sketches, include_shipped_entities=True)
    del names, feed, sketches
    classifier = Classifier(load_packs(REPO / "policies"), registries=registries)
    items = [
        "Bán ma túy đá giá rẻ tại http://abcde.vn/x, lh 0901234567",
        "thằng chó này lừa đảo, mọi người tránh xa",
        " ".join(rng.choices(syllables, k=300)),
    ]
    for body in items:
        classifier.classify(Item(kind=ItemKind.POST, fields={"body": body}))
    build_s = time.perf_counter() - t0
    gc.collect()
    summary = registries.summary()
    return {
        "rss_mb": round(_status_mb("VmRSS"), 1),
        "peak_rss_mb": round(_status_mb("VmHWM"), 1),
        "baseline_rss_mb": round(base, 1),
        "domains": domains,
        "works": works,
        "build_s": round(build_s, 1),
        "blocklist_entries": summary["blocklist_entries"],
        "works_indexed": summary["works"],
    }


def run(quick: bool = False) -> dict[str, Any]:
    domains, works, samples = (100_000, 10_000, 1) if quick else (1_000_000, 100_000, 2)
    results = []
    for _ in range(samples):
        out = subprocess.run(
            [
                PY,
                "-c",
                f"import json; from benches.bench_memory import measure; "
                f"print(json.dumps(measure({domains}, {works})))",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    figures = [
        figure("worker_rss_mb", [r["rss_mb"] for r in results], "MB", target=TARGET_RSS_MB, better="lower", stat="max"),
        figure("worker_peak_rss_mb", [r["peak_rss_mb"] for r in results], "MB", stat="max"),
    ]
    result = {
        "figures": figures,
        "samples": results,
        "machine": machine(),
        "setup": "fresh interpreter: workers.celery_app + Classifier(default packs, Registries.build(...))",
    }
    m = result["machine"]
    print(
        f"memory: worker with default packs, {domains:,} blocklisted domains, {works:,} protected works "
        f"(shipped entities too); {samples} fresh process(es); {m['cpu']} x{m['cpus']}, Python {m['python']}"
    )
    for r in results:
        print(
            f"  RSS {r['rss_mb']} MB (peak {r['peak_rss_mb']} MB, interpreter+imports {r['baseline_rss_mb']} MB), "
            f"built in {r['build_s']} s"
        )
    print(f"  target RSS < {TARGET_RSS_MB} MB: {'pass' if figures[0]['passed'] else 'FAIL'}")
    return result


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
