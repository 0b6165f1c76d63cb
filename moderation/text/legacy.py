"""Recognise Vietnamese text in the legacy VNI-Windows and TCVN3 (ABC) encodings read as Windows-1252.

Old documents and copy-pastes from old Word files arrive as mojibake: ``Céng hoµ x· héi`` (TCVN3) or
``Coäng hoøa xaõ hoäi`` (VNI). Both are cheap to convert: TCVN3 is one byte per letter, VNI a base letter
followed by one byte of marks. Text that shows some evidence but not enough is only flagged (``suspect``).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np
import numpy.typing as npt
import regex

__all__ = ["repair"]

# TCVN3 (ABC) byte -> letter, keyed by the character the byte shows as in Windows-1252.
_TCVN3_BYTES = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}  # fmt: skip

# VNI mark byte (as shown in Windows-1252) -> (shape mark, tone mark).
_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE = "\u0302", "\u0306"
_VNI_MARKS = {
    "ù": ("", _ACUTE), "ø": ("", _GRAVE), "û": ("", _HOOK), "õ": ("", _TILDE), "ï": ("", _DOT),
    "â": (_CIRC, ""), "á": (_CIRC, _ACUTE), "à": (_CIRC, _GRAVE), "å": (_CIRC, _HOOK), "ã": (_CIRC, _TILDE),
    "ä": (_CIRC, _DOT),
    "ê": (_BREVE, ""), "é": (_BREVE, _ACUTE), "è": (_BREVE, _GRAVE), "ú": (_BREVE, _HOOK), "ü": (_BREVE, _TILDE),
    "ë": (_BREVE, _DOT),
}  # fmt: skip
# VNI letters that are one byte: ơ ư đ and the i/y forms.
_VNI_SINGLES = {"ô": "ơ", "ö": "ư", "ñ": "đ", "ó": "ĩ", "ò": "ị", "æ": "ỉ", "î": "ỵ", "í": "í", "ì": "ì"}

# Letters Vietnamese Unicode text can contain inside Latin-1; anything else from the legacy tables is evidence.
_LATIN1_VIETNAMESE = set("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ")
_VIETNAMESE_BEYOND_LATIN1 = re.compile("[\u0100-\u01b0\u1ea0-\u1ef9]")
_MIN_EVIDENCE = 2
# Invisible format characters (the normaliser deletes them) except the soft hyphen, which is TCVN3's "ư".
_FORMAT_CHARS = regex.compile(r"[\p{Cf}--\xad]", regex.VERSION1)


@functools.cache
def _tcvn3_table() -> dict[str, str]:
    return {bytes([b]).decode("cp1252", errors="replace"): ch for b, ch in _TCVN3_BYTES.items()}


@functools.cache
def _tcvn3_strong() -> frozenset[str]:
    return frozenset(c for c in _tcvn3_table() if c not in _LATIN1_VIETNAMESE and c != "\ufffd")


@functools.cache
def _vni_pair_re() -> re.Pattern[str]:
    marks = "".join(_VNI_MARKS) + "".join(_VNI_MARKS).upper()
    return re.compile(f"([aeiouyAEIOUYôöÔÖ])([{re.escape(marks)}])|([{re.escape(''.join(_VNI_SINGLES))}ÔÖÑÓÒÆÎÍÌ])")


_VNI_EVIDENCE = re.compile("[aeiouy][øùûõïäåëü]|[ôö][ùøûõï]|\\bñ|ñ[aeiouy]")
_BMP = 0x10000


@functools.cache
def _tcvn3_evidence_table() -> npt.NDArray[np.bool_]:
    """Per BMP code point, whether it counts as TCVN3 evidence: a strong byte, or a character whose lowercase is one
    (no character beyond the BMP lowercases into the BMP)."""
    strong = _tcvn3_strong()
    return np.fromiter((chr(cp) in strong or chr(cp).lower() in strong for cp in range(_BMP)), dtype=bool, count=_BMP)


# The letters ``_VNI_EVIDENCE`` needs one of (each alternative holds one), in the lowercased probe.
_VNI_EVIDENCE_LETTERS = frozenset("øùûõïäåëüñ")


def quiet_table(size: int) -> npt.NDArray[np.uint8]:
    """Per code point below ``size``: 0 where the character can be no evidence for :func:`repair`, 1 where it can
    (its TCVN3 evidence, or a lowercase holding a letter ``_VNI_EVIDENCE`` needs) or was not looked at (the BMP and
    ``0x1F000``-``0x1FAFF``, emoji, are). Text whose characters are all 0 here and that NFC leaves as it is (each
    character on its own, none composing with the one before) makes a probe with no evidence: :func:`repair` gives
    ``(None, None)`` (``_normalise.prelude`` reads the table so)."""
    out = np.ones(size, dtype=np.uint8)
    letters = _VNI_EVIDENCE_LETTERS
    for lo, top in ((0, _BMP), (0x1F000, 0x1FB00)):
        hi = min(top, size)
        if lo < hi:
            out[lo:hi] = np.fromiter(
                (not letters.isdisjoint(chr(cp).lower()) for cp in range(lo, hi)), dtype=np.uint8, count=hi - lo
            )
    bmp = min(size, _BMP)
    out[:bmp] |= _tcvn3_evidence_table()[:bmp]
    return out


def _count_in(table: npt.NDArray[np.bool_], text: str) -> int:
    codes = _codes(text)
    return int(table[codes[codes < _BMP]].sum())


@functools.cache
def _tcvn3_lookup() -> npt.NDArray[np.uint32]:
    """The TCVN3 conversion of every BMP code point (itself when it has none), as one array."""
    table = _tcvn3_table()
    out = np.arange(_BMP, dtype=np.uint32)
    for cp in range(_BMP):
        ch = chr(cp)
        new = table.get(ch) or table.get(ch.lower())
        if new is not None and new != ch:
            out[cp] = ord(new)
    return out


def _codes(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype="<u4")


def _tcvn3_convert(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """The positions TCVN3 conversion changes, with all code points before and after it."""
    codes = _codes(text)
    lookup = _tcvn3_lookup()
    small = codes < _BMP
    mapped = codes.copy()
    mapped[small] = lookup[codes[small]]
    return np.flatnonzero(mapped != codes), codes, mapped


def convert_tcvn3(text: str) -> str:
    """``text`` with every TCVN3 character converted (what applying :func:`repair`'s ``tcvn3`` edits gives: each
    edit replaces one character by one)."""
    _at, _codes_before, mapped = _tcvn3_convert(text)
    return mapped.astype("<u4").tobytes().decode("utf-32-le", errors="surrogatepass")


@functools.lru_cache(maxsize=4096)
def _vni_letter(base: str, mark: str) -> str | None:
    shape, tone = _VNI_MARKS.get(mark.lower(), ("", ""))
    upper = base.isupper()
    b = _VNI_SINGLES.get(base.lower(), base.lower())
    if shape == _BREVE and b != "a":
        return None
    if shape == _CIRC and b not in "aeo":
        return None
    out = unicodedata.normalize("NFC", b + shape + tone)
    if len(out) != 1:
        return None
    return out.upper() if upper else out


Edit = tuple[int, int, str, None]

_VNI_BASES = "aeiouyAEIOUYôöÔÖ"
_VNI_SINGLE_CHARS = "".join(_VNI_SINGLES) + "ÔÖÑÓÒÆÎÍÌ"


@functools.cache
def _vni_classes() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per BMP code point: a VNI base letter, a VNI mark byte, a VNI one-byte letter (the classes of
    :func:`_vni_pair_re`; no mark is a base or a single, so a pair never overlaps another match)."""
    marks = "".join(_VNI_MARKS) + "".join(_VNI_MARKS).upper()
    out = []
    for chars in (_VNI_BASES, marks, _VNI_SINGLE_CHARS):
        table = np.zeros(_BMP, dtype=bool)
        table[[ord(c) for c in chars]] = True
        out.append(table)
    assert not (out[1] & (out[0] | out[2])).any()
    return out[0], out[1], out[2]


