"""Check in a real browser that the built site renders its maths with no network.

Usage (after `mkdocs build`, from the repository root):

    python docs/check_render.py [SCREENSHOT.png] [--site DIR] [--page PAGE.html]

It serves ``site/`` on 127.0.0.1 (an ``http.server`` in a thread), opens the backprop page
in headless Chromium (Debian's ``/usr/bin/chromium``, driven by the ``playwright`` Python
package; ``apt-get install chromium`` and ``pip install playwright``, never
``playwright install``), waits until MathJax has typeset the page, and fails when:

- no rendered equation is there (``mjx-container svg``), or fewer than the page has maths;
- MathJax reports a TeX error (``merror`` / ``data-mjx-error`` nodes);
- raw TeX is still visible in the page text (``$$``, ``\\frac``, ``\\(``, ``\\[``);
- MathJax had to fall back to a font glyph it does not have (``text`` nodes in its SVG);
- the page logged a console error or threw an exception;
- any request went anywhere but 127.0.0.1 (or a ``data:``/``blob:`` URL).

It then saves a full-page screenshot (default ``site-screenshot.png``) and exits 0.
Without ``/usr/bin/chromium`` it prints ``skipped: chromium not found`` and exits 0.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
RAW_TEX = ("$$", "\\frac", "\\(", "\\[", "\\partial", "\\begin{")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 — the base class's name
        pass


def _serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname == "127.0.0.1"


def check(site: Path, page: str, screenshot: Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    outside: list[str] = []
    console_errors: list[str] = []

    server, base = _serve(site)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")

            # Every request the page makes passes through here. Outside ones are recorded
            # and aborted, so the check cannot leak anything even when it fails.
            def route(r):
                if _local(r.request.url):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            pg = context.new_page()
            pg.on("request", lambda req: None if _local(req.url) else outside.append(req.url))
            pg.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
            pg.on("pageerror", lambda err: console_errors.append(f"uncaught: {err}"))

            url = f"{base}/{page}"
            response = pg.goto(url, wait_until="load")
            if response is None or not response.ok:
                status = response.status if response else "no response"
                return [f"could not load {url}: {status}"]

            # Our MathJax config sets data-mathjax="ready" once the first typeset pass is done.
            try:
                pg.wait_for_function(
                    "document.documentElement.getAttribute('data-mathjax') === 'ready'", timeout=60_000
                )
            except Exception:  # noqa: BLE001
                problems.append("MathJax did not finish typesetting within 60 s (is the vendored script there?)")

            stats = pg.evaluate(
                """() => {
                  const q = (s) => document.querySelectorAll(s).length;
                  const main = document.querySelector('article') || document.body;
                  return {
                    sources: q('.arithmatex'),
                    rendered: q('mjx-container svg'),
                    containers: q('mjx-container'),
                    errors: q('mjx-merror, [data-mjx-error], mjx-container .merror, mjx-container [data-mml-node="merror"]'),
                    errorText: Array.from(document.querySelectorAll('[data-mjx-error]')).map(e => e.getAttribute('data-mjx-error')).slice(0, 5),
                    fallbackGlyphs: q('mjx-container svg text'),
                    text: main.innerText,
                  };
                }"""
            )
            if stats["rendered"] == 0:
                problems.append("no rendered maths: found no 'mjx-container svg' element")
            if stats["rendered"] < stats["sources"]:
                problems.append(
                    f"only {stats['rendered']} of {stats['sources']} maths elements were rendered as SVG"
                )
            if stats["errors"]:
                problems.append(f"{stats['errors']} TeX error node(s): {stats['errorText']}")
            if stats["fallbackGlyphs"]:
                problems.append(
                    f"{stats['fallbackGlyphs']} character(s) drawn as <text> in MathJax SVG: "
                    "a glyph missing from the font"
                )
            visible = stats["text"]
            for token in RAW_TEX:
                if token in visible:
                    at = visible.index(token)
                    problems.append(f"raw TeX {token!r} is visible: ...{visible[max(0, at - 60):at + 60]!r}...")

            screenshot.parent.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(screenshot), full_page=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()

    if console_errors:
        problems.append("console errors: " + "; ".join(console_errors[:5]))
    if outside:
        problems.append("requests left 127.0.0.1: " + ", ".join(sorted(set(outside))[:10]))
    if not problems:
        print(
            f"ok: {page}: {stats['rendered']} equations rendered as SVG "
            f"({stats['sources']} in the page), no TeX errors, no raw TeX, no console errors, "
            f"no request beyond 127.0.0.1; screenshot: {screenshot}"
        )
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("screenshot", nargs="?", default="site-screenshot.png", type=Path)
    parser.add_argument("--site", default=ROOT / "site", type=Path, help="the built site (default: site/)")
    parser.add_argument("--page", default="backprop.html", help="page to check, relative to the site")
    args = parser.parse_args(argv)

    if not os.path.exists(CHROMIUM):
        print(f"skipped: chromium not found ({CHROMIUM}; apt-get install chromium)")
        return 0
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("check_render: the 'playwright' Python package is missing (pip install playwright)", file=sys.stderr)
        return 2
    if not (args.site / args.page).is_file():
        print(f"check_render: {args.site / args.page} not found: run `mkdocs build` first", file=sys.stderr)
        return 2

    problems = check(args.site, args.page, args.screenshot)
    if problems:
        print(f"check_render: FAILED on {args.page}:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
