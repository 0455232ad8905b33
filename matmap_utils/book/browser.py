"""What a reader sees: every page of the built book, rendered by a real headless Chromium.

:func:`check_book` opens each HTML page of ``_build/html`` (``file://``, as a reader opens the book
that ``make book`` printed) in Debian's Chromium at a 1400 px wide viewport and reports
:class:`Problem` s:

* ``console`` / ``exception`` — a console error (a script or a resource that failed to load) or an
  uncaught JavaScript exception;
* ``overflow`` — the page is wider than the viewport, or an element of the article is wider than
  the content area without sitting inside a scrollable box (a wide table, a long unbroken line);
* ``image`` — an ``<img>`` that did not load, or that is drawn at under 70 % of its natural width
  (fonts shrunk below what the figure was made for); interactive figures are exempt;
* ``plotly`` — a plotly figure that did not render (no ``.main-svg``);
* ``table`` — an interactive (itables) table that DataTables did not turn into a table widget
  (its bundle did not load);
* ``repr`` / ``traceback`` / ``stderr`` — page text showing a Python repr (``PosixPath(``,
  ``array(``, ``np.float64(``), a traceback, or a stderr stream (warnings) in a cell output;
* ``redirect`` — a redirect page (``<meta http-equiv="refresh">``, like the ``index.html`` that
  jupyter-book writes) whose target is not a file of the book; a redirect page is not rendered
  itself (it navigates away while being measured), its target is checked as a page of its own;
* ``search`` — the book's own search page (Sphinx ``searchindex.js``) does not find a chapter page
  from a word distinctive of that page.

The browser is driven through the Chrome DevTools Protocol over ``--remote-debugging-pipe``
(file descriptors 3 and 4, NUL-terminated JSON): standard library only, no port, no browser
download.  Sizes are CSS pixels at device scale factor 1.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

#: Width of the browser window (CSS px); the content area of the theme is about 780 px of it.
VIEWPORT_WIDTH = 1400
VIEWPORT_HEIGHT = 900
#: An image drawn narrower than this fraction of its natural width has shrunk fonts.
MIN_IMAGE_SCALE = 0.70
#: Folders of the HTML output that hold assets, not pages.
ASSET_DIRS = ("_static", "_sources", "_images", "_downloads")
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Text of a Python repr or traceback that must never reach a page, by check name.
_TEXT_PATTERNS: dict[str, re.Pattern] = {
    "repr": re.compile(
        r"PosixPath\(|WindowsPath\(|(?<![\w.])array\([\[\d-]|\bnp\.(?:float|int|uint|bool_|str_)\w*\(|<\w+(?:\.\w+)+ object at 0x"
    ),
    "traceback": re.compile(r"Traceback \(most recent call last\)"),
}


#: ``<meta http-equiv="refresh" content="0; url=TARGET">`` (attribute quotes optional).
_REFRESH = re.compile(
    r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']?\s*\d+\s*;\s*url=([^"'>\s]+)""", re.IGNORECASE
)


@dataclass(frozen=True)
class Problem:
    """One defect on one page: ``page`` relative to the HTML folder, ``check`` its kind."""

    page: str
    check: str
    detail: str


class BrowserError(RuntimeError):
    """Chromium could not be started or stopped answering."""


