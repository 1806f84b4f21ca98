"""Headless Chromium for the student PDF and the book's browser check, offline.

* :func:`mathjax_dir` - the local MathJax 3 (from the ``django-static-mathjax`` wheel: the MathJax
  npm release, Apache-2.0, packaged as Python data with no dependencies, so a student's
  ``pip install`` brings it; the book copies it into ``_static``, the PDF is typeset with it).
* :func:`find_chrome` - a Chromium or Chrome executable (``$DLCOURSE_CHROME`` first), or an error
  that says what to install.
* :class:`LocalServer` - serves folders on 127.0.0.1 (a page loaded over HTTP behaves as it does
  on a web server; ``file://`` pages differ and snap-packaged browsers cannot read most paths).
* :class:`Chrome` / :class:`Page` - a minimal Chrome DevTools Protocol client over
  ``--remote-debugging-pipe``: JSON messages, NUL-terminated, on file descriptors 3 and 4.
* :func:`audit` - what a reader would see wrong on a loaded page: requests that leave the
  machine, untypeset TeX, MathJax errors, broken images, markdown tables left as ``| a | b |`` text.

Why a hand-written client instead of Playwright or Selenium: the pipe needs only the standard
library (no port, no websocket package), and every student who runs ``dlcourse submit`` would
otherwise install Playwright (a 53 MB wheel, 168 MB installed, with its own Node.js runtime) for
six protocol calls: create a page, navigate, evaluate, print to PDF, screenshot, close.
``playwright install`` cannot fetch its browsers offline ("Download failure") in any case; a
system Chromium or Chrome is what runs. POSIX only
(the pipe is set up on fds 3 and 4 of the child); on Windows use WSL.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import platform
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from dlcourse.errors import DlcourseError

#: Executable names tried on $PATH, in order.
CHROME_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
#: Where macOS keeps the browsers when they are not on $PATH.
MACOS_APPS = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
              "/Applications/Chromium.app/Contents/MacOS/Chromium")
HOW_TO_INSTALL = (
    "Install Chromium or Google Chrome:\n"
    "  Debian/Ubuntu: sudo apt-get install chromium   (Ubuntu without the package: sudo snap install chromium)\n"
    "  macOS: install Google Chrome or Chromium into /Applications (or: brew install --cask chromium)\n"
    "or point $DLCOURSE_CHROME at any Chrome/Chromium executable, e.g.\n"
    "  export DLCOURSE_CHROME=\"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome\"")
#: Flags for an unattended, offline headless browser; names that are not localhost never resolve,
#: so a request for a CDN fails at once (and is reported) instead of waiting on the network.
CHROME_FLAGS = ("--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--mute-audio", "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1")


def mathjax_dir() -> Path:
    """The folder holding MathJax 3's ``tex-chtml.js`` and what it loads (fonts, TeX extensions)."""
    try:
        import mathjax  # the django-static-mathjax distribution: MathJax's npm release as package data
    except ImportError:
        mathjax = None
    folder = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" if mathjax else None
    if folder is None or not (folder / "tex-chtml.js").is_file():
        raise DlcourseError("the local MathJax is missing (Python package django-static-mathjax, a dependency of "
                            "dlcourse): run `python3 -m pip install -e .` again in the repository.")
    return folder


