"""Classify a mixed Vietnamese corpus with the default packs on one core; compare with a bare Hyperscan scan.

Half the items are comments under 300 characters, half are posts of 1-4 KB. With ``../shared/data/vihos`` present
(it is, here and in CI) they are real Vietnamese comments, none repeated; without it, template sentences with some
violations mixed in (repetitive, so the normaliser's result cache flatters that figure). The bare scan runs the
packs' lexicon terms (folded) over the same bytes, so the overhead of normalisation, the other detectors, evidence
mapping and rule evaluation shows as a ratio. A per-stage breakdown (µs per item) says where the rest of the time
goes.

Items are classified one at a time (``Classifier.classify``, what the webhook's worker does per decision) and in
blocks (``Classifier.classify_many``, stage by stage, what ``moderation scan`` does with its batches of lines), in
alternating blocks of the same rounds. The ``moderation scan`` command itself is then run on every line (JSON in and
out, start-up included); its steady rate is the figure issue 4's target of 2,000 items/s is about.

Run ``python -m benches.bench_scan`` (or ``--quick``); ``benches/run.py`` calls :func:`run`. Rates are per CPU
second of this process (one core), so other load on a shared machine disturbs them less than wall time would;
wall-clock rates are printed as well.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hyperscan

from moderation.domain import Item, ItemKind, PostKind
from moderation.heap import freeze_long_lived
from moderation.policy import Classifier, load_packs
from moderation.policy.matching import context_cues, field_texts, fold_text, lexicon_signals, regex_signals
from moderation.text.normalise import _normalise_cached

POLICIES = Path(__file__).resolve().parents[1] / "policies"
TARGET_ITEMS_PER_S = 2000
CLI_RUNS = 3  # pairs of `moderation scan` runs (one line, all lines) whose median the command's figures are
BLOCK = 40  # items per block of a round: blocks alternate between classify (one at a time) and classify_many

CLEAN = [
    "Hôm nay trời Hà Nội se lạnh, cả nhà rủ nhau đi ăn phở ở phố cổ.",
    "Mình vừa đọc xong cuốn sách về lịch sử Đà Nẵng, rất đáng để đọc.",
    "Các bạn có biết quán cà phê nào yên tĩnh để làm việc ở quận 3 không?",
    "Chúc mừng sinh nhật em gái, mong em luôn vui vẻ và học thật giỏi.",
    "Đội tuyển bóng đá Việt Nam thi đấu rất quyết tâm trong trận tối qua.",
    "Công thức làm bánh flan đơn giản: trứng, sữa, đường và một chút vani.",
    "Cuối tuần này lớp mình tổ chức đi dã ngoại ở Ba Vì, ai đi thì đăng ký nhé.",
    "Giá xăng tuần này giảm nhẹ, người dân đi lại thuận tiện hơn.",
    "Mẹ mình trồng được mấy chậu hoa hồng rất đẹp ngoài ban công.",
    "Bài hát mới của ca sĩ này nghe khá hay, giai điệu nhẹ nhàng.",
]
VIOLATIONS = [
    "Bán ma túy đá giá rẻ, ship cod toàn quốc, lh 0901 234 567.",
    "Đả đảo cộng sản, lật đổ chế độ ngay!",
    "thằng chó này lừa đảo",
    "Nhận cá độ bóng đá, nạp tiền khuyến mãi 100%.",
    "xem phim sex clip nóng miễn phí tại đây",
    "Công an triệt phá đường dây bán ma túy, bắt giữ 5 đối tượng.",
]


def corpus(n: int, seed: int = 7) -> list[Item]:
    """Build ``n`` items: even indexes comments (< 300 chars), odd ones posts of 1-4 KB; ~10 % hold a violation."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        bad = rng.random() < 0.1
        if i % 2 == 0:
            parts = [rng.choice(CLEAN)]
            if bad:
                parts.append(rng.choice(VIOLATIONS))
            text = " ".join(parts)[:299]
            items.append(Item(kind=ItemKind.COMMENT, fields={"body": text}))
        else:
            target = rng.randint(1024, 4096)
            parts, size = [], 0
            while size < target:
                s = rng.choice(VIOLATIONS) if bad and rng.random() < 0.05 else rng.choice(CLEAN)
                parts.append(s)
                size += len(s.encode()) + 1
            items.append(
                Item(
                    kind=ItemKind.POST,
                    fields={"title": rng.choice(CLEAN)[:60], "body": " ".join(parts)},
                    post_kind=PostKind.SHARE if rng.random() < 0.3 else PostKind.ORIGINAL,
                )
            )
    return items


VIHOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "vihos"


def _vihos_texts(split: str) -> list[str]:
    with (VIHOS / f"{split}.csv").open(encoding="utf-8", newline="") as fh:
        return [row["content"].strip() for row in csv.DictReader(fh) if row["content"].strip()]


def vihos_corpus(n: int, seed: int = 7) -> list[Item]:
    """``n`` items of real Vietnamese writing (ViHOS, MIT): even indexes comments (< 300 chars, the test and dev
    splits as written), odd ones posts of 1-4 KB made of train-split comments joined into paragraphs (the ~8,800 train
    comments are drawn in a new random order on each pass, so a post may share sentences with another, never its text).

    No item's text repeats, so per-text caches (the normaliser keeps recent results) do not flatter the figure, and the
    vocabulary is that of real comments (teencode, profanity, names), not ten template sentences.
    """
    rng = random.Random(seed)
    comments = [t for t in _vihos_texts("test") + _vihos_texts("dev") if len(t) < 300]
    rng.shuffle(comments)
    if len(comments) < (n + 1) // 2:
        raise ValueError(f"ViHOS test+dev has {len(comments)} comments under 300 characters; {n} items need more")
    train = _vihos_texts("train")

    def shuffled() -> Iterator[str]:  # the train split over and over, each pass in a new order
        while True:
            rng.shuffle(train)
            yield from train

    sentences = shuffled()
    items: list[Item] = []
    for i in range(n):
        if i % 2 == 0:
            items.append(Item(kind=ItemKind.COMMENT, fields={"body": comments.pop()}))
            continue
        target = rng.randint(1024, 4096)
        parts, size = [], 0
        while size < target:
            s = next(sentences)
            s = s if s[-1] in ".!?" else s + "."
            parts.append(s)
            size += len(s.encode()) + 1
        items.append(
            Item(
                kind=ItemKind.POST,
                fields={"title": next(sentences)[:60], "body": " ".join(parts)},
                post_kind=PostKind.SHARE if rng.random() < 0.3 else PostKind.ORIGINAL,
            )
        )
    return items


def _bare_db(clf: Classifier) -> hyperscan.Database:
    terms = sorted({fold_text(t)[0] for p in clf.packs for lx in p.lexicons.values() for t, _w, _f in lx.terms})
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    exprs = [rb"\b" + t.encode().replace(b" ", rb"\s+") + rb"\b" for t in terms]
    db.compile(
        expressions=exprs,
        ids=list(range(len(exprs))),
        elements=len(exprs),
        flags=[hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS] * len(exprs),
    )
    return db


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "stdev": round(statistics.stdev(values), 1) if len(values) > 1 else 0.0,
    }


def _stages(clf: Classifier, items: list[Item]) -> dict[str, float]:
    """CPU µs per item of each stage of ``Classifier.classify`` (the rules are what is left of the total)."""
    c = clf._compiled
    spent: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.process_time()
        out = fn()
        spent[name] = spent.get(name, 0.0) + time.process_time() - t0
        return out

    total = 0.0
    for it in items:
        # The normaliser keeps recent results: start each pass cold, as classify meets a new item.
        _normalise_cached.cache_clear()
        fields = timed("fields", lambda it=it: field_texts(it))  # type: ignore[misc]
        found = timed("lexicons+normalise", lambda f=fields: lexicon_signals(c.matcher, f))  # type: ignore[misc]
        found += timed("regex", lambda f=fields: regex_signals(c.patterns, f, c.prefilter))  # type: ignore[misc]
        found += context_cues(c.cue_lists, found)
        for adapter in clf.adapters:
            timed(f"detector:{adapter.name}", lambda a=adapter, it=it: a.run(it, clf.registries))  # type: ignore[misc]
        _normalise_cached.cache_clear()
        t0 = time.process_time()
        clf.classify(it)
        total += time.process_time() - t0
    out = {k: v / len(items) * 1e6 for k, v in spent.items()}
    out["rules+evaluation (rest)"] = max(0.0, total / len(items) * 1e6 - sum(out.values()))
    out["classify total"] = total / len(items) * 1e6
    return {k: round(v, 1) for k, v in out.items()}


