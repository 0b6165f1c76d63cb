"""``moderation scan``: batch classification in input order, the same verdicts as the webhook."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from moderation.cli import main
from tests.conftest import SignedClient, post_payload

LINES = [
    {"id": "clean", "body": "Hôm nay trời đẹp, cả nhà đi chơi công viên Thống Nhất."},
    {"id": "goods", "title": "Rao vặt", "body": "Bán ma túy đá, súng quân dụng giá rẻ, giao hàng tận nơi."},
    {"id": "html", "body": "<p>Bán <b>ma túy đá</b> giá rẻ, giao hàng tận nơi</p>"},
    {"id": 7, "body": "Chia sẻ lại bài viết hay.", "kind": "share"},
]


@pytest.fixture(autouse=True)
def _frozen(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The scan's heap freeze, undone at once (the test process keeps its collector); what it froze is recorded."""
    import moderation.heap

    counts: list[int] = []
    real = moderation.heap.freeze_long_lived

    def freeze_and_count() -> None:
        saved = gc.get_threshold()
        real()
        counts.append(gc.get_freeze_count())
        gc.unfreeze()
        gc.set_threshold(*saved)

    monkeypatch.setattr(moderation.heap, "freeze_long_lived", freeze_and_count)
    return counts


def _run(tmp_path: Path, lines: list[Any], *args: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines),
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(out), *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_scan_writes_one_line_per_input_in_order(tmp_path: Path, _frozen: list[int]) -> None:  # noqa: PT019
    results = _run(tmp_path, LINES, env={"DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"})
    assert len(_frozen) == 1  # once the classifier was warm, its tables were taken out of the collector's generations
    assert _frozen[0] > 0
    assert [r["id"] for r in results] == ["clean", "goods", "html", 7]
    verdicts = {r["id"]: r["verdict"] for r in results}
    assert verdicts["clean"] == "allow"
    assert verdicts["goods"] == "remove"
    assert verdicts["html"] == "remove"
    goods = results[1]
    category = goods["categories"][0]
    assert {"id", "score", "rule", "citation", "evidence"} <= set(category)
    for span in category["evidence"]:
        field = LINES[1][span.get("field", "body")]
        assert field[span["start"] : span["end"]] == span["text"]
    html = results[2]["categories"][0]["evidence"]
    assert all(LINES[2]["body"][s["start"] : s["end"]] == s["text"] for s in html)  # offsets into the raw HTML


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{not json", "JSONDecodeError"),
        ('{"id": "x"}', "ValueError"),  # no body
        ('{"id": "x", "body": 5}', "ValueError"),  # body not a string
        ('["a list"]', "ValueError"),
    ],
)
def test_bad_lines_are_reported_in_place(tmp_path: Path, line: str, error: str) -> None:
    results = _run(tmp_path, [LINES[0], line, LINES[0]], env={"DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}"})
    assert len(results) == 3
    assert results[1]["error"].startswith(error)
    assert results[0]["verdict"] == results[2]["verdict"] == "allow"


@pytest.mark.parametrize(
    ("line", "echoed"),
    [
        ('{"id": 18446744073709551616, "body": "Chào"}', 18446744073709551616),  # beyond 64 bits: orjson refuses it
        ('{"id": -9223372036854775809, "body": "Chào"}', -9223372036854775809),
        ('{"id": 1.5, "body": "Chào"}', 1.5),
        (r'{"id": "mã-\u0111\u1ecf\ud83d\ude00", "body": "Chào"}', "mã-đỏ\U0001f600"),
        ('{"id": null, "body": "Chào"}', None),
    ],
)
def test_ids_come_back_as_given(tmp_path: Path, line: str, echoed: Any) -> None:
    """The output encoder (orjson, with the standard one for what it refuses) echoes every JSON id unchanged."""
    results = _run(tmp_path, [line], env={"DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}"})
    assert results[0]["id"] == echoed
    assert type(results[0]["id"]) is type(echoed)
    assert results[0]["verdict"] == "allow"


def test_output_lines_are_what_the_standard_encoder_gives(tmp_path: Path) -> None:
    """Same JSON values as ``json.dumps`` of the scan record, non-ASCII text written as UTF-8, one line each."""
    from moderation.cli.scan import _dumps

    record = {"id": "x", "verdict": "remove", "labels": ["a"], "categories": [{"score": 0.123456, "text": "Đồ chó 😀"}]}
    for rec in (record, dict(record, id=2**70)):  # orjson, and the standard encoder for an id orjson refuses
        line = _dumps(rec)
        assert line.endswith(b"\n")
        assert line.count(b"\n") == 1
        assert "Đồ chó 😀".encode() in line  # UTF-8, not \u-escaped
        assert json.loads(line) == json.loads(json.dumps(rec, ensure_ascii=False))
    assert json.loads(_dumps({"id": float("nan")})) == {"id": None}  # NaN is not JSON: written as null, valid JSON


MIXED = [
    *(json.dumps(line, ensure_ascii=False) for line in LINES),
    "{not json",
    '{"id": "x", "kind": "bogus", "body": "Chào"}',  # not a post kind: an error line, in place
    '{"id": 18446744073709551616, "body": "Thằng Nguyễn Văn An là đồ chó, đm mày ngu"}',  # the standard encoder
    r'{"id": "s", "body": "th\u1eb1ng \ud800 ch\u00f3 m\u00e0y ngu"}',  # a lone surrogate in the text
    *(json.dumps({"id": i, "body": f"Bán ma túy đá số {i}, đm mày ngu"}, ensure_ascii=False) for i in range(70)),
]


@pytest.fixture
def scanner(tmp_path: Path) -> Any:
    from moderation.cli import scan as scan_module

    scan_module._init(str(Path(__file__).resolve().parents[2] / "policies"), f"sqlite:///{tmp_path / 'n.db'}")
    return scan_module


