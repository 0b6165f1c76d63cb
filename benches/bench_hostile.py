"""Adversarial items through rule evaluation: CPU time per item of ``Classifier.classify`` (the entry point of
``moderation scan`` and the workers) on 1 MiB items built to be slow: huge plain text, violations everywhere, nested
combining marks, tone-mark stacks, invisible and bidi controls, spaced letters, near-miss repetitions, phone-like
digits, URL soup, homoglyphs, deep HTML (``tests/security/adversarial.py``).

Target: no single item takes more than 100 ms. Each item runs in a child process with a time cap (``CAP_S``); an item
that hits the cap is reported as ``> cap`` (and fails). The same items at 64 KiB are measured too, so the growth with
size shows. Times are CPU seconds of the child (one core); each size-item pair is one sample unless it is fast enough
to repeat (three samples under a second).

``python -m benches.bench_hostile [--quick]``; ``benches/run.py`` calls :func:`run`.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from typing import Any

from benches._common import REPO, figure, machine

TARGET_MS = 100.0
CAP_S = 20.0


def _child(size: int, names: list[str], conn: Any) -> None:
    sys.path.insert(0, str(REPO))
    from moderation.policy import Classifier, load_packs
    from tests.security.adversarial import adversarial_items

    classifier = Classifier(load_packs(REPO / "policies"))
    items = adversarial_items(size)
    classifier.classify(adversarial_items(1024)["vietnamese-text"])  # lazy tables, model
    conn.send(("ready", None))
    for name in names:
        times = []
        for _ in range(3):
            t0 = time.process_time()
            evaluation = classifier.classify(items[name])
            times.append(time.process_time() - t0)
            if times[-1] > 1.0:
                break
        conn.send((name, {"cpu_ms": [round(t * 1000, 1) for t in times], "verdict": str(evaluation.verdict)}))
    conn.send(("done", None))


def measure(size: int, names: list[str], cap_s: float) -> dict[str, dict[str, Any]]:
    """Classify each named item of ``size`` bytes in a child; an item over ``cap_s`` kills the child (``capped``)."""
    ctx = multiprocessing.get_context("spawn")
    results: dict[str, dict[str, Any]] = {}
    remaining = list(names)
    while remaining:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(size, remaining, child), daemon=True)
        proc.start()
        child.close()
        if not parent.poll(300):
            proc.kill()
            raise RuntimeError("the classifier did not build within 300 s")
        parent.recv()
        while remaining:
            if not parent.poll(cap_s * 3 + 1):  # up to three repeats of a fast item
                results[remaining.pop(0)] = {"cpu_ms": [], "capped": True}
                proc.kill()
                proc.join()
                break
            name, value = parent.recv()
            results[name] = value
            remaining.remove(name)
            if value["cpu_ms"] and value["cpu_ms"][0] > cap_s * 1000:
                value["capped"] = True
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    return results


def run(quick: bool = False) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from tests.security.adversarial import MIB, adversarial_items

    names = sorted(adversarial_items(64))
    sizes = [4 * 1024] if quick else [64 * 1024, MIB]
    cap = 5.0 if quick else CAP_S
    per_size = {size: measure(size, names, cap) for size in sizes}
    big = sizes[-1]
    worst_ms = [(cap * 1000 if r.get("capped") else max(r["cpu_ms"])) for r in per_size[big].values()]
    figures = [
        figure(
            f"hostile_worst_item_ms_{big // 1024}kib",
            [max(worst_ms)],
            "ms",
            target=TARGET_MS,
            better="lower",
            stat="max",
        )
    ]
    items_out = {
        f"{size // 1024}kib": {
            name: ({"capped_at_s": cap} if r.get("capped") else r) for name, r in sorted(res.items())
        }
        for size, res in per_size.items()
    }
    m = machine()
    print(
        f"hostile: {len(names)} adversarial items through Classifier.classify, CPU ms per item (cap {cap:.0f} s); "
        f"{m['cpu']} x{m['cpus']}, load {m['loadavg']:.1f}, Python {m['python']}"
    )
    print(f"  {'item':26s}" + "".join(f"{size // 1024:>12d} KiB" for size in sizes))
    for name in names:
        cells = []
        for size in sizes:
            r = per_size[size][name]
            cells.append(f"> {cap * 1000:.0f}" if r.get("capped") else f"{max(r['cpu_ms']):.0f}")
        print(f"  {name:26s}" + "".join(f"{c:>16s}" for c in cells))
    print(f"  worst at {big // 1024} KiB: {max(worst_ms):.0f} ms (target <= {TARGET_MS:.0f} ms per item)")
    return {"figures": figures, "items_cpu_ms": items_out, "cap_s": cap, "machine": m}


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
