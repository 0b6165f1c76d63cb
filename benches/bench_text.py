"""Benchmark the Vietnamese text tools: normalisation µs/KB, lexicon MB/s (5,000 terms), offensive items/s.

Normalisation is measured on two texts: a polite three-sentence sample repeated to 64 KB (the figure since the
start, comparable across runs), and, with ``../shared/data/vihos`` present, real comments and posts (``bench_scan``'s
corpus: 200 comments under 300 characters and 200 posts of 1-4 KB), each normalised on its own as classify does.
Real text is full of what the normaliser works on (teencode, spacing and marks tricks, profanity written around
filters) and costs several times the sample per KB; the ``≤ 100 µs/KB`` target is checked on both.

Run ``python -m benches.bench_text`` (or ``--quick``); ``benches/run.py`` calls :func:`run`.
"""

from __future__ import annotations

import gc
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from benches.bench_scan import VIHOS, vihos_corpus
from moderation.detect.lexicon import Lexicon, Term
from moderation.detect.offensive import default_model
from moderation.heap import freeze_long_lived
from moderation.text.normalise import normalise

_SAMPLE = (
    "Hôm nay mình đi chợ mua rau, giá cả tăng quá trời. Thằng bán hàng nói chuyện khó nghe vl, "
    "ko biết có lừa đảo ko nữa. Mọi người cho hỏi chỗ nào bán đồ tươi mà rẻ ở Hà Nội với ạ? "
    "Cảm ơn cả nhà nhiều nha, chúc mọi người cuối tuần vui vẻ! "
)


def _timed(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        out.append(time.process_time() - started)
    return out


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


def _synthetic_terms(n: int) -> list[Term]:
    rng = random.Random(7)
    syllables = [
        "ba", "ma", "la", "nga", "tro", "khu", "vui", "lon", "chi", "phu", "tuong", "nguoi", "dao", "luan",
        "xem", "quy", "hoang", "thu", "binh", "minh",
    ]  # fmt: skip
    terms = []
    for i in range(n):
        words = " ".join(rng.choice(syllables) for _ in range(rng.randint(1, 3)))
        terms.append(Term(f"t{i}", f"{words} {i % 97}" if i % 3 else words))
    return terms


def run(quick: bool = False) -> dict[str, object]:
    """Measure and print the figures; return them for ``benches/run.py``.

    Times are CPU time of this process (one core). Normalisation bypasses the normaliser's small result cache.
    ``lexicon_spans`` is the matcher's own output (one entry per hit position with its term ids, what the policy
    engine consumes); ``lexicon_find`` also builds one ``LexiconHit`` per term id (the synthetic 5,000-term lexicon
    has many terms per short form, so that is tens of objects per position).
    """
    repeats = 5 if quick else 15
    text_kb = 16 if quick else 64
    # The heap as a classifying process has it once warm (``moderation scan`` and the classify worker freeze it and
    # raise the young generation's threshold): the model and tables loaded first, then taken out of the collector's
    # generations. Python's defaults are restored at the end for the benchmarks run after this one.
    threshold = gc.get_threshold()
    default_model()
    normalise(_SAMPLE, cache=False)
    freeze_long_lived()
    text = (_SAMPLE * (text_kb * 1024 // len(_SAMPLE.encode()) + 1)).encode()[: text_kb * 1024].decode(errors="ignore")
    size_kb = len(text.encode()) / 1024
    size_mb = len(text.encode()) / 1e6

    normalise(text, cache=False)  # warm the caches and tables
    norm = [t / size_kb * 1e6 for t in _timed(lambda: normalise(text, cache=False), repeats)]

    lexicon = Lexicon.compile(_synthetic_terms(5000))
    n = normalise(text, cache=False)
    lexicon.find(n)
    spans = [size_mb / t for t in _timed(lambda: lexicon.spans(n), repeats)]
    match = [size_mb / t for t in _timed(lambda: lexicon.find(n), repeats)]
    both = [t / size_kb * 1e6 for t in _timed(lambda: lexicon.spans(normalise(text, cache=False)), repeats)]
    both_find = [t / size_kb * 1e6 for t in _timed(lambda: lexicon.find(normalise(text, cache=False)), repeats)]

    real: dict[str, Any] = {}
    if (VIHOS / "train.csv").is_file():
        texts = [it.fields["body"] for it in vihos_corpus(100 if quick else 400)]
        real_kb = sum(len(t.encode()) for t in texts) / 1024
        for t in texts:
            lexicon.spans(normalise(t, cache=False))  # warm: the tables real text reaches and the sample does not
        rounds = max(3, repeats // 3)
        real = {
            "normalise_real_us_per_kb": _spread(
                [x / real_kb * 1e6 for x in _timed(lambda: [normalise(t, cache=False) for t in texts], rounds)]
            ),
            "normalise_plus_match_real_us_per_kb": _spread(
                [
                    x / real_kb * 1e6
                    for x in _timed(lambda: [lexicon.spans(normalise(t, cache=False)) for t in texts], rounds)
                ]
            ),
            "real_text": f"ViHOS: {len(texts) // 2} comments and {len(texts) - len(texts) // 2} posts, "
            f"{real_kb:.0f} KB, each normalised on its own",
        }

    model = default_model()
    items = [s.strip() + "." for s in _SAMPLE.split(".") if s.strip()] * (20 if quick else 100)
    model.predict(items[0])
    per_round = _timed(lambda: [model.predict(normalise(s, cache=False)) for s in items], max(3, repeats // 3))
    items_s = [len(items) / t for t in per_round]

    results: dict[str, Any] = {
        "normalise_us_per_kb": _spread(norm),
        "lexicon_5000_terms_spans_mb_per_s": _spread(spans),
        "lexicon_5000_terms_mb_per_s": _spread(match),
        "normalise_plus_match_us_per_kb": _spread(both),
        "normalise_plus_find_us_per_kb": _spread(both_find),
        **real,
        "offensive_items_per_s": _spread(items_s),
        "lexicon_engine": lexicon.engine,
        "lexicon_positions": len(lexicon.spans(n)),
        "lexicon_hits": len(lexicon.find(n)),
        "text_kb": round(size_kb, 1),
        "repeats": repeats,
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, load {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}",
    }
    gc.set_threshold(*threshold)
    print(f"text: {size_kb:.0f} KB of Vietnamese comments, {repeats} repeats, CPU time; {results['machine']}")
    for key, value in results.items():
        if isinstance(value, dict):
            print(
                f"{key:34s} median {value['median']:10.1f}  min {value['min']:10.1f}  "
                f"max {value['max']:10.1f}  stdev {value['stdev']:8.1f}"
            )
        elif key != "machine":
            print(f"{key:34s} {value}")
    return results


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
