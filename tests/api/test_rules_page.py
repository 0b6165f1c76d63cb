"""The public rules page lists every category of the packs in force, with its citation, in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from moderation.policy import load_packs
from moderation.web.rules import citation_text


@pytest.mark.parametrize(("lang", "heading"), [("", "Quy định về cung cấp"), ("?lang=en", "Rules for providing")])
def test_rules_page_lists_every_category(app: Any, settings: Any, lang: str, heading: str) -> None:
    response = app.test_client().get(f"/rules{lang}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert heading in html
    for pack in load_packs(settings.policies_dir):
        assert pack.version in html
        for category in pack.categories.values():
            assert category.id in html


@pytest.mark.parametrize(
    ("citation", "text"),
    [
        (
            {"instrument": "Thông tư 07/2008/TT-BTTTT", "article": "3", "clause": "1"},
            "khoản 1 Điều 3 Thông tư 07/2008/TT-BTTTT",
        ),
        (
            {"instrument": "Nghị định 97/2008/NĐ-CP", "article": "6", "clause": "1", "point": "d"},
            "điểm d khoản 1 Điều 6 Nghị định 97/2008/NĐ-CP",
        ),
        ({"instrument": "Bộ luật Dân sự 2005", "article": "31", "clause": None}, "Điều 31 Bộ luật Dân sự 2005"),
    ],
)
def test_citation_text(citation: dict[str, Any], text: str) -> None:
    assert citation_text(citation) == text
