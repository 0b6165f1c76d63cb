"""Stored registries: imported feeds and their entries, protected entities and registered works.

Plain functions take a SQLAlchemy ``Session`` (the caller owns the transaction) and convert between rows and the
domain values of ``moderation.detect``; :func:`load_registries` builds the immutable ``Registries`` bundle the policy
engine receives. Works are stored with their bottom-k sketch, so building the index does not re-read bodies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.detect.feeds import FeedProvenance, ParsedFeed
from moderation.detect.identity import ProtectedEntity as EntityValue
from moderation.detect.registries import Registries, load_shipped_entities
from moderation.detect.works import SKETCH_SIZE, WorkSketch, sketch_work
from moderation.detect.works import Work as WorkValue
from moderation.store.base import ID, Base, JSONType, new_id, utcnow

_CHUNK = 10_000


class Feed(Base):
    """An imported blocklist feed and its provenance (one row per name; a re-import replaces it)."""

    __tablename__ = "feeds"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("feed"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    source: Mapped[str] = mapped_column(String(2000), default="")
    format: Mapped[str] = mapped_column(String(20))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    licence: Mapped[str] = mapped_column(String(200), default="")
    notice: Mapped[str] = mapped_column(Text, default="")


class FeedEntry(Base):
    """One host or URL of a feed (exactly one of ``domain`` and ``url`` is set)."""

    __tablename__ = "feed_entries"
    __table_args__ = (Index("ix_feed_entries_feed_domain", "feed_id", "domain"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str | None] = mapped_column(String(253), index=True)
    url: Mapped[str | None] = mapped_column(String(2000))


class ProtectedEntity(Base):
    """An entity others must not impersonate; ``platform_id`` is NULL for entities protected on every platform."""

    __tablename__ = "protected_entities"
    __table_args__ = (UniqueConstraint("platform_id", "id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform_id: Mapped[str | None] = mapped_column(String(40), index=True)
    id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(40))
    handles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    domains: Mapped[list[str]] = mapped_column(JSONType, default=list)
    aliases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Work(Base):
    """A registered protected work, with the sketch the near-duplicate index uses."""

    __tablename__ = "works"
    __table_args__ = (UniqueConstraint("platform_id", "id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform_id: Mapped[str | None] = mapped_column(String(40), index=True)
    id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(1000), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    rights_holder: Mapped[str] = mapped_column(String(500), default="")
    licence: Mapped[str] = mapped_column(String(100), default="")
    source_url: Mapped[str] = mapped_column(String(2000), default="")
    shingle_count: Mapped[int] = mapped_column(Integer, default=0)
    sketch: Mapped[bytes] = mapped_column(LargeBinary)
    sketch_size: Mapped[int] = mapped_column(Integer, default=SKETCH_SIZE)  # k of the bottom-k sketch stored
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def save_feed(session: Session, parsed: ParsedFeed) -> Feed:
    """Store a parsed feed, replacing an earlier import under the same name with all its entries."""
    prov = parsed.provenance
    old = session.scalars(select(Feed).where(Feed.name == prov.name)).one_or_none()
    if old is not None:
        session.execute(delete(FeedEntry).where(FeedEntry.feed_id == old.id))
        session.delete(old)
        session.flush()
    feed = Feed(
        name=prov.name,
        source=prov.source,
        format=prov.format,
        imported_at=_parse_time(prov.imported_at),
        entry_count=prov.entry_count,
        rejected=prov.rejected,
        sha256=prov.sha256,
        licence=prov.licence,
        notice=prov.notice,
    )
    session.add(feed)
    session.flush()
    rows = [{"feed_id": feed.id, "domain": d, "url": None} for d in parsed.domains]
    rows.extend({"feed_id": feed.id, "domain": None, "url": u} for u in parsed.urls)
    for chunk in _chunks(rows):
        session.execute(insert(FeedEntry), chunk)
    return feed


def _provenance(feed: Feed) -> FeedProvenance:
    return FeedProvenance(
        name=feed.name,
        source=feed.source,
        format=feed.format,
        imported_at=feed.imported_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        entry_count=feed.entry_count,
        rejected=feed.rejected,
        sha256=feed.sha256,
        licence=feed.licence,
        notice=feed.notice,
    )


def list_feeds(session: Session) -> list[FeedProvenance]:
    """Return the provenance of every stored feed, by name."""
    return [_provenance(f) for f in session.scalars(select(Feed).order_by(Feed.name))]


def load_feeds(session: Session) -> list[ParsedFeed]:
    """Read every stored feed back with its entries."""
    out = []
    for feed in session.scalars(select(Feed).order_by(Feed.name)):
        domains: list[str] = []
        urls: list[str] = []
        for domain, url in session.execute(
            select(FeedEntry.domain, FeedEntry.url).where(FeedEntry.feed_id == feed.id).order_by(FeedEntry.seq)
        ):
            if domain is not None:
                domains.append(domain)
            elif url is not None:
                urls.append(url)
        out.append(ParsedFeed(_provenance(feed), tuple(domains), tuple(urls)))
    return out


def upsert_entities(session: Session, entities: Iterable[EntityValue]) -> int:
    """Insert or update protected entities (matched on platform and id); return how many were written."""
    count = 0
    for ent in entities:
        row = session.scalars(
            select(ProtectedEntity).where(
                ProtectedEntity.id == ent.id,
                ProtectedEntity.platform_id.is_(None)
                if ent.platform_id is None
                else ProtectedEntity.platform_id == ent.platform_id,
            )
        ).one_or_none()
        if row is None:
            row = ProtectedEntity(id=ent.id, platform_id=ent.platform_id)
            session.add(row)
        row.name = ent.name
        row.kind = ent.kind
        row.handles = list(ent.handles)
        row.domains = list(ent.domains)
        row.aliases = list(ent.aliases)
        row.source = ent.source
        count += 1
    session.flush()
    return count


def load_entities(session: Session, *, platform_id: str | None = None) -> list[EntityValue]:
    """Return stored entities: global ones plus those of ``platform_id`` (all platforms' when it is ``None``)."""
    stmt = select(ProtectedEntity).order_by(ProtectedEntity.seq)
    if platform_id is not None:
        stmt = stmt.where((ProtectedEntity.platform_id.is_(None)) | (ProtectedEntity.platform_id == platform_id))
    return [
        EntityValue(
            id=r.id,
            name=r.name,
            kind=r.kind,
            handles=tuple(r.handles or ()),
            domains=tuple(r.domains or ()),
            platform_id=r.platform_id,
            aliases=tuple(r.aliases or ()),
            source=r.source,
        )
        for r in session.scalars(stmt)
    ]


def register_works(session: Session, works: Iterable[WorkValue]) -> int:
    """Insert or update works (matched on platform and id), computing their sketches; return how many."""
    count = 0
    for work in works:
        sketch = sketch_work(work)
        row = session.scalars(
            select(Work).where(
                Work.id == work.id,
                Work.platform_id.is_(None) if work.platform_id is None else Work.platform_id == work.platform_id,
            )
        ).one_or_none()
        if row is None:
            row = Work(id=work.id, platform_id=work.platform_id)
            session.add(row)
        row.title = work.title
        row.body = work.body
        row.rights_holder = work.rights_holder
        row.licence = work.licence
        row.source_url = work.source_url
        row.shingle_count = sketch.shingle_count
        row.sketch = sketch.sketch_bytes()
        row.sketch_size = SKETCH_SIZE
        row.registered_at = utcnow()  # a re-registration is a change the registries' fingerprint must see
        count += 1
    session.flush()
    return count


def load_work_sketches(session: Session, *, platform_id: str | None = None) -> list[WorkSketch]:
    """Return stored works as sketches (bodies are not read)."""
    stmt = select(
        Work.id,
        Work.title,
        Work.rights_holder,
        Work.licence,
        Work.platform_id,
        Work.shingle_count,
        Work.sketch,
        Work.source_url,
    ).order_by(Work.seq)
    if platform_id is not None:
        stmt = stmt.where((Work.platform_id.is_(None)) | (Work.platform_id == platform_id))
    return [
        WorkSketch(
            id=r.id,
            title=r.title,
            rights_holder=r.rights_holder,
            licence=r.licence,
            platform_id=r.platform_id,
            shingle_count=r.shingle_count,
            sketch=WorkSketch.sketch_from_bytes(r.sketch),
            source_url=r.source_url,
        )
        for r in session.execute(stmt)
    ]


def load_registries(
    session: Session,
    *,
    platform_id: str | None = None,
    include_shipped_entities: bool = True,
    known_unlawful_urls: Iterable[str] = (),
) -> Registries:
    """Build the immutable :class:`Registries` from the database (plus the shipped entity data by default).

    ``known_unlawful_urls`` are the URLs named in this service's removal decisions; the caller that owns the
    decision store passes them.
    """
    entities = load_entities(session, platform_id=platform_id)
    if include_shipped_entities:
        entities = [*load_shipped_entities(), *entities]
    return Registries.build(
        feeds=load_feeds(session),
        entities=entities,
        works=load_work_sketches(session, platform_id=platform_id),
        known_unlawful_urls=known_unlawful_urls,
    )
