"""Every alert's `runbook_url`, from one place: the documentation site's address (`site_url`
in mkdocs.yml) plus `alerts/#<alert name, lower case>`, the alert's section on the alerts
page. `python prometheus/runbooks.py` (or `make runbooks`) writes the annotation into the rule
files and the promtool tests' expectations; `--check` only says whether they agree."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
TEST_FILES = sorted((ROOT / "tests" / "system" / "prometheus").glob("*_test.yml"))
ALERTS_PAGE = "alerts/"

# The alert a line belongs to: `- alert: X` in a rule file, `alertname: X` in a promtool test.
_ALERT = re.compile(r"^\s*(?:- alert|(?:- )?alertname):\s*(\w+)\s*$")
_RUNBOOK = re.compile(r"^(\s*)runbook_url:.*$")


def site_url() -> str:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    url = config["site_url"]
    return url if url.endswith("/") else url + "/"


def anchor(alert: str) -> str:
    """The alert's heading id on the alerts page (mkdocs' toc slug of a one-word heading)."""
    return alert.lower()


def runbook_url(alert: str, base: str | None = None) -> str:
    return f"{base or site_url()}{ALERTS_PAGE}#{anchor(alert)}"


def rewrite(text: str, base: str) -> str:
    """`text` with every runbook_url line set for the alert it belongs to."""
    lines = text.split("\n")
    alert = None
    for i, line in enumerate(lines):
        if match := _ALERT.match(line):
            alert = match.group(1)
        elif (match := _RUNBOOK.match(line)) and alert:
            lines[i] = f"{match.group(1)}runbook_url: {runbook_url(alert, base)}"
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    base = site_url()
    stale = []
    for path in RULE_FILES + TEST_FILES:
        text = path.read_text()
        new = rewrite(text, base)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if not check:
                path.write_text(new)
    if check and stale:
        print(f"runbook_url differs from mkdocs.yml's site_url in: {', '.join(map(str, stale))}")
        print("run: make runbooks")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
