"""Packs are data: a new regime is a folder; versions are hashes; validation errors carry file:line:column."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from moderation.domain import History, Item, ItemKind
from moderation.policy import (
    Classifier,
    PackValidationError,
    PackWatcher,
    explain_text,
    hash_pack,
    load_packs,
    validate_dir,
)
from moderation.policy import backtest as backtest_module
from moderation.policy.backtest import backtest

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SNAPSHOTS = Path(__file__).parent / "snapshots"

MINI_PACK = {
    "pack.yaml": """\
id: xx-test-regime
name: {vi: Quy chế thử, en: Test regime}
version_label: "1/2030"
jurisdiction: XX
status: in_force
effective: {from: "2020-01-01"}
""",
    "data.yaml": """\
categories:
  - id: xx.spam
    name_vi: Thư rác
    name_en: Spam
    citation: {instrument: Test Act 2030, article: "1", clause: "2", point: a}
    severity: 2
    default_action: remove
lexicons:
  - id: spam
    terms: [mua ngay kẻo hết]
rules:
  - id: spam.offer
    category: xx.spam
    when_all:
      - lexicon: {list: spam}
""",
}


def write_pack(root: Path, files: dict[str, str], name: str = "xx-test-regime") -> Path:
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text, encoding="utf-8")
    return d


def test_new_regime_is_data_only(tmp_path: Path) -> None:
    write_pack(tmp_path, MINI_PACK)
    (tmp_path / "registries").mkdir()  # a folder without pack.yaml is skipped
    packs = load_packs(tmp_path)
    assert list(packs.versions) == ["xx-test-regime"]
    clf = Classifier(packs)
    item = Item(kind=ItemKind.COMMENT, fields={"body": "Mua ngay kẻo hết!"}, published_at="2021-02-01T00:00:00Z")
    ev = clf.classify(item)
    assert ev.verdict.value == "remove"
    assert ev.categories[0].citation["instrument"] == "Test Act 2030"
    # Before the regime's effective date the same text is recorded in shadow mode only.
    early = Item(kind=ItemKind.COMMENT, fields={"body": "Mua ngay kẻo hết!"}, published_at="2019-12-31T00:00:00Z")
    ev2 = clf.classify(early)
    assert ev2.verdict.value == "allow"
    assert [c.mode for c in ev2.categories] == ["shadow"]


def test_shadow_rule_recorded_never_acted(tmp_path: Path) -> None:
    files = dict(MINI_PACK)
    files["data.yaml"] = files["data.yaml"] + "    mode: shadow\n"
    write_pack(tmp_path, files)
    ev = Classifier(load_packs(tmp_path)).classify(Item(kind=ItemKind.COMMENT, fields={"body": "mua ngay kẻo hết"}))
    assert ev.verdict.value == "allow"
    assert ev.labels == []
    assert [(c.id, c.mode, c.action.value) for c in ev.categories] == [("xx.spam", "shadow", "remove")]


def test_hash_covers_every_file(tmp_path: Path) -> None:
    d = write_pack(tmp_path, MINI_PACK)
    h1 = hash_pack(d)
    # A section owned by someone else is kept and hashed, not rejected.
    (d / "extra.yaml").write_text("x-notes: {owner: workflow}\n", encoding="utf-8")
    h2 = hash_pack(d)
    (d / "NOTES.md").write_text("why\n", encoding="utf-8")
    assert len({h1, h2, hash_pack(d)}) == 3
    packs = load_packs(tmp_path)
    assert packs.versions["xx-test-regime"] == hash_pack(d)
    assert packs.packs[0].sections["x-notes"] == {"owner": "workflow"}


def test_watcher_reloads_only_on_change(tmp_path: Path) -> None:
    d = write_pack(tmp_path, MINI_PACK)
    w = PackWatcher(tmp_path, min_interval_s=0)
    first = w.current()
    assert w.current() is first  # unchanged: the same object
    (d / "data.yaml").write_text((d / "data.yaml").read_text().replace("mua ngay kẻo hết", "xả kho"), "utf-8")
    second = w.current()
    assert second is not first
    assert second.versions != first.versions
    # A broken edit keeps the last good version in force.
    (d / "data.yaml").write_text("rules: [", "utf-8")
    assert w.current() is second
    assert w.last_error is not None


def test_shipped_packs_validate() -> None:
    assert validate_dir(POLICIES) == []


def test_explain_text_says_why(tmp_path: Path) -> None:
    write_pack(tmp_path, MINI_PACK)
    ev = Classifier(load_packs(tmp_path)).classify(Item(kind=ItemKind.COMMENT, fields={"body": "xin chào"}))
    text = explain_text(json.loads(json.dumps(ev.to_json())))
    assert "spam.offer -> xx.spam [enforce]: not fired" in text
    assert "no  when_all[0] lexicon(list=spam)" in text


def test_backtest_reports_new_and_dropped(tmp_path: Path) -> None:
    write_pack(tmp_path, MINI_PACK)
    old = load_packs(tmp_path)
    items = [
        ("a", Item(kind=ItemKind.COMMENT, fields={"body": "mua ngay kẻo hết"})),
        ("b", Item(kind=ItemKind.COMMENT, fields={"body": "xả kho"})),
    ]
    stored = [(i, it, Classifier(old).classify(it).to_json()) for i, it in items]
    d = tmp_path / "xx-test-regime" / "data.yaml"
    d.write_text(d.read_text().replace("mua ngay kẻo hết", "xả kho"), "utf-8")
    report = backtest(stored, load_packs(tmp_path))
    delta = report.categories["xx.spam"]
    assert (delta.new, delta.dropped, delta.examples_new, delta.examples_dropped) == (1, 1, ["b"], ["a"])
    assert report.verdict_changes == {"remove->allow": 1, "allow->remove": 1}
    assert "xx.spam" in report.to_text()


def test_backtest_over_several_chunks_counts_every_item(tmp_path: Path) -> None:
    """Items are read and classified a chunk at a time (``classify_many``), from any iterable, each with its own
    history: the report is the one of classifying them one by one."""
    write_pack(tmp_path, MINI_PACK)
    old = load_packs(tmp_path)
    texts = ["mua ngay kẻo hết", "xả kho", "xin chào", "mua ngay kẻo hết rồi"]
    n = 2 * backtest_module.CHUNK + 3
    items = [(f"i{k}", Item(kind=ItemKind.COMMENT, fields={"body": f"{texts[k % 4]} {k}"})) for k in range(n)]
    stored = [
        (i, it, Classifier(old).classify(it).to_json(), History(author_violations=k % 3))
        for k, (i, it) in enumerate(items)
    ]
    d = tmp_path / "xx-test-regime" / "data.yaml"
    d.write_text(d.read_text().replace("mua ngay kẻo hết", "xả kho"), "utf-8")
    report = backtest(iter(stored), load_packs(tmp_path))  # an iterator: read once
    assert report.items == n
    delta = report.categories["xx.spam"]
    assert (delta.new, delta.dropped) == (sum(k % 4 == 1 for k in range(n)), sum(k % 4 in (0, 3) for k in range(n)))
    assert delta.examples_new == [f"i{k}" for k in range(n) if k % 4 == 1][: backtest_module.MAX_EXAMPLES]


BAD_PACKS = [
    # (snapshot name, files replacing the mini pack's, why)
    ("yaml_syntax", {"data.yaml": "rules: [\n"}),  # a YAML syntax error has a position
    ("unknown_function", {"data.yaml": MINI_PACK["data.yaml"].replace("- lexicon:", "- lexicn:")}),  # typo'd detector
    ("unknown_category", {"data.yaml": MINI_PACK["data.yaml"].replace("category: xx.spam", "category: xx.spma")}),
    (
        "threshold_range",
        {
            "data.yaml": MINI_PACK["data.yaml"] + "  - id: r2\n    category: xx.spam\n"
            "    when_all:\n      - offensive: {min_score: 1.5}\n"
        },
    ),  # score out of [0, 1]
    (
        "duplicate_ids",
        {
            "data.yaml": MINI_PACK["data.yaml"] + "  - id: spam.offer\n    category: xx.spam\n"
            "    when_all:\n      - lexicon: {list: spam}\n"
        },
    ),  # rule id defined twice
    ("bad_regex", {"p.yaml": "patterns:\n  - id: p1\n    pattern: 'a(b'\n"}),  # regex that does not compile
    ("unknown_lexicon", {"data.yaml": MINI_PACK["data.yaml"].replace("{list: spam}", "{list: spma}")}),
    ("missing_field", {"pack.yaml": MINI_PACK["pack.yaml"].replace("jurisdiction: XX\n", "")}),  # required field
    (
        "unknown_field",
        {"data.yaml": MINI_PACK["data.yaml"].replace("severity: 2", "severity: 2\n    sevrity: 3")},
    ),  # a typo'd field is not ignored
    ("draft_acts", {"pack.yaml": MINI_PACK["pack.yaml"].replace("in_force", "draft")}),  # drafts only label
    (
        "unknown_link_verdict",
        {
            "data.yaml": MINI_PACK["data.yaml"] + "  - id: r3\n    category: xx.spam\n"
            "    when_all:\n      - link: {verdicts: [lookalike, blocklist]}\n"
        },
    ),  # a verdict the link detector never gives: the rule could never fire
]


@pytest.mark.parametrize(("name", "files"), BAD_PACKS, ids=[b[0] for b in BAD_PACKS])
def test_validation_errors_snapshot(
    tmp_path: Path, name: str, files: dict[str, str], request: pytest.FixtureRequest
) -> None:
    write_pack(tmp_path, {**MINI_PACK, **files})
    errors = [str(e) for e in validate_dir(tmp_path)]
    assert errors
    with pytest.raises(PackValidationError):
        load_packs(tmp_path)
    snap = SNAPSHOTS / f"pack_{name}.txt"
    got = "\n".join(errors) + "\n"
    if not snap.exists():
        snap.write_text(got, encoding="utf-8")
    assert got == snap.read_text(encoding="utf-8")


def test_link_verdict_vocabulary_is_what_the_link_detector_gives() -> None:
    from moderation.detect.feeds import parse_feed
    from moderation.detect.links import check_url
    from moderation.detect.registries import Registries
    from moderation.policy.rules import LINK_VERDICTS

    registries = Registries.build(
        feeds=[parse_feed("t", "bad.example.com\n", format="domains")],
        known_unlawful_urls=["https://blog.example.vn/bai/1"],
        include_shipped_entities=True,
    )
    urls = [
        "http://bad.example.com/x",
        "https://blog.example.vn/bai/1",
        "http://vietcombank-xacminh.com",
        "https://bit.ly/abc",
    ]
    given = {s.attrs["verdict"] for url in urls for s in check_url(url, registries)}
    assert given == set(LINK_VERDICTS)


def test_copy_of_shipped_pack_validates(tmp_path: Path) -> None:
    shutil.copytree(POLICIES / "vn-circular-07-2008", tmp_path / "vn-circular-07-2008")
    assert validate_dir(tmp_path) == []


YAML_CASES = [
    pytest.param("a: 1\nb: [x, {c: 2020-01-01}]\n", None, id="plain"),
    pytest.param("a: 1\na: 2\n", "duplicate key 'a'", id="duplicate-key"),
    pytest.param("a: [1, 2\n", "YAML: ", id="unclosed-flow"),
    pytest.param("a: b: c\n", "YAML: ", id="mapping-in-scalar"),
    pytest.param("- a\nb: 1\n", "YAML: ", id="sequence-then-mapping"),
    pytest.param("a: 'x\n", "YAML: ", id="unclosed-quote"),
    pytest.param("a:\t1\n", "YAML: ", id="tab"),  # libyaml would take it: the pure-Python parser reads it
    pytest.param('\u00e9: "\\u00e9 \\x41"\nb: !!str 1\nc: ~\nd: 0o17\ne: 1_000\n', None, id="unicode-escapes-tags"),
    pytest.param("a: 1\nb: x\x01\n", "YAML: unacceptable character #x0001", id="control-character"),
    pytest.param("a: {x: '\U0001f600ế', y: 1}\nb:\n  - 'tiếng Việt \U0001f600'\n  - {k: v}\n", None, id="astral-marks"),
    pytest.param("\ufeffa: 1\r\nb: [1, 2]\r\n", None, id="bom-crlf"),
    pytest.param("a: |\n  ốc\n  \U0001f600\nb: 2\n", None, id="block-scalar"),
    pytest.param("", None, id="empty"),
    pytest.param("--- a\n--- b\n", "YAML: ", id="two-documents"),
]


@pytest.mark.parametrize(("text", "error"), YAML_CASES)
def test_load_marked_is_the_same_with_libyaml_and_without(
    monkeypatch: pytest.MonkeyPatch, text: str, error: str | None
) -> None:
    """libyaml reads what it can (6x faster), the pure-Python parser the rest: the same data, marks and errors."""
    from moderation.policy import pack

    got = pack.load_marked(text, "f.yaml")
    monkeypatch.setattr(pack, "_FastLoader", None)
    want = pack.load_marked(text, "f.yaml")
    assert (got[0] is None) == (want[0] is None)
    if got[0] is not None and want[0] is not None:
        assert (got[0].data, got[0].marks, got[0].key_marks) == (want[0].data, want[0].marks, want[0].key_marks)
    assert got[1] == want[1]
    if error is None:
        assert not got[1]
    else:
        assert any(error in e.message for e in got[1])


def test_the_shipped_packs_read_the_same_with_libyaml_and_without(monkeypatch: pytest.MonkeyPatch) -> None:
    from moderation.policy import pack

    files = sorted(POLICIES.rglob("*.yaml"))
    fast = [pack.load_marked(f.read_text(encoding="utf-8"), str(f)) for f in files]
    monkeypatch.setattr(pack, "_FastLoader", None)
    slow = [pack.load_marked(f.read_text(encoding="utf-8"), str(f)) for f in files]
    for (a, ea), (b, eb) in zip(fast, slow, strict=True):
        assert a is not None
        assert b is not None
        assert (ea, eb) == ([], [])
        assert (a.data, a.marks, a.key_marks) == (b.data, b.marks, b.key_marks)


def test_a_control_character_is_a_pack_error_with_its_place(tmp_path: Path) -> None:
    """Before, the YAML reader's error escaped validation as an exception."""
    pack_dir = tmp_path / "xx-test-regime"
    shutil.copytree(POLICIES / "vn-draft-cyber-sanctions-2021", pack_dir)
    rules = pack_dir / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "# \x01\n", encoding="utf-8")
    lines = rules.read_text(encoding="utf-8").count("\n")
    errors = validate_dir(pack_dir)
    assert [(e.file.endswith("rules.yaml"), e.line, e.column) for e in errors] == [(True, lines, 3)]
    assert "unacceptable character #x0001" in errors[0].message