def _cli_cpu(path: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``moderation scan PATH --jobs 1`` in a child process; return its CPU seconds and wall seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    cmd = [sys.executable, "-m", "moderation.cli", "scan", str(path), "--out", os.devnull, "--jobs", "1"]
    subprocess.run([*cmd, "--policies", str(POLICIES)], check=True, env=env, capture_output=True)
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def cli_scan(items: list[Item]) -> dict[str, object]:
    """Measure the ``moderation scan`` command itself on ``items`` (JSONL in, JSONL out, one process).

    The command is run on one line (start-up: imports, packs, warm-up), after an untimed run that leaves the
    bytecode as an installed command has it, and on all the lines; the difference
    of CPU time over the extra lines is the steady rate, comparable with the classify figure (it adds reading and
    writing JSON lines). Comments go in as posts with a body only, as the command reads every line as a post.
    """
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp}/none.db")  # no database: no registries, as in classify
        # Bytecode as an installed command has it: this machine's environment sets PYTHONDONTWRITEBYTECODE, which
        # would make every run compile the package's sources again (about 0.1 s of start-up that no user pays).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(POLICIES.parent), env.get("PYTHONPATH", "")]))
        lines = []
        for i, it in enumerate(items):
            record = {"id": i, "body": it.fields["body"]}
            if it.fields.get("title"):
                record["title"] = it.fields["title"]
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        one, full = Path(tmp, "one.jsonl"), Path(tmp, "all.jsonl")
        one.write_text(lines[0], encoding="utf-8")
        full.write_text("".join(lines), encoding="utf-8")
        _cli_cpu(one, env)  # writes the bytecode where it is missing or stale (a first run after a change)
        starts, wholes, walls = [], [], []
        for _ in range(CLI_RUNS):  # the pairs one after the other: a run of a few seconds drifts with the machine
            starts.append(_cli_cpu(one, env)[0])
            cpu, wall = _cli_cpu(full, env)
            wholes.append(cpu)
            walls.append(wall)
    steady = [(len(items) - 1) / max(c - s, 1e-9) for s, c in zip(starts, wholes, strict=True)]
    return {
        "lines": len(items),
        "runs": CLI_RUNS,
        "startup_cpu_s": round(statistics.median(starts), 2),
        "whole_run_cpu_s": round(statistics.median(wholes), 2),
        "whole_run_wall_s": round(statistics.median(walls), 2),
        "items_per_s_whole_run": round(len(items) / statistics.median(wholes), 1),
        "items_per_s_steady": round(statistics.median(steady), 1),
        "steady_runs": [round(x, 1) for x in steady],  # each pair's (the spreads below are made from these)
        "whole_run_runs": [round(len(items) / c, 1) for c in wholes],
    }


