"""Tests of book/_ext/colab_badge.py and book/_ext/downloads.py (the Colab badge, the downloads, the PDF's link)."""

from __future__ import annotations

import importlib.util
import zipfile
from types import SimpleNamespace

from fmnist_helpers.book import BOOK_DIR, CHAPTERS
from fmnist_helpers.pdf import NOTEBOOKS_ZIP, PDF_NAME


def load_extension(name: str):
    spec = importlib.util.spec_from_file_location(name, BOOK_DIR / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


colab_badge = load_extension("colab_badge")
downloads = load_extension("downloads")
REPOSITORY = "https://github.com/an-owner/A-Book"


def app(builder: str = "html") -> SimpleNamespace:
    return SimpleNamespace(config=SimpleNamespace(html_theme_options={"repository_url": REPOSITORY}),
                           builder=SimpleNamespace(name=builder))


def test_the_badge_opens_the_notebook_in_colab():
    assert colab_badge.colab_url(REPOSITORY, "main", "book/1_load.ipynb") == (
        "https://colab.research.google.com/github/an-owner/A-Book/blob/main/book/1_load.ipynb")


def test_the_notebooks_zip_holds_every_chapter_and_the_same_notebooks_give_the_same_bytes(tmp_path):
    first = downloads.write_notebooks_zip(BOOK_DIR, tmp_path / "one" / NOTEBOOKS_ZIP)
    second = downloads.write_notebooks_zip(BOOK_DIR, tmp_path / "two" / NOTEBOOKS_ZIP)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == [f"notebooks/{chapter}.ipynb" for chapter in sorted(CHAPTERS)]
        assert archive.read("notebooks/1_load.ipynb") == (BOOK_DIR / "1_load.ipynb").read_bytes()


def test_the_site_links_the_zip_beside_it_and_the_pdf_of_the_latest_release():
    source = ["[PDF](@PDF_URL@) <a href=\"@NOTEBOOKS_URL@\">zip</a>"]
    downloads.fill_placeholders(app(), "book/intro", source)
    assert source == [f"[PDF]({REPOSITORY}/releases/latest/download/{PDF_NAME}) "
                      f"<a href=\"../{NOTEBOOKS_ZIP}\">zip</a>"]


def test_the_pdf_links_the_zip_of_the_latest_release():
    source = ["<a href=\"@NOTEBOOKS_URL@\">zip</a>"]
    downloads.fill_placeholders(app("singlehtml"), "book/intro", source)
    assert source == [f"<a href=\"{REPOSITORY}/releases/latest/download/{NOTEBOOKS_ZIP}\">zip</a>"]


def test_the_in_browser_page_is_linked_on_github_pages():
    assert downloads.site_url(app(), "book/8_in_the_browser") == (
        "https://an-owner.github.io/A-Book/book/8_in_the_browser.html")


def test_the_top_bar_gets_the_pdf_and_the_zip():
    context = {"header_buttons": [], "pathto": lambda name, resource: f"../{name}"}
    downloads.add_buttons(app(), "book/intro", "page.html", context, None)
    assert [button["url"] for button in context["header_buttons"]] == [
        f"{REPOSITORY}/releases/latest/download/{PDF_NAME}", f"../{NOTEBOOKS_ZIP}"]