@pytest.mark.parametrize("size", [1, 7, len(MIXED)])
def test_a_batch_gives_the_lines_one_by_one(scanner: Any, size: int) -> None:
    """Batches are classified together (``classify_stream``) and give, byte for byte, what each line gives alone."""
    one_by_one = b"".join(scanner._scan_line(line) for line in MIXED)
    batched = b"".join(scanner._scan_batch(MIXED[i : i + size]) for i in range(0, len(MIXED), size))
    assert batched == one_by_one
    assert len(batched.splitlines()) == len(MIXED)


def test_a_batch_whose_classification_fails_goes_line_by_line(scanner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """If classifying the batch together raises, each line is classified alone: the line at fault gets its error
    line and the others their results."""
    real = scanner._classifier.classify

    def classify(item: Any, history: Any = None) -> Any:
        if "số 3," in item.fields["body"]:
            raise ValueError("this item cannot be classified")
        return real(item, history)

    def classify_stream(items: Any, histories: Any = None) -> Any:
        return (classify(it) for it in items)  # raises part way, once some lines are written

    monkeypatch.setattr(scanner._classifier, "classify", classify)
    monkeypatch.setattr(scanner._classifier, "classify_stream", classify_stream)
    out = [json.loads(line) for line in scanner._scan_batch(MIXED).splitlines()]
    assert len(out) == len(MIXED)
    failed = [r for r in out if "this item" in r.get("error", "")]
    assert [r["id"] for r in failed] == [3]
    assert sum("verdict" in r for r in out) == len(MIXED) - 3  # the bad line, the bogus kind, the failed item


@pytest.mark.slow
def test_parallel_scan_gives_the_same_output(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}"}
    many = [dict(line, id=f"{i}-{line['id']}") for i in range(150) for line in LINES]
    single = _run(tmp_path, many, env=env)
    parallel = _run(tmp_path, many, "--jobs", "2", env=env)
    assert single == parallel


def test_scan_sees_the_registries_the_service_sees(api: SignedClient, settings: Any, tmp_path: Path) -> None:
    """A removed post's URL becomes a known-unlawful link for both the webhook and the batch scan."""
    api.post(
        "/v1/posts?sync=1",
        post_payload(
            id="bad", url="https://blog.example.vn/bai-viet/ban-ma-tuy", body="Bán ma túy đá giá rẻ, giao hàng tận nơi"
        ),
    )
    linking = {"id": "link", "body": "Xem ở đây https://blog.example.vn/bai-viet/ban-ma-tuy nhé"}
    (scanned,) = _run(tmp_path, [linking], env={"DATABASE_URL": settings.database_url})
    hooked = api.post("/v1/posts?sync=1", post_payload(id="link", body=linking["body"])).get_json()["decision"]
    assert scanned["verdict"] == hooked["verdict"]
    assert sorted(scanned["labels"]) == sorted(hooked["labels"])


@pytest.mark.parametrize(("not_built", "warned"), [([], False), (["_normalise"], True)])
def test_scan_says_when_compiled_extensions_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, not_built: list[str], warned: bool
) -> None:
    from moderation import _ext

    monkeypatch.setattr(_ext, "missing", lambda: not_built)
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(LINES[0], ensure_ascii=False) + "\n", encoding="utf-8")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    result = CliRunner().invoke(main, ["scan", str(src), "--out", str(tmp_path / "o.jsonl")], env=env)
    assert result.exit_code == 0, result.output
    assert ("compiled extensions not built (_normalise)" in result.stderr) is warned


def test_the_classifier_imports_no_http_client_or_database_layer() -> None:
    """`moderation scan` without a database starts without them (together about 0.5 s of CPU at start-up): only a
    link fetch needs httpx, only the registries need SQLAlchemy and the models, and only a registrable domain needs
    tldextract (which imports requests)."""
    code = (
        "import sys, moderation.policy, moderation.cli.scan; "
        "print(sorted({'httpx', 'sqlalchemy', 'tldextract', 'requests'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


_BLAS_THREADS = (
    "import sys, os, json; from moderation.cli import main; "
    "sys.argv[2:] and __import__('numpy'); main.get_command(None, sys.argv[1]); "
    "import numpy; from threadpoolctl import threadpool_info; "
    "print(json.dumps([sorted({i['num_threads'] for i in threadpool_info() if i['internal_api'] == 'openblas'}), "
    "os.environ.get('OPENBLAS_NUM_THREADS')]))"
)


@pytest.mark.parametrize(
    ("command", "given", "threads", "env"),
    [
        ("scan", None, 1, "1"),  # classifies one item at a time: no BLAS pool spinning at start-up
        ("worker", None, 1, "1"),
        ("serve", None, 1, "1"),
        ("train", None, None, None),  # liblinear's solver calls BLAS: OpenBLAS's own default (one per core)
        ("scan", "2", 2, "2"),  # an operator's setting is kept
        ("scan+numpy", None, None, None),  # numpy loaded already (a test runner): neither it nor its children touched
    ],
)
def test_classifying_commands_load_openblas_with_one_thread(
    command: str, given: str | None, threads: int | None, env: str | None
) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"}}
    if given is not None:
        environ["OPENBLAS_NUM_THREADS"] = given
    args = ["scan", "numpy-first"] if command == "scan+numpy" else [command]
    out = subprocess.run(
        [sys.executable, "-c", _BLAS_THREADS, *args], check=True, capture_output=True, text=True, env=environ
    ).stdout
    pools, seen = json.loads(out)
    assert seen == env
    assert len(pools) == 1  # numpy's OpenBLAS
    if threads is not None:
        assert pools == [threads]