def run(quick: bool = False) -> dict[str, object]:
    """Measure items/s of ``Classifier.classify``, ``classify_many``, the ``moderation scan`` command and a bare
    Hyperscan scan on the same bytes; return the figures."""
    n, rounds = (400, 3) if quick else (800, 5)
    real = (VIHOS / "train.csv").is_file()
    # Each round classifies items it has not seen (real text): the model's n-gram caches are as warm as a worker's
    # after some traffic, never warm with the very texts being timed.
    pool = vihos_corpus(n * rounds) if real else corpus(n) * rounds
    rounds_items = [pool[r * n : (r + 1) * n] for r in range(rounds)]
    items = rounds_items[0]
    corpus_name = "ViHOS comments and posts (real text, none repeated)" if real else "synthetic (template sentences)"
    clf = Classifier(load_packs(POLICIES))
    for it in corpus(20):
        clf.classify(it)  # warm caches (normaliser tables, compiled lexicons, models)
    threshold = gc.get_threshold()
    freeze_long_lived()  # as `moderation scan` and the classify worker do once their classifier is warm
    db = _bare_db(clf)
    scratch = hyperscan.Scratch(db)
    blobs = [fold_text(v)[0].encode() for it in items for v in it.fields.values()]
    total_bytes = sum(len(v.encode()) for it in items for v in it.fields.values())

    def on_match(*_: Any) -> None:
        return None

    full_cpu, full_wall, many_cpu, bare_cpu = [], [], [], []
    verdicts: dict[str, int] = {}
    for r in range(rounds):
        # Blocks of the round's items, alternately one at a time (``classify``) and together (``classify_many``, as
        # ``moderation scan`` does): both meet items as new to the model's tables, at the same point of the run.
        blocks = [rounds_items[r][k : k + BLOCK] for k in range(0, n, BLOCK)]
        one_cpu = one_wall = together_cpu = 0.0
        one_n = together_n = 0
        for k, block in enumerate(blocks):
            w0, c0 = time.perf_counter(), time.process_time()
            if (k + r) % 2 == 0:
                evs = [clf.classify(it) for it in block]
                one_cpu += time.process_time() - c0
                one_wall += time.perf_counter() - w0
                one_n += len(block)
            else:
                evs = clf.classify_many(block)
                together_cpu += time.process_time() - c0
                together_n += len(block)
            if r == 0:
                for ev in evs:
                    verdicts[ev.verdict.value] = verdicts.get(ev.verdict.value, 0) + 1
        full_cpu.append(one_n / one_cpu)
        full_wall.append(one_n / one_wall)
        many_cpu.append(together_n / together_cpu)
        c0 = time.process_time()
        for _ in range(5):  # the bare scan is fast: repeat it so the clock resolution does not matter
            for b in blobs:
                db.scan(b, match_event_handler=on_match, scratch=scratch)
        bare_cpu.append(5 * n / (time.process_time() - c0))
    stages = _stages(clf, items[: min(n, 400)])
    gc.set_threshold(*threshold)  # the benches run after this one keep Python's collector settings
    cli = cli_scan([it for r in rounds_items for it in r])
    full, many, bare = _spread(full_cpu), _spread(many_cpu), _spread(bare_cpu)
    result: dict[str, object] = {
        "items": n,
        "corpus": corpus_name,
        "rounds": rounds,
        "bytes": total_bytes,
        "avg_item_bytes": round(total_bytes / n),
        "classify_items_per_s": full,  # per CPU second (one core), one item at a time (the webhook's worker)
        "classify_items_per_s_wall": _spread(full_wall),
        "classify_many_items_per_s": many,  # the same, BLOCK items at a time, stage by stage (``moderation scan``)
        "bare_hyperscan_items_per_s": bare,
        "bare_hyperscan_mb_per_s": round(bare["median"] * total_bytes / n / 1e6, 1),
        "overhead_ratio": round(bare["median"] / full["median"], 1),
        "target_items_per_s": TARGET_ITEMS_PER_S,
        "stage_us_per_item": stages,
        "moderation_scan_command": cli,
        # the median of CLI_RUNS pairs of runs of the command: the steady rate and the whole run with its start-up
        "moderation_scan_steady_items_per_s": _spread(cli["steady_runs"]),  # type: ignore[arg-type]
        "moderation_scan_whole_run_items_per_s": _spread(cli["whole_run_runs"]),  # type: ignore[arg-type]
        "verdicts": verdicts,
        "matcher": type(clf._compiled.matcher).__name__,
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, load {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}",
    }
    print(
        f"corpus: {corpus_name}: {n} items ({n // 2} comments < 300 chars, {n - n // 2} posts 1-4 KB), "
        f"{total_bytes / n:.0f} B avg, "
        f"{rounds} rounds; packs {', '.join(p.id for p in clf.packs)}; {result['machine']}"
    )
    print(
        f"classify (1 core, CPU time): median {full['median']} items/s  min {full['min']}  max {full['max']}  "
        f"stdev {full['stdev']}  (wall median {_spread(full_wall)['median']}; target {TARGET_ITEMS_PER_S})"
    )
    print(
        f"classify_many ({BLOCK} items at a time, stage by stage, as `moderation scan`): median {many['median']} "
        f"items/s  min {many['min']}  max {many['max']}  stdev {many['stdev']}"
    )
    print(
        f"bare hyperscan, same bytes:  median {bare['median']} items/s  min {bare['min']}  max {bare['max']}  "
        f"stdev {bare['stdev']}  ({result['bare_hyperscan_mb_per_s']} MB/s); overhead x{result['overhead_ratio']}"
    )
    print(
        f"`moderation scan` command, {cli['lines']} lines, one process (CPU time, median of {CLI_RUNS} runs): steady "
        f"{cli['items_per_s_steady']} items/s; whole run {cli['items_per_s_whole_run']} items/s "
        f"({cli['whole_run_cpu_s']} s CPU of which start-up {cli['startup_cpu_s']} s)"
    )
    print("stages, CPU µs per item: " + ", ".join(f"{k} {v}" for k, v in stages.items()))
    print(f"verdicts {verdicts}; matcher {result['matcher']}")
    return result


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
