"""A post's ``author_name`` is checked for impersonation of protected entities (Circular 07/2008 §3.2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_registries_api import categories, sync_post
from tests.conftest import SignedClient

BENIGN = "Thông báo: lịch tiếp công dân tuần này thay đổi, bà con lưu ý giúp nhé."

CASES = [
    # (author_name, impersonation expected)
    ("Bộ Công an", True),
    ("B0 C0NG AN", True),
    ("Bo Cong An Viet Nam", True),
    ("Nguyễn Văn An", False),
    (None, False),
]


@pytest.mark.parametrize(("author_name", "flagged"), CASES)
def test_author_name_is_checked_for_impersonation(api: SignedClient, author_name: str | None, flagged: bool) -> None:
    extra: dict[str, Any] = {} if author_name is None else {"author_name": author_name}
    decision = sync_post(api, f"p-{abs(hash(author_name))}", BENIGN, **extra)
    found = any(c.startswith("c07.s3_2") for c in categories(decision))
    assert found is flagged, decision["categories"]
    if flagged:
        spans = [e for c in decision["categories"] for e in c["evidence"] if e.get("field") == "author_name"]
        assert spans, decision["categories"]
        assert all(author_name[e["start"] : e["end"]] == e["text"] for e in spans)  # type: ignore[index]


def test_author_name_over_limit_is_422(api: SignedClient) -> None:
    from tests.conftest import post_payload

    response = api.post("/v1/posts", post_payload(author_name="x" * 501))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "author_name"
