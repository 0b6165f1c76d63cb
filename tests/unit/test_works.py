"""The near-duplicate works index: robustness to edits, containment in long posts, licences and evidence spans."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
import pytest

from benches._common import SYLLABLES
from moderation.detect.identity import fold
from moderation.detect.registries import Registries
from moderation.detect.works import (
    SKETCH_SIZE,
    Work,
    WorksIndex,
    WorkSketch,
    detect_work_matches,
    licence_kind,
    shingle,
    sketch_work,
)
from moderation.domain import Item, ItemKind


def _paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(SYLLABLES) for _ in range(words)).capitalize() + "."


def _article(seed: int, paragraphs: int = 8, words: int = 40) -> list[str]:
    rng = random.Random(seed)
    return [_paragraph(rng, words) for _ in range(paragraphs)]


WORK_PARAS = _article(1)
WORK = Work("w-1", "Mùa lúa chín", "\n\n".join(WORK_PARAS), rights_holder="Báo Tuổi Trẻ", licence="all-rights-reserved")
NOISE = "\n\n".join(_article(99, paragraphs=60))  # ~2,400 unrelated words


def _edit_words(text: str, every: int, seed: int = 5) -> str:
    rng = random.Random(seed)
    words = text.split(" ")
    for i in range(0, len(words), every):
        words[i] = rng.choice(SYLLABLES)
    return " ".join(words)


def _strip_diacritics(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch)).replace("đ", "d")


@pytest.fixture(scope="module")
def registries() -> Registries:
    decoys = [Work(f"d-{i}", "x", "\n\n".join(_article(1000 + i)), licence="all-rights-reserved") for i in range(200)]
    return Registries.build(works=[WORK, *decoys])


shuffled = WORK_PARAS[::-1]

# (post body, expected minimum share, maximum share or None) — each row is one kind of copying the index must survive.
ROBUSTNESS_CASES = [
    pytest.param("\n\n".join(WORK_PARAS), 0.95, None, id="verbatim"),
    pytest.param(_strip_diacritics("\n\n".join(WORK_PARAS)), 0.95, None, id="diacritics-stripped"),
    pytest.param("\n\n".join(WORK_PARAS).upper(), 0.95, None, id="upper-case"),
    pytest.param("\n\n".join(shuffled), 0.9, None, id="paragraphs-shuffled"),
    pytest.param("\n\n".join(WORK_PARAS[:4]), 0.3, 0.7, id="half-the-paragraphs-deleted"),
    pytest.param(_edit_words("\n\n".join(WORK_PARAS), every=25), 0.5, None, id="small-edits-every-25-words"),
    pytest.param(NOISE + "\n\n" + "\n\n".join(WORK_PARAS) + "\n\n" + NOISE, 0.95, None, id="small-part-of-long-post"),
    pytest.param(" ".join(WORK_PARAS), 0.9, None, id="paragraphs-joined"),
]


@pytest.mark.parametrize(("body", "low", "high"), ROBUSTNESS_CASES)
def test_robustness(registries: Registries, body: str, low: float, high: float | None) -> None:
    signals = detect_work_matches(Item(ItemKind.POST, {"title": "Bài viết", "body": body}), registries)
    hits = {s.key: s for s in signals}
    assert "w-1" in hits
    share = hits["w-1"].attrs["share"]
    assert share >= low
    if high is not None:
        assert share <= high
    assert set(hits) == {"w-1"}  # no decoy work is reported


def test_unrelated_post_matches_nothing(registries: Registries) -> None:
    assert detect_work_matches(Item(ItemKind.POST, {"body": NOISE}), registries) == []


def test_spans_point_into_original_text(registries: Registries) -> None:
    copied = "\n\n".join(WORK_PARAS[2:6])
    body = NOISE[:3000] + "\n\n" + copied + "\n\n" + NOISE[3000:6000]
    [signal] = [s for s in detect_work_matches(Item(ItemKind.POST, {"body": body}), registries) if s.key == "w-1"]
    start = body.index(copied)
    assert signal.spans
    for span in signal.spans:
        assert body[span.start : span.end] == span.text
        assert start <= span.start < span.end <= start + len(copied)


def test_html_body_spans(registries: Registries) -> None:
    html = "".join(f'<p class="x">{p.replace(" ", " <b>", 1).replace(" ", "</b> ", 2)}</p>' for p in WORK_PARAS)
    item = Item(ItemKind.POST, {"body": html}, body_format="html")
    [signal] = detect_work_matches(item, registries)
    assert signal.attrs["share"] > 0.7
    assert all(html[s.start : s.end] == s.text for s in signal.spans)


@pytest.mark.parametrize(
    ("licence", "credit", "flagged"),
    [
        pytest.param("all-rights-reserved", "Nguồn: Báo Tuổi Trẻ", True, id="reserved-credit-not-enough"),
        pytest.param("CC-BY-4.0", "Nguồn: Báo Tuổi Trẻ", False, id="cc-by-credited"),
        pytest.param("CC-BY-4.0", "Nguon: bao tuoi tre", False, id="cc-by-credited-without-diacritics"),
        pytest.param("CC-BY-SA", "", True, id="cc-by-not-credited"),
        pytest.param("CC0-1.0", "", False, id="cc0"),
        pytest.param("public domain", "", False, id="public-domain"),
    ],
)
def test_licences(licence: str, credit: str, flagged: bool) -> None:
    work = Work("w", "t", WORK.body, rights_holder="Báo Tuổi Trẻ", licence=licence)
    regs = Registries.build(works=[work])
    signals = detect_work_matches(Item(ItemKind.POST, {"body": WORK.body + "\n\n" + credit}), regs)
    assert bool(signals) is flagged


@pytest.mark.parametrize(
    ("licence", "kind"),
    [("CC BY 4.0", "attribution"), ("cc0", "public"), ("Phạm vi công cộng", "reserved"), ("", "reserved")],
)
def test_licence_kind(licence: str, kind: str) -> None:
    assert licence_kind(licence) == kind


def test_sketch_round_trip_and_platform_scope() -> None:
    sketch = sketch_work(Work("w", "t", WORK.body, platform_id="p1"))
    assert len(sketch.sketch) == SKETCH_SIZE
    assert np.array_equal(WorkSketch.sketch_from_bytes(sketch.sketch_bytes()), sketch.sketch)
    index = WorksIndex.build([sketch])
    assert index.search([("body", WORK.body)], platform_id="p2") == []
    assert [h.work.id for h in index.search([("body", WORK.body)], platform_id="p1")] == ["w"]


def test_shingles_are_stable_across_processes() -> None:
    # Fixed polynomial hashes, not Python's salted hash(): stored sketches stay valid after a restart.
    assert shingle("một hai ba bốn năm").hashes.tolist() == shingle("MOT HAI BA BON NAM").hashes.tolist()
    assert fold("Bốn") == "bon"
    nfd = unicodedata.normalize("NFD", "một hai ba bốn năm")
    assert shingle(nfd).hashes.tolist() == [2521704124]
    assert shingle("một hai ba bốn năm").hashes.tolist() == [2521704124]