def find_chrome() -> str:
    """The browser to use: ``$DLCOURSE_CHROME``, else Chromium/Chrome on ``$PATH``, else the macOS apps."""
    explicit = os.environ.get("DLCOURSE_CHROME", "").strip()
    if explicit:
        path = shutil.which(explicit) or explicit
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise DlcourseError(f"$DLCOURSE_CHROME={explicit!r} is not an executable file. Set it to the path of a "
                                "Chrome or Chromium executable, or unset it to search the usual places.")
        return path
    for name in CHROME_NAMES:
        found = shutil.which(name)
        if found:
            return found
    if platform.system() == "Darwin":
        for app in MACOS_APPS:
            if os.access(app, os.X_OK):
                return app
    raise DlcourseError("no Chrome or Chromium found (it turns the notebooks into the PDF and checks the book).\n"
                        + HOW_TO_INSTALL)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves ``server.mounts`` (URL prefix -> folder), quietly; nothing outside the mounts."""

    def translate_path(self, path: str) -> str:
        path = unquote(urlsplit(path).path)
        for prefix, folder in sorted(self.server.mounts.items(), key=lambda kv: -len(kv[0])):  # type: ignore[attr-defined]
            if path == prefix.rstrip("/") or path.startswith(prefix):
                rest = Path(path[len(prefix):].lstrip("/"))
                if ".." in rest.parts:
                    break
                return str(Path(folder) / rest)
        return str(Path(tempfile.gettempdir()) / "dlcourse-no-such-file")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


class LocalServer:
    """An HTTP server on 127.0.0.1 (a free port) for ``mounts`` ({"/": folder, "/mathjax/": folder})."""

    def __init__(self, mounts: dict[str, str | os.PathLike]):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.mounts = {p if p.endswith("/") else p + "/": Path(f) for p, f in mounts.items()}  # type: ignore[attr-defined]
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return self.base + "/" + path.lstrip("/")

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class CdpError(DlcourseError):
    """The browser answered a protocol call with an error, or did not answer in time."""


class Chrome:
    """A headless Chromium driven over the DevTools pipe. Use as a context manager.

    ``send`` writes one call and reads messages until its answer; events read meanwhile are kept in
    :attr:`events` (``(session_id, method, params)``) for the pages to inspect.
    """

    def __init__(self, executable: str | None = None, *, width: int = 1280, height: int = 900):
        self.executable = executable or find_chrome()
        self.width, self.height = width, height
        self.events: list[tuple[str | None, str, dict]] = []
        self._next_id = 0
        self._buffer = b""
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Chrome:
        if os.name != "posix":
            raise DlcourseError("driving Chromium needs Linux or macOS (on Windows, use WSL).")
        self._profile = tempfile.TemporaryDirectory(prefix="dlcourse-chrome-")
        self._log = open(Path(self._profile.name) / "chrome.log", "w+b")  # noqa: SIM115 - closed in __exit__
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def onto_3_and_4() -> None:  # in the child, before exec: the pipe ends become fds 3 and 4
            r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        flags = [*CHROME_FLAGS, f"--user-data-dir={self._profile.name}", "--remote-debugging-pipe",
                 f"--window-size={self.width},{self.height}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
        try:
            self._proc = subprocess.Popen([self.executable, *flags, "about:blank"], stdin=subprocess.DEVNULL,
                                          stdout=self._log, stderr=self._log, pass_fds=(3, 4),
                                          preexec_fn=onto_3_and_4)
        except OSError as e:
            self._cleanup()
            raise DlcourseError(f"could not start {self.executable}: {e}\n{HOW_TO_INSTALL}") from e
        finally:
            os.close(to_chrome_r)
            os.close(from_chrome_w)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(CdpError, OSError):
                self.send("Browser.close", timeout=5)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        for fd in (getattr(self, "_to_chrome", None), getattr(self, "_from_chrome", None)):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._log.close()
        self._profile.cleanup()

    def _log_tail(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise CdpError("the browser did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise CdpError(f"the browser ({self.executable}) exited unexpectedly:\n{self._log_tail()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60) -> dict:
        """Call ``method`` (on page ``session``) and return its result; raise :class:`CdpError` on an error."""
        self._next_id += 1
        call = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            call["sessionId"] = session
        data = json.dumps(call).encode() + b"\0"
        while data:
            data = data[os.write(self._to_chrome, data):]
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_message(deadline)
            if msg.get("id") == self._next_id:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error'].get('message')} {msg['error'].get('data', '')}".strip())
                return msg.get("result", {})
            if "method" in msg:
                self.events.append((msg.get("sessionId"), msg["method"], msg.get("params", {})))

    def wait_for(self, method: str, session: str | None, timeout: float = 60, since: int = 0) -> dict:
        """The first event ``method`` of ``session`` at or after index ``since`` of :attr:`events`."""
        deadline = time.monotonic() + timeout
        while True:
            for sid, name, params in self.events[since:]:
                if name == method and sid == session:
                    return params
            msg = self._read_message(deadline)
            if "method" in msg:
                self.events.append((msg.get("sessionId"), msg["method"], msg.get("params", {})))

    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                         "deviceScaleFactor": 1, "mobile": False}, session=session)
        return page


class Page:
    """One browser tab: navigate, evaluate JavaScript, print to PDF, take screenshots."""

    def __init__(self, chrome: Chrome, target: str, session: str):
        self.chrome, self.target, self.session = chrome, target, session
        self._start = 0

    def send(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        return self.chrome.send(method, params, session=self.session, timeout=timeout)

    def goto(self, url: str, timeout: float = 60) -> None:
        """Load ``url`` and wait for its load event; :meth:`requests` then lists what it fetched."""
        self._start = len(self.chrome.events)
        result = self.send("Page.navigate", {"url": url}, timeout=timeout)
        if result.get("errorText"):
            raise CdpError(f"could not open {url}: {result['errorText']}")
        self.chrome.wait_for("Page.loadEventFired", self.session, timeout=timeout, since=self._start)

    def evaluate(self, expression: str, timeout: float = 60) -> Any:
        """The value of a JavaScript expression (promises are awaited); page exceptions raise CdpError."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True, "timeout": timeout * 1000}, timeout=timeout + 5)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CdpError(f"JavaScript error: {details.get('exception', {}).get('description') or details.get('text')}")
        return result["result"].get("value")

    def _events(self, method: str) -> Iterator[dict]:
        for sid, name, params in self.chrome.events[self._start:]:
            if sid == self.session and name == method:
                yield params

    def requests(self) -> list[str]:
        """URLs this page requested since the last :meth:`goto` (redirects included)."""
        return [p["request"]["url"] for p in self._events("Network.requestWillBeSent")]

    def failed_responses(self) -> list[str]:
        """``"404 URL"`` for every HTTP error status this page received since the last :meth:`goto`."""
        return [f"{p['response']['status']} {p['response']['url']}" for p in self._events("Network.responseReceived")
                if p["response"].get("status", 200) >= 400]

    def exceptions(self) -> list[str]:
        """Uncaught JavaScript exceptions since the last :meth:`goto`."""
        out = []
        for p in self._events("Runtime.exceptionThrown"):
            d = p["exceptionDetails"]
            out.append((d.get("exception", {}).get("description") or d.get("text", "")).splitlines()[0])
        return out

    def pdf(self, **options: Any) -> bytes:
        """``Page.printToPDF`` with ``options`` (DevTools names); returns the PDF's bytes."""
        result = self.send("Page.printToPDF", {"printBackground": True, **options}, timeout=300)
        return base64.b64decode(result["data"])

    def screenshot(self, path: str | os.PathLike, *, full_page: bool = False, max_height: int = 16000) -> Path:
        """Write a PNG of the viewport (or of the whole page, up to ``max_height`` pixels) to ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            height = min(int(self.evaluate("document.documentElement.scrollHeight")), max_height)
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": self.chrome.width, "height": height, "scale": 1})
        path = Path(path)
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params, timeout=120)["data"]))
        return path

    def close(self) -> None:
        with contextlib.suppress(CdpError):
            self.chrome.send("Target.closeTarget", {"targetId": self.target})


#: Waits until MathJax has typeset, fonts and images have loaded; then lists what a reader would see
#: wrong. Code and plain-text outputs (pre, code, .highlight) may hold TeX or pipes legitimately.
#:
#: :meta hide-value:
AUDIT_JS = r"""
(async () => {
  const MJ = window.MathJax;
  if (MJ && MJ.startup && MJ.startup.promise) { await MJ.startup.promise; }
  await document.fonts.ready;
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  const skip = 'script,style,pre,code,textarea,mjx-container,.highlight,.dlcourse-raw-ok';
  const clip = s => s.replace(/\s+/g, ' ').trim().slice(0, 120);
  const where = e => { const a = e && e.closest('[id]'); return a ? a.id : null; };
  const add = (list, e, text) => list.push([where(e), clip(text)]);
  const out = {rawTex: [], mathErrors: [], brokenImages: [], textTables: [],
               typeset: document.querySelectorAll('mjx-container').length,
               mathjax: !!(MJ && MJ.version), title: document.title};
  const tex = /\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\\frac\{|\\mathbb\{/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode: n =>
      n.parentElement && n.parentElement.closest(skip) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (tex.test(n.nodeValue)) { add(out.rawTex, n.parentElement, n.parentElement.textContent); }
  }
  // TeX that MathJax could not parse becomes an merror; an undefined macro becomes red text
  // (the noundefined extension): both are math a reader cannot read.
  const items = MJ && MJ.startup && MJ.startup.document ? [...MJ.startup.document.math] : [];
  for (const item of items) {
    let why = null;
    item.root.walkTree(node => {
      if (why) return;
      if (node.isKind('merror')) { why = node.attributes.get('data-mjx-error') || 'error'; }
      else if (node.isKind('mtext') && node.attributes.get('mathcolor') === 'red') {
        const text = node.childNodes.map(c => c.getText ? c.getText() : '').join('');
        if (text.startsWith('\\')) { why = 'undefined control sequence ' + text; }
      }
    });
    if (why) { add(out.mathErrors, item.start && item.start.node && item.start.node.parentElement, why + ' in ' + item.math); }
  }
  for (const e of document.querySelectorAll('mjx-merror')) {
    if (!items.length) { add(out.mathErrors, e, e.getAttribute('data-mjx-error') || e.textContent); }
  }
  for (const img of document.images) {
    if (!img.naturalWidth) { add(out.brokenImages, img, img.getAttribute('src') || '(no src)'); }
  }
  const sep = /\|\s*:?-{3,}:?\s*\|/;
  for (const e of document.querySelectorAll('p, li, div, span, td')) {
    if (e.closest(skip)) continue;
    const own = [...e.childNodes].filter(c => c.nodeType === 3).map(c => c.nodeValue).join('');
    if (sep.test(own) || (e.tagName === 'P' && sep.test(e.textContent))) { add(out.textTables, e, e.textContent); }
  }
  const unique = list => [...new Map(list.map(x => [JSON.stringify(x), x])).values()];
  for (const k of ['rawTex', 'mathErrors', 'brokenImages', 'textTables']) { out[k] = unique(out[k]); }
  return out;
})()
"""


def is_local(url: str, base: str) -> bool:
    """Whether a request stays on this machine: the local server, inline data, or the page itself."""
    return url.startswith((base + "/", "data:", "blob:", "about:")) or url == base


def audit(page: Page, base: str, timeout: float = 120) -> tuple[list[tuple[str | None, str]], dict]:
    """What a reader would see wrong on the loaded page, as ``(where, problem)`` pairs, and the findings.

    ``where`` is the ``id`` of the nearest enclosing element with one (a section, a notebook cell),
    or ``None`` for the page as a whole. ``base`` is the local server's address: any other request
    has left (or tried to leave) the machine.
    """
    found = page.evaluate(AUDIT_JS, timeout=timeout)
    problems: list[tuple[str | None, str]] = []
    problems += [(None, f"request leaves the machine: {u}") for u in page.requests() if not is_local(u, base)]
    problems += [(None, f"HTTP error: {r}") for r in page.failed_responses() if not r.endswith("/favicon.ico")]
    problems += [(w, f"untypeset math: {t!r}") for w, t in found["rawTex"]]
    problems += [(w, f"MathJax error: {t}") for w, t in found["mathErrors"]]
    problems += [(w, f"broken image: {t}") for w, t in found["brokenImages"]]
    problems += [(w, f"markdown table left as text: {t!r}") for w, t in found["textTables"]]
    problems += [(None, f"JavaScript error: {e}") for e in page.exceptions()]
    return problems, found


@functools.lru_cache(maxsize=1)
def chrome_version(executable: str | None = None) -> str:
    """The browser's version line (for reports)."""
    exe = executable or find_chrome()
    try:
        return subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout.strip() or exe
    except (OSError, subprocess.SubprocessError):
        return exe
