"""The load scenarios: named locustfiles, and the user classes a locustfile defines."""

from __future__ import annotations

import ast
from pathlib import Path

LOCUSTFILES = Path(__file__).resolve().parents[2] / "locustfiles"
SCENARIOS = {
    "default": LOCUSTFILES / "locustfile.py",
    "stress": LOCUSTFILES / "stress_test.py",
    "realistic": LOCUSTFILES / "realistic_scenarios.py",
}


class ScenarioError(ValueError):
    """A scenario or user class that does not exist."""


def resolve_scenario(name_or_path: str) -> Path:
    """A scenario name (default, stress, realistic) or a path to a locustfile."""
    if name_or_path in SCENARIOS:
        return SCENARIOS[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".py" and path.is_file():
        return path.resolve()
    raise ScenarioError(
        f"unknown scenario {name_or_path!r}: "
        f"use {', '.join(SCENARIOS)} or a path to a .py locustfile"
    )


def user_classes(locustfile: Path) -> set[str]:
    """Names of classes that look like Locust users, read without importing the file."""
    try:
        tree = ast.parse(locustfile.read_text(encoding="utf-8"), filename=str(locustfile))
    except UnicodeDecodeError:
        raise ScenarioError(f"{locustfile.name} is not UTF-8 text: not a locustfile") from None
    except OSError as error:
        raise ScenarioError(f"cannot read {locustfile.name}: {error.strerror or error}") from None
    except SyntaxError as error:
        raise ScenarioError(
            f"{locustfile.name} line {error.lineno}: {error.msg}; Locust could not import it"
        ) from None
    names = set()
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {
            base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
            for base in node.bases
        }
        if any(base.endswith("User") for base in bases):
            names.add(node.name)
    return names


def check_user_classes(locustfile: Path, requested: list[str]) -> None:
    known = user_classes(locustfile)
    unknown = [name for name in requested if name not in known]
    if unknown:
        raise ScenarioError(
            f"unknown user class {', '.join(unknown)} in {locustfile.name}; "
            f"it defines {', '.join(sorted(known)) or 'none'}"
        )
