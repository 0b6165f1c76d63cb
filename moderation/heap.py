"""What a long-running classifying process does once its classifier is built and warm."""

from __future__ import annotations

import gc


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
