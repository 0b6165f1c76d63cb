"""``moderation explain`` and ``moderation backtest`` against a real database (SQLite and PostgreSQL).

Items go in through the signed API and are classified inline (``?sync=1``), as the worker would; the commands then
read what was stored.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from moderation.cli import main
from tests.api.test_registries_api import COPY, WORK
from tests.conftest import SHARED, SignedClient, post_payload, row_counts

POLICIES = Path(__file__).resolve().parents[2] / "policies"
DRUGS = "Bán ma túy đá giá rẻ, giao hàng tận nơi, liên hệ ngay."
CLEAN = "Hôm nay trời đẹp, tôi đi dạo quanh hồ Gươm với gia đình."
GOODS = "c07.s3_1.prohibited_goods"
MOVED_TO = "c07.s3_1.violence_obscenity"
PRESS = "c07.s3_3.press_publications"


def cli(settings: Any, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": settings.database_url})


@pytest.fixture
def stored(api: SignedClient) -> dict[str, dict[str, Any]]:
    """Three decided posts: a removal, a clean post and a copy of a registered work (sent to review)."""
    assert api.post("/v1/works", WORK).status_code == 201
    out = {}
    for name, body in (("drugs", DRUGS), ("clean", CLEAN), ("copy", COPY)):
        response = api.post("/v1/posts?sync=1", post_payload(id=name, body=body))
        assert response.status_code == 202, response.get_json()
        out[name] = response.get_json()
    assert out["drugs"]["decision"]["verdict"] == "remove"
    assert out["copy"]["decision"]["verdict"] == "review"
    return out


def test_explain_says_rule_by_rule_why(stored: dict[str, dict[str, Any]], settings: Any) -> None:
    sub = stored["drugs"]["submission_id"]
    (goods,) = [c for c in stored["drugs"]["decision"]["categories"] if c["id"] == GOODS]
    before = row_counts(settings.database_url)
    result = cli(settings, "explain", sub)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(f"submission {sub}: post 'drugs' rev 1")
    assert "verdict: remove" in out
    assert re.search(r"pack vn-circular-07-2008 \(.*\) version [0-9a-f]{12}", out)
    assert f"  - {GOODS} [enforce] action=remove" in out
    assert "citation: Thông tư 07/2008/TT-BTTTT Art. 3 cl. 1 -> Nghị định 97/2008/NĐ-CP Art. 6" in out
    # The evidence quotes the submitted text at its offsets.
    for span in goods["evidence"]:
        assert f"evidence body[{span['start']}:{span['end']}] {span['text']!r}" in out
    fired = f"vn-circular-07-2008/{goods['rule']} -> {GOODS} [enforce]: fired (remove)"
    assert fired in out
    # A rule that did not fire says which condition failed.
    assert re.search(
        r"vn-circular-07-2008/anti_state\.hostile -> c07\.s3_1\.anti_state \[enforce\]: not fired\n"
        r"    because when_all \[0\] lexicon\(list=anti_state_hostile\) did not hold\n"
        r"      no  when_all\[0\] lexicon\(list=anti_state_hostile\): ",
        out,
    )
    assert "vn-draft-cyber-sanctions-2021/" in out  # every pack's rules are listed
    as_json = cli(settings, "explain", sub, "--json")
    assert json.loads(as_json.output)["verdict"] == "remove"
    by_decision = cli(settings, "explain", stored["drugs"]["decision"]["id"])
    assert by_decision.output == out
    assert row_counts(settings.database_url) == before


def test_explain_unknown_or_undecided(api: SignedClient, settings: Any) -> None:
    missing = cli(settings, "explain", "sub_nope")
    assert missing.exit_code == 1
    assert "no submission sub_nope" in missing.output
    pending = api.post("/v1/posts", post_payload(id="later")).get_json()["submission_id"]
    undecided = cli(settings, "explain", pending)
    assert undecided.exit_code == 1
    assert "no decision yet" in undecided.output


def candidate_pack(tmp_path: Path, rule_id: str) -> Path:
    """A copy of the shipped packs with one rule moved to another category."""
    root = tmp_path / "candidate"
    shutil.copytree(POLICIES, root)
    rules = root / "vn-circular-07-2008" / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    edited, n = re.subn(rf"(- id: {re.escape(rule_id)}\n    category: )\S+", rf"\g<1>{MOVED_TO}", text)
    assert n == 1
    rules.write_text(edited, encoding="utf-8")
    return root


def test_backtest_reports_new_and_dropped_and_writes_nothing(
    stored: dict[str, dict[str, Any]], settings: Any, tmp_path: Path
) -> None:
    (goods,) = [c for c in stored["drugs"]["decision"]["categories"] if c["id"] == GOODS]
    root = candidate_pack(tmp_path, goods["rule"])
    before = row_counts(settings.database_url)

    result = cli(settings, "backtest", "--pack", str(root), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["items"] == 3
    deltas = {d["category"]: d for d in report["categories"]}
    drugs = stored["drugs"]["submission_id"]
    assert (deltas[GOODS]["dropped"], deltas[GOODS]["examples_dropped"]) == (1, [drugs])
    assert (deltas[MOVED_TO]["new"], deltas[MOVED_TO]["examples_new"]) == (1, [drugs])
    # Unchanged rules give unchanged flags: the replay sees the stored registries (the registered work).
    assert (deltas[PRESS]["before"], deltas[PRESS]["after"], deltas[PRESS]["dropped"]) == (1, 1, 0)
    assert report["verdict_changes"] == {}
    assert (
        report["candidate_versions"]["vn-circular-07-2008"]
        != stored["drugs"]["decision"]["pack_versions"]["vn-circular-07-2008"]
    )

    text = cli(settings, "backtest", "--pack", str(root / "vn-circular-07-2008"))  # one pack: the others kept
    assert text.exit_code == 0, text.output
    assert "packs in force kept beside the candidate: vn-draft-cyber-sanctions-2021" in text.output
    assert re.search(rf"{re.escape(GOODS)} +1 +0 +0 +1 +0\n    dropped e\.g\. {drugs}", text.output)
    assert re.search(rf"{re.escape(MOVED_TO)} +0 +1 +1 +0 +0\n    new e\.g\. {drugs}", text.output)
    assert "verdict changes: none" in text.output

    later = cli(settings, "backtest", "--pack", str(root), "--since", "2999-01-01", "--json")
    assert json.loads(later.output)["items"] == 0
    assert row_counts(settings.database_url) == before


def test_backtest_rejects_a_broken_candidate(settings: Any, tmp_path: Path) -> None:
    root = tmp_path / "broken"
    shutil.copytree(POLICIES, root)
    (root / "vn-circular-07-2008" / "rules.yaml").write_text("rules: [\n", encoding="utf-8")
    result = cli(settings, "backtest", "--pack", str(root))
    assert result.exit_code == 1
    assert "vn-circular-07-2008/rules.yaml:" in result.output


EVIDENCE = [
    # (id, body as the platform sends it, a text the highlighted spans must include)
    ("dotted", "Hãy c.h.ố.n.g p.h.á n.h.à n.ư.ớ.c, lật đổ chính quyền ngay!", "c.h.ố.n.g p.h.á n.h.à n.ư.ớ.c"),
    (
        "nfd",
        unicodedata.normalize("NFD", "Bán ma túy đá giá rẻ, giao hàng tận nơi"),
        unicodedata.normalize("NFD", "ma túy đá"),
    ),
    (
        "html",
        "<p>Mọi người ơi 😀 <b>bán</b> <span>ma&nbsp;t&uacute;y</span> đá<br>giá rẻ &amp; ship cod</p>",
        "ma&nbsp;t&uacute;y",
    ),
    ("emoji", "😀👍 Bán ma túy đá giá rẻ", "ma túy đá"),  # offsets count code points, as Python and JSON do
]


def test_stored_evidence_highlights_the_original_text(api: SignedClient, settings: Any) -> None:
    """Spans stored on the decision (and printed by explain) point at the characters the platform sent."""
    for case, body, expected in EVIDENCE:  # one app for the table: building a classifier is the slow part
        response = api.post("/v1/posts?sync=1", post_payload(id=case, body=body)).get_json()
        decision = response["decision"]
        assert decision["verdict"] == "remove", case
        spans = [s for c in decision["categories"] for s in c["evidence"]]
        assert spans, case
        for span in spans:
            assert body[span["start"] : span["end"]] == span["text"], (case, span)
        assert expected in {s["text"] for s in spans}, case
        out = cli(settings, "explain", response["submission_id"]).output
        assert f"{expected!r}" in out, case


SEEDS = sorted((SHARED / "seeds").glob("*.txt"))


@pytest.mark.shared_data
@pytest.mark.skipif(not SEEDS, reason="../shared/seeds is absent")
def test_no_seed_document_is_removed_by_the_service(api: SignedClient) -> None:
    """The seed legal texts through the API, with the service's registries (tests/unit/test_seeds.py has none)."""
    for path in SEEDS:
        text = path.read_text(encoding="utf-8")
        decision = api.post("/v1/posts?sync=1", post_payload(id=path.stem, title=text[:80], body=text)).get_json()[
            "decision"
        ]
        assert decision["verdict"] != "remove", (path.name, [(c["id"], c["rule"]) for c in decision["categories"]])
