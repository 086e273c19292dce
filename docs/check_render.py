"""Check in a real browser that every page of the built site renders, with no network.

Usage (after `mkdocs build`, from the repository root):

    python docs/check_render.py [SCREENSHOT.png] [--site DIR] [--page PAGE.html ...]
                                [--widths 1280,390] [--jobs N]

It serves ``site/`` on 127.0.0.1 (an ``http.server`` in a thread), opens every page of the
site (every ``*.html`` under it except the theme's assets: the hand-written pages, the API
reference and the generated source pages) in one headless Chromium (Debian's
``/usr/bin/chromium``, driven by the ``playwright`` Python package; ``apt-get install
chromium`` and ``pip install playwright``, never ``playwright install``), once per width
(1280 px, a desktop, and 390 px, a phone), waits until MathJax has typeset the page, and
fails, listing page, width and problem, when:

- a rendered equation (``mjx-container svg``) is narrower or shorter than 3 px (collapsed
  by the theme's CSS: the maths is not there to read), or fewer equations were rendered than
  the page has maths elements (``.arithmatex``);
- MathJax reports a TeX error (``merror`` / ``data-mjx-error`` nodes), or had to draw a
  glyph its SVG font does not have (``text`` nodes in its SVG);
- raw TeX is left in the visible text outside code (``pre``, ``code`` and the rendered
  maths are skipped): a TeX command (``\\frac``, ``\\delta``, ...), a maths delimiter
  (``\\(``, ``\\)``, ``\\[``, ``\\]``), ``$$``, or a ``$`` in prose that is not a price
  (``$5``);
- a ``[[source: ...]]`` directive is left as text (the hook expands only one on a line of
  its own);
- the page itself is wider than the window (something in it overflows horizontally instead
  of scrolling in its own box);
- an output block (``pre > code``) is empty: an executed block whose output went to the
  build log instead of the page;
- a display equation is wider than its box but does not show that it scrolls (its box must
  scroll with a scroll bar that is not hidden, and carry the edge-shadow cue of
  ``stylesheets/extra.css``, since phones draw no scroll bar until one scrolls);
- at 390 px, text in a build-time figure (``.figure svg text``) is drawn smaller than 9 CSS px;
- the page logged a console error or threw an exception, or did not load;
- any request went anywhere but 127.0.0.1 (or a ``data:``/``blob:`` URL). Chromium is also
  started with every other host name unresolvable, so nothing can leave the machine;
- (before the browser starts) a page of the nav's "The course" section has no link, in its
  text, to the next page of the course.

It then saves a full-page screenshot of the first page checked (``backprop.html`` when it
is checked; default ``site-screenshot.png``) at the first width and, next to it
(``NAME-390.png``), at each other width, and exits 0. Without ``/usr/bin/chromium`` it
prints ``skipped: chromium not found`` and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
WIDTHS = (1280, 390)
MIN_EQUATION_PX = 3          # an equation smaller than this in either direction is not readable
MIN_FIGURE_TEXT_PX = 9       # figure text drawn smaller than this (CSS px) is not readable
FIGURE_TEXT_WIDTHS = (390,)  # checked on a phone, where figures shrink most
TYPESET_TIMEOUT_MS = 60_000
# Directories of the built site that hold the theme's and our assets, not pages.
ASSET_DIRS = {"assets", "javascripts", "stylesheets", "search"}
SCREENSHOT_PAGE = "backprop.html"

# Runs in the page once MathJax is done. Everything it measures is read before anything on
# the page is changed; then collapsed <details> and hidden tabs are opened so that the maths
# inside them can be measured too.
_INSPECT = r"""
() => {
  const q = (s) => document.querySelectorAll(s).length;
  const out = {};
  out.sources = q('.arithmatex');
  out.rendered = q('mjx-container svg');
  out.errors = q('mjx-merror, [data-mjx-error], mjx-container .merror, mjx-container [data-mml-node="merror"]');
  out.errorText = Array.from(document.querySelectorAll('[data-mjx-error]'))
    .map(e => e.getAttribute('data-mjx-error')).slice(0, 3);
  out.fallbackGlyphs = q('mjx-container svg text');

  // The page wider than the window: find the widest elements that stick out.
  const root = document.documentElement;
  out.scrollWidth = root.scrollWidth;
  out.clientWidth = root.clientWidth;
  out.overflowing = [];
  if (root.scrollWidth > root.clientWidth + 1) {
    const scrolls = (el) => {
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const s = getComputedStyle(p);
        if (/(auto|scroll|hidden|clip)/.test(s.overflowX)) return true;
      }
      return false;
    };
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > root.clientWidth + 1 && r.width > 0 && !scrolls(el)) {
        const cls = (el.getAttribute('class') || '').split(/\s+/).filter(Boolean).slice(0, 2).join('.');
        out.overflowing.push(`<${el.tagName.toLowerCase()}${cls ? ' class=' + cls : ''}> right edge at ${Math.round(r.right)} px`);
        if (out.overflowing.length >= 3) break;
      }
    }
  }

  // Text a reader sees, outside code and outside the rendered maths.
  const skip = 'pre, code, kbd, samp, script, style, noscript, textarea, template, mjx-container, svg';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.parentElement && n.parentElement.closest(skip))
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const texts = [];
  const block = 'p, li, td, th, dt, dd, h1, h2, h3, h4, h5, h6, figcaption, caption, summary, a, label';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.nodeValue.trim()) continue;
    // The text node, and for the report the text of the paragraph (or cell, link...) around it.
    const around = n.parentElement.closest(block) || n.parentElement;
    texts.push([n.nodeValue, around.textContent]);
  }
  out.texts = texts;

  // A "$" inside an equation's own TeX: two $$...$$ displays written without a blank line
  // between them become one display with "$$" in the middle.
  out.dollarInTex = [];
  if (window.MathJax && MathJax.startup && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) {
      if (/(^|[^\\])\$/.test(item.math)) out.dollarInTex.push(item.math.slice(0, 80));
    }
  }

  // An output block that shows nothing: an executed block whose output went elsewhere
  // (printed by an imported module to the build log, not to the page).
  out.emptyBlocks = [];
  document.querySelectorAll('.md-typeset pre > code').forEach((code) => {
    if (code.textContent.trim() === '') {
      const h = code.closest('article') ? Array.from(code.closest('article').querySelectorAll('h1, h2, h3'))
        .filter(x => x.compareDocumentPosition(code) & Node.DOCUMENT_POSITION_FOLLOWING).pop() : null;
      out.emptyBlocks.push(h ? h.textContent.replace(/\s+/g, ' ').trim().slice(0, 60) : '(top of page)');
    }
  });

  // Open what is collapsed, then measure every equation.
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const style = document.createElement('style');
  style.textContent = '.tabbed-set > .tabbed-content > .tabbed-block { display: block !important; }';
  document.head.appendChild(style);
  out.tiny = [];
  out.unmeasured = 0;
  document.querySelectorAll('mjx-container svg').forEach((svg) => {
    if (svg.parentElement.closest('mjx-container svg')) return;  // nested svg of one equation
    if (svg.getClientRects().length === 0) { out.unmeasured += 1; return; }
    const r = svg.getBoundingClientRect();
    if (r.width < %(min)d || r.height < %(min)d) {
      const c = svg.closest('mjx-container');
      const mml = c ? (c.querySelector('mjx-assistive-mml') || {}).textContent || '' : '';
      out.tiny.push(`${r.width.toFixed(0)}x${r.height.toFixed(0)} px` +
        (c && c.hasAttribute('display') ? ' (display)' : ' (inline)') +
        (mml ? ` ${JSON.stringify(mml.trim().slice(0, 40))}` : ''));
    }
  });

  // A display wider than its box must show that it scrolls: the box scrolls, its scroll bar
  // is not hidden, and the shadow cue of extra.css marks the hidden side (phones draw no
  // scroll bar until one scrolls).
  out.hiddenOverflow = [];
  out.scrollingDisplays = 0;
  document.querySelectorAll('.md-typeset div.arithmatex').forEach((box) => {
    if (box.scrollWidth <= box.clientWidth + 1) return;
    out.scrollingDisplays += 1;
    const s = getComputedStyle(box);
    const scrolls = /(auto|scroll)/.test(s.overflowX) && s.scrollbarWidth !== 'none';
    const cue = /gradient/.test(s.backgroundImage);
    if (!(scrolls && cue)) {
      const c = box.querySelector('mjx-container');
      const mml = c ? (c.querySelector('mjx-assistive-mml') || {}).textContent || '' : '';
      out.hiddenOverflow.push(`${box.scrollWidth} px in a ${box.clientWidth} px box` +
        (mml ? ` ${JSON.stringify(mml.trim().slice(0, 40))}` : ''));
    }
  });

  // Text in a build-time figure, at the size it is drawn on this screen: the font size
  // times the scale from the SVG's own units to CSS pixels.
  out.smallFigureText = [];
  document.querySelectorAll('.md-typeset .figure svg text').forEach((t) => {
    if (t.getClientRects().length === 0 || !t.textContent.trim()) return;
    const m = t.getScreenCTM();
    const size = parseFloat(getComputedStyle(t).fontSize) * Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
    if (size < %(minText)s) out.smallFigureText.push(`${JSON.stringify(t.textContent.trim().slice(0, 30))} at ${size.toFixed(1)} px`);
  });
  return out;
}
""".replace("%(min)d", str(MIN_EQUATION_PX)).replace("%(minText)s", str(MIN_FIGURE_TEXT_PX))


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


def site_pages(site: Path) -> list[str]:
    """Every page of the built site, as paths relative to it (``modules/linear.html``)."""
    pages = []
    for path in site.rglob("*.html"):
        rel = path.relative_to(site)
        if rel.parts[0] in ASSET_DIRS:
            continue
        pages.append(rel.as_posix())
    # The screenshot page first (its screenshot is taken while the browser is fresh), then in order.
    return sorted(pages, key=lambda p: (p != SCREENSHOT_PAGE, p.count("/"), p))


# --------------------------------------------------------------------------------------
# raw TeX in text


def _context(text: str, at: int, width: int = 50) -> str:
    return " ".join(text[max(0, at - width):at + width].split())


def raw_tex(texts: list[tuple[str, str]]) -> list[str]:
    """Raw TeX in visible text: ``texts`` holds (text node, the text of the block around it)
    pairs, code and rendered maths already left out. One problem per passage, naming the
    TeX found there and quoting the block (a paragraph, a cell, a link) around it."""
    command = re.compile(r"\\(?:[A-Za-z]{2,}|[()\[\]{}])")
    # A price ("$5", after a space or bracket) is prose; any other "$" is a maths delimiter
    # that arithmatex did not turn into maths.
    dollar = re.compile(r"(?<![\w$])\$(?!\d)|(?<=[\w$])\$")
    passages: dict[str, list[str]] = {}
    for text, around in texts:
        tokens = [m.group(0) for m in command.finditer(text)]
        if "$$" in text:
            tokens.append("$$")
        elif dollar.search(text):
            tokens.append("$")
        if not tokens:
            continue
        first = tokens[0]
        where = _context(around, around.index(first)) if first in around else _context(text, text.index(first))
        found = passages.setdefault(where, [])
        found.extend(t for t in tokens if t not in found)
    return [
        f"raw TeX ({' '.join(tokens[:6])}{' ...' if len(tokens) > 6 else ''}) in the text: ...{where}..."
        for where, tokens in passages.items()
    ]


def raw_directives(texts: list[tuple[str, str]]) -> list[str]:
    """A ``[[source: ...]]`` directive the hook left as text (it only expands one that
    stands on a line of its own)."""
    return [f"an unexpanded source directive in the text: ...{_context(text, text.index('[[source:'))}..."
            for text, _ in texts if "[[source:" in text]


# --------------------------------------------------------------------------------------
# the course: every page links to the next


def course_pages(config: Path = ROOT / "mkdocs.yml") -> list[str]:
    """The pages of the nav's "The course" section, in order, as built paths (``backprop.html``)."""
    import yaml  # mkdocs' own dependency

    nav = yaml.safe_load(config.read_text(encoding="utf-8"))["nav"]
    section = next(item["The course"] for item in nav if isinstance(item, dict) and "The course" in item)
    return [str(Path(next(iter(entry.values()))).with_suffix(".html").as_posix()) for entry in section]


