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

from moderation.domain import Item, Signal

log = logging.getLogger(__name__)


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if exc.name and name.startswith(exc.name):
            return None  # the module itself is not written yet
        raise


def _attr(obj: Any, *names: str) -> Any:
    for n in names:
        v = getattr(obj, n, None)
        if v is not None:
            return v
    return None


@dataclass(frozen=True, slots=True)
class Adapter:
    """A detector the engine runs: its name and a function (item, registries) -> signals."""

    name: str
    run: Callable[[Item, Any], Sequence[Signal]]


def _impersonation(item: Item, registries: Any) -> Sequence[Signal]:
    mod = _module("moderation.detect.identity")
    index = _attr(registries, "entities", "entity_index") if registries is not None else None
    fn = getattr(mod, "detect_impersonation", None) if mod else None
    if fn is None or index is None:
        return []
    return list(fn(item, index))


def _generic(module: str, *names: str) -> Callable[[Item, Any], Sequence[Signal]]:
    """Call the first of ``names`` the module defines, as ``fn(item, registries)`` or ``fn(item)``."""

    def run(item: Item, registries: Any) -> Sequence[Signal]:
        mod = _module(module)
        if mod is None:
            return []
        for n in names:
            fn = getattr(mod, n, None)
            if callable(fn):
                try:
                    return list(fn(item, registries))
                except TypeError:
                    return list(fn(item))
        return []

    return run


def default_adapters() -> list[Adapter]:
    """Return the detectors the classifier runs besides its own lexicons and patterns."""
    return [
        Adapter("impersonation", _impersonation),
    ]


def available() -> dict[str, bool]:
    """Report which detector modules are importable (for ``moderation policies detectors``)."""
    names = ["lexicon", "patterns", "offensive", "targets", "links", "identity", "personal", "works", "registries"]
    out = {f"moderation.detect.{n}": _module(f"moderation.detect.{n}") is not None for n in names}
    out["moderation.text.extract"] = _module("moderation.text.extract") is not None
    out["moderation.text.normalise"] = _module("moderation.text.normalise") is not None
    return out
