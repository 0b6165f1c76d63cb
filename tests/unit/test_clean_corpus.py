"""The clean corpus the offensive model trains on besides ViHOS: catalogue parsing, dictionary compounds, pinned
wheels, the pseudo-sentences and what is kept out of training."""

from __future__ import annotations

import csv
import hashlib
import json
import random
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import clean_corpus
from moderation.detect.clean_corpus import CorpusError, Source, compounds, po_strings, pseudo_sentences

PO = r"""# Vietnamese translation
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Language: vi\n"

msgid "Password"
msgstr "Mật khẩu của bạn"

msgid "%(name)s was deleted"
msgstr "Đã xoá %(name)s thành công"

msgid "Save"
msgstr "Lưu"

msgid "long"
msgstr ""
"Tổ chức này "
"đã được "
"tạo.\n"

msgid "one"
msgid_plural "many"
msgstr[0] "Có {count} mục trong <b>danh sách</b>"

msgid "quote"
msgstr "Nhấn \"Lưu\" để\tghi lại"

msgid "untranslated"
msgstr ""
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            PO,
            [
                "Mật khẩu của bạn",
                "Đã xoá thành công",
                "Tổ chức này đã được tạo.",
                "Có mục trong danh sách",
                'Nhấn "Lưu" để ghi lại',
            ],
            id="catalogue",
        ),
        pytest.param('msgid "a"\nmsgstr "Ngắn"\n', [], id="too-short"),
        pytest.param('msgid "a"\nmsgstr "Xem :ref:`mục lục` ở đây"\n', ["Xem ở đây"], id="rst-role"),
        pytest.param('msgid "a"\nmsgstr "Hoàn thành 100%% công việc"\n', ["Hoàn thành 100 công việc"], id="percent"),
        pytest.param("", [], id="empty"),
        pytest.param('msgstr "không đóng ngoặc\n', [], id="unterminated"),
    ],
)
def test_po_strings(text: str, expected: list[str]) -> None:
    assert po_strings(text) == expected


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_po_strings_never_raises_and_leaves_no_placeholders(text: str) -> None:
    for s in po_strings(text):
        assert len(s) >= 8
        assert "%(" not in s
        assert s == " ".join(s.split())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet='ab ưđ"\\n%(){}<>s', max_size=30), max_size=8))
def test_po_strings_of_generated_catalogues(values: list[str]) -> None:
    text = "".join(f'msgid "k{i}"\nmsgstr "{v}"\n\n' for i, v in enumerate(values))
    assert len(po_strings(text)) <= len(values)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            ["a", "tổ chức", "Tổ chức", "quy  định", "A-lô", "mật khẩu\n"], ["tổ chức", "quy định", "mật khẩu"]
        ),
        pytest.param(["to\u0302\u0309 chức"], ["tổ chức"], id="nfc"),
        pytest.param(["3 chiều", "", "  "], [], id="not-letters"),
    ],
)
def test_compounds(lines: list[str], expected: list[str]) -> None:
    assert compounds(lines) == expected


def test_pseudo_sentences_use_every_word_once_in_runs_of_6_to_12() -> None:
    words = [f"từ{i} ghép" for i in range(100)]
    out = pseudo_sentences(words, random.Random(1))
    assert out == pseudo_sentences(words, random.Random(1))
    assert out != pseudo_sentences(words, random.Random(2))
    joined = " ".join(out).split(" ")
    assert sorted(" ".join(joined[i : i + 2]) for i in range(0, len(joined), 2)) == sorted(words)
    assert all(12 <= len(s.split(" ")) <= 24 for s in out[:-1])


def _wheel(tmp_path: Path, members: dict[str, str]) -> Source:
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Source("demo", "1.0", path.name, digest, "MIT", "po", "*/locale/vi/LC_MESSAGES/*.po")


def test_read_takes_the_matching_members_of_a_pinned_wheel(tmp_path: Path) -> None:
    po = _wheel(
        tmp_path,
        {
            "demo/locale/vi/LC_MESSAGES/x.po": PO,
            "demo/locale/fr/LC_MESSAGES/x.po": 'msgid "a"\nmsgstr "Mot de passe"\n',
        },
    )
    words, sentences = clean_corpus.read(tmp_path, [po])
    assert words == []
    assert "Mật khẩu của bạn" in sentences
    assert "Mot de passe" not in sentences


@pytest.mark.parametrize("problem", ["missing", "tampered"])
def test_read_refuses_a_wheel_that_is_not_the_pinned_one(tmp_path: Path, problem: str) -> None:
    source = _wheel(tmp_path, {"demo/locale/vi/LC_MESSAGES/x.po": PO})
    if problem == "missing":
        (tmp_path / source.wheel).unlink()
        match = "make train-corpus"
    else:
        (tmp_path / source.wheel).write_bytes(b"not the wheel")
        match = "not the pinned"
    with pytest.raises(CorpusError, match=match):
        clean_corpus.read(tmp_path, [source])


def test_sources_are_pinned_and_permissive() -> None:
    for s in clean_corpus.SOURCES:
        assert len(s.sha256) == 64
        assert s.wheel.startswith(f"{s.name}-{s.version}-")
        assert s.licence in {"MIT", "BSD-2-Clause", "BSD-3-Clause"}


def test_clean_training_texts_leave_out_insults_and_hold_out_sentences() -> None:
    from moderation.detect.lexicon import Lexicon, Term
    from moderation.detect.offensive_train import Example, clean_training_texts

    vihos = [Example("thằng chó má này", frozenset(range(6, 12)))]
    lexicon = Lexicon.compile([Term("đồ ngu", "đồ ngu")])
    words = ["tổ chức", "chó má", "đồ ngu", "quy định", "mật khẩu"]
    sentences = [f"Câu giao diện số {i}" for i in range(10)]
    texts, held, counts = clean_training_texts(words, sentences, vihos, lexicon, seed=3, share=1.0)
    trained = [t for t in texts if t.startswith("Câu")]
    assert counts == {
        "compounds": 5,
        "compounds_kept": 3,
        "compounds_used": 3,
        "sentences": 10,
        "sentences_trained": 8,
        "texts": 9,
    }
    assert len(held) == 2
    assert not set(held) & set(trained)
    assert set(held) | set(trained) == set(sentences)
    [pseudo] = [t for t in texts if not t.startswith("Câu")]
    assert sorted(pseudo.split(" ")) == sorted(["tổ", "chức", "quy", "định", "mật", "khẩu"])
    assert (texts, held) == clean_training_texts(words, sentences, vihos, lexicon, seed=3, share=1.0)[:2]
    fewer, _, counts = clean_training_texts(words, sentences, vihos, lexicon, seed=3, share=0.34)
    assert counts["compounds_used"] == 1
    assert len(fewer) == 9


def _split(path: Path, rows: list[tuple[str, list[int]]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["content", "index_spans"])
        for text, spans in rows:
            w.writerow([text, json.dumps(spans)])


def test_training_with_clean_text_records_it(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from moderation.detect.offensive_train import train

    rows = [
        ("thằng này ngu quá", list(range(9, 12))),
        ("mày là đồ chó", list(range(10, 13))),
        ("hôm nay trời đẹp", []),
        ("cảm ơn bạn nhiều", []),
    ] * 5
    for split in ("train", "dev"):
        _split(tmp_path / f"{split}.csv", rows)
    meta = train(
        tmp_path,
        tmp_path / "model",
        badwords=tmp_path / "none.json",
        clean=["tổ chức quy định mật khẩu"] * 3,
        clean_held_out=["Mật khẩu của bạn đã được đổi"],
        clean_sources=[{"package": "demo==1.0"}],
        log=lambda _: None,
    )
    assert meta["clean_examples"] == 3  # no diacritic-free copies by default
    assert meta["name"] == "vihos+clean-hashed-logreg"
    assert meta["clean_sources"] == [{"package": "demo==1.0"}]
    assert meta["clean_held_out"]["sentences"] == 1
    assert set(meta["trained_with"]) == {"python", "numpy", "scipy", "scikit-learn", "blas_kernels", "blas_threads"}
    assert meta["trained_with"]["blas_threads"] == 2
    assert json.loads((tmp_path / "model" / "model.json").read_text(encoding="utf-8"))["clean_examples"] == 3


def test_save_npz_is_byte_stable_and_loads_back(tmp_path: Path) -> None:
    import time

    import numpy as np

    from moderation.detect.offensive_train import save_npz

    arrays = {"w": np.arange(10, dtype=np.float32) / 3, "b": np.float32(-0.25)}
    save_npz(tmp_path / "a.npz", arrays)
    time.sleep(2.1)  # the zip's two-second clock: np.savez_compressed would stamp a different time now
    save_npz(tmp_path / "b.npz", arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:
        assert sorted(z.files) == ["b", "w"]
        assert np.array_equal(z["w"], arrays["w"])
        assert z["b"] == arrays["b"]
