"""The stored form of an evaluation (``Evaluation.to_record``) leaves out the trace entries of quiet rules and names
them; ``Classifier.expand_record`` rebuilds exactly what ``to_json()`` gave from the same pack versions, and
``explain_text`` still lists every rule when their pack version is not loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import History, Item, ItemKind, PostKind
from moderation.policy import Classifier, explain_text, load_packs
from moderation.policy.engine import EVALUATION_SCHEMA, RECORD_SCHEMA

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def _plain(data: dict[str, Any]) -> Any:
    return json.loads(json.dumps(data, ensure_ascii=False))  # as stored in and read back from the database


# (text, post kind, published date, history): clean, removals, review, personal data, a date before the packs were in
# force (every rule in shadow mode, with a note), repeat offenders (history-reading rules are never quiet).
CASES = [
    pytest.param("Hôm nay trời Hà Nội se lạnh, cả nhà đi ăn phở.", PostKind.ORIGINAL, None, History(), id="clean"),
    pytest.param("Bán ma túy đá giá rẻ, ship cod toàn quốc.", PostKind.ORIGINAL, None, History(), id="drugs"),
    pytest.param("thằng chó Nguyễn Văn An này lừa đảo", PostKind.SHARE, None, History(), id="targeted-insult"),
    pytest.param("CCCD 001099012345 của chị Trần Thị Bích", PostKind.ORIGINAL, None, History(), id="personal-data"),
    pytest.param(
        "Đả đảo cộng sản, lật đổ chế độ!", PostKind.ORIGINAL, "2001-01-01T00:00:00+00:00", History(), id="old"
    ),
    pytest.param("thằng chó lừa đảo", PostKind.ORIGINAL, None, History(5, 5), id="repeat-offender"),
    pytest.param("", PostKind.ORIGINAL, None, History(), id="empty"),
]


def _item(text: str, post_kind: PostKind, published: str | None) -> Item:
    fields = {"title": text[:20], "body": text}
    return Item(kind=ItemKind.POST, fields=fields, post_kind=post_kind, published_at=published)


@pytest.mark.parametrize(("text", "post_kind", "published", "history"), CASES)
def test_record_expands_to_the_full_evaluation(
    clf: Classifier, text: str, post_kind: PostKind, published: str | None, history: History
) -> None:
    ev = clf.classify(_item(text, post_kind, published), history)
    full, record = _plain(ev.to_json()), _plain(ev.to_record())
    assert record["schema"] == RECORD_SCHEMA
    assert full["schema"] == EVALUATION_SCHEMA
    quiet = [(p, r) for p, ids in record["quiet_rules"].items() for r in ids]
    assert quiet, "the default packs always have rules without input on an item"
    kept = {(r["pack"], r["rule"]) for r in record["rules"]}
    assert kept.isdisjoint(quiet)
    assert len(kept) + len(quiet) == len(full["rules"])
    assert all(not r["fired"] for r in full["rules"] if (r["pack"], r["rule"]) in set(quiet))
    assert {k: v for k, v in record.items() if k not in ("schema", "rules", "quiet_rules")} == {
        k: v for k, v in full.items() if k not in ("schema", "rules")
    }
    assert clf.expand_record(record) == full
    assert explain_text(clf.expand_record(record)) == explain_text(full)
    assert len(json.dumps(record)) < len(json.dumps(full))


def test_a_pack_version_not_loaded_keeps_its_quiet_rules_by_name(clf: Classifier) -> None:
    record = _plain(clf.classify(_item("Hôm nay trời đẹp.", PostKind.ORIGINAL, None)).to_record())
    other = next(iter(record["quiet_rules"]))
    record["packs"][other] = "0" * 64  # decided with a version of that pack that is not the one loaded
    expanded = clf.expand_record(record)
    assert list(expanded["quiet_rules"]) == [other]
    assert expanded["schema"] == RECORD_SCHEMA
    assert not {r["rule"] for r in expanded["rules"] if r["pack"] == other} & set(record["quiet_rules"][other])
    text = explain_text(expanded)
    for rule_id in record["quiet_rules"][other]:
        line = (
            f"  {other}/{rule_id}: not fired\n    because none of its conditions had input (pack version 000000000000"
        )
        assert line in text


def test_records_without_quiet_rules_are_returned_as_they_are(clf: Classifier) -> None:
    old = _plain(clf.classify(_item("Bán ma túy đá", PostKind.ORIGINAL, None)).to_json())  # a decision stored before
    assert clf.expand_record(old) == old


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="abcdeghiklmnoptuyáàảãạăâđêôơướờởỡợ ,.!?0123456789@", max_size=120))
def test_any_text_round_trips(clf: Classifier, text: str) -> None:
    ev = clf.classify(Item(kind=ItemKind.COMMENT, fields={"body": text}))
    assert clf.expand_record(_plain(ev.to_record())) == _plain(ev.to_json())


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_stored_form_does_not_depend_on_what_the_process_classified_before(
    monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """A rule's outcome memo is bounded and cleared when full; the outcome of a rule without input must stay the very
    object the baseline was built from, or from then on that rule would be stored in full instead of under
    ``quiet_rules`` (same content, another form, depending on the process's history)."""
    from moderation.policy import engine, rules

    monkeypatch.setattr(rules, "_MEMO_MAX", 2)  # a full memo after a few items, not 512 outcomes
    if path == "python":
        monkeypatch.setattr(rules, "_c", None)
        monkeypatch.setattr(engine, "_c", None)
    fresh = Classifier(load_packs(POLICIES))
    cases: list[Any] = [c.values for c in CASES]
    items = [(_item(text, kind, published), history) for text, kind, published, history in cases]
    first = [_plain(fresh.classify(it, h).to_record()) for it, h in items]
    for n in range(40):  # varied outcomes: counts and scores differ, so every rule's memo fills and is cleared
        text = " ".join(["thằng chó lừa đảo"] * (n % 7 + 1) + ["Bán ma túy đá"] * (n % 3) + [f"CCCD 00109901{n:04d}"])
        fresh.classify(_item(text, PostKind.ORIGINAL, None), History(n % 4, n % 3))
    again = [_plain(fresh.classify(it, h).to_record()) for it, h in items]
    for a, b in zip(first, again, strict=True):
        a.pop("evaluated_at", None), b.pop("evaluated_at", None)
        assert a == b
