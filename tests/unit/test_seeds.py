"""The default packs automatically remove none of the seed legal texts (they name prohibited acts to forbid them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.domain import Item, ItemKind, PostKind
from moderation.policy import Classifier, load_packs

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO.parent / "shared" / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(REPO / "policies"))


@pytest.mark.skipif(not SEED_FILES, reason="../shared/seeds is absent")
@pytest.mark.parametrize("post_kind", [PostKind.ORIGINAL, PostKind.SHARE])  # re-posting a law is not spreading it
@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name[:3])
def test_seed_not_removed(clf: Classifier, path: Path, post_kind: PostKind) -> None:
    text = path.read_text(encoding="utf-8")
    ev = clf.classify(Item(kind=ItemKind.POST, fields={"title": text[:80], "body": text}, post_kind=post_kind))
    removed = [(c.id, c.rule_id, c.context) for c in ev.categories if c.action.value == "remove"]
    assert ev.verdict.value != "remove", removed


@pytest.mark.skipif(not SEED_FILES, reason="../shared/seeds is absent")
def test_five_seeds_present() -> None:
    assert len(SEED_FILES) == 5
