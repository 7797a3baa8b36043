"""Headless Chromium (Debian's package) on a local file: what a person would see, as the DOM
the browser built and a screenshot."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import matplotlib.image

# No connection anywhere (the machine's network is closed, and a report must need none).
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
)  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is needed (Debian package chromium; make test installs it)"
    return found


def rendered_dom(page: Path, profile: Path) -> str:
    done = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(page: Path, profile: Path, width: int = 1100, height: int = 2600):
    """The page as pixels: an array of height x width x channels, values 0-1."""
    png = profile / "screenshot.png"
    done = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
         f"--screenshot={png}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
    return matplotlib.image.imread(png)
