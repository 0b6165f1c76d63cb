"""``moderation feeds``, ``moderation entities`` and ``moderation works``: fill the registries the detectors use."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

DEFAULT_DATABASE_URL = "sqlite:///var/moderation.db"
FETCH_TIMEOUT = 30.0
FETCH_MAX_BYTES = 64 * 1024 * 1024  # a million-entry hosts file is ~30 MB

_db_option = click.option(
    "--database-url",
    envvar="DATABASE_URL",
    default=DEFAULT_DATABASE_URL,
    show_default=True,
    help="SQLAlchemy URL of the database (env DATABASE_URL).",
)


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise click.ClickException(f"{path}:{lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
            if not isinstance(row, dict):
                raise click.ClickException(f"{path}:{lineno}:1: expected a JSON object")
            yield lineno, row


def _require(path: Path, lineno: int, row: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not row.get(k)]
    if missing:
        raise click.ClickException(f"{path}:{lineno}:1: missing {', '.join(missing)}")


@click.group()
def feeds() -> None:
    """Import and list blocklist feeds (hosts files, domain lists, URL lists)."""


@feeds.command("import")
@click.argument("name")
@click.argument("source")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "hosts", "domains", "urls"]),
    default="auto",
    show_default=True,
)
@click.option("--licence", default="", help="Licence of the feed (e.g. BSD-3-Clause), kept in its provenance.")
@_db_option
def import_feed(name: str, source: str, fmt: str, licence: str, database_url: str) -> None:
    """Import feed NAME from SOURCE (a file, or an http(s) URL fetched with timeouts and a size cap)."""
    from moderation.detect.feeds import parse_feed, read_feed_file
    from moderation.store.db import session_scope
    from moderation.store.registries import save_feed

    if source.startswith(("http://", "https://")):
        from moderation.detect.links import UnsafeURLError, safe_fetch

        try:
            result = safe_fetch(source, timeout=FETCH_TIMEOUT, max_bytes=FETCH_MAX_BYTES, raise_on_truncate=True)
        except (UnsafeURLError, OSError) as exc:
            raise click.ClickException(f"cannot fetch {source}: {exc}") from exc
        if result.status != 200:
            raise click.ClickException(f"cannot fetch {source}: HTTP {result.status}")
        parsed = parse_feed(name, result.content, source=source, format=fmt, licence=licence)
    else:
        path = Path(source)
        if not path.is_file():
            raise click.ClickException(f"{source}: no such file")
        parsed = read_feed_file(name, path, format=fmt, licence=licence)
    with session_scope(database_url) as session:
        save_feed(session, parsed)
    prov = parsed.provenance
    click.echo(
        f"imported feed {prov.name}: {prov.entry_count} entries "
        f"({len(parsed.domains)} hosts, {len(parsed.urls)} URLs), {prov.rejected} rejected, "
        f"format {prov.format}, sha256 {prov.sha256[:12]}"
    )
    for example in parsed.rejected_examples[:5]:
        click.echo(f"  rejected: {example}", err=True)


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@_db_option
def list_feeds_cmd(as_json: bool, database_url: str) -> None:
    """List imported feeds with their provenance."""
    from moderation.store.db import session_scope
    from moderation.store.registries import list_feeds

    with session_scope(database_url) as session:
        rows = list_feeds(session)
    for prov in rows:
        if as_json:
            data = prov.to_json()
            data.pop("notice", None)
            click.echo(json.dumps(data, ensure_ascii=False))
        else:
            fields = (prov.name, prov.entry_count, prov.format, prov.imported_at, prov.licence or "-", prov.source)
            click.echo("\t".join(str(f) for f in fields))


@click.group()
def entities() -> None:
    """Manage protected entities (agencies, organisations, public figures, brands, blogs)."""


@entities.command("add")
@click.option("--jsonl", "jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--platform", "platform_id", default=None, help="Platform the entities belong to (default: global).")
@_db_option
def add_entities(jsonl: Path, platform_id: str | None, database_url: str) -> None:
    """Add or update entities from JSON lines {"id","name","kind","handles":[...],"domains":[...]}."""
    from moderation.detect.identity import ProtectedEntity
    from moderation.store.db import session_scope
    from moderation.store.registries import upsert_entities

    values = []
    for lineno, row in _jsonl(jsonl):
        _require(jsonl, lineno, row, "id", "name")
        values.append(ProtectedEntity.from_mapping(row, platform_id=platform_id))
    with session_scope(database_url) as session:
        count = upsert_entities(session, values)
    click.echo(f"stored {count} entities")


def _scope(model: Any, platform_id: str | None, every: bool) -> Any:
    from sqlalchemy import select

    stmt = select(model).order_by(model.seq)
    if every:
        return stmt
    return stmt.where(model.platform_id.is_(None) if platform_id is None else model.platform_id == platform_id)


_platform_filter = click.option(
    "--platform", "platform_id", default=None, help="Only this platform's (default: the global ones)."
)
_all_option = click.option("--all", "every", is_flag=True, help="Every platform's and the global ones.")


def _list_rows(
    model: Any,
    platform_id: str | None,
    every: bool,
    as_json: bool,
    database_url: str,
    *,
    data: Callable[[Any], dict[str, Any]],
    line: Callable[[Any], str],
) -> None:
    """Print the rows of a registry in scope: JSON lines of ``data(row)``, or ``line(row)`` tab-separated."""
    from moderation.store.db import session_scope

    with session_scope(database_url) as session:
        for row in session.scalars(_scope(model, platform_id, every)):
            click.echo(json.dumps(data(row), ensure_ascii=False) if as_json else line(row))


def _remove_rows(model: Any, ids: tuple[str, ...], platform_id: str | None, database_url: str, noun: str) -> None:
    """Delete rows by id in scope, one audit entry ``<noun>.delete`` each; exit 1 naming the ids not found."""
    from moderation.services import audit
    from moderation.store.db import session_scope

    with session_scope(database_url) as session:
        rows = list(session.scalars(_scope(model, platform_id, False).where(model.id.in_(ids))))
        found = {r.id for r in rows}
        for row in rows:
            session.delete(row)
            audit.record(
                session,
                actor="system:cli",
                action=f"{noun}.delete",
                object_type=noun,
                object_id=row.id,
                platform_id=row.platform_id,
                details={},
            )
    missing = sorted(set(ids) - found)
    plural = "entities" if noun == "entity" else f"{noun}s"
    click.echo(f"removed {len(found)} {plural}" + (f"; not found: {', '.join(missing)}" if missing else ""))
    if missing:
        raise SystemExit(1)


@entities.command("list")
@_platform_filter
@_all_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@_db_option
def list_entities_cmd(platform_id: str | None, every: bool, as_json: bool, database_url: str) -> None:
    """List stored protected entities (the shipped ones in policies/registries are not listed)."""
    from moderation.store.registries import ProtectedEntity

    def data(row: Any) -> dict[str, Any]:
        return {
            "id": row.id,
            "name": row.name,
            "kind": row.kind,
            "platform_id": row.platform_id,
            "handles": row.handles,
            "domains": row.domains,
            "aliases": row.aliases,
        }

    _list_rows(
        ProtectedEntity,
        platform_id,
        every,
        as_json,
        database_url,
        data=data,
        line=lambda row: f"{row.platform_id or '*'}\t{row.id}\t{row.kind}\t{row.name}",
    )


@entities.command("remove")
@click.argument("entity_ids", nargs=-1, required=True)
@_platform_filter
@_db_option
def remove_entities(entity_ids: tuple[str, ...], platform_id: str | None, database_url: str) -> None:
    """Remove entities by id (global ones, or one platform's with --platform)."""
    from moderation.store.registries import ProtectedEntity

    _remove_rows(ProtectedEntity, entity_ids, platform_id, database_url, "entity")


@click.group()
def works() -> None:
    """Register protected works (press articles, literary and artistic works)."""


@works.command("register")
@click.option("--jsonl", "jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--platform", "platform_id", default=None, help="Platform the works belong to (default: global).")
@_db_option
def register_works_cmd(jsonl: Path, platform_id: str | None, database_url: str) -> None:
    """Register works from JSON lines {"id","title","body","rights_holder","licence"}."""
    from moderation.detect.works import Work
    from moderation.store.db import session_scope
    from moderation.store.registries import register_works

    values = []
    for lineno, row in _jsonl(jsonl):
        _require(jsonl, lineno, row, "id", "body")
        values.append(
            Work(
                id=str(row["id"]),
                title=str(row.get("title", "")),
                body=str(row["body"]),
                rights_holder=str(row.get("rights_holder", "")),
                licence=str(row.get("licence", "")),
                platform_id=row.get("platform_id", platform_id),
                source_url=str(row.get("source_url", "")),
            )
        )
    with session_scope(database_url) as session:
        count = register_works(session, values)
    click.echo(f"registered {count} works")


@works.command("list")
@_platform_filter
@_all_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@_db_option
def list_works_cmd(platform_id: str | None, every: bool, as_json: bool, database_url: str) -> None:
    """List registered works (bodies are not printed)."""
    from moderation.store.registries import Work

    def data(row: Any) -> dict[str, Any]:
        return {
            "id": row.id,
            "title": row.title,
            "rights_holder": row.rights_holder,
            "licence": row.licence,
            "platform_id": row.platform_id,
            "shingles": row.shingle_count,
        }

    _list_rows(
        Work,
        platform_id,
        every,
        as_json,
        database_url,
        data=data,
        line=lambda row: f"{row.platform_id or '*'}\t{row.id}\t{row.licence or '-'}\t{row.title}",
    )


@works.command("remove")
@click.argument("work_ids", nargs=-1, required=True)
@_platform_filter
@_db_option
def remove_works(work_ids: tuple[str, ...], platform_id: str | None, database_url: str) -> None:
    """Remove works by id (global ones, or one platform's with --platform)."""
    from moderation.store.registries import Work

    _remove_rows(Work, work_ids, platform_id, database_url, "work")