def chromium_path() -> str | None:
    """Path of a Chromium / Chrome executable on ``PATH``, or None when there is none."""
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Chromium:
    """A headless Chromium driven over the DevTools pipe (a context manager)."""

    def __init__(self, executable: str | None = None, *, timeout_s: float = 60.0):
        exe = executable or chromium_path()
        if exe is None:
            raise BrowserError("no Chromium found (install it: apt-get install chromium)")
        self.timeout_s = timeout_s
        self._profile = tempfile.TemporaryDirectory(prefix="matmap-chromium-", ignore_cleanup_errors=True)
        self._log = open(Path(self._profile.name) / "stderr.log", "wb")  # noqa: SIM115 (closed in close())
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_pipes():  # in the child, before exec: the protocol's fds are 3 (in) and 4 (out)
            hi_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 100)  # out of the way of 3 and 4
            hi_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 100)
            os.dup2(hi_r, 3)  # dup2 makes them inheritable
            os.dup2(hi_w, 4)

        args = [exe, *self._flags(), "about:blank"]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            preexec_fn=wire_pipes,
            close_fds=False,  # fds Python opened are non-inheritable (PEP 446); 3 and 4 must survive
            start_new_session=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._next_id = 0
        self.events: dict[str | None, list[dict]] = {}
        self._targets: dict[str, str] = {}
        try:
            self.version = self.call("Browser.getVersion", timeout_s=30)["product"]
        except BrowserError:
            self.close()
            raise

    def _flags(self) -> list[str]:
        flags = [
            "--headless=new",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile.name}",
            f"--window-size={VIEWPORT_WIDTH},{VIEWPORT_HEIGHT}",
            "--force-device-scale-factor=1",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--mute-audio",
        ]
        if os.geteuid() == 0:  # Chromium refuses to run its sandbox as root (containers, CI)
            flags.append("--no-sandbox")
        return flags

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Ask the browser to quit; kill it when it does not within 5 s."""
        if self._proc.poll() is None:
            try:
                self._send("Browser.close", {}, None)
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait(timeout=5)
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        self._profile.cleanup()

    def _stderr_tail(self) -> str:
        self._log.flush()
        text = (Path(self._profile.name) / "stderr.log").read_text(errors="replace")
        return text.strip()[-800:]

    def _send(self, method: str, params: dict, session: str | None) -> int:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._to_child, data) :]
        return self._next_id

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_child], [], [], max(left, 0))
            if not ready:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited (code {self._proc.poll()}): {self._stderr_tail()}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None, *, timeout_s=None) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept in
        :attr:`events` by session id."""
        msg_id = self._send(method, params or {}, session)
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            msg = self._read_message(deadline)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.setdefault(msg.get("sessionId"), []).append(msg)

    def wait_event(self, session: str, method: str, *, timeout_s: float, count: int = 1) -> bool:
        """Wait until ``session`` has received event ``method`` ``count`` times; False on time-out."""
        deadline = time.monotonic() + timeout_s
        while sum(e["method"] == method for e in self.events.get(session, [])) < count:
            try:
                msg = self._read_message(deadline)
            except BrowserError:
                if self._proc.poll() is not None:
                    raise
                return False
            if "method" in msg:
                self.events.setdefault(msg.get("sessionId"), []).append(msg)
        return True

    def evaluate(self, session: str, expression: str, *, timeout_s: float | None = None):
        """Value of a JavaScript expression (promises are awaited) in the page of ``session``."""
        res = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session,
            timeout_s=timeout_s,
        )
        if "exceptionDetails" in res:
            raise BrowserError(f"script failed: {_exception_text(res['exceptionDetails'])}")
        return res["result"].get("value")

    def open(self, url: str, *, timeout_s: float = 30.0) -> str:
        """Open ``url`` in a new tab at the checking viewport; returns the tab's session id once
        the page has loaded (console and exception events are recorded from the start)."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.events[session] = []
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", {}, session)
        # every page is a reader's first visit: what an earlier page stored must not change it
        self.call("Page.addScriptToEvaluateOnNewDocument", {"source": _FIRST_VISIT_JS}, session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        self._targets[session] = target
        nav = self.call("Page.navigate", {"url": url}, session)
        if nav.get("errorText"):
            raise BrowserError(f"cannot open {url}: {nav['errorText']}")
        if not self.wait_event(session, "Page.loadEventFired", timeout_s=timeout_s):
            raise BrowserError(f"{url} did not finish loading within {timeout_s:.0f} s")
        return session

    def close_tab(self, session: str) -> None:
        target = self._targets.pop(session)
        self.call("Target.closeTarget", {"targetId": target})
        self.events.pop(session, None)


def _exception_text(details: dict) -> str:
    exc = details.get("exception") or {}
    text = exc.get("description") or details.get("text") or "exception"
    where = details.get("url", "")
    return f"{text.splitlines()[0][:300]}" + (
        f" ({Path(urlsplit(where).path).name}:{details.get('lineNumber')})" if where else ""
    )


def console_problems(page: str, events: list[dict]) -> list[Problem]:
    """Console errors, failed resource loads and uncaught exceptions among a tab's CDP events."""
    out = []
    for ev in events:
        p = ev.get("params", {})
        if ev["method"] == "Runtime.exceptionThrown":
            out.append(Problem(page, "exception", _exception_text(p.get("exceptionDetails", {}))))
        elif ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            out.append(Problem(page, "console", f"console.{p['type']}: {args[:300]}"))
        elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            url = entry.get("url", "")
            out.append(Problem(page, "console", f"{entry.get('text', '')[:300]}" + (f" [{url}]" if url else "")))
    return out


