"""Classify a stored submission and record the decision, idempotently.

Called by the Celery task (async path) and by the intake view (``?sync=1``); both record exactly the same things.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, func, literal_column, or_, select, type_coerce, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from moderation.domain import History, Item, ItemKind, PostKind, Verdict
from moderation.services import audit
from moderation.store.base import JSONType, utcnow
from moderation.store.models import Decision, Delivery, Platform, Submission

log = logging.getLogger(__name__)

# Verdicts whose decision asks the platform to act, and the callback event for each.
CALLBACK_EVENTS = {Verdict.REMOVE.value: "decision.remove"}


class EvaluationLike(Protocol):
    @property
    def verdict(self) -> Verdict: ...
    @property
    def labels(self) -> list[str]: ...
    @property
    def packs(self) -> dict[str, str]: ...
    def to_json(self) -> dict[str, Any]: ...
    def to_record(self) -> dict[str, Any]: ...


class ClassifierLike(Protocol):
    def classify(self, item: Item, history: History = ...) -> EvaluationLike: ...


def item_from_submission(sub: Submission) -> Item:
    """Build the classifier's view of a stored submission."""
    return Item(
        kind=ItemKind(sub.kind),
        fields=dict(sub.fields),
        links=tuple(sub.links or ()),
        post_kind=PostKind(sub.post_kind or "original"),
        body_format=sub.body_format,
        language=sub.language,
        platform_id=sub.platform_id,
        author_id=sub.author_id,
        blog_id=sub.blog_id,
        published_at=sub.published_at.isoformat() if sub.published_at else None,
    )


def _category_ids(dialect: str) -> Any:
    """Each decision's category ids as a small JSON array, built by the database (None: load the categories).

    The history needs only the ids; decoding every earlier removal's full categories (citations, evidence) cost
    more than the classification itself once an author or blog had a few dozen removals.
    """
    if dialect == "postgresql":
        path: Any = literal_column("'$[*].id'::jsonpath")
        return type_coerce(func.jsonb_path_query_array(Decision.categories, path), JSONType)
    if dialect == "sqlite":
        each = func.json_each(Decision.categories).table_valued("value", "type")
        ids = (
            select(func.json_group_array(func.json_extract(each.c.value, "$.id")))
            .where(each.c.type == "object")  # an entry that is not an object has no id (and is not JSON text)
            .scalar_subquery()
        )
        return type_coerce(ids, JSONType)
    return None


def history_for(session: Session, sub: Submission) -> History:
    """Count the author's and blog's earlier removals on this platform (the rules' history signals).

    One query for both: the removals whose submission shares the author or the blog, with their category ids.
    """
    wanted = []
    if sub.author_id:
        wanted.append(Submission.author_id == sub.author_id)
    if sub.blog_id:
        wanted.append(Submission.blog_id == sub.blog_id)
    if not wanted:
        return History()
    ids = _category_ids(session.get_bind().dialect.name)
    rows = session.execute(
        select(Submission.author_id, Submission.blog_id, Decision.categories if ids is None else ids)
        .select_from(Decision)
        .join(Submission, Submission.id == Decision.submission_id)
        .where(
            Decision.platform_id == sub.platform_id,
            or_(*wanted),
            Decision.verdict == "remove",
            Decision.superseded_by_id.is_(None),
            Submission.id != sub.id,
        )
    ).all()
    author_n = blog_n = 0
    author_cats: dict[str, int] = {}
    blog_cats: dict[str, int] = {}
    for author_id, blog_id, cats in rows:
        cat_ids = [c["id"] if isinstance(c, dict) else c for c in cats or []]
        if sub.author_id and author_id == sub.author_id:
            author_n += 1
            for cat in cat_ids:
                if cat is not None:
                    author_cats[cat] = author_cats.get(cat, 0) + 1
        if sub.blog_id and blog_id == sub.blog_id:
            blog_n += 1
            for cat in cat_ids:
                if cat is not None:
                    blog_cats[cat] = blog_cats.get(cat, 0) + 1
    return History(
        author_violations=author_n,
        blog_violations=blog_n,
        author_violations_by_category=author_cats,
        blog_violations_by_category=blog_cats,
    )


