"""Request validation: the quick check (jsonschema_rs) agrees with jsonschema, which words every error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.errors import ApiError
from moderation.services import intake

KINDS = ["post", "comment", "blog"]
FIELDS = sorted(
    {*intake._SCHEMAS["comment"]["properties"], *intake._SCHEMAS["blog"]["properties"], "extra", "published_at"}
)

# Strings around the schema's length limits (counted in code points, astral characters included), enum values,
# integers around the revision bounds, and the JSON types a platform might send by mistake.
_strings = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "a", "vi", "en", "auto", "html", "text", "original", "share", "active", "closed"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "😀"]), st.sampled_from([199, 200, 201, 500, 501, 2001])),
)
_scalars = st.one_of(
    _strings,
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([999_999, 1_000_000, 1_000_001, 2**63, -(2**63)]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from([1.0, 2.0, 1.5]),
    st.booleans(),
    st.none(),
)
_values = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=3),
    st.dictionaries(st.text(max_size=3), _scalars, max_size=2),
)


@st.composite
def payloads(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """Mostly-valid bodies with a few fields changed or missing, so both outcomes are common."""
    base: dict[str, Any] = (
        {"id": "b-1", "owner_id": "u-1"}
        if kind == "blog"
        else {"id": "p-1", "blog_id": "b-1", "author_id": "u-1", "body": "x", "post_id": "p-0"}
    )
    for name in draw(st.lists(st.sampled_from(sorted(base)), max_size=2)):
        base.pop(name, None)
    base.update(draw(st.dictionaries(st.sampled_from(FIELDS), _values, max_size=4)))
    return base


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_quick_check_agrees_with_jsonschema(kind: str, data: st.DataObject) -> None:
    payload = data.draw(payloads(kind))
    assert intake._is_valid(kind, payload) == (not list(intake._VALIDATORS[kind].iter_errors(payload)))


CASES = [
    # (kind, payload, status, code, field)
    ("post", {"id": "p", "blog_id": "b", "author_id": "a", "body": "x"}, None, None, None),
    ("post", {"id": "p", "blog_id": "b", "author_id": "a"}, 422, "missing_field", "body"),
    ("post", {"id": 1, "blog_id": "b", "author_id": "a", "body": "x"}, 400, "invalid_type", "id"),
    ("post", {"id": "", "blog_id": "b", "author_id": "a", "body": "x"}, 422, "invalid_value", "id"),
    (
        "post",
        {"id": "p", "blog_id": "b", "author_id": "a", "body": "x", "revision": 0},
        422,
        "invalid_value",
        "revision",
    ),
    (
        "post",
        {"id": "p", "blog_id": "b", "author_id": "a", "body": "x", "revision": True},
        400,
        "invalid_type",
        "revision",
    ),
    ("post", {"id": "😀" * 201, "blog_id": "b", "author_id": "a", "body": "x"}, 422, "invalid_value", "id"),
    (
        "post",
        {"id": "p", "blog_id": "b", "author_id": "a", "body": "x", "published_at": "x"},
        422,
        "invalid_value",
        "published_at",
    ),
    ("comment", {"id": "c", "blog_id": "b", "author_id": "a", "body": "x"}, 422, "missing_field", "post_id"),
    ("blog", {"id": "b", "owner_id": "u", "status": "gone"}, 422, "invalid_value", "status"),
]


@pytest.mark.parametrize(("kind", "payload", "status", "code", "field"), CASES)
def test_errors_keep_their_codes(
    kind: str, payload: dict[Any, Any], status: int | None, code: str | None, field: str | None
) -> None:
    if status is None:
        assert intake.validate(kind, dict(payload))["id"] == payload["id"]
        return
    with pytest.raises(ApiError) as caught:
        intake.validate(kind, dict(payload))
    assert (caught.value.status, caught.value.code, caught.value.field) == (status, code, field)


def test_what_the_quick_check_cannot_take_goes_to_the_full_check() -> None:
    assert intake._is_valid("blog", {"id": "b", "owner_id": "u", (1, 2): "x"}) is False  # not a JSON object key