# ---------------------------------------------------------------------------------------------
# What runs inside the page
# ---------------------------------------------------------------------------------------------

_FIRST_VISIT_JS = "try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}"

#: Wait until what a reader waits for has happened: images decoded, fonts, MathJax's first
#: typesetting, every plotly figure drawn (at most ``limit`` ms).
_SETTLE_JS = """
(async (limit) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const t0 = performance.now();
  for (const img of document.images) if (img.loading === 'lazy') img.loading = 'eager';
  await Promise.all([...document.images].map((img) => img.complete ? null : new Promise((r) => {
    img.addEventListener('load', r, {once: true}); img.addEventListener('error', r, {once: true});
    setTimeout(r, limit);
  })));
  if (document.fonts) await Promise.race([document.fonts.ready, sleep(limit)]);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise)
    await Promise.race([MathJax.startup.promise.catch(() => null), sleep(limit)]);
  while (performance.now() - t0 < limit) {
    const figs = [...document.querySelectorAll('.plotly-graph-div')];
    const tables = document.querySelectorAll('table[id^=itables_]').length;
    if ((figs.every((d) => d.querySelector('.main-svg')) || typeof window.Plotly === 'undefined') &&
        document.querySelectorAll('.dt-container').length >= tables) break;
    await sleep(100);
  }
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return true;
})
"""

#: Measure the page; returns plain JSON (see :func:`page_problems` for how it is judged).
_MEASURE_JS = """
(() => {
  const SCROLLS = new Set(['auto', 'scroll', 'hidden', 'clip']);
  const EXEMPT = '.margin, .sidebar, aside, .marginnote, .full-width';
  const INTERACTIVE = '.plotly-graph-div, .js-plotly-plot, .bk-root, .vega-embed, .jupyter-widgets, .itables';
  // a document that is being replaced has no body yet: measured again once the new one loaded
  if (!document.body || document.readyState === 'loading') throw new Error('page navigated while measured');
  const root = document.documentElement;
  const content = ['article.bd-article', 'main article', '[role=main]', 'main']
    .map((sel) => document.querySelector(sel)).find((el) => el) || document.body;
  const cr = content.getBoundingClientRect();
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    [...el.classList].slice(0, 3).map((c) => '.' + c).join('');
  const scrolled = (el) => {
    for (let a = el.parentElement; a && a !== content; a = a.parentElement)
      if (SCROLLS.has(getComputedStyle(a).overflowX)) return true;
    return false;
  };
  // how far right a box reaches: one that does not clip reaches as far as its content (a line of
  // text that cannot break); null when it stays inside the content area
  const reach = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return null;
    const w = SCROLLS.has(getComputedStyle(el).overflowX) ? r.width : Math.max(r.width, el.scrollWidth);
    if (r.left + w <= cr.right + 1 && r.left >= cr.left - 1) return null;
    return {w, right: r.left + w, own: r.right > cr.right + 1 || r.left < cr.left - 1};
  };
  const wide = [];
  for (const el of content.querySelectorAll('*')) {
    const out = reach(el);
    if (!out || wide.some((w) => w.el.contains(el)) || el.closest(EXEMPT) || scrolled(el)) continue;
    // a box wider than the column is named; a box of the column's width whose content spills
    // over names the child that spills (or itself when it is its own text)
    if (!out.own && [...el.children].some((c) => reach(c))) continue;
    wide.push({el: el, name: name(el), width: Math.round(out.w), right: Math.round(out.right),
               text: (el.innerText || el.textContent || '').trim().slice(0, 80)});
  }
  const images = [...document.images].map((img) => ({
    src: img.getAttribute('src') || '', complete: img.complete, natural: img.naturalWidth,
    width: Math.round(img.getBoundingClientRect().width * 10) / 10, shown: shown(img),
    interactive: !!img.closest(INTERACTIVE)}));
  const plotly = [...document.querySelectorAll('.plotly-graph-div')].map((d) => ({
    id: d.id, rendered: !!d.querySelector('.main-svg'), shown: shown(d)}));
  const body = document.body ? document.body.innerText : '';
  const quoted = [...document.querySelectorAll('pre, code')]
    .filter((el) => !el.closest('.cell_output, .output') && !el.parentElement.closest('pre, code') && shown(el))
    .map((el) => el.innerText).filter((t) => t);
  const stderr = [...document.querySelectorAll('.output.stderr, .stderr')].filter(shown)
    .map((el) => el.innerText.trim().slice(0, 200));
  const prose = [...content.querySelectorAll('p, li, dd, h1, h2, h3')]
    .filter((el) => !el.closest('.cell_output, .output, nav, .toctree-wrapper') && shown(el))
    .map((el) => el.innerText).join(' ');
  return {viewport: root.clientWidth, scrollWidth: root.scrollWidth,
          content: {left: Math.round(cr.left), right: Math.round(cr.right), width: Math.round(cr.width)},
          wide: wide.map(({el, ...w}) => w), images, plotly, body, quoted, stderr, prose,
          plotlyLoaded: typeof window.Plotly !== 'undefined',
          itables: {tables: document.querySelectorAll('table[id^=itables_]').length,
                    rendered: document.querySelectorAll('.dt-container').length}};
})()
"""

