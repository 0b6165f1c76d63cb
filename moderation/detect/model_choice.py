"""Which offensive-language model a process loads: ``MODERATION_OFFENSIVE_MODEL`` (standard library only, so that
configuration can check the setting without loading the model).

* ``default`` (or unset): the shipped model, trained on ViHOS (``data/offensive``).
* ``formal``: the shipped model trained on ViHOS plus clean text of other registers (``data/offensive-formal``),
  for platforms whose users write formally: it flags far fewer ordinary formal sentences (see the model card).
* a directory holding ``model.json`` and ``model.npz`` written by ``moderation train offensive``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

__all__ = ["BUILTIN", "ENV", "resolve"]

ENV = "MODERATION_OFFENSIVE_MODEL"
_DATA = Path(str(resources.files("moderation.detect").joinpath("data")))
BUILTIN = {"default": _DATA / "offensive", "formal": _DATA / "offensive-formal"}


def resolve(value: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The model directory that ``value`` (default: the environment's ``MODERATION_OFFENSIVE_MODEL``) names.

    Raises ``ValueError`` with the reason when it names neither a built-in model nor a directory with a model."""
    if value is None:
        value = (os.environ if env is None else env).get(ENV, "")
    value = value.strip()
    if value in {"", "default"}:
        return BUILTIN["default"]
    if value in BUILTIN:
        return BUILTIN[value]
    path = Path(value).expanduser()
    missing = [name for name in ("model.json", "model.npz") if not (path / name).is_file()]
    if missing:
        raise ValueError(
            f"{ENV}={value!r}: expected 'default', 'formal' or a directory with model.json and model.npz "
            f"(missing: {', '.join(missing)})"
        )
    return path
