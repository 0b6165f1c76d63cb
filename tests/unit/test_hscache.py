"""Hyperscan databases cached on disk: a hit gives the database a compile gives; anything unsound is compiled again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import hyperscan
import pytest

from moderation import hscache

EXPRS = [rf"\bw{i}x{i}\b".encode() for i in range(400)]  # slow enough to compile (> MIN_COMPILE_S) to be stored
IDS = list(range(len(EXPRS)))
FLAGS = [hyperscan.HS_FLAG_SOM_LEFTMOST] * len(EXPRS)
TEXT = b"a w3x3 b w17x17 w399x399 w400x400 w3x3z"


def _hits(db: hyperscan.Database) -> list[tuple[int, int, int]]:
    found: list[tuple[int, int, int]] = []
    db.scan(TEXT, match_event_handler=lambda i, a, b, _f, _c: found.append((i, a, b)), scratch=hyperscan.Scratch(db))
    return sorted(found)


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the real compiles (a cache hit makes none)."""
    counted: list[int] = []
    real = hyperscan.Database

    class Counting(real):  # type: ignore[misc, valid-type]
        def compile(self, *args: Any, **kwargs: Any) -> Any:
            counted.append(kwargs.get("elements", 0))
            return super().compile(*args, **kwargs)

    monkeypatch.setattr(hscache.hyperscan, "Database", Counting)
    return counted


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.hsdb"))


def test_second_process_loads_what_the_first_compiled(tmp_path: Path, compiles: list[int]) -> None:
    first = hscache.compile_database(EXPRS, IDS, FLAGS, folder=tmp_path)
    assert compiles == [len(EXPRS)]
    assert len(_files(tmp_path)) == 1
    again = hscache.compile_database(EXPRS, IDS, FLAGS, folder=tmp_path)
    assert compiles == [len(EXPRS)]  # loaded, not compiled
    assert _hits(again) == _hits(first) == [(3, 2, 6), (17, 9, 15), (399, 16, 24)]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b"not a database", "no header"),
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "payload changed: digest differs"),
        (lambda b: b[:40] + bytes([b[40] ^ 1]) + b[41:], "digest changed"),
        (lambda b: hscache.MAGIC + b"\0" * 32, "empty payload"),
        (lambda b: b"", "empty file"),
    ],
)
def test_unsound_files_are_compiled_again_and_replaced(
    tmp_path: Path, compiles: list[int], change: Any, why: str
) -> None:
    hscache.compile_database(EXPRS, IDS, FLAGS, folder=tmp_path)
    (path,) = _files(tmp_path)
    good = path.read_bytes()
    path.write_bytes(change(good))
    db = hscache.compile_database(EXPRS, IDS, FLAGS, folder=tmp_path)
    assert len(compiles) == 2, why
    assert _hits(db) == [(3, 2, 6), (17, 9, 15), (399, 16, 24)]
    assert path.read_bytes()[: len(hscache.MAGIC) + 32] == good[: len(hscache.MAGIC) + 32]  # replaced by a sound copy


def test_the_key_covers_what_decides_the_database() -> None:
    base = hscache.database_key(EXPRS, IDS, FLAGS, hyperscan.HS_MODE_BLOCK)
    variants = [
        hscache.database_key(EXPRS[:-1], IDS[:-1], FLAGS[:-1], hyperscan.HS_MODE_BLOCK),
        hscache.database_key([EXPRS[1], EXPRS[0], *EXPRS[2:]], IDS, FLAGS, hyperscan.HS_MODE_BLOCK),
        hscache.database_key(EXPRS, [i + 1 for i in IDS], FLAGS, hyperscan.HS_MODE_BLOCK),
        hscache.database_key(EXPRS, IDS, [0] * len(EXPRS), hyperscan.HS_MODE_BLOCK),
        hscache.database_key(EXPRS, IDS, FLAGS, hyperscan.HS_MODE_STREAM),
        hscache.database_key([b"ab", b"c"], [0, 1], [0, 0], hyperscan.HS_MODE_BLOCK),
    ]
    assert hscache.database_key([b"a", b"bc"], [0, 1], [0, 0], 1) != variants[-1]  # boundaries are in the key
    assert len({base, *variants}) == len(variants) + 1
    assert base == hscache.database_key(list(EXPRS), range(len(EXPRS)), tuple(FLAGS), hyperscan.HS_MODE_BLOCK)
    with pytest.raises(ValueError, match="shorter"):
        hscache.database_key(EXPRS, IDS[:-1], FLAGS, hyperscan.HS_MODE_BLOCK)


def test_compile_errors_are_raised_and_nothing_is_stored(tmp_path: Path) -> None:
    with pytest.raises(hyperscan.error):
        hscache.compile_database([b"(unclosed", *EXPRS], [0, *IDS], [0, *FLAGS], folder=tmp_path)
    assert _files(tmp_path) == []


def test_small_databases_are_not_stored(tmp_path: Path) -> None:
    db = hscache.compile_database([b"abc"], [0], [0], folder=tmp_path)
    assert db is not None
    assert _files(tmp_path) == []


def test_only_the_most_recent_files_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hscache, "MAX_FILES", 3)
    monkeypatch.setattr(hscache, "MIN_COMPILE_S", 0.0)
    keys = []
    for k in range(5):
        hscache.compile_database([f"k{k}".encode()], [0], [0], folder=tmp_path)
        keys.append(hscache.database_key([f"k{k}".encode()], [0], [0], hyperscan.HS_MODE_BLOCK))
        os.utime(tmp_path / f"{keys[-1]}.hsdb", (1000 + k, 1000 + k))  # distinct ages, oldest first
    assert {p.stem for p in _files(tmp_path)} == set(keys[2:])
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("value", "used"),
    [("off", False), ("OFF", False), ("0", False), ("no", False), ("", True), ("{tmp}/cache", True)],
)
def test_cache_dir_setting(tmp_path: Path, value: str, used: bool) -> None:
    env = {hscache.ENV: value.format(tmp=tmp_path), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    got = hscache.cache_dir(env)
    assert (got is not None) is used
    if got is not None:
        assert got.is_dir()
        assert got.stat().st_mode & 0o777 == 0o700
        assert got == (Path(value.format(tmp=tmp_path)) if value else tmp_path / "xdg" / "vn-moderation" / "hyperscan")


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757])
def test_a_directory_others_can_write_is_not_used(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    assert hscache.cache_dir({hscache.ENV: str(folder)}) is None


def test_a_cache_that_cannot_be_made_is_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert hscache.cache_dir({hscache.ENV: str(blocker / "sub")}) is None
    assert hscache.cache_dir({hscache.ENV: str(blocker)}) is None  # not a directory


def test_a_cache_that_cannot_be_written_still_compiles(
    tmp_path: Path, compiles: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*_: Any, **__: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hscache.tempfile, "mkstemp", full_disk)
    db = hscache.compile_database(EXPRS, IDS, FLAGS, folder=tmp_path)
    assert _hits(db) == [(3, 2, 6), (17, 9, 15), (399, 16, 24)]
    assert _files(tmp_path) == []


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any) -> None:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(hscache.os, "replace", refuse)
    db = hscache.compile_database(EXPRS, IDS, FLAGS, folder=tmp_path)
    assert _hits(db) == [(3, 2, 6), (17, 9, 15), (399, 16, 24)]
    assert list(tmp_path.iterdir()) == []
