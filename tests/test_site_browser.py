"""Open every page of the built site in headless Chromium, served on localhost."""

from __future__ import annotations

import functools
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlparse

import pytest

from fmnist_helpers.book import BOOK_DIR, CHAPTERS

from .site_build import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# Root needs --no-sandbox; the rest keep Chromium from calling home on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOST = "127.0.0.1"
#: Each page's name (its test id and screenshot name) and its path in the site.
PAGES = {"index": "index.html", "intro": "book/intro.html", **{name: f"book/{name}.html" for name in CHAPTERS},
         "8_in_the_browser": "book/8_in_the_browser.html", "api": "book/api.html"}
#: The CI artifact: one full-page screenshot per page (``_build/`` is git-ignored).
SCREENSHOTS = ROOT / "_build" / "screenshots"
#: Chromium's wording for a resource it could not fetch at all (DNS, refused, ...).
NETWORK_FAILURE = re.compile(r"net::ERR_[A-Z_]+")


class SiteHandler(SimpleHTTPRequestHandler):
    """Serve the site's files without logging every request to stderr.

    Chromium asks every host for ``/favicon.ico`` when a page names no icon. The book
    names none, and once published under ``https://<owner>.github.io/<repository>/``
    that address lies outside it, so the server answers "204 No Content" rather than a
    404 that would show up, or not, depending on timing, as a console error of the page.
    """

    def do_GET(self) -> None:
        if self.path == "/favicon.ico" and not Path(self.directory, "favicon.ico").is_file():
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class SiteServer(ThreadingHTTPServer):
    """A threading HTTP server that takes a closed connection calmly.

    A test that moves on while a page still downloads a large file (the in-browser page's
    WebAssembly) closes the connection under the server; that is no error of the site, so
    it is not printed as a traceback.
    """

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """Serve the site on an OS-chosen port of 127.0.0.1; yield its base URL."""
    handler = functools.partial(SiteHandler, directory=str(site))
    httpd = SiteServer((HOST, 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://{HOST}:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.txt")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (empty storage) per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    yield context
    context.close()


def is_ignorable(text: str, url: str) -> bool:
    """Whether a console error is a failed fetch from another host than the test server.

    The test machine has no internet; the readers do. Anything else (JavaScript errors,
    a 404 from the site itself, a failure of the site's own files) counts.
    """
    return bool(NETWORK_FAILURE.search(text)) and urlparse(url).hostname not in (None, HOST)


@pytest.mark.parametrize(
    ("text", "url", "ignorable"),
    [
        ("Failed to load resource: net::ERR_NAME_NOT_RESOLVED", "https://unpkg.com/thebe/lib/index.js", True),
        ("Failed to load resource: net::ERR_CONNECTION_REFUSED", "https://fonts.gstatic.com/a.woff2", True),
        ("Failed to load resource: net::ERR_CONNECTION_REFUSED", f"http://{HOST}:8000/_static/a.js", False),
        ("Failed to load resource: net::ERR_FILE_NOT_FOUND", "", False),
        ("Failed to load resource: the server responded with a status of 404", "https://unpkg.com/a.js", False),
        ("Uncaught TypeError: x is undefined", "https://unpkg.com/a.js", False),
    ],
    ids=["external-dns", "external-refused", "local-refused", "no-url", "external-404", "javascript"],
)
def test_only_network_failures_of_other_hosts_are_ignored(text, url, ignorable):
    assert is_ignorable(text, url) is ignorable


@dataclass
class Visit:
    """A loaded page and the console errors it reported while loading."""

    page: Any
    errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def visit(context: Any, server: str, name: str) -> Visit:
    """Open a page, wait until it and its resources have loaded, and collect its errors."""
    page = context.new_page()
    result = Visit(page)

    def on_console(message: Any) -> None:
        if message.type == "error":
            url = message.location.get("url", "")
            line = f"console error: {message.text} ({url})"
            (result.ignored if is_ignorable(message.text, url) else result.errors).append(line)

    page.on("console", on_console)
    page.on("pageerror", lambda error: result.errors.append(f"page error: {error}"))
    response = page.goto(server + PAGES[name], wait_until="load")
    assert response is not None and response.status == 200, f"{PAGES[name]}: {response and response.status}"
    if name == "index":  # jupyter-book's index.html redirects to the root page
        page.wait_for_url(server + PAGES["intro"])
    page.wait_for_load_state("load")
    page.wait_for_load_state("networkidle")
    for line in result.ignored:
        print(f"{name}: ignored {line}")
    return result


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_errors(context, server, name):
    loaded = visit(context, server, name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    loaded.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    assert not loaded.errors, "\n".join(loaded.errors)


@pytest.mark.parametrize("name", PAGES)
def test_every_image_is_decoded(context, server, name):
    page = visit(context, server, name).page
    images = page.eval_on_selector_all(
        "img", "images => images.map(image => [image.getAttribute('src'), image.naturalWidth])"
    )
    assert [src for src, width in images if width == 0] == [], f"broken among the {len(images)} images of {name}"


@pytest.mark.parametrize("name", PAGES)
def test_table_of_contents_links_every_chapter(context, server, name):
    page = visit(context, server, name).page
    toc = page.locator("nav.bd-docs-nav")
    assert toc.is_visible(), f"no visible table of contents in the sidebar of {name}"
    hrefs = toc.locator("a.reference.internal").evaluate_all("links => links.map(link => link.href)")
    targets = sorted({urldefrag(href).url for href in hrefs})
    assert {server + PAGES[chapter] for chapter in CHAPTERS} <= set(targets), targets
    other = context.new_page()
    for target in targets:
        response = other.goto(target, wait_until="domcontentloaded")
        assert response is not None and response.status == 200, f"{name}: {target}"
        assert other.url == target


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_launch_and_download_buttons(context, server, chapter):
    page = visit(context, server, chapter).page
    colab = page.locator('a[href^="https://colab.research.google.com/github/"]')
    assert colab.count() >= 1, f"no Colab launch button on {chapter}"
    for href in colab.evaluate_all("links => links.map(link => link.href)"):
        # https://colab.research.google.com/github/<owner>/<repository>/blob/<branch>/<path>
        _, _, _owner, _repository, blob, _branch, *path = urlparse(href).path.split("/")
        assert blob == "blob" and ROOT.joinpath(*path) == BOOK_DIR / f"{chapter}.ipynb", (
            f"the Colab button of {chapter} opens {'/'.join(path)}, not book/{chapter}.ipynb: {href}"
        )
    download = page.locator(f'a[href$="_sources/book/{chapter}.ipynb"]')
    assert download.count() >= 1, f"no download button for {chapter}.ipynb on {chapter}"
    response = context.request.get(download.first.evaluate("link => link.href"))
    assert response.status == 200
    assert "cells" in response.json()
