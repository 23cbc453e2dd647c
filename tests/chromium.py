"""Debian's Chromium, headless, driven by Playwright for Python (never Playwright's own browser download)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

CHROMIUM = os.environ.get("SHIPYARD_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: apt-get install -y chromium"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[dev]'"
    return None


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium with a fresh profile folder, removed afterwards."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="shipyard-chromium-")
    try:
        with sync_playwright() as driver:
            context = driver.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=ARGS, headless=True, viewport={"width": 1280, "height": 900})
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class ConsoleGuard:
    """Every console error and uncaught exception of a page, to assert there were none."""

    def __init__(self, page, *, expected: tuple[str, ...] = ()):
        self.errors: list[str] = []
        self.expected = expected
        page.on("console", lambda message: message.type == "error" and self._add(f"console: {message.text}"))
        page.on("pageerror", lambda error: self._add(f"uncaught: {error}"))

    def _add(self, text: str) -> None:
        if not any(part in text for part in self.expected):
            self.errors.append(text)

    def assert_clean(self) -> None:
        assert not self.errors, "the browser console showed errors:\n" + "\n".join(self.errors)
