"""Frozen reports: records round-trip through JSON, regeneration gives the same hash, and diffs list changes."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest

from moderation.reports.aggregate import build_report
from moderation.reports.freeze import ReportIntegrityError, diff_reports, freeze, load_frozen
from moderation.reports.periods import semiannual
from moderation.reports.records import Action, DecisionRecord, ReportInput, from_json, to_json
from moderation.reports.sample import sample_input

H1 = semiannual(2024, 1)


@pytest.fixture(scope="module")
def records() -> ReportInput:
    return sample_input()


def test_records_round_trip_through_json(records):
    text = json.dumps(to_json(records), ensure_ascii=False)
    assert from_json(ReportInput, json.loads(text)) == records


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"decided_at": "2024-03-01T10:00:00"}, "no UTC offset"),  # naive timestamps are ambiguous across zones
        ({"action": "delete"}, "delete"),  # not an action
        ({"surprise": 1}, "unknown fields"),  # a typo must not be dropped silently
        ({"shadow": "yes"}, "true/false"),  # booleans are booleans
    ],
)
def test_bad_records_are_refused(records, patch, message):
    data = to_json(records.decisions[0])
    data.update(patch)
    with pytest.raises(ValueError, match=message):
        from_json(DecisionRecord, data)


def test_regeneration_gives_the_same_hash(records):
    shuffled = dataclasses.replace(records, decisions=tuple(reversed(records.decisions)))
    a = freeze(build_report(records, H1), number="1/BC")
    b = freeze(build_report(shuffled, H1), number="2/BC")  # the document number is outside the hash
    assert a.sha256 == b.sha256
    assert diff_reports(a, b) == []


def test_a_changed_record_shows_in_the_diff(records):
    old = freeze(build_report(records, H1))
    target = next(
        d
        for d in records.decisions
        if d.action == Action.REMOVE
        and d.superseded_by is None
        and not d.shadow
        and not d.test_platform
        and d.platform_id == records.platform_id
        and H1.contains(d.decided_at)
    )
    revision = dataclasses.replace(
        target,
        id="late-fix",
        supersedes=target.id,
        action=Action.NO_ACTION,
        decided_at=target.decided_at + timedelta(minutes=5),
    )
    changed = dataclasses.replace(records, decisions=(*records.decisions, revision))
    new = freeze(build_report(changed, H1))
    assert new.sha256 != old.sha256
    diffs = {(d.section, d.metric, d.dimension): d for d in diff_reports(old, new)}
    total = diffs["violations", "total", ""]
    assert (total.old - total.new, total.ids_removed) == (1, (target.id,))
    assert ("content", "input_sha256", "") in diffs  # the records changed
    assert ("decisions", "superseded_versions", "") in diffs


def test_stored_report_is_checked(records):
    data = json.loads(json.dumps(freeze(build_report(records, H1)).to_json()))
    assert load_frozen(data).sha256 == data["sha256"]
    data["content"]["figures"][0]["value"] += 1  # someone edits a number by hand
    with pytest.raises(ReportIntegrityError):
        load_frozen(data)
