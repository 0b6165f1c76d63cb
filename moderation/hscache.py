"""Compiled Hyperscan databases kept on disk, so a new process loads in milliseconds what took seconds to compile.

Compiling the default packs' databases costs about 2 s of CPU in every process that classifies (``moderation scan``,
each worker host, the test processes). :func:`compile_database` keys a database by everything that decides its
bytes (the expressions, ids, flags, mode, the Hyperscan package and the CPU's vector features), loads it from the
cache when present and sound, and otherwise compiles it and stores it for the next process.

The cache directory is ``$MODERATION_HS_CACHE``, else ``$XDG_CACHE_HOME/vn-moderation/hyperscan`` (``~/.cache/...``);
``MODERATION_HS_CACHE=off`` turns it off. It is used only if it is this user's own and not writable by others (a
database is code for the matcher); a file is trusted only if its SHA-256 matches and Hyperscan accepts it and can
allocate scratch space for it: anything else is compiled again and replaced. Writes are atomic (a temporary file
renamed), so concurrent processes never read half a file. Only databases that took at least
:data:`MIN_COMPILE_S` to compile are stored, and at most :data:`MAX_FILES` are kept (the least recently used go).
A cache that cannot be read or written never fails a compile: the database is compiled as without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import stat
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import hyperscan

log = logging.getLogger(__name__)

ENV = "MODERATION_HS_CACHE"
MAGIC = b"vn-moderation hyperscan 1\n"
MIN_COMPILE_S = 0.02  # smaller databases compile about as fast as they load: not worth a file
MAX_FILES = 64
_CPU_FEATURES = ("avx2", "avx512f", "avx512bw", "avx512vbmi", "bmi2", "popcnt", "sse4_2")


def cache_dir(env: dict[str, str] | None = None) -> Path | None:
    """The cache directory to use, made if missing; None when turned off or not safe to use."""
    env = dict(os.environ) if env is None else env
    raw = env.get(ENV, "")
    if raw.strip().lower() in {"off", "0", "false", "no"}:
        return None
    if raw:
        path = Path(raw)
    else:
        base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "vn-moderation" / "hyperscan"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        return None
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):  # others could plant a database
        return None
    return path


def _cpu_features() -> str:
    """The vector features Hyperscan picks its code for (Linux: from /proc/cpuinfo), as one string."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return ",".join(f for f in _CPU_FEATURES if f in have)
    except OSError:
        pass
    return platform.processor()


_FEATURES: str | None = None


def database_key(expressions: Sequence[bytes], ids: Sequence[int], flags: Sequence[int], mode: int) -> str:
    """SHA-256 (hex) of everything that decides a compiled database's bytes."""
    global _FEATURES  # noqa: PLW0603 - read once per process
    if _FEATURES is None:
        _FEATURES = _cpu_features()
    h = hashlib.sha256()
    head = f"{getattr(hyperscan, '__version__', '')}|{platform.machine()}|{_FEATURES}|{mode}|{len(expressions)}"
    h.update(head.encode())
    for expr, i, f in zip(expressions, ids, flags, strict=True):
        h.update(f"|{len(expr)}:{i}:{f}:".encode())
        h.update(expr)
    return h.hexdigest()


def _load(path: Path, mode: int) -> hyperscan.Database | None:
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + 32
    if len(blob) <= head or not blob.startswith(MAGIC):
        return None
    payload = blob[head:]
    if hashlib.sha256(payload).digest() != blob[len(MAGIC) : head]:
        return None
    try:
        db = hyperscan.loadb(payload, mode)
        hyperscan.Scratch(db)  # refuses a database built for other CPU features
    except hyperscan.error:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept by the pruning
    return db


def _store(folder: Path, path: Path, db: hyperscan.Database) -> None:
    payload = hyperscan.dumpb(db)
    data = MAGIC + hashlib.sha256(payload).digest() + payload
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".hsdb")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _prune(folder)
    except OSError as exc:
        log.info("hyperscan cache: not stored (%s)", exc)


def _prune(folder: Path) -> None:
    files = []
    for p in folder.glob("*.hsdb"):
        with contextlib.suppress(OSError):
            files.append((p.stat().st_mtime, p))
    files.sort(reverse=True)
    for _, p in files[MAX_FILES:]:
        with contextlib.suppress(OSError):
            p.unlink()


def compile_database(
    expressions: Sequence[bytes],
    ids: Sequence[int],
    flags: Sequence[int],
    mode: int = hyperscan.HS_MODE_BLOCK,
    folder: Path | None = None,
) -> hyperscan.Database:
    """A database of ``expressions`` as ``hyperscan.Database(mode=mode).compile(...)`` makes it, from the cache
    (``folder``, else :func:`cache_dir`) when it holds a sound copy. Compile errors are raised as by Hyperscan."""
    folder = cache_dir() if folder is None else folder
    path = None
    if folder is not None:
        path = folder / f"{database_key(expressions, ids, flags, mode)}.hsdb"
        got = _load(path, mode)
        if got is not None:
            return got
    db = hyperscan.Database(mode=mode)
    start = time.process_time()
    db.compile(expressions=list(expressions), ids=list(ids), elements=len(expressions), flags=list(flags))
    if folder is not None and path is not None and time.process_time() - start >= MIN_COMPILE_S:
        _store(folder, path, db)
    return db
