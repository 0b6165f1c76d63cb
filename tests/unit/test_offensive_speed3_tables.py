"""The compiled offensive model's tables past their first sizes: the word table (16-byte slots holding the hash,
id, length and key offset) rehashed many times, the bigram and trigram tables (zero key: empty) doubled, with the
same results as the Python path."""

from __future__ import annotations

import random

import pytest

from moderation.detect import offensive
from moderation.detect.offensive import OffensiveResult, default_model
from moderation.text.normalise import normalise

_c = pytest.importorskip("moderation._ext._offensive")

pytestmark = pytest.mark.skipif(default_model()._fast is None, reason="compiled path not in use here")

_SYLLABLES = ["ngu", "chó", "mày", "tao", "đi", "lồn", "đm", "vl", "ăn", "cá", "trời", "đẹp", "xấu", "óc", "bò"]


def _same(a: OffensiveResult, b: OffensiveResult) -> bool:
    return (repr(a.score), a.spans, a.flagged, a.segments) == (repr(b.score), b.spans, b.flagged, b.segments)


def _predict(engine: object, text: str) -> OffensiveResult:
    n = normalise(text)
    return OffensiveResult(*engine.predict(n.text, n.folded, n.starts, n.ends))  # type: ignore[attr-defined]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    # words of one to three syllables, many of the same length and differing in one code point only
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))) + rng.choice("abcxyz")] = None
    return list(words)


def test_word_table_rehashed_many_times() -> None:
    m = default_model()
    rng = random.Random(3)
    vocab = _vocabulary(rng, 5000)
    engine = m._engine()
    texts = [" ".join(vocab[i : i + 60]) for i in range(0, len(vocab), 60)]
    got = [_predict(engine, t) for t in texts]
    assert engine.stats()[0] >= 5000  # far past the first 1,024 slots
    for t, g in zip(texts, got, strict=True):
        assert _same(g, m._predict_python(t)), t
    for w in vocab[::97]:
        assert engine.word_columns(w) == m._weights.cols[m._weights.word_ids([w])[0]].tolist()


def test_bigram_and_trigram_tables_doubled() -> None:
    m = default_model()
    rng = random.Random(5)
    vocab = _vocabulary(rng, 2000)
    engine = m._engine()
    texts = [" ".join(rng.choice(vocab) for _ in range(80)) for _ in range(4000)]
    got = [_predict(engine, t) for t in texts]
    _, pairs, tris = engine.stats()
    # both tables grew past their first sizes
    assert pairs > (1 << 17)
    assert tris > (1 << 18)
    for k in [*range(0, 40), *range(1990, 2010), *range(3960, 4000)]:
        assert _same(got[k], m._predict_python(texts[k])), texts[k]
    # after the growth the tables still answer (known n-grams), and after a reset they start over
    for k in (0, 1, 2000, 3999):
        assert _same(_predict(engine, texts[k]), got[k])
    engine.reset()
    assert engine.stats() == (2, 0, 0)
    for k in (3999, 0):
        assert _same(_predict(engine, texts[k]), got[k])


def test_large_trie_walks_the_hash_table_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # A trie past the reach of the dense table's 16-bit entries (32,767 nodes) finds its edges in the hash table
    # alone: an engine whose lexicon is the model's plus 2,500 random 16-letter forms (35,000 nodes more, in no
    # text here) finds the same hits as the Python path with the model's lexicon.
    m = default_model()
    rng = random.Random(11)
    extra = sorted({"".join(rng.choice("abcdeghiklmnopqrstuvxy") for _ in range(16)) for _ in range(2500)})
    assert len({f[:k] for f in extra for k in range(1, 17)}) > 32767
    forms = offensive._lexicon_forms(m.meta.get("lexicon", []))
    monkeypatch.setattr(offensive, "_lexicon_forms", lambda _terms: [*forms, *extra])
    engine = m._engine()
    assert engine is not None
    texts = [
        "Thằng này ngu như chó",
        "thang nay ngu nhu cho",
        "Đ.M thằng mặt lồn",
        "đm mày ngu vl, óc chó, dit me",
        "ngu. chó! lồn? đm; vl: cc\nđéo",
        "Hôm nay tôi đi chợ mua rau. " * 30 + "Thằng bán hàng ngu như chó, mày là đồ lừa đảo! " + "Trời đẹp. " * 40,
    ]
    for text in texts:
        assert _same(_predict(engine, text), m._predict_python(text)), text
