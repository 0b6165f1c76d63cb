"""Adversarial items for rule evaluation: huge, deeply marked, pathologically repetitive.

Shared by ``tests/security/test_hostile_text.py`` (which only guards against hangs) and
``benches/bench_hostile.py`` (which measures the time per item against the 100 ms target).
"""

from __future__ import annotations

from moderation.domain import Item, ItemKind

MIB = 1 << 20
SENTENCE = "Hôm nay trời Hà Nội se lạnh, cả nhà rủ nhau đi ăn phở ở phố cổ. "
DRUGS = "Bán ma túy đá giá rẻ lh 0901234567 "


def _fit(unit: str, size: int) -> str:
    return (unit * (size // len(unit.encode()) + 1))[: max(1, size // max(1, len(unit.encode()) // len(unit)))]


def adversarial_items(size: int = MIB) -> dict[str, Item]:
    """Named items, each about ``size`` bytes of UTF-8 (1 MiB by default; the body limit of the API)."""
    marks = "".join(chr(0x300 + i % 0x70) for i in range(64))  # every combining diacritical mark, stacked
    bodies = {
        "vietnamese-text": _fit(SENTENCE, size),
        "violations-everywhere": _fit(DRUGS, size),
        "one-char": "a" * size,
        "nested-combining-marks": _fit("a" + marks, size),
        "tone-mark-stacks": _fit("ạ\u0301\u0300\u0303\u0309\u0323", size),
        "zero-width-and-bidi": _fit("m\u200ba\u200d \u202et\u2066ú\u2069y\ufeff", size),
        "spaced-letters": _fit("m a t u y ", size),
        "repeated-near-miss": _fit("ma tuyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy ", size),
        "digits-like-phones": _fit("0901234567890123456789 ", size),
        "url-soup": _fit("http://a.b.c.d.e.f.g.h.vn/" + "x/" * 20 + " www.", size),
        "homoglyphs": _fit("mа tυу đá ", size),  # Cyrillic a, Greek upsilon
        "no-spaces": _fit("bánmatúyđá", size),
    }
    items = {name: Item(kind=ItemKind.POST, fields={"body": body}, body_format="text") for name, body in bodies.items()}
    depth = max(1, size // 18)  # 18 bytes per level
    items["html-nesting"] = Item(
        kind=ItemKind.POST, fields={"body": "<div><b>" * depth + "ma túy" + "</b></div>" * depth}, body_format="html"
    )
    items["html-attributes"] = Item(
        kind=ItemKind.POST,
        fields={"body": _fit('<a href="http://x.vn/?q=' + "%" * 50 + '" title="' + "&amp;" * 20 + '">l</a>', size)},
        body_format="html",
    )
    return items
