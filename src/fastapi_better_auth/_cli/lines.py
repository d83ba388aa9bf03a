"""The ``check`` command's output: one ``ok``, ``FAIL`` or ``skip`` line per check."""

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Checks"]


@dataclass
class Checks:
    """The lines printed so far and whether any failed."""

    write: Callable[[str], None] = print
    failed: bool = False

    def line(self, status: str, name: str, detail: str) -> None:
        """Print ``status name: detail``; ``FAIL`` makes the command exit 1."""
        self.failed = self.failed or status == "FAIL"
        self.write(f"{status:<4} {name}: {detail}")
