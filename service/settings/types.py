"""Setting types: each turns one raw value (flag, environment variable or locust.conf) into a
typed value, or says in one line what is wrong with it. Every numeric setting is bounded and
finite: NaN, infinity, a negative count or a port out of range never gets past parsing."""

from __future__ import annotations

import math
import os
import tempfile
from argparse import ArgumentTypeError
from pathlib import Path
from typing import Any

YEAR_S = 365 * 86_400.0


class Number:
    """An int or float within [minimum, maximum] (or above `minimum` when `above` is set)."""

    def __init__(
        self,
        kind: type[int] | type[float],
        minimum: float,
        maximum: float,
        *,
        above: bool = False,
        what: str = "",
    ) -> None:
        self.kind = kind
        self.minimum = minimum
        self.maximum = maximum
        self.above = above  # minimum itself is excluded
        self.what = what or ("a whole number" if kind is int else "a number")
        self.__name__ = self.what  # argparse names the type in its own messages

    def __call__(self, raw: Any) -> int | float:
        value = self._parse(raw)
        if not self.accepts(value):
            raise ArgumentTypeError(f"must be {self.describe()}, got {raw!r}")
        return value

    def _parse(self, raw: Any) -> int | float:
        if isinstance(raw, bool):
            raise ArgumentTypeError(f"must be {self.describe()}, got {raw!r}")
        try:
            if self.kind is int:
                value: int | float = raw if isinstance(raw, int) else int(str(raw).strip())
            else:
                value = float(raw)
        except (TypeError, ValueError):
            raise ArgumentTypeError(f"must be {self.describe()}, got {raw!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ArgumentTypeError(f"must be {self.describe()}, got {raw!r}")
        return value

    def describe(self) -> str:
        low = f"> {_plain(self.minimum)}" if self.above else f">= {_plain(self.minimum)}"
        return f"{self.what} {low} and <= {_plain(self.maximum)}"

    def accepts(self, value: float) -> bool:
        """Whether a finite value lies in range (also the table-driven tests' oracle)."""
        low_ok = value > self.minimum if self.above else value >= self.minimum
        if self.kind is int and value != int(value):
            return False
        return low_ok and value <= self.maximum


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def port() -> Number:
    return Number(int, 1, 65535, what="a TCP port")


def count(minimum: int = 0, maximum: int = 1_000_000) -> Number:
    return Number(int, minimum, maximum)


class ProcessCount(Number):
    """Locust's --processes: -1 (one per core) or 1 to 4 per core (more only thrash)."""

    def __init__(self) -> None:
        super().__init__(int, 1, 4 * (os.cpu_count() or 1), what="a number of processes")

    def accepts(self, value: float) -> bool:
        return value == -1 or super().accepts(value)

    def describe(self) -> str:
        return f"-1 (one per core) or {super().describe()}"


def seconds(*, zero_ok: bool = False, maximum: float = YEAR_S) -> Number:
    return Number(float, 0.0, maximum, above=not zero_ok, what="a number of seconds")


class Choice:
    def __init__(self, *choices: str, empty_ok: bool = True) -> None:
        self.choices = choices
        self.empty_ok = empty_ok
        self.__name__ = "choice"

    def __call__(self, raw: Any) -> str:
        value = str(raw).strip()
        if (value == "" and self.empty_ok) or value in self.choices:
            return value
        raise ArgumentTypeError(f"must be one of {', '.join(self.choices)}, got {raw!r}")


def text(raw: Any) -> str:
    return str(raw)


def writable_file(raw: Any) -> str:
    """A file the process will write later (at exit, say): checked now, by writing beside it,
    so a bad path fails at start instead of silently at the end. Empty means none."""
    value = str(raw).strip()
    if not value:
        return ""
    path = Path(value)
    if path.is_dir():
        raise ArgumentTypeError(f"must be a file path, {value!r} is a directory")
    if path.exists() and not path.is_file():
        # A device or a pipe: /dev/full takes the open and fails every write, at the end.
        raise ArgumentTypeError(f"must be a regular file, {value!r} is not")
    if path.absolute().parts[1:2] == ("dev",):
        raise ArgumentTypeError(f"must not be under /dev (device files), got {value!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".write-check-"):
            pass
        if path.exists() and not os.access(path, os.W_OK):
            raise PermissionError("permission denied")
    except OSError as error:
        reason = error.strerror or str(error)
        raise ArgumentTypeError(f"cannot write {value!r}: {reason}") from None
    return value
