"""Adapters from the detector modules (written by other engineers) to lists of Signals.

Each adapter imports its module on first use; when the module (or the registry it needs) is not there yet, the
adapter returns no signals, so rules over that detector simply do not fire. Nothing here invents a verdict.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from moderation.domain import Item, Signal, Span
from moderation.policy.matching import FieldText, field_texts

log = logging.getLogger(__name__)


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if exc.name and name.startswith(exc.name):
            return None  # the module itself is not written yet
        raise


@dataclass(frozen=True, slots=True)
class Adapter:
    """A detector the engine runs: its name and a function (item, registries) -> signals."""

    name: str
    run: Callable[[Item, Any], Sequence[Signal]]


def _needs_registries(module: str, fn_name: str) -> Callable[[Item, Any], Sequence[Signal]]:
    """Call ``module.fn_name(item, registries)``; with no registries there is nothing to look up, so no signals."""

    def run(item: Item, registries: Any) -> Sequence[Signal]:
        mod = _module(module)
        fn = getattr(mod, fn_name, None) if mod else None
        if fn is None or registries is None:
            return []
        return list(fn(item, registries))

    return run


def _personal(item: Item, registries: Any) -> Sequence[Signal]:
    mod = _module("moderation.detect.personal")
    fn = getattr(mod, "detect_personal_data", None) if mod else None
    return [] if fn is None else list(fn(item, registries))


# Fields that hold writing (a URL is not insulted). Blog registrations: name, display name, description.
_NOT_WRITING = frozenset({"url"})


def _language(item: Item, registries: Any) -> Sequence[Signal]:
    """Offensive language (score, spans), who it is aimed at (targets) and accusations, field by field.

    One normalisation per field serves both detectors. Offsets are computed on the field's scanned text (HTML
    bodies are blanked to text of the same length) and mapped back to the field as the platform sent it.
    """
    off = _module("moderation.detect.offensive")
    tg = _module("moderation.detect.targets")
    norm = _module("moderation.text.normalise")
    if norm is None or (off is None and tg is None):
        return []
    out: list[Signal] = []
    for ft in field_texts(item):
        if ft.field in _NOT_WRITING or not ft.text.strip():
            continue
        n = norm.normalise(ft.text)
        spans: tuple[tuple[int, int], ...] = ()
        if off is not None:
            res = off.default_model().predict(n)
            spans = res.spans
            out.extend(_remap(ft, s) for s in off.offensive_signals(ft.field, ft.text, res))
        if tg is not None:
            hits = tg.find_targets(n)
            aimed = tg.aimed(hits, spans, ft.text) if spans else set()
            out.extend(_remap(ft, s) for s in tg.target_signals(ft.field, ft.text, hits, aimed))
            out.extend(_remap(ft, s) for s in tg.accusation_signals(ft.field, ft.text, tg.find_accusations(n, hits)))
    return out


def _remap(ft: FieldText, sig: Signal) -> Signal:
    """Rebuild a signal's spans against the field as sent (the detectors saw ``ft.text``)."""
    spans: tuple[Span, ...] = tuple(ft.span(s.start, s.end) for s in sig.spans)
    if spans == sig.spans:
        return sig
    return Signal(sig.kind, sig.key, sig.score, spans, sig.attrs, sig.detector)


def default_adapters() -> list[Adapter]:
    """Return the detectors the classifier runs besides its own lexicons and patterns."""
    return [
        Adapter("impersonation", _needs_registries("moderation.detect.identity", "detect_impersonation")),
        Adapter("links", _needs_registries("moderation.detect.links", "detect_links")),
        Adapter("works", _needs_registries("moderation.detect.works", "detect_work_matches")),
        Adapter("personal_data", _personal),
        Adapter("language", _language),
    ]


def available() -> dict[str, bool]:
    """Report which detector modules are importable (for ``moderation policies detectors``)."""
    names = ["lexicon", "patterns", "offensive", "targets", "links", "identity", "personal", "works", "registries"]
    out = {f"moderation.detect.{n}": _module(f"moderation.detect.{n}") is not None for n in names}
    out["moderation.text.extract"] = _module("moderation.text.extract") is not None
    out["moderation.text.normalise"] = _module("moderation.text.normalise") is not None
    return out