@functools.lru_cache(maxsize=4096)
def _vni_single(ch: str) -> str | None:
    single = _VNI_SINGLES.get(ch.lower())
    if single and single != ch.lower():
        return single.upper() if ch.isupper() else single
    return None


def _vni_edits(text: str) -> list[Edit]:
    """What ``_vni_pair_re().finditer(text)`` finds, converted: a base followed by a mark is a pair, any other
    one-byte letter a single. Found with numpy; Python work only per distinct pair or letter and per edit."""
    codes = _codes(text)
    n = len(codes)
    if not n:
        return []
    base, mark, single = _vni_classes()
    cls = codes < _BMP
    safe = np.where(cls, codes, 0)
    is_base, is_mark, is_single = base[safe] & cls, mark[safe] & cls, single[safe] & cls
    pair = np.zeros(n, dtype=bool)
    pair[:-1] = is_base[:-1] & is_mark[1:]
    solo = is_single & ~pair
    starts = np.flatnonzero(pair | solo)
    if not len(starts):
        return []
    is_pair = pair[starts]
    nxt = np.where(is_pair, codes[np.minimum(starts + 1, n - 1)], 0)
    key = codes[starts].astype(np.int64) << 21 | nxt.astype(np.int64)
    uniq, inverse = np.unique(key, return_inverse=True)
    letters = [
        _vni_letter(chr(k >> 21), chr(k & 0x1FFFFF)) if k & 0x1FFFFF else _vni_single(chr(k >> 21))
        for k in uniq.tolist()
    ]
    got = [letters[i] for i in inverse.tolist()]
    ends = starts + np.where(is_pair, 2, 1)
    return [
        (a, b, letter, None)
        for a, b, letter in zip(starts.tolist(), ends.tolist(), got, strict=True)
        if letter is not None
    ]


def repair(text: str) -> tuple[list[Edit] | None, str | None]:
    """Return edits that convert legacy-encoded ``text`` to Unicode and the encoding's name.

    ``(None, None)`` for ordinary text; ``(None, "suspect")`` when there is some evidence but not enough to
    convert safely; ``(edits, "vni" | "tcvn3")`` otherwise (edits are sorted ``(start, end, replacement, None)``).
    """
    if text.isascii() or _VIETNAMESE_BEYOND_LATIN1.search(text):
        return None, None
    # Evidence is counted case-insensitively on the NFC form so that normalising the output again (lowercase,
    # composed) never finds more evidence than the first pass did: normalisation must be idempotent.
    probe = unicodedata.normalize("NFC", _FORMAT_CHARS.sub("", text))
    tcvn3_evidence = _count_in(_tcvn3_evidence_table(), probe)
    vni_evidence = len(_VNI_EVIDENCE.findall(probe.lower()))
    if vni_evidence >= _MIN_EVIDENCE and vni_evidence >= tcvn3_evidence:
        return _vni_edits(text), "vni"
    if tcvn3_evidence >= _MIN_EVIDENCE:
        at, _before, mapped = _tcvn3_convert(text)
        return [(i, i + 1, chr(c), None) for i, c in zip(at.tolist(), mapped[at].tolist(), strict=True)], "tcvn3"
    if tcvn3_evidence or vni_evidence:
        return None, "suspect"
    return None, None