def missing_next_links(site: Path, pages: list[str]) -> list[str]:
    """Course pages whose text (the article, not the theme's footer) has no link to the next page."""
    import posixpath

    problems = []
    for page, following in zip(pages, pages[1:]):
        html = (site / page).read_text(encoding="utf-8")
        start, end = html.find("<article"), html.rfind("</article>")
        links = re.findall(r'href="([^"#]+)', html[start:end])
        targets = {posixpath.normpath(posixpath.join(posixpath.dirname(page), link)) for link in links}
        if following not in targets:
            problems.append(f"{page}: no link to the next page of the course, {following}")
    return problems


# --------------------------------------------------------------------------------------
# the browser


@dataclass
class Result:
    page: str
    width: int
    problems: list[str] = field(default_factory=list)
    equations: int = 0
    scrolling: int = 0   # display equations wider than their box (they scroll, visibly)


async def _check_one(context, base: str, page: str, width: int, screenshot: Path | None) -> Result:
    result = Result(page, width)
    outside: list[str] = []
    console: list[str] = []
    pg = await context.new_page()
    pg.on("request", lambda req: None if _local(req.url) else outside.append(req.url))
    pg.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda err: console.append(f"uncaught: {err}"))
    try:
        url = f"{base}/{page}"
        try:
            response = await pg.goto(url, wait_until="load", timeout=TYPESET_TIMEOUT_MS)
        except Exception as err:  # noqa: BLE001 — reported, not raised
            result.problems.append(f"could not load: {str(err).splitlines()[0]}")
            return result
        if response is None or not response.ok:
            result.problems.append(f"could not load: HTTP {response.status if response else 'no response'}")
            return result
        # mathjax-config.js sets data-mathjax="ready" once the first typeset pass is done.
        try:
            await pg.wait_for_function(
                "document.documentElement.getAttribute('data-mathjax') === 'ready'",
                timeout=TYPESET_TIMEOUT_MS,
            )
        except Exception:  # noqa: BLE001
            result.problems.append(
                f"MathJax did not finish typesetting within {TYPESET_TIMEOUT_MS // 1000} s "
                "(is the vendored script there?)"
            )
            return result
        stats = await pg.evaluate(_INSPECT)
        result.equations = stats["rendered"]
        if stats["rendered"] < stats["sources"]:
            result.problems.append(
                f"only {stats['rendered']} of {stats['sources']} maths elements were rendered as SVG"
            )
        if stats["errors"]:
            result.problems.append(f"{stats['errors']} TeX error node(s): {stats['errorText']}")
        if stats["fallbackGlyphs"]:
            result.problems.append(
                f"{stats['fallbackGlyphs']} character(s) drawn as <text> in MathJax SVG: "
                "a glyph missing from the font"
            )
        if stats["tiny"]:
            shown = "; ".join(stats["tiny"][:3])
            more = f" (and {len(stats['tiny']) - 3} more)" if len(stats["tiny"]) > 3 else ""
            result.problems.append(
                f"{len(stats['tiny'])} equation(s) rendered smaller than {MIN_EQUATION_PX} px: {shown}{more}"
            )
        if stats["scrollWidth"] > stats["clientWidth"] + 1:
            result.problems.append(
                f"the page is {stats['scrollWidth']} px wide in a {stats['clientWidth']} px window "
                f"(scrolls sideways): {'; '.join(stats['overflowing']) or 'no single element found'}"
            )
        for heading in stats["emptyBlocks"][:3]:
            result.problems.append(f"an empty output block (its output went to the build log?) under {heading!r}")
        if stats["hiddenOverflow"]:
            result.problems.append(
                f"{len(stats['hiddenOverflow'])} display equation(s) wider than their box that do not "
                f"show that they scroll: {'; '.join(stats['hiddenOverflow'][:3])}"
            )
        result.scrolling = stats["scrollingDisplays"]
        if width in FIGURE_TEXT_WIDTHS and stats["smallFigureText"]:
            shown = "; ".join(stats["smallFigureText"][:4])
            result.problems.append(
                f"{len(stats['smallFigureText'])} figure label(s) drawn under {MIN_FIGURE_TEXT_PX} px: {shown}"
            )
        result.problems.extend(raw_tex(stats["texts"]))
        result.problems.extend(raw_directives(stats["texts"]))
        for tex in stats["dollarInTex"][:3]:
            result.problems.append(f"'$' inside an equation's TeX (two displays run together?): {tex!r}")
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            await pg.screenshot(path=str(screenshot), full_page=True)
    finally:
        await pg.close()
        if console:
            result.problems.append("console error(s): " + "; ".join(console[:3]))
        if outside:
            result.problems.append("request(s) beyond 127.0.0.1: " + ", ".join(sorted(set(outside))[:5]))
    return result


