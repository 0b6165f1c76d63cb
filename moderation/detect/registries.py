"""The immutable bundle of registries the policy engine receives: blocklist feeds, protected entities, works and the
URLs this service itself ordered removed (known unlawful).

Build it once (from plain iterables, from the database with ``moderation.store.registries.load_registries``, or
empty for tests) and share it read-only between threads; a new import builds a new bundle.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from moderation.detect.feeds import BlocklistIndex, ParsedFeed
from moderation.detect.identity import EntityIndex, ProtectedEntity
from moderation.detect.urls import normalise_url
from moderation.detect.works import Work, WorksIndex, WorkSketch

SHIPPED_ENTITIES_DIR = Path(__file__).resolve().parents[2] / "policies" / "registries"


@dataclass(frozen=True)
class Registries:
    """Everything the link, impersonation, personal-data and work detectors look things up in."""

    blocklist: BlocklistIndex = field(default_factory=BlocklistIndex)
    entities: EntityIndex = field(default_factory=EntityIndex)
    works: WorksIndex = field(default_factory=WorksIndex)
    # URLs named in this service's removal decisions, as NormalisedURL.key (no scheme)
    known_unlawful: frozenset[str] = frozenset()

    @classmethod
    def empty(cls) -> Registries:
        """Return registries with nothing in them."""
        return cls()

    @classmethod
    def build(
        cls,
        *,
        feeds: Iterable[ParsedFeed] = (),
        entities: Iterable[ProtectedEntity] = (),
        works: Iterable[Work | WorkSketch] = (),
        known_unlawful_urls: Iterable[str] = (),
        include_shipped_entities: bool = False,
    ) -> Registries:
        """Build registries from plain iterables (``include_shipped_entities`` adds ``policies/registries``)."""
        ents = list(entities)
        if include_shipped_entities:
            ents = [*load_shipped_entities(), *ents]
        return cls(
            blocklist=BlocklistIndex.build(feeds),
            entities=EntityIndex.build(ents),
            works=WorksIndex.build(works),
            known_unlawful=normalise_url_set(known_unlawful_urls),
        )

    def summary(self) -> dict[str, Any]:
        """Return counts and feed provenance, for logs and the decision record."""
        return {
            "feeds": [f.to_json() for f in self.blocklist.feeds],
            "blocklist_entries": len(self.blocklist),
            "entities": len(self.entities),
            "works": len(self.works),
            "known_unlawful": len(self.known_unlawful),
        }


def normalise_url_set(urls: Iterable[str]) -> frozenset[str]:
    """Normalise URLs for the known-unlawful set, as scheme-less keys (unparseable ones are dropped)."""
    out = set()
    for url in urls:
        norm = normalise_url(url)
        if norm is not None:
            out.add(norm.key)
    return frozenset(out)


def load_entities_yaml(path: str | Path) -> list[ProtectedEntity]:
    """Read protected entities from a YAML file: ``{entities: [{id, name, kind, handles, domains, aliases}]}``."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    source = str(data.get("source", "")) if isinstance(data, dict) else ""
    rows = data.get("entities", []) if isinstance(data, dict) else data
    out = []
    for row in rows or []:
        entity = ProtectedEntity.from_mapping(row)
        out.append(entity if entity.source else ProtectedEntity.from_mapping({**row, "source": source}))
    return out


@functools.cache
def _shipped(directory: str) -> tuple[ProtectedEntity, ...]:
    base = Path(directory)
    if not base.is_dir():
        return ()
    out: list[ProtectedEntity] = []
    for path in sorted(base.glob("*.yaml")):
        out.extend(load_entities_yaml(path))
    return tuple(out)


def load_shipped_entities(directory: str | Path = SHIPPED_ENTITIES_DIR) -> tuple[ProtectedEntity, ...]:
    """Return the protected entities shipped in ``policies/registries/*.yaml`` (agencies, banks, platforms)."""
    return _shipped(str(directory))
