"""Build the site from the committed chapters (no execution) and check the HTML."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from bs4 import BeautifulSoup

from fmnist_helpers.book import BOOK_DIR, CHAPTERS

pytestmark = pytest.mark.slow

ROOT = BOOK_DIR.parent
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
#: The in-browser page (book/8_in_the_browser.md) is a section of chapter 8, not a notebook;
#: "About this book" (book/about.md) closes the book.
PAGES = ["intro", *CHAPTERS, "8_in_the_browser", "api", "about"]


def soup(site: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup((site / "book" / f"{page}.html").read_text(), "html.parser")


def test_index_and_every_page_exist(site):
    assert (site / "index.html").is_file()
    for page in PAGES:
        assert (site / "book" / f"{page}.html").is_file(), page


def test_the_workflow_summary_counts_the_book_pages(site):
    # make summary's page count, on the real site: the table of contents' pages, nothing else.
    from fmnist_helpers.publish import count_pages

    assert count_pages(site) == len(PAGES)


def count_plots(chapter: str) -> int:
    """Images among the outputs of the chapter's visible cells."""
    notebook = json.loads((BOOK_DIR / f"{chapter}.ipynb").read_text())
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook["cells"]
        if cell["cell_type"] == "code" and "remove-cell" not in cell["metadata"].get("tags", [])
        for output in cell["outputs"]
    )


@pytest.mark.parametrize("page", CHAPTERS)
def test_every_plot_is_an_image_that_exists(site, page):
    images = soup(site, page).select("div.cell_output img")
    assert len(images) == count_plots(page)
    for image in images:
        assert (site / "book" / image["src"]).resolve().is_file(), image["src"]


def test_the_book_has_plots():
    assert sum(count_plots(chapter) for chapter in CHAPTERS) >= 10


@pytest.mark.parametrize("page", CHAPTERS)
def test_no_traceback_or_stderr(site, page):
    html = soup(site, page)
    assert not html.select(".output.traceback, .output.stderr, .output.error")
    assert "Traceback (most recent call last)" not in html.get_text()


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(site, page):
    for link in soup(site, page).select("a[href]"):
        url = urlparse(link["href"])
        if url.scheme or url.netloc or not url.path:
            continue
        assert (site / "book" / url.path).resolve().exists(), f"{page}: {link['href']}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_launch_and_download_buttons(site, page):
    html = soup(site, page)
    repository = urlparse(CONFIG["repository"]["url"]).path
    colab = f"https://colab.research.google.com/github{repository}/blob/main/book/{page}.ipynb"
    assert html.select(f'a[href="{colab}"]'), f"no Colab button for {page}"
    downloads = [a["href"] for a in html.select("a[href]") if a["href"].endswith(f"{page}.ipynb")]
    assert any("_sources" in href for href in downloads), downloads
    for href in downloads:
        if "_sources" in href:
            assert (site / "book" / href).resolve().is_file()


@pytest.mark.parametrize("page", CHAPTERS)
def test_colab_badge_under_the_title_opens_the_chapter(site, page):
    html = soup(site, page)
    repository = urlparse(CONFIG["repository"]["url"]).path
    colab = f"https://colab.research.google.com/github{repository}/blob/main/book/{page}.ipynb"
    (badge,) = html.select("p.colab-badge a")
    assert badge["href"] == colab
    assert badge.find_parent("section").find("h1") is not None
    assert badge.find("svg") is not None  # drawn in the page: nothing to fetch


@pytest.mark.parametrize("page", PAGES)
def test_top_bar_offers_the_pdf_the_notebooks_an_issue_and_an_edit(site, page):
    from fmnist_helpers.pdf import NOTEBOOKS_ZIP, PDF_NAME

    html = soup(site, page)
    links = {link["href"] for link in html.select(".bd-header-article a[href], .article-header-buttons a[href]")}
    repository = CONFIG["repository"]["url"]
    assert f"{repository}/releases/latest/download/{PDF_NAME}" in links
    assert f"../{NOTEBOOKS_ZIP}" in links
    assert any(href.startswith(f"{repository}/issues/new?") for href in links), links
    source = next(path for path in (ROOT / "book").glob(f"{page}.*") if path.suffix in (".md", ".ipynb"))
    assert f"{repository}/edit/main/book/{source.name}" in links


def test_the_notebooks_zip_holds_every_chapter_as_committed(site):
    import zipfile

    from fmnist_helpers.pdf import NOTEBOOKS_ZIP

    with zipfile.ZipFile(site / NOTEBOOKS_ZIP) as archive:
        assert archive.namelist() == [f"notebooks/{chapter}.ipynb" for chapter in sorted(CHAPTERS)]
        for chapter in CHAPTERS:
            assert archive.read(f"notebooks/{chapter}.ipynb") == (BOOK_DIR / f"{chapter}.ipynb").read_bytes()


def test_the_introduction_links_the_pdf_and_the_notebooks(site):
    from fmnist_helpers.pdf import NOTEBOOKS_ZIP, PDF_NAME

    hrefs = [link["href"] for link in soup(site, "intro").select("article a[href], main a[href]")]
    assert f"{CONFIG['repository']['url']}/releases/latest/download/{PDF_NAME}" in hrefs
    assert f"../{NOTEBOOKS_ZIP}" in hrefs


def test_glued_numbers_are_rendered(site):
    text = soup(site, "1_load").get_text()
    assert "there are 60,000 training images and 10,000 test images" in " ".join(text.split())


def test_api_reference_documents_every_public_name(site):
    # Each name of the package's __all__ has an anchor on the reference page, under the module
    # that defines it (the first of the package's modules whose __all__ lists it).
    import importlib

    import fmnist_helpers

    modules = [importlib.import_module(f"fmnist_helpers.{path.stem}")
               for path in sorted(Path(fmnist_helpers.__file__).parent.glob("[!_]*.py"))]
    anchors = {element["id"] for element in soup(site, "api").select("dt[id]")}
    for name in fmnist_helpers.__all__:
        homes = [module.__name__ for module in modules if name in getattr(module, "__all__", ())]
        assert homes and f"{homes[0]}.{name}" in anchors, name


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_links_reach_the_api_reference(site, page):
    anchors = {element["id"] for element in soup(site, "api").select("[id]")}
    targets = [link["href"].partition("#")[2] for link in soup(site, page).select("a[href]")
               if link["href"].startswith("api.html#")]
    assert targets, f"{page} links nothing in the API reference"
    assert set(targets) <= anchors, set(targets) - anchors
