"""The end of ``Classifier.classify`` against what it replaced: the content date of an undated item (``_utc_today``,
kept while the clock stays within the day) and the verdict and labels of the acting results (one loop instead of a
``max`` over a generator)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from moderation.domain import Action, Item, ItemKind, Verdict
from moderation.policy import Classifier, engine, load_packs

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def test_utc_today_is_now_in_utc() -> None:
    engine._TODAY[:] = [0.0, 0.0, engine._EPOCH]  # nothing kept: asked of the clock
    before = dt.datetime.now(dt.UTC).date()
    got = engine._utc_today()
    after = dt.datetime.now(dt.UTC).date()
    assert got in (before, after)
    assert engine._utc_today() is got  # kept
    assert engine.content_date(Item(kind=ItemKind.COMMENT, fields={})) == got


def test_utc_today_span(monkeypatch: pytest.MonkeyPatch) -> None:
    day = dt.date(2024, 2, 29)
    start = (day - engine._EPOCH).days * 86400.0
    monkeypatch.setattr(engine, "_TODAY", [start + 0.001, start + 86400.0 - 0.001, day])
    asked: list[int] = []

    class FakeDateTime(dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            asked.append(1)
            return dt.datetime(2024, 3, 1, 0, 0, 0, 1, tzinfo=tz)

    class FakeDt:
        date = dt.date
        datetime = FakeDateTime
        UTC = dt.UTC

    monkeypatch.setattr(engine, "dt", FakeDt)
    for t in (start + 0.001, start + 3600.0, start + 86400.0 - 0.0011):
        monkeypatch.setattr(engine.time, "time", lambda t=t: t)
        assert engine._utc_today() is day
    assert not asked
    # At the ends of the day (and beyond them) the clock is asked again, and what it gives is kept.
    for t in (start + 0.0009, start + 86400.0 - 0.001, start + 86400.0):
        monkeypatch.setattr(engine.time, "time", lambda t=t: t)
        assert engine._utc_today() == dt.date(2024, 3, 1)
    assert len(asked) == 3
    next_start = start + 86400.0
    kept = engine._TODAY
    assert kept == [next_start + 0.001, next_start + 86400.0 - 0.001, dt.date(2024, 3, 1)]


def test_content_date_of_a_dated_item() -> None:
    item = Item(kind=ItemKind.POST, fields={}, published_at="2024-01-01T23:30:00Z")
    assert engine.content_date(item) == dt.date(2024, 1, 1)
    assert engine.content_date(Item(kind=ItemKind.POST, fields={}), dt.date(2020, 5, 6)) == dt.date(2020, 5, 6)


def _reference(results: list[Any]) -> tuple[Verdict, list[str]]:
    acting = [r for r in results if r.mode == "enforce"]
    verdict = max((a.verdict() for a in (r.action for r in acting)), key=lambda v: v.rank) if acting else Verdict.ALLOW
    return verdict, sorted({r.id for r in acting})


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


class _R:
    def __init__(self, id: str, action: Action, mode: str) -> None:
        self.id, self.action, self.mode = id, action, mode


@pytest.mark.parametrize(
    "results",
    [
        [],
        [_R("a", Action.LABEL, "shadow")],
        [_R("a", Action.LABEL, "enforce")],
        [_R("b", Action.REVIEW, "enforce"), _R("a", Action.REMOVE, "shadow")],
        [_R("b", Action.REVIEW, "enforce"), _R("a", Action.REMOVE, "enforce"), _R("a", Action.REVIEW, "enforce")],
        [_R("c", Action.LABEL, "enforce"), _R("b", Action.LABEL, "enforce"), _R("a", Action.REVIEW, "shadow")],
    ],
)
def test_verdict_and_labels(results: list[Any], clf: Classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_c", None)  # the Python path: its rule loop is replaced by these results
    monkeypatch.setattr(
        Classifier, "_evaluate_pack", lambda self, pack, *a, **k: results if pack is clf.packs.packs[0] else []
    )
    ev = clf.classify(Item(kind=ItemKind.COMMENT, fields={"body": "x"}))
    assert (ev.verdict, ev.labels) == _reference(results)