#: On ``search.html?q=…``: wait for Sphinx's search to finish and return the result links.
_SEARCH_JS = """
(async (limit) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const t0 = performance.now();
  while (performance.now() - t0 < limit) {
    // Sphinx's searchtools.js titles the results "Search Results" once every hit is listed
    if (document.querySelector('#search-results h2')?.innerText.trim() === 'Search Results') break;
    await sleep(100);
  }
  const done = document.querySelector('#search-results h2')?.innerText.trim() === 'Search Results';
  const links = [...document.querySelectorAll('#search-results ul.search li a')].map((a) => a.href);
  return {done, links, status: document.querySelector('#search-results .search-summary')?.innerText || ''};
})
"""


# ---------------------------------------------------------------------------------------------
# Judging a page
# ---------------------------------------------------------------------------------------------


def _strip_quoted(body: str, quoted: list[str]) -> str:
    """The page text without code the author quoted on purpose (``pre``/``code`` outside cell
    outputs: a developer page may show ``PosixPath(`` as what not to print)."""
    for q in sorted(quoted, key=len, reverse=True):
        body = body.replace(q, " ")
    return body


def text_problems(page: str, text: str) -> list[Problem]:
    """A ``repr`` or ``traceback`` problem for each Python repr or traceback in a page's text."""
    out = []
    for check, pattern in _TEXT_PATTERNS.items():
        for hit in pattern.finditer(text):
            snippet = " ".join(text[max(0, hit.start() - 40) : hit.end() + 60].split())
            out.append(Problem(page, check, f"page text shows {hit.group(0)!r}: …{snippet}…"))
    return out


