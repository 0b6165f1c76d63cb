"""HTML to text: every character and link maps back into the HTML."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.text.extract import extract_html, normalise_html

HTML = (
    '<div><p>Thằng <b>Nguyễn&nbsp;Văn A</b> l&#7915;a đảo &amp; ăn cắp</p><script>var x="<p>ngu</p>";</script>'
    '<a href="http://x.vn/a?b=1&amp;c=2">link</a><img src=lừa.png><br/>tiếp</div>'
)


@pytest.mark.parametrize(
    ("word", "original"),
    [
        pytest.param("lừa", "l&#7915;a", id="charref"),
        pytest.param("&", "&amp;", id="entity"),
        pytest.param("Nguyễn", "Nguyễn", id="inside-inline-tag"),
        pytest.param("link", "link", id="anchor-text"),
    ],
)
def test_text_maps_back(word: str, original: str) -> None:
    ex = extract_html(HTML)
    m = re.search(re.escape(word), ex.text)
    assert m is not None
    lo, hi = ex.to_original(*m.span())
    assert HTML[lo:hi] == original


def test_script_dropped_and_links_kept() -> None:
    ex = extract_html(HTML)
    assert "var x" not in ex.text
    assert [(lk.url, HTML[lk.start : lk.end]) for lk in ex.links] == [
        ("http://x.vn/a?b=1&c=2", "http://x.vn/a?b=1&amp;c=2"),
        ("lừa.png", "lừa.png"),
    ]


def test_normalise_html_composes_maps() -> None:
    _, n = normalise_html(HTML)
    m = re.search("lừa đảo", n.text)
    assert m is not None
    assert n.original_text(*m.span()) == "l&#7915;a đảo"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*"<>/=\"'&;#abp x\n", "<p>", "</p>", "&amp;", "<a href=", "<br>"])).map("".join))
def test_malformed_html_never_escapes_the_original(source: str) -> None:
    ex = extract_html(source)
    assert len(ex.text) == len(ex.starts) == len(ex.ends)
    if len(ex.text):
        assert int(ex.starts.min()) >= 0
        assert int(ex.ends.max()) <= len(source)
    for lk in ex.links:
        assert 0 <= lk.start <= lk.end <= len(source)
