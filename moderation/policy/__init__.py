"""Policy packs as data and the engine that applies them (Circular 07/2008/TT-BTTTT and successors).

``load_packs`` reads and validates every pack under a folder; ``PackWatcher`` hot-reloads them when their hash
changes; ``Classifier`` runs the detectors and the packs' rules over an item and returns an ``Evaluation`` that
names, for every category found, the rule, the pack version and the article of law behind it.
"""

from __future__ import annotations

from moderation.policy.engine import CategoryResult, Classifier, Evaluation, scan_record
from moderation.policy.explain import explain_text
from moderation.policy.pack import (
    Pack,
    PackError,
    PackSet,
    PackValidationError,
    PackWatcher,
    hash_pack,
    load_pack,
    load_packs,
    validate_dir,
)

__all__ = [
    "CategoryResult",
    "Classifier",
    "Evaluation",
    "Pack",
    "PackError",
    "PackSet",
    "PackValidationError",
    "PackWatcher",
    "explain_text",
    "hash_pack",
    "load_pack",
    "load_packs",
    "scan_record",
    "validate_dir",
]