def page_problems(page: str, m: dict) -> list[Problem]:
    """Problems of one page from the measurements of :data:`_MEASURE_JS`."""
    out = []
    if m["scrollWidth"] > m["viewport"] + 1:
        out.append(
            Problem(page, "overflow", f"page is {m['scrollWidth']} px wide in a {m['viewport']} px wide viewport")
        )
    for w in m["wide"]:
        out.append(
            Problem(
                page,
                "overflow",
                f"{w['name']} is {w['width']} px wide and reaches x = {w['right']} px, past the content "
                f"area ({m['content']['width']} px, right edge {m['content']['right']} px), outside any "
                f"scrollable box: {w['text']!r}",
            )
        )
    for img in m["images"]:
        src = img["src"][:120]
        if not img["complete"] or img["natural"] == 0:
            out.append(Problem(page, "image", f"image did not load: {src}"))
        elif img["shown"] and not img["interactive"] and img["width"] < MIN_IMAGE_SCALE * img["natural"]:
            out.append(
                Problem(
                    page,
                    "image",
                    f"image drawn at {img['width']:.0f} px of its natural {img['natural']} px "
                    f"({img['width'] / img['natural']:.0%} < {MIN_IMAGE_SCALE:.0%}): {src}",
                )
            )
    for fig in m["plotly"]:
        if not fig["rendered"]:
            why = "" if m["plotlyLoaded"] else " (plotly.js is not loaded on the page)"
            out.append(Problem(page, "plotly", f"plotly figure #{fig['id']} did not render{why}"))
    tables = m.get("itables", {"tables": 0, "rendered": 0})
    if tables["rendered"] < tables["tables"]:
        missing = tables["tables"] - tables["rendered"]
        out.append(Problem(page, "table", f"{missing} of {tables['tables']} interactive tables did not render"))
    out += text_problems(page, _strip_quoted(m["body"], m["quoted"]))
    for s in m["stderr"]:
        out.append(Problem(page, "stderr", f"a cell output shows stderr: {' '.join(s.split())[:200]}"))
    return out


def html_pages(html_dir: Path) -> list[str]:
    """Pages of a built book (relative POSIX paths), assets left out."""
    html_dir = Path(html_dir)
    pages = []
    for p in sorted(html_dir.rglob("*.html")):
        rel = p.relative_to(html_dir)
        if rel.parts[0] not in ASSET_DIRS:
            pages.append(rel.as_posix())
    return pages


def redirect_target(html_dir: Path, page: str) -> str | None:
    """Target (relative URL) of a page that is only a meta-refresh redirect, else None."""
    head = (Path(html_dir) / page).read_text(errors="replace")[:2000]
    m = _REFRESH.search(head)
    return m.group(1) if m and "<body" not in head.lower() else None


def redirect_problems(html_dir: Path, page: str, target: str) -> list[Problem]:
    """A ``redirect`` problem when ``target`` (relative to ``page``) is not a file of the book."""
    path = urlsplit(target).path
    if urlsplit(target).scheme or not (Path(html_dir) / page).parent.joinpath(path).is_file():
        return [Problem(page, "redirect", f"redirects to {target}, which is not a page of the book")]
    return []


def _url(html_dir: Path, page: str, query: str = "") -> str:
    return Path(html_dir).resolve().joinpath(page).as_uri() + (f"?q={quote(query)}" if query else "")


def measure_page(browser: Chromium, html_dir: Path, page: str, *, settle_ms: int = 15000) -> tuple[dict, list]:
    """Open one page, let it settle, and return (measurements, its CDP events)."""
    session = browser.open(_url(html_dir, page))
    try:
        for loads in (2, 3, None):  # a redirect page (index.html) navigates away while measured
            try:
                browser.evaluate(session, f"{_SETTLE_JS}({settle_ms})", timeout_s=settle_ms / 1000 + 30)
                m = browser.evaluate(session, _MEASURE_JS)
                break
            except BrowserError as exc:
                if loads is None or "navigated" not in str(exc):
                    raise
                browser.wait_event(session, "Page.loadEventFired", timeout_s=30, count=loads)
        time.sleep(0.05)
        browser.call("Runtime.evaluate", {"expression": "0"}, session)  # flush late console events
        events = list(browser.events.get(session, []))
    finally:
        browser.close_tab(session)
    return m, events


# ---------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------

_WORD = re.compile(r"\b[A-Za-z]{7,}\b")


def searchindex_docnames(html_dir: Path) -> list[str]:
    """Documents listed in Sphinx's ``searchindex.js`` (empty when there is none)."""
    path = Path(html_dir) / "searchindex.js"
    if not path.exists():
        return []
    text = path.read_text(errors="replace")
    m = re.search(r'"docnames"\s*:\s*(\[[^\]]*\])', text)
    return json.loads(m.group(1)) if m else []


