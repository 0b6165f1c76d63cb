"""Replay stored items against a candidate pack set and report what would change, writing nothing."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moderation.domain import History, Item
from moderation.policy.engine import Classifier
from moderation.policy.pack import PackSet

MAX_EXAMPLES = 5
CHUNK = 64  # items read from ``items`` and classified together (see ``Classifier.classify_many``)


def _acting(ev_json: Mapping[str, Any]) -> dict[str, str]:
    """Map category id -> action for the categories that acted (shadow results excluded)."""
    return {c["id"]: c["action"] for c in ev_json.get("categories", []) if c.get("mode", "enforce") == "enforce"}


@dataclass(slots=True)
class CategoryDelta:
    """How one category's flags change under the candidate packs."""

    category: str
    before: int = 0
    after: int = 0
    new: int = 0
    dropped: int = 0
    action_changed: int = 0
    examples_new: list[str] = field(default_factory=list)
    examples_dropped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "before": self.before,
            "after": self.after,
            "new": self.new,
            "dropped": self.dropped,
            "action_changed": self.action_changed,
            "examples_new": list(self.examples_new),
            "examples_dropped": list(self.examples_dropped),
        }


@dataclass(slots=True)
class BacktestReport:
    """Per-category new and dropped flags, verdict changes and examples."""

    items: int = 0
    verdict_changes: dict[str, int] = field(default_factory=dict)  # "allow->remove" -> count
    categories: dict[str, CategoryDelta] = field(default_factory=dict)
    candidate_versions: dict[str, str] = field(default_factory=dict)
    stored_versions: dict[str, int] = field(default_factory=dict)  # "pack@version" -> items evaluated with it

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "verdict_changes": dict(sorted(self.verdict_changes.items())),
            "categories": [d.to_json() for _, d in sorted(self.categories.items())],
            "candidate_versions": dict(self.candidate_versions),
            "stored_versions": dict(sorted(self.stored_versions.items())),
        }

    def to_text(self) -> str:
        """Render the report for a terminal."""
        lines = [f"backtest over {self.items} item(s)"]
        for pid, v in sorted(self.candidate_versions.items()):
            lines.append(f"  candidate {pid} {v[:12]}")
        lines.append("verdict changes:" if self.verdict_changes else "verdict changes: none")
        for k, n in sorted(self.verdict_changes.items()):
            lines.append(f"  {k}: {n}")
        lines.append(f"{'category':44} {'before':>7} {'after':>7} {'new':>5} {'dropped':>7} {'action±':>7}")
        for cid, d in sorted(self.categories.items()):
            lines.append(f"{cid:44} {d.before:7} {d.after:7} {d.new:5} {d.dropped:7} {d.action_changed:7}")
            if d.examples_new:
                lines.append(f"    new e.g. {', '.join(d.examples_new)}")
            if d.examples_dropped:
                lines.append(f"    dropped e.g. {', '.join(d.examples_dropped)}")
        return "\n".join(lines) + "\n"


def backtest(
    items: Iterable[tuple[str, Item, Mapping[str, Any]] | tuple[str, Item, Mapping[str, Any], History]],
    candidate: PackSet,
    registries: Any = None,
) -> BacktestReport:
    """Classify each (id, item, stored evaluation JSON[, history]) with ``candidate`` and compare with what was
    stored. Nothing is written: the caller owns any storage and gets only the report."""
    clf = Classifier(candidate, registries=registries)
    report = BacktestReport(candidate_versions=dict(candidate.versions))
    rows = iter(items)
    while chunk := list(itertools.islice(rows, CHUNK)):
        histories = [row[3] if len(row) > 3 else History() for row in chunk]  # the optional fourth element
        evaluations = clf.classify_many([row[1] for row in chunk], histories)
        for row, evaluation in zip(chunk, evaluations, strict=True):
            _compare(report, row[0], row[2], evaluation.to_json())
    return report


def _compare(report: BacktestReport, item_id: str, stored: Mapping[str, Any], new_ev: Mapping[str, Any]) -> None:
    """Add one item's stored and new evaluations to ``report``."""
    report.items += 1
    for pid, ver in (stored.get("packs") or {}).items():
        key = f"{pid}@{str(ver)[:12]}"
        report.stored_versions[key] = report.stored_versions.get(key, 0) + 1
    before, after = _acting(stored), _acting(new_ev)
    v0, v1 = str(stored.get("verdict", "allow")), str(new_ev["verdict"])
    if v0 != v1:
        report.verdict_changes[f"{v0}->{v1}"] = report.verdict_changes.get(f"{v0}->{v1}", 0) + 1
    for cid in before.keys() | after.keys():
        d = report.categories.setdefault(cid, CategoryDelta(cid))
        d.before += cid in before
        d.after += cid in after
        if cid in after and cid not in before:
            d.new += 1
            if len(d.examples_new) < MAX_EXAMPLES:
                d.examples_new.append(item_id)
        elif cid in before and cid not in after:
            d.dropped += 1
            if len(d.examples_dropped) < MAX_EXAMPLES:
                d.examples_dropped.append(item_id)
        elif before[cid] != after[cid]:
            d.action_changed += 1