async def check_site(site: Path, pages: list[str], widths: list[int], screenshot: Path,
                     jobs: int) -> list[Result]:
    from playwright.async_api import async_playwright

    server, base = _serve(site)
    results: list[Result] = []
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[
                    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    # No outside host resolves: a page that asks for one gets an error (and is
                    # reported by the request hook), and nothing leaves the machine.
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                ],
            )
            # One context per width; the browser cache is shared by its pages, so the theme and
            # MathJax are fetched and compiled once per width, not once per page.
            contexts = {
                w: await browser.new_context(viewport={"width": w, "height": 900}, service_workers="block")
                for w in widths
            }
            queue: asyncio.Queue = asyncio.Queue()
            for w in widths:
                for i, page in enumerate(pages):
                    shot = None
                    if i == 0:
                        shot = screenshot if w == widths[0] else screenshot.with_name(
                            f"{screenshot.stem}-{w}{screenshot.suffix}")
                    queue.put_nowait((page, w, shot))

            async def worker():
                while True:
                    try:
                        page, w, shot = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    results.append(await _check_one(contexts[w], base, page, w, shot))

            await asyncio.gather(*(worker() for _ in range(max(1, jobs))))
            await browser.close()
    finally:
        server.shutdown()
        server.server_close()
    order = {(p, w): i for i, (p, w) in enumerate((p, w) for w in widths for p in pages)}
    return sorted(results, key=lambda r: order[(r.page, r.width)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("screenshot", nargs="?", default="site-screenshot.png", type=Path,
                        help="full-page screenshot of the first page checked (default: site-screenshot.png)")
    parser.add_argument("--site", default=ROOT / "site", type=Path, help="the built site (default: site/)")
    parser.add_argument("--page", action="append", default=None,
                        help="check only this page, relative to the site (repeatable; default: every page)")
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)),
                        help="window widths in px, comma-separated (default: 1280,390)")
    parser.add_argument("--jobs", type=int, default=3, help="pages open at once (default: 3)")
    args = parser.parse_args(argv)

    if not os.path.exists(CHROMIUM):
        print(f"skipped: chromium not found ({CHROMIUM}; apt-get install chromium)")
        return 0
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("check_render: the 'playwright' Python package is missing (pip install playwright)", file=sys.stderr)
        return 2
    if args.page:
        pages = args.page
        missing = [p for p in pages if not (args.site / p).is_file()]
        if missing:
            print(f"check_render: {', '.join(missing)} not found in {args.site}: run `mkdocs build` first",
                  file=sys.stderr)
            return 2
    else:
        if not (args.site / "index.html").is_file():
            print(f"check_render: {args.site / 'index.html'} not found: run `mkdocs build` first", file=sys.stderr)
            return 2
        pages = site_pages(args.site)
    widths = [int(w) for w in args.widths.split(",") if w.strip()]
    course = course_pages()
    unlinked = missing_next_links(args.site, course) if not args.page else []
    if unlinked:
        print("check_render: FAILED: the course is broken:", file=sys.stderr)
        for problem in unlinked:
            print(f"  {problem}", file=sys.stderr)
        return 1

    start = time.monotonic()
    results = asyncio.run(check_site(args.site, pages, widths, args.screenshot, args.jobs))
    seconds = time.monotonic() - start

    failed = [r for r in results if r.problems]
    equations = sum(r.equations for r in results if r.width == widths[0])
    if failed:
        print(f"check_render: FAILED: {len(failed)} of {len(results)} page views have problems "
              f"({len(pages)} pages x widths {', '.join(map(str, widths))} px, {seconds:.0f} s):", file=sys.stderr)
        for r in failed:
            for problem in r.problems:
                print(f"  {r.page} @ {r.width} px: {problem}", file=sys.stderr)
        return 1
    scrolling = ", ".join(f"{sum(r.scrolling for r in results if r.width == w)} at {w} px" for w in widths)
    print(
        f"ok: {len(pages)} pages x widths {', '.join(map(str, widths))} px ({seconds:.0f} s): "
        f"{equations} equations rendered as SVG, none collapsed, no TeX errors, no raw TeX, "
        f"no page wider than its window, no empty output block, figure text at least "
        f"{MIN_FIGURE_TEXT_PX} px at {', '.join(map(str, FIGURE_TEXT_WIDTHS))} px, wide displays "
        f"visibly scrollable ({scrolling}), no console errors, no request beyond 127.0.0.1, "
        f"each of the {len(course)} course pages linked to the next; "
        f"screenshot: {args.screenshot}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
