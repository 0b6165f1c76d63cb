"""An insult sent through the signed webhook: the decision cites §3.1 and its evidence highlights the insulting
words in the body exactly as the platform sent it (HTML included), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SignedClient, post_payload

HTML = "<p>Gửi <b>Nguyễn Văn Tèo</b>: mày là thằng chó mất dạy &amp; đồ súc vật</p>"


@pytest.mark.parametrize(
    ("body", "kind", "verdict", "bracket"),
    [
        (HTML, "original", "remove", (10_000_000, 20_000_000)),  # making an insult
        (HTML, "share", "remove", (20_000_000, 30_000_000)),  # spreading it
        ("Nguyen Van Teo la thang cho mat day", "original", "review", (10_000_000, 20_000_000)),  # no marks
    ],
)
def test_insult_decision_highlights_the_insult(
    api: SignedClient, body: str, kind: str, verdict: str, bracket: tuple[int, int]
) -> None:
    response = api.post("/v1/posts?sync=1", post_payload(id=f"insult-{kind}-{verdict}", body=body, kind=kind))
    assert response.status_code == 202, response.get_json()
    decision: dict[str, Any] = response.get_json()["decision"]
    assert decision["verdict"] == verdict
    slander = next(c for c in decision["categories"] if c["id"] == "c07.s3_1.slander")
    assert slander["citation"]["via"] == {
        "instrument": "Nghị định 97/2008/NĐ-CP",
        "article": "6",
        "clause": "1",
        "point": "c",
        "verification": "S",
    }
    spans = slander["evidence"]
    assert spans
    assert all(s["field"] == "body" and body[s["start"] : s["end"]] == s["text"] for s in spans)
    highlighted = " ".join(s["text"] for s in spans)
    assert "thằng chó" in highlighted or "thang cho" in highlighted
    assert "Nguyễn Văn Tèo" in highlighted or "Nguyen Van Teo" in highlighted
    insult = next(c for c in decision["categories"] if c["id"] == "d21.a8.insult")
    assert insult["action"] == "label"
    assert (insult["bracket"]["min_vnd"], insult["bracket"]["max_vnd"]) == bracket

    statement = api.get(f"/v1/decisions/{decision['id']}/statement")
    assert statement.status_code == 200, statement.get_json()
    assert "thằng chó" in str(statement.get_json()) or "thang cho" in str(statement.get_json())
