"""The documentation site: it builds with --strict (every link and anchor resolves), every
alert's runbook_url leads to a section of the built alerts page, a browser shows the runbooks,
and the README stays a short front page whose links exist."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from tests.support.browser import rendered_dom, screenshot
from tests.support.processes import ROOT
from tests.system.test_alerting import alert_rules

_spec = importlib.util.spec_from_file_location("runbooks", ROOT / "prometheus/runbooks.py")
runbooks = sys.modules["runbooks"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runbooks)

RUNBOOK_PARTS = ("Meaning.", "Confirm.", "Act.", "False alarm when")


def build_site(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    done = build_site(ROOT / "mkdocs.yml", site)
    assert done.returncode == 0, done.stderr[-3000:]
    return site


class Sections(HTMLParser):
    """Every element id of a page, and the text under each h2/h3 heading until the next."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.sections: dict[str, str] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs).get("id")
        if found:
            self.ids.add(found)
            if tag in ("h2", "h3"):
                self._current = found
                self.sections[found] = ""

    def handle_data(self, data: str) -> None:
        if self._current:
            self.sections[self._current] += data


def test_the_site_builds_strict_with_every_page_in_its_navigation(site):
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)

    def pages(nav) -> list[str]:
        items = nav if isinstance(nav, list) else list(nav.values())
        found = []
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            found += pages(value) if isinstance(value, list) else [value]
        return found

    listed = set(pages(config["nav"]))
    assert listed == {p.name for p in (ROOT / "docs").glob("*.md")}
    for page in listed:
        built = site / ("index.html" if page == "index.md" else f"{page[:-3]}/index.html")
        assert built.is_file(), page


def test_a_broken_anchor_fails_the_strict_build(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the runbook](alerts.md#nosuchalert).\n")
    (docs / "alerts.md").write_text("# Alerts\n\n## LoadgenNoRequests\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        (ROOT / "mkdocs.yml").read_text().split("\nnav:")[0].replace("docs_dir: docs", "")
    )
    done = build_site(config, tmp_path / "site")
    assert done.returncode != 0
    assert "nosuchalert" in done.stderr


def test_every_alert_links_to_its_own_runbook_section_of_the_built_site(site):
    page = Sections()
    page.feed((site / "alerts" / "index.html").read_text())
    base = runbooks.site_url()
    for alert in alert_rules():
        name = alert["alert"]
        url = alert["annotations"]["runbook_url"]
        assert url == f"{base}alerts/#{name.lower()}", name
        anchor = url.split("#")[1]
        assert anchor in page.ids, f"{name}: the alerts page has no #{anchor}"
        text = page.sections[anchor]
        for part in RUNBOOK_PARTS:
            assert part in text, f"{name}: its runbook has no '{part}'"


def test_the_runbook_urls_follow_the_sites_address_in_one_place(tmp_path):
    done = subprocess.run(
        [sys.executable, "prometheus/runbooks.py", "--check"], cwd=ROOT, capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    rules = (ROOT / "prometheus/rules/loadgen_alerts.yml").read_text()
    moved = runbooks.rewrite(rules, "https://runbooks.internal.example/loadgen/")
    assert moved != rules
    urls = re.findall(r"runbook_url: (\S+)", moved)
    assert urls and all(
        u.startswith("https://runbooks.internal.example/loadgen/alerts/#") for u in urls
    )


def test_the_kubernetes_rules_carry_the_same_runbook_urls():
    generated = ROOT / "deploy/kubernetes/base/generated"
    urls = {
        rule["alert"]: rule["annotations"]["runbook_url"]
        for path in generated.glob("rules/*.yaml")
        for group in yaml.safe_load(path.read_text())["spec"]["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert urls == {a["alert"]: a["annotations"]["runbook_url"] for a in alert_rules()}


def test_a_browser_shows_each_alerts_runbook_with_its_parts(site, tmp_path):
    page = site / "alerts" / "index.html"
    dom = rendered_dom(page, tmp_path / "profile")
    shown = Sections()
    shown.feed(dom)
    for alert in alert_rules():
        anchor = alert["alert"].lower()
        assert anchor in shown.sections, alert["alert"]
        assert alert["alert"] in shown.sections[anchor]  # the heading's own text
    # The navigation lists every page, and the page is drawn (ink on it).
    for title in ("Getting started", "Alerts and runbooks", "Operations", "Kubernetes"):
        assert title in dom
    pixels = screenshot(page, tmp_path / "shot", height=1200)
    assert pixels[..., :3].std() > 0.05


def test_the_readme_is_a_short_front_page_whose_links_exist():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    assert "make run" in readme and "make test" in readme
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if "://" not in link]
    assert local, "the README links into the docs"
    for link in local:
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"


def test_a_browser_shows_the_path_from_an_alert_to_a_trace(site, tmp_path):
    """The page a paged engineer follows: each link of the chain, and what it needs set."""
    page = site / "tracing" / "index.html"
    dom = rendered_dom(page, tmp_path / "profile")
    for step in ("The alert.", "The panel.", "The exemplar.", "The request."):
        assert step in dom, step
    for needed in (
        "exemplar-storage",
        "TRACE_URL_PREFIX",
        "--trace-sample-ratio",
        "query_exemplars",
    ):
        assert needed in dom, needed
    assert 'href="../alerts/#loadgenlatencyregression"' in dom
    pixels = screenshot(page, tmp_path / "shot", height=1200)
    assert pixels[..., :3].std() > 0.05
