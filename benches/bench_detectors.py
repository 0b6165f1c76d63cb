"""Measure the registry-backed detectors: blocklist feed lookups at a million domains and near-duplicate lookups
against 100,000 registered works.

Feeds: 1 M synthetic hostnames (random labels under common suffixes) indexed as one feed; lookups of hosts that are
on the feed and hosts that are not (half each), then the full link check (normalise, parent domains, lookalike
methods against the shipped protected entities) on URLs. Works: 100 k synthetic Vietnamese-like works of 150-400
words; posts of 300-1,500 words, half of them containing part of a registered work. Every timing is repeated and
reported as mean ± standard deviation (or p50/p99 over posts). ``quick`` shrinks the sizes tenfold for CI.

Run: ``.venv/bin/python -m benches.bench_detectors [--quick]``.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
import tracemalloc
from typing import Any

import numpy as np

from benches._common import SYLLABLES
from moderation.detect.feeds import BlocklistIndex, FeedProvenance, ParsedFeed
from moderation.detect.identity import EntityIndex
from moderation.detect.links import check_url
from moderation.detect.registries import Registries, load_shipped_entities
from moderation.detect.works import Work, WorksIndex, sketch_work

SUFFIXES = ["com", "vn", "com.vn", "net", "xyz", "top", "online", "info", "org", "site"]


def _label(rng: random.Random) -> str:
    n = rng.randint(5, 14)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def bench_feeds(n_domains: int, n_lookups: int, repeats: int) -> dict[str, Any]:
    rng = random.Random(7)
    domains = tuple(dict.fromkeys(f"{_label(rng)}.{rng.choice(SUFFIXES)}" for _ in range(n_domains)))
    prov = FeedProvenance("synthetic", "bench", "domains", "", len(domains))
    feed = ParsedFeed(prov, domains)

    build_times = []
    index = BlocklistIndex()
    for _ in range(max(2, repeats // 2)):
        gc.collect()
        t0 = time.perf_counter()
        index = BlocklistIndex.build([feed])
        build_times.append(time.perf_counter() - t0)
    tracemalloc.start()  # a separate build: tracing slows allocation-heavy code several times
    BlocklistIndex.build([feed])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    hits = [rng.choice(domains) for _ in range(n_lookups // 2)]
    misses = [f"{_label(rng)}.{rng.choice(SUFFIXES)}" for _ in range(n_lookups // 2)]
    queries = hits + misses
    rng.shuffle(queries)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        found = sum(1 for q in queries if index.feeds_for_host(q))
        rates.append(len(queries) / (time.perf_counter() - t0))
    assert found >= len(hits)  # a miss may collide with a listed random name, never the reverse

    regs = Registries(blocklist=index, entities=EntityIndex.build(load_shipped_entities()))
    urls = [f"https://www.{q}/path?utm_source=x&id={i}" for i, q in enumerate(queries[: max(1000, n_lookups // 20)])]
    link_rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for url in urls:
            check_url(url, regs)
        link_rates.append(len(urls) / (time.perf_counter() - t0))

    return {
        "entries": len(index),
        "build_s": _stats(build_times),
        "build_peak_mb": peak / 1e6,
        "index_mb": index.nbytes / 1e6,
        "bytes_per_entry": index.nbytes / len(index),
        "host_lookups_per_s": _stats(rates),
        "full_link_checks_per_s": _stats(link_rates),
        "link_check_sample": len(urls),
    }


def _text(rng: random.Random, words: int, words_per_paragraph: int = 50) -> str:
    out = []
    for start in range(0, words, words_per_paragraph):
        n = min(words_per_paragraph, words - start)
        out.append(" ".join(rng.choice(SYLLABLES) for _ in range(n)))
    return "\n\n".join(out)


def bench_works(n_works: int, n_posts: int, repeats: int) -> dict[str, Any]:
    rng = random.Random(11)
    bodies = [_text(rng, rng.randint(150, 400)) for _ in range(n_works)]
    t0 = time.perf_counter()
    sketches = [
        sketch_work(Work(f"w{i}", f"Tác phẩm {i}", b, "Báo X", "all-rights-reserved")) for i, b in enumerate(bodies)
    ]
    sketch_s = time.perf_counter() - t0

    # What each kept WorkSketch costs (metadata strings, sketch array), traced on a sample: tracing is slow.
    sample = bodies[:2000]
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    kept = [
        sketch_work(Work(f"s{i}", f"Tác phẩm {i}", body, "Báo X", "all-rights-reserved"))
        for i, body in enumerate(sample)
    ]
    sketch_object_bytes = (tracemalloc.get_traced_memory()[0] - base) / len(kept)
    tracemalloc.stop()
    del kept

    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    t0 = time.perf_counter()
    index = WorksIndex.build(sketches)
    build_s = time.perf_counter() - t0
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    posts: list[tuple[str, int | None]] = []
    for i in range(n_posts):
        noise = _text(rng, rng.randint(300, 1500))
        if i % 2 == 0:
            w = rng.randrange(n_works)
            paragraphs = bodies[w].split("\n\n")
            part = "\n\n".join(paragraphs[: max(1, (len(paragraphs) * 2) // 3)])
            posts.append((noise[: len(noise) // 2] + "\n\n" + part + "\n\n" + noise[len(noise) // 2 :], w))
        else:
            posts.append((noise, None))

    per_post_ms: list[float] = []
    run_means: list[float] = []
    recall = 0
    false_hits = 0
    for r in range(repeats):
        times = []
        for body, target in posts:
            t0 = time.perf_counter()
            hits = index.search([("body", body)])
            times.append((time.perf_counter() - t0) * 1000)
            if r == 0:
                ids = {h.work.id for h in hits}
                recall += int(target is not None and f"w{target}" in ids)
                false_hits += len(ids - ({f"w{target}"} if target is not None else set()))
        per_post_ms.extend(times)
        run_means.append(statistics.fmean(times))

    arr = np.asarray(per_post_ms)
    metadata_bytes = (after - before) - index.nbytes
    return {
        "works": n_works,
        "posts": n_posts,
        "sketch_s_total": sketch_s,
        "sketch_ms_per_work": sketch_s * 1000 / n_works,
        "build_s": build_s,
        "lookup_ms_p50": float(np.percentile(arr, 50)),
        "lookup_ms_p99": float(np.percentile(arr, 99)),
        "lookup_ms_mean_per_run": _stats(run_means),
        "index_bytes_per_work": index.nbytes / n_works,
        "allocated_bytes_per_work": (after - before) / n_works,
        "metadata_bytes_per_work": metadata_bytes / n_works,
        "sketch_object_bytes_per_work": sketch_object_bytes,
        "recall_embedded": recall / max(1, sum(1 for _, target in posts if target is not None)),
        "false_hits": false_hits,
    }


def run(quick: bool = False) -> dict[str, object]:
    """Run both benchmarks and return their figures (``quick`` uses a tenth of the sizes)."""
    scale = 10 if quick else 1
    repeats = 3 if quick else 5
    load_before = _loadavg()
    feeds = bench_feeds(1_000_000 // scale, 200_000 // scale, repeats)
    works = bench_works(100_000 // scale, 400 // (2 if quick else 1), repeats)
    _print(feeds, works)
    # Timings on a shared machine vary with its load; report it beside the figures.
    return {"feeds": feeds, "works": works, "quick": quick, "loadavg_before": load_before, "loadavg_after": _loadavg()}


def _loadavg() -> float:
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return float(fh.read().split()[0])
    except OSError:
        return -1.0


def _fmt(stats: dict[str, float], unit: str = "", digits: int = 0) -> str:
    return f"{stats['mean']:,.{digits}f} ± {stats['stdev']:,.{digits}f}{unit}"


def _print(feeds: dict[str, Any], works: dict[str, Any]) -> None:
    print(f"feed index: {feeds['entries']:,} domains")
    print(f"  build             {_fmt(feeds['build_s'], ' s', 2)} (peak {feeds['build_peak_mb']:.0f} MB traced)")
    print(f"  memory            {feeds['index_mb']:.1f} MB = {feeds['bytes_per_entry']:.1f} B/entry")
    print(f"  host lookups/s    {_fmt(feeds['host_lookups_per_s'])}")
    print(f"  full link checks/s {_fmt(feeds['full_link_checks_per_s'])} ({feeds['link_check_sample']} URLs)")
    print(f"works index: {works['works']:,} works, {works['posts']} posts")
    print(f"  sketch            {works['sketch_ms_per_work']:.3f} ms/work, build {works['build_s']:.2f} s")
    print(
        f"  lookup            p50 {works['lookup_ms_p50']:.2f} ms, p99 {works['lookup_ms_p99']:.2f} ms, "
        f"run means {_fmt(works['lookup_ms_mean_per_run'], ' ms', 2)}"
    )
    print(
        f"  memory            {works['index_bytes_per_work']:.0f} B/work in arrays, "
        f"{works['allocated_bytes_per_work']:.0f} B/work allocated by build, "
        f"{works['sketch_object_bytes_per_work']:.0f} B/work for the kept WorkSketch (metadata + sketch)"
    )
    print(f"  recall (embedded) {works['recall_embedded']:.3f}, false hits {works['false_hits']}")


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2, default=float))
