"""Classification on both engines: the history signals read in one query, the decision inserted once (a lost race
keeps the other's), and the number of statements one task runs (a regression guard, not a timing)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from moderation.domain import History, Item
from moderation.services.classification import classify_submission, history_for
from moderation.store.db import session_scope
from moderation.store.models import AuditEntry, Decision, Submission
from tests.conftest import SignedClient, make_platform, post_payload, recorded_statements

CLEAN = "Hôm nay trời đẹp, tôi đi dạo quanh hồ Gươm với gia đình và ăn kem Tràng Tiền."


def _sub(session: Any, platform_id: str, n: int, author: str | None, blog: str | None) -> Submission:
    sub = Submission(
        platform_id=platform_id,
        kind="post",
        external_id=f"p{n}",
        author_id=author,
        blog_id=blog,
        fields={"body": "x"},
        links=[],
    )
    session.add(sub)
    session.flush()
    return sub


def _decide(session: Any, sub: Submission, verdict: str, cats: list[Any] | None, **kw: Any) -> Decision:
    decision = Decision(
        platform_id=sub.platform_id,
        submission_id=sub.id,
        dedupe_key=f"auto:{sub.id}",
        verdict=verdict,
        action=verdict,
        categories=cats,
        **kw,
    )
    session.add(decision)
    session.flush()
    return decision


DRUGS, ARMS = {"id": "drugs", "evidence": [{"start": 0, "end": 3}]}, {"id": "arms", "citation": {"article": "6"}}

# (author, blog, verdict, categories, superseded, other platform) of the earlier decisions; the expected history of a
# new post by author "a" on blog "b".
CASES = [
    pytest.param([], History(), id="nothing"),
    pytest.param([("a", "x", "remove", [DRUGS], False, False)], History(1, 0, {"drugs": 1}, {}), id="author-only"),
    pytest.param(
        [("z", "b", "remove", [DRUGS, ARMS], False, False)],
        History(0, 1, {}, {"drugs": 1, "arms": 1}),
        id="blog-only-two-categories",
    ),
    pytest.param(
        [("a", "b", "remove", [ARMS], False, False), ("a", "b", "remove", [ARMS], False, False)],
        History(2, 2, {"arms": 2}, {"arms": 2}),
        id="both-twice",
    ),
    pytest.param(
        [("a", "b", "allow", [], False, False), ("a", "b", "review", [DRUGS], False, False)],
        History(),
        id="not-removals",
    ),
    pytest.param([("a", "b", "remove", [DRUGS], True, False)], History(), id="superseded"),
    pytest.param([("a", "b", "remove", [DRUGS], False, True)], History(), id="other-platform"),
    pytest.param(
        [("a", "b", "remove", [], False, False), ("a", "b", "remove", None, False, False)],
        History(2, 2, {}, {}),
        id="no-categories",
    ),
    pytest.param(
        [("a", "x", "remove", [DRUGS, DRUGS, "legacy", {"id": None}], False, False)],
        History(1, 0, {"drugs": 2}, {}),
        id="repeated-and-odd-categories",
    ),
    pytest.param(
        [("a", "z", "remove", [DRUGS], False, False)] * 30 + [("y", "b", "remove", [ARMS], False, False)] * 20,
        History(30, 20, {"drugs": 30}, {"arms": 20}),
        id="many-counted-in-the-database",
    ),
]


@pytest.mark.parametrize(("earlier", "expected"), CASES)
def test_history_counts_earlier_removals_by_author_and_blog(
    settings: Any, earlier: list[Any], expected: History
) -> None:
    mine, other = make_platform(settings).id, make_platform(settings, "Other").id
    with session_scope(settings.database_url) as session:
        for n, (author, blog, verdict, cats, superseded, elsewhere) in enumerate(earlier):
            sub = _sub(session, other if elsewhere else mine, n, author, blog)
            _decide(session, sub, verdict, cats, superseded_by_id="dec_later" if superseded else None)
        current = _sub(session, mine, 999, "a", "b")
        _decide(session, current, "remove", [DRUGS])  # its own earlier decision never counts
        assert history_for(session, current) == expected


def test_clean_post_is_classified_in_six_statements(api: SignedClient, app: Any, settings: Any) -> None:
    rt = app.extensions["moderation"]
    for n in range(2):  # the second: the chain has a head, the author a history
        sub_id = api.post("/v1/posts", post_payload(id=f"c{n}", body=CLEAN)).get_json()["submission_id"]
        classifier = rt.classifiers.get()  # (the registries are re-read here: the tests' refresh period is 0)
        with recorded_statements(settings.database_url, words=1) as statements, rt.sessions() as session:
            classify_submission(session, sub_id, classifier)
            session.commit()
    # The submission with its platform and any decision; the history; the decision; the submission's status; the
    # audit chain's head and its new entry (SQLite: in a savepoint).
    expected = 6 if settings.database_url.startswith("postgresql") else 8
    assert len(statements) == expected, statements
    assert "SAVEPOINT" not in statements or not settings.database_url.startswith("postgresql")


class _CommitsTheOtherFirst:
    """Classifies like ``inner``, after committing the other worker's transaction (which decided the same post)."""

    def __init__(self, inner: Any, other: Any) -> None:
        self.inner, self.other = inner, other

    def classify(self, item: Item, history: History | None = None) -> Any:
        self.other.commit()
        return self.inner.classify(item, history or History())


def test_a_lost_race_keeps_the_other_decision_and_marks_the_submission_decided(
    api: SignedClient, app: Any, settings: Any
) -> None:
    rt = app.extensions["moderation"]
    sub_id = api.post("/v1/posts", post_payload(body=CLEAN)).get_json()["submission_id"]
    classifier = rt.classifiers.get()
    with rt.sessions() as first, rt.sessions() as second:
        theirs = classify_submission(first, sub_id, classifier)
        assert theirs is not None
        # The second worker found no decision, classified, and meanwhile the first committed: its insert loses.
        mine = classify_submission(second, sub_id, _CommitsTheOtherFirst(classifier, first))
        second.commit()
        assert mine is not None
        assert mine.id == theirs.id
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(Submission.status).where(Submission.id == sub_id)) == "decided"
        assert len(session.scalars(select(Decision).where(Decision.submission_id == sub_id)).all()) == 1
        assert list(session.scalars(select(AuditEntry.action))) == ["decision.create"]
