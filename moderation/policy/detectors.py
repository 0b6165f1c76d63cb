"""Adapters from the detector modules to lists of Signals: the detectors the classifier runs besides its own
lexicons and patterns. Nothing here invents a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from moderation.detect import identity, links, offensive, personal, works
from moderation.domain import Item, Signal, Span
from moderation.policy.matching import FieldText, field_texts
from moderation.text.normalise import normalise


@dataclass(frozen=True, slots=True)
class Adapter:
    """A detector the engine runs: its name and a function (item, registries) -> signals."""

    name: str
    run: Callable[[Item, Any], Sequence[Signal]]


def _needs_registries(fn: Callable[[Item, Any], Sequence[Signal]]) -> Callable[[Item, Any], Sequence[Signal]]:
    """Call ``fn(item, registries)``; with no registries there is nothing to look up, so no signals."""

    def run(item: Item, registries: Any) -> Sequence[Signal]:
        return [] if registries is None else list(fn(item, registries))

    return run


def _personal(item: Item, registries: Any) -> Sequence[Signal]:
    return list(personal.detect_personal_data(item, registries))


# Fields that hold writing (a URL is not insulted). Blog registrations: name, display name, description.
_NOT_WRITING = frozenset({"url"})


def _language(item: Item, registries: Any) -> Sequence[Signal]:
    """Offensive language (score, spans), who it is aimed at (targets) and accusations, field by field.

    One normalisation per field serves both detectors (and the lexicon stage: :func:`normalise` keeps the last
    results). Offsets are computed on the field's scanned text (HTML bodies are blanked to text of the same
    length) and mapped back to the field as the platform sent it.
    """
    del registries
    out: list[Signal] = []
    for ft in field_texts(item):
        text = ft.text
        if ft.field in _NOT_WRITING or not text or text.isspace():  # not text.strip(), without the copy
            continue
        # offensive_signals(field, text, res) + targets.field_signals(field, text, n, res.spans), res the model's
        found = offensive.language_signals(ft.field, text, normalise(text))
        # A plain field is scanned as sent: its spans are already the field's.
        if ft.to_orig is None and (text is ft.original or text == ft.original):
            out += found
        else:
            out.extend([_remap(ft, s) for s in found])
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
        Adapter("impersonation", _needs_registries(identity.detect_impersonation)),
        Adapter("links", _needs_registries(links.detect_links)),
        Adapter("works", _needs_registries(works.detect_work_matches)),
        Adapter("personal_data", _personal),
        Adapter("language", _language),
    ]
