"""What a long-running classifying process does once its classifier is built and warm, and the CPU time an item's
time budgets count (:func:`item_time`: the collector's passes left out)."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any


def freeze_long_lived() -> None:
    """Take everything allocated so far (packs, compiled lexicons, the model, registries) out of the collector's
    generations.

    ``moderation scan`` calls it once its classifier is built and has classified one item (the detectors load their
    tables on first use); the classify worker calls it in its parent once the classifier is warm and the parent's
    database connections are closed, before the pool forks (each pool process then also keeps the shared pages
    unwritten by its collector). The cyclic collector then no longer walks those tens of thousands of long-lived objects
    on each full collection. Measured with ``gc.callbacks`` on real text right after start-up: 58-80 -> 19 µs of
    collector time per item over the first 800 items, 23 -> 13 over the first 3,200 (a full collection is rare
    once the process has settled, so the gain shrinks with run length).
    Garbage is collected first, so none of it is kept for good; an object alive now that later becomes part of a
    garbage cycle is never collected (``gc.freeze``'s trade-off), so call it once, after start-up.

    It then raises the youngest generation's threshold to :data:`YOUNG_THRESHOLD` (see there); the older two keep
    theirs, so cyclic garbage is still collected, in fewer, larger passes.
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    if young:  # 0: the collector is off (someone chose that); left so
        gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)


# How many more container objects than were freed a classifying process allocates before the collector runs (Python's
# default: 700). A post of 1-4 KB keeps a thousand or so alive while it is classified (spans, signals, trace entries,
# freed by reference counting when the item is done), so at 700 a young-generation pass ran every 20-odd items and
# walked them, about 140 µs a pass, and the objects that outlived it (the rule programs' outcome caches growing) were
# walked again by the older generations. Classifying makes no cyclic garbage: over 3,200 ViHOS items the collector
# freed nothing in 150 passes. At 50,000 a pass runs every few thousand items; measured in one process with items
# alternating between the two settings (``moderation scan``'s per-line function, 4,000 lines): 4-6 % more items/s;
# ``bench_scan``'s classify figure, three runs of each setting alternating: 2,056-2,108 against 2,122-2,199 (+3 %).
# The cost is memory: unreachable cycles wait for a pass that runs later, a few megabytes' worth at most.
YOUNG_THRESHOLD = 50_000


# ------------------------------------------------------------------------------------------------------------------
# CPU time charged to an item


class _Collector(threading.local):
    started = 0.0  # this thread's CPU time when its current collection started
    spent = 0.0  # this thread's CPU time spent in the cyclic collector so far


_collector = _Collector()


def _on_collection(phase: str, _info: dict[str, Any]) -> None:
    # The collector runs in the thread whose allocation started it, and calls its callbacks there.
    if phase == "start":
        _collector.started = time.thread_time()
    else:
        _collector.spent += time.thread_time() - _collector.started


# Registered once per process: a reload of this module replaces its callback rather than adding a second.
gc.callbacks[:] = [
    cb
    for cb in gc.callbacks
    if getattr(cb, "__qualname__", "") != "_on_collection" or getattr(cb, "__module__", "") != __name__
]
gc.callbacks.append(_on_collection)


def item_time() -> float:
    """This thread's CPU time (``time.thread_time()``) less the time it spent in the cyclic collector.

    The detectors' per-item time budgets (regex patterns, personal data) are measured with it. A full collection
    walks the whole heap, whatever the item: 0.1-0.6 s in a process of one to three million objects (a test
    process, or a web process that classifies inline), against budgets of 40-50 ms. When it was counted, one
    collection that happened to start inside an item used up its budget, and the item lost every pattern's verdict
    and went to review (seen in CI: three fields of "xyzABCib" gave no signal on one call and three on the next).
    """
    return time.thread_time() - _collector.spent
