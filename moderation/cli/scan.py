"""``moderation scan``: batch classification without the server, in constant memory.

Input lines ``{"id", "title"?, "body", "links"?, "kind"?}``; output lines in input order. The registries (feeds,
protected entities, works) are the ones stored at DATABASE_URL, so a scan gives the verdicts the webhook would.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
import orjson

from moderation.config import load_settings
from moderation.domain import Item, ItemKind, PostKind

_classifier: Any = None
BATCH = 256  # lines handed to a worker at once; bounds memory with --jobs


def _load_registries(database_url: str) -> Any:
    """Load registries from the database if it has been migrated; a scan without a database uses none."""
    if database_url.startswith("sqlite") and not Path(database_url.split("///", 1)[-1]).exists():
        return None  # before the imports: SQLAlchemy and the models cost about 0.3 s of start-up
    from sqlalchemy import inspect

    from moderation.services.registries import registries_loader
    from moderation.store.db import get_engine, session_factory

    try:
        if not inspect(get_engine(database_url)).has_table("alembic_version"):
            return None
    except Exception:
        click.echo("scan: database unreachable; scanning without registries", err=True)
        return None
    registries, _ = registries_loader(session_factory(database_url))()
    return registries


def _init(policies_dir: str, database_url: str) -> None:
    global _classifier  # noqa: PLW0603 - one classifier per worker process
    from moderation.heap import freeze_long_lived
    from moderation.policy import Classifier, load_packs

    _classifier = Classifier(load_packs(Path(policies_dir)), registries=_load_registries(database_url))
    # The detectors load their tables on first use: load them now, then keep the collector off them.
    _classifier.classify(Item(ItemKind.POST, {"title": "Chào", "body": "Xin chào https://example.vn"}))
    freeze_long_lived()


def _item(record: dict[str, Any]) -> Item:
    fields = {"body": record["body"]}
    if record.get("title"):
        fields["title"] = record["title"]
    body_format = record.get("body_format") or ("html" if "<" in record["body"] and ">" in record["body"] else "text")
    return Item(
        kind=ItemKind.POST,
        fields=fields,
        links=tuple(record.get("links") or ()),
        post_kind=PostKind(record.get("kind") or "original"),
        body_format=body_format,
    )


def _dumps(result: dict[str, Any]) -> bytes:
    """Encode one output line, its newline included, as UTF-8 (written as it is: no decoding, joining and encoding
    again): orjson (about 9x faster than ``json.dumps`` on the evidence of a long post), or the standard encoder for
    what orjson refuses (an echoed id beyond 64 bits, NaN), so the id still comes back as given."""
    try:
        return orjson.dumps(result, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return json.dumps(result, ensure_ascii=False).encode() + b"\n"


def _read_line(line: str) -> tuple[dict[str, Any], Item] | dict[str, Any]:
    """The record of one input line and its item, or the output line of a line that is not one."""
    try:
        record = json.loads(line)
        if not isinstance(record, dict) or not isinstance(record.get("body"), str) or "id" not in record:
            raise ValueError("each line needs an id and a string body")
        return record, _item(record)
    except (ValueError, TypeError, KeyError) as exc:
        return _error(line, exc)


def _error(line: str, exc: Exception) -> dict[str, Any]:
    ident = None
    with contextlib.suppress(ValueError, AttributeError):
        ident = json.loads(line).get("id")
    return {"id": ident, "error": f"{type(exc).__name__}: {exc}"}


def _result_line(record: dict[str, Any], ev: Any) -> bytes:
    from moderation.policy import scan_record

    # The evidence goes in as the JSON orjson would write of it (orjson.Fragment); what orjson refuses goes to the
    # standard encoder, which takes no fragment, so that record is made again with the evidence as dicts.
    result = scan_record(str(record["id"]), ev, fragment=orjson.Fragment)
    result["id"] = record["id"]  # echo the id exactly as given (a number stays a number)
    try:
        return orjson.dumps(result, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        result = scan_record(str(record["id"]), ev)
        result["id"] = record["id"]
        return _dumps(result)


def _scan_line(line: str) -> bytes:
    got = _read_line(line)
    if isinstance(got, dict):
        return _dumps(got)
    record, item = got
    try:
        return _result_line(record, _classifier.classify(item))
    except (ValueError, TypeError, KeyError) as exc:
        return _dumps(_error(line, exc))


def _scan_batch(lines: list[str]) -> bytes:
    """The output of ``lines``: their items classified together (``Classifier.classify_stream``, stage by stage,
    each result line written as its group's Evaluations come); if that raises, line by line, so the line at fault
    gets its error and the others their results."""
    read = [_read_line(line) for line in lines]
    evaluations = _classifier.classify_stream([got[1] for got in read if isinstance(got, tuple)])
    try:
        return b"".join(
            [_dumps(got) if isinstance(got, dict) else _result_line(got[0], next(evaluations)) for got in read]
        )
    except (ValueError, TypeError, KeyError):
        return b"".join([_scan_line(line) for line in lines])


def _batches(stream: IO[str], progress: Any) -> Iterator[list[str]]:
    while True:
        lines = [line for line in itertools.islice(stream, BATCH) if line.strip()]
        if not lines:
            return
        if progress is not None:
            progress.update(sum(len(line.encode()) for line in lines))
        yield lines


@click.command()
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--out",
    "outfile",
    type=click.Path(dir_okay=False, writable=True),
    default="-",
    help="Output JSONL (default: standard output).",
)
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Processes to use; 0 = all cores.")
@click.option(
    "--policies",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Policy packs directory (default: the configured one).",
)
def scan(infile: str, outfile: str, jobs: int, policies: str | None) -> None:
    """Classify every line of INFILE (JSONL) and write one result line each, in input order."""
    from moderation import _ext

    settings = load_settings()
    policies_dir = policies or str(settings.policies_dir)
    if not_built := _ext.missing():
        click.echo(
            f"scan: compiled extensions not built ({', '.join(not_built)}): running slower pure-Python code", err=True
        )
    jobs = jobs or os.cpu_count() or 1
    src = click.open_file(infile, "r", encoding="utf-8", errors="replace")
    dst = click.open_file(outfile, "wb")  # the lines are encoded as UTF-8 bytes already
    progress = None
    if sys.stderr.isatty() and infile != "-":
        from tqdm import tqdm

        progress = tqdm(total=os.path.getsize(infile), unit="B", unit_scale=True, desc="scan", file=sys.stderr)
    try:
        if jobs == 1:
            _init(policies_dir, settings.database_url)
            for batch in _batches(src, progress):
                dst.write(_scan_batch(batch))
        else:
            ctx = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
            with ctx.Pool(jobs, initializer=_init, initargs=(policies_dir, settings.database_url)) as pool:
                # imap over a bounded window of batches keeps memory constant for any input size.
                window = jobs * 2
                batches = _batches(src, progress)
                while True:
                    chunk = list(itertools.islice(batches, window))
                    if not chunk:
                        break
                    for results in pool.imap(_scan_batch, chunk):
                        dst.write(results)
    finally:
        if progress is not None:
            progress.close()
        src.close()
        dst.close()