def action_for(verdict: str, labels: list[str]) -> str:
    if verdict == "remove":
        return "remove"
    if verdict == "review":
        return "review"
    return "label" if labels else "no_action"


def enforced_categories(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    """The categories that act (shadow-mode results stay in the stored evaluation only)."""
    return [c for c in evaluation.get("categories", []) if c.get("mode", "enforce") != "shadow"]


# Per dialect, the decision insert is built once: ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING`` every
# column but the evaluation and categories, which the caller has (returning them would send the stored evaluation
# back and parse it again).
_DECISION_TABLE = cast(Table, Decision.__table__)
_DECISION_RETURNED = [c for c in _DECISION_TABLE.c if c.key not in ("evaluation", "categories")]
_DECISION_INSERTS: dict[str, Any] = {
    name: make_insert(_DECISION_TABLE)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(*_DECISION_RETURNED)
    for name, make_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_DECISION_COLUMNS = frozenset(attr.key for attr in sa_inspect(Decision).column_attrs)


def _load(session: Session, submission_id: str) -> tuple[Submission, Decision | None] | None:
    """The submission, its platform and its automated decision if one exists: one query."""
    row = session.execute(
        select(Submission, Decision)
        .outerjoin(Decision, Decision.dedupe_key == f"auto:{submission_id}")
        .options(joinedload(Submission.platform))
        .where(Submission.id == submission_id)
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


def _insert_decision(session: Session, decision: Decision) -> Decision | None:
    """Insert ``decision`` unless its ``dedupe_key`` exists; return the stored row, or None when another had it.

    One statement and no savepoint on PostgreSQL and SQLite; elsewhere a savepoint around a plain insert.
    """
    stmt = _DECISION_INSERTS.get(session.get_bind().dialect.name)
    if stmt is None:
        try:
            with session.begin_nested():
                session.add(decision)
        except IntegrityError:
            return None
        return decision
    given = sa_inspect(decision).dict
    values = {name: value for name, value in given.items() if name in _DECISION_COLUMNS}
    row = session.execute(stmt, values).one_or_none()
    if row is None:
        return None
    for name, value in row._mapping.items():
        setattr(decision, name, value)
    # The row exists now, and the object holds all of it: it joins the session as that row (persistent, every
    # attribute loaded), with no second INSERT and no refresh.
    make_transient_to_detached(decision)
    session.add(decision)
    return decision


_SUBMISSIONS = cast(Table, Submission.__table__)
_MARK_DECIDED = update(_SUBMISSIONS).where(_SUBMISSIONS.c.id == bindparam("submission_id"))


def _mark_decided(session: Session, sub: Submission, decided_at: dt.datetime, *, error: str | None) -> None:
    """Write the submission's new status (one more attempt) with a plain UPDATE, and set the same values on the
    loaded object as its stored state: the unit of work has nothing left to flush for it (its flush cost more
    CPU than the statement)."""
    values = {
        "status": "decided",
        "decided_at": decided_at,
        "updated_at": utcnow(),
        "error": error,
        "attempts": sub.attempts + 1,
    }
    session.connection().execute(_MARK_DECIDED, {"submission_id": sub.id, **values})
    for name, value in values.items():
        set_committed_value(sub, name, value)


def classify_submission(session: Session, submission_id: str, classifier: ClassifierLike) -> Decision | None:
    """Classify one submission and store its decision (and callback delivery); return the decision.

    Idempotent: a submission that already has its automated decision is returned as is, and the unique
    ``dedupe_key`` makes a concurrent second worker lose the race harmlessly.

    The statements, on the common path: one query loads the submission, its platform and any earlier decision;
    one the author's and blog's history; one inserts the decision (``ON CONFLICT DO NOTHING``); the submission's
    new status is written once, by one UPDATE. Nothing of this transaction is visible before its commit, so the
    submission goes from ``received`` to ``decided`` without an intermediate ``processing`` write.
    """
    loaded = _load(session, submission_id)
    if loaded is None:
        log.warning("classify: no submission %s", submission_id)
        return None
    sub, existing = loaded
    if existing is not None:
        if sub.status != "decided":
            sub.status, sub.decided_at = "decided", existing.created_at
        return existing
    item = item_from_submission(sub)
    started = time.perf_counter()
    evaluation = classifier.classify(item, history_for(session, sub))
    ev_json = evaluation.to_record()  # the stored form: quiet rules by id (see Evaluation.to_record)
    ev_json.setdefault("duration_ms", round((time.perf_counter() - started) * 1000, 3))
    verdict = Verdict(evaluation.verdict).value
    stored = _insert_decision(
        session,
        Decision(
            platform_id=sub.platform_id,
            submission_id=sub.id,
            dedupe_key=f"auto:{sub.id}",
            verdict=verdict,
            action=action_for(verdict, list(evaluation.labels)),
            labels=list(evaluation.labels),
            categories=enforced_categories(ev_json),
            evaluation=ev_json,
            pack_versions=dict(evaluation.packs),
            source="automated",
            actor="system",
            automated_detection=True,
            automated_decision="fully" if verdict != "review" else "partially",
        ),
    )
    if stored is None:
        # Another worker recorded it first: keep theirs.
        theirs = session.scalars(select(Decision).where(Decision.dedupe_key == f"auto:{sub.id}")).one()
        _mark_decided(session, sub, theirs.created_at, error=sub.error)
        return theirs
    decision = stored
    _mark_decided(session, sub, decision.created_at, error=None)
    audit.record(
        session,
        actor="system:classifier",
        action="decision.create",
        object_type="decision",
        object_id=decision.id,
        platform_id=decision.platform_id,
        details={
            "submission_id": sub.id,
            "verdict": decision.verdict,
            "action": decision.action,
            "categories": [c.get("id") for c in decision.categories],
            "rules": [c.get("rule_id") or c.get("rule") for c in decision.categories],
            "pack_versions": decision.pack_versions,
        },
    )
    schedule_callback(session, decision, sub)
    if decision.verdict == "remove":
        # Graduated enforcement (strikes, warnings, suspensions) for the author and blog.
        from moderation.services.enforcement import apply_enforcement

        apply_enforcement(session, decision)
    return decision


def schedule_callback(session: Session, decision: Decision, sub: Submission | None) -> Delivery | None:
    """Create the delivery row for a decision that asks the platform to act (sent after commit)."""
    event = CALLBACK_EVENTS.get(decision.verdict) if decision.source == "automated" else None
    if decision.action in {"restore", "restrict"}:
        event = f"decision.{decision.action}"
    platform = session.get(Platform, decision.platform_id)
    if event is None or platform is None or not platform.callback_url:
        return None
    delivery = Delivery(
        platform_id=platform.id,
        decision_id=decision.id,
        event=event,
        url=platform.callback_url,
        payload={"event": event, "decision": decision_json(decision, sub)},
    )
    session.add(delivery)
    session.flush()
    return delivery


def pending_deliveries_for(session: Session, decision_ids: list[str]) -> list[str]:
    if not decision_ids:
        return []
    return list(
        session.scalars(select(Delivery.id).where(Delivery.decision_id.in_(decision_ids), Delivery.status == "pending"))
    )


def decision_json(decision: Decision, sub: Submission | None = None) -> dict[str, Any]:
    """The public form of a decision (API responses and callback payloads)."""
    cats = []
    for c in decision.categories or []:
        cat = dict(c)
        if "rule_id" in cat and "rule" not in cat:
            cat["rule"] = cat.pop("rule_id")
        cats.append(cat)
    item = None
    if sub is not None:
        item = {
            "kind": sub.kind,
            "id": sub.external_id,
            "revision": sub.revision,
            "blog_id": sub.blog_id,
            "author_id": sub.author_id,
        }
    return {
        "id": decision.id,
        "submission_id": decision.submission_id,
        "item": item,
        "verdict": decision.verdict,
        "action": decision.action,
        "labels": list(decision.labels or []),
        "categories": cats,
        "pack_versions": dict(decision.pack_versions or {}),
        "source": decision.source,
        "automated_decision": decision.automated_decision,
        "reason": decision.reason,
        "supersedes": decision.supersedes_id,
        "superseded_by": decision.superseded_by_id,
        "created_at": decision.created_at.isoformat().replace("+00:00", "Z"),
    }


def stuck_submissions(session: Session, older_than: dt.datetime, limit: int = 1000) -> list[str]:
    """Submissions still waiting after ``older_than``: their task was lost (broker outage, killed worker)."""
    return list(
        session.scalars(
            select(Submission.id)
            .where(Submission.status.in_(("received", "processing")), Submission.updated_at < older_than)
            .order_by(Submission.updated_at)
            .limit(limit)
        )
    )


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Submission.status, func.count()).group_by(Submission.status)).all()
    return {str(status): int(n) for status, n in rows}


_watchers: dict[Path, Any] = {}
_watchers_lock = threading.Lock()


def pack_watcher(policies_dir: Path) -> Any:
    """The process's one :class:`~moderation.policy.PackWatcher` for ``policies_dir``.

    Shared by every provider of the process (the web app, an in-process worker, several apps in tests), so a pack
    set is loaded and its lexicons compiled once per version, not once per provider.
    """
    from moderation.policy import PackWatcher

    key = Path(policies_dir).resolve()
    with _watchers_lock:
        watcher = _watchers.get(key)
        if watcher is None:
            watcher = _watchers[key] = PackWatcher(key)
        return watcher


class ClassifierProvider:
    """Keep one classifier per process, rebuilt when a policy pack changes on disk (no restart needed).

    ``registries_loader`` returns the detector registries (feeds, protected entities, works) and a version
    string; the classifier is rebuilt when either the packs' hash or that version changes.
    """

    def __init__(
        self,
        policies_dir: Path,
        registries_loader: Callable[[], tuple[Any, str]] | None = None,
        registries_ttl_s: float = 30.0,
    ) -> None:
        self._policies_dir = policies_dir
        self._watcher: Any = None  # built on first use: a web process that never classifies never loads packs
        self._registries_loader = registries_loader
        self._registries_ttl_s = registries_ttl_s
        self._lock = threading.Lock()
        self._key: tuple[str, str] | None = None
        self._classifier: Any = None
        self._registries: Any = None
        self._registries_version = ""
        self._registries_checked = 0.0

    def _load_registries(self) -> None:
        if self._registries_loader is None:
            return
        now = time.monotonic()
        if self._registries is not None and now - self._registries_checked < self._registries_ttl_s:
            return
        self._registries, self._registries_version = self._registries_loader()
        self._registries_checked = now

    def packs(self) -> Any:
        """The pack set in force now (reloaded when a pack's hash changes)."""
        with self._lock:
            if self._watcher is None:
                self._watcher = pack_watcher(self._policies_dir)
            return self._watcher.current()

    def get(self) -> Any:
        from moderation.policy import Classifier

        with self._lock:
            if self._watcher is None:
                self._watcher = pack_watcher(self._policies_dir)
            packs = self._watcher.current()
            self._load_registries()
            key = (repr(sorted(packs.versions.items())), self._registries_version)
            if key != self._key:
                self._classifier = Classifier(packs, registries=self._registries)
                self._key = key
            return self._classifier