def distinctive_words(texts: dict[str, str], prose: dict[str, str]) -> dict[str, str]:
    """For each page with prose, the word of its prose (7+ letters) found on the fewest other
    pages (then the most frequent on the page, then alphabetical): what a reader would search."""
    vocab = {page: set(w.lower() for w in _WORD.findall(t)) for page, t in texts.items()}
    df = Counter(w for words in vocab.values() for w in words)
    out = {}
    for page, text in prose.items():
        counts = Counter(w.lower() for w in _WORD.findall(text))
        if counts:
            out[page] = min(counts, key=lambda w: (df[w], -counts[w], w))
    return out


def search_problems(browser: Chromium, html_dir: Path, words: dict[str, str]) -> list[Problem]:
    """Run the book's search page for each page's word; a problem when the page is not a hit."""
    html_dir = Path(html_dir)
    if not (html_dir / "search.html").exists():
        return [Problem("search.html", "search", "the book has no search page")]
    out = []
    for page, word in sorted(words.items()):
        session = browser.open(_url(html_dir, "search.html", word))
        try:
            res = browser.evaluate(session, f"{_SEARCH_JS}(15000)", timeout_s=45)
        finally:
            browser.close_tab(session)
        target = html_dir.resolve().joinpath(page).as_posix()
        found = any(urlsplit(link).path.endswith(target) for link in res["links"])
        if not res["done"]:
            out.append(Problem(page, "search", f"search for {word!r} did not finish: {res['status']!r}"))
        elif not found:
            out.append(
                Problem(
                    page, "search", f"search for {word!r} (a word of this page) does not list it: {res['status']!r}"
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# The book
# ---------------------------------------------------------------------------------------------


def check_book(
    html_dir: str | os.PathLike,
    *,
    pages: list[str] | None = None,
    search: bool = True,
    executable: str | None = None,
) -> list[Problem]:
    """Render every page of the built book at ``html_dir`` in headless Chromium and return the
    problems found (empty when every check passes).  ``pages`` restricts the check (relative
    paths); ``search`` runs the search check for the pages Sphinx indexed.  Raises
    :class:`BrowserError` when no Chromium is installed or it does not start."""
    html_dir = Path(html_dir)
    if not html_dir.is_dir():
        raise FileNotFoundError(f"{html_dir}: no such folder (build the book first: make book)")
    pages = pages if pages is not None else html_pages(html_dir)
    problems: list[Problem] = []
    texts, prose = {}, {}
    indexed = {d + ".html" for d in searchindex_docnames(html_dir)}
    with Chromium(executable) as browser:
        for page in pages:
            target = redirect_target(html_dir, page)
            if target is not None:
                problems += redirect_problems(html_dir, page, target)
                continue
            try:
                m, events = measure_page(browser, html_dir, page)
            except BrowserError as exc:
                problems.append(Problem(page, "load", str(exc)))
                continue
            problems += console_problems(page, events)
            problems += page_problems(page, m)
            texts[page] = _strip_quoted(m["body"], m["quoted"])
            if page in indexed:
                prose[page] = m["prose"]
        if search and indexed:
            problems += search_problems(browser, html_dir, distinctive_words(texts, prose))
    return problems


def page_weights(html_dir: str | os.PathLike) -> list[tuple[str, int]]:
    """(page, bytes) of each page — its HTML plus the images it references outside ``_static``
    (shared theme assets are left out) — heaviest first."""
    html_dir = Path(html_dir).resolve()
    src_re = re.compile(r"""<(?:img|source)\b[^>]*?\bsrc\s*=\s*["']([^"'#?]+)""", re.I)
    out = []
    for page in html_pages(html_dir):
        path = html_dir / page
        total, seen = path.stat().st_size, set()
        for src in src_re.findall(path.read_text(errors="replace")):
            if src.startswith(("data:", "http:", "https:", "//")):
                continue
            f = (path.parent / src).resolve()
            if f in seen or not f.is_file() or f.is_relative_to(html_dir / "_static"):
                continue
            seen.add(f)
            total += f.stat().st_size
        out.append((page, total))
    return sorted(out, key=lambda pw: -pw[1])
