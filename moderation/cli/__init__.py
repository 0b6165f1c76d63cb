"""The ``moderation`` command.

Sub-commands live in modules of this package and are imported only when used, so ``moderation --help`` stays fast
and a worker that only needs ``moderation worker`` does not import the report renderers.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

# command name -> "module:attribute" inside moderation.cli
COMMANDS: dict[str, str] = {
    "db": "db:db",
    "platforms": "platforms:platforms",
    "serve": "service:serve",
    "worker": "service:worker",
    "beat": "service:beat",
    "run": "service:run",
    "scan": "scan:scan",
    "policies": "policies:policies",
    "explain": "policies:explain",
    "backtest": "policies:backtest",
    "train": "train:train",
    "evaluate": "train:evaluate",
    "feeds": "registries:feeds",
    "entities": "registries:entities",
    "works": "registries:works",
    "report": "report:report",
    "audit": "audit:audit",
    "users": "users:users",
    "status": "status:status",
}

# Commands that keep OpenBLAS's thread pool (liblinear's solver calls BLAS; the model card records its kernels).
# Every other command classifies one item at a time per process and scales by processes (`--jobs`, worker
# concurrency), and no BLAS call of classification is large enough to be shared out. The pool's threads spin
# for about 2^28 cycles each time they go idle, from numpy's import on: about 0.1 s of another core's CPU at
# every start-up (a one-line `moderation scan`: 0.67-0.83 s of CPU against 0.53-0.63 s with one thread).
BLAS_THREADED = frozenset({"train"})


def one_blas_thread() -> None:
    """Have OpenBLAS load with one thread (``OPENBLAS_NUM_THREADS``, unless the operator set it): read when numpy
    loads it, so this must run before numpy's import. A process that has numpy already (a test runner invoking
    commands or benchmarks in-process) is left as it is, and so are the processes it starts."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        if cmd_name not in BLAS_THREADED:
            one_blas_thread()  # before the command imports numpy
        try:
            module = importlib.import_module(f"moderation.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"moderation.cli.{module_name}":
                return None
            raise
        command: click.Command = getattr(module, attr)
        return command

    @staticmethod
    def _available(name: str) -> bool:
        module_name = COMMANDS[name].split(":")[0]
        return importlib.util.find_spec(f"moderation.cli.{module_name}") is not None


@click.group(cls=LazyGroup)
@click.version_option(package_name="vn-moderation")
def main(**_: Any) -> None:
    """Moderate Vietnamese blog content under Circular 07/2008/TT-BTTTT."""
