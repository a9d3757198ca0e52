"""Render an archlint HTML report in headless Chromium: a PNG screenshot and the console messages.

    python scripts/render_html_report.py report.html report.png

Exit status 1 if the page logged anything to the console (errors included), 2 if Chromium is
missing. On Debian: `apt-get install -y chromium`. The report has no script and loads nothing, so
any console message is a defect.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
_CONSOLE = re.compile(r":CONSOLE[^\]]*\]\s*(.*)")


def find_browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def render(html_path: str, png_path: str, width: int = 1200, height: int = 2400, timeout: float = 120) -> list[str]:
    """Screenshot `html_path` into `png_path`; return the console messages the page logged."""
    browser = find_browser()
    if browser is None:
        raise FileNotFoundError("no chromium found (Debian: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        completed = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             f"--window-size={width},{height}", f"--screenshot={os.path.abspath(png_path)}",
             "file://" + os.path.abspath(html_path)],
            capture_output=True, text=True, timeout=timeout)
    if not os.path.exists(png_path):
        raise RuntimeError(f"chromium wrote no screenshot (exit {completed.returncode}): {completed.stderr[-2000:]}")
    return [m.group(1) for m in map(_CONSOLE.search, completed.stderr.splitlines()) if m]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        messages = render(argv[0], argv[1])
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    for message in messages:
        print(f"console: {message}")
    print(f"screenshot: {argv[1]}; {len(messages)} console message(s)")
    return 1 if messages else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
