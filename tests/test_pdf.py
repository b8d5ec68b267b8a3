"""The whole book as a PDF (fmnist_helpers/pdf.py, ``make pdf``): every chapter, figure, an outline, page numbers."""

from __future__ import annotations

import base64
import collections
import io
import json
import re
from pathlib import Path

import pytest
import yaml

from fmnist_helpers import pdf
from fmnist_helpers.book import BOOK_DIR, CHAPTERS

from .conftest import ROOT

#: Each page of the table of contents with its title: a chapter's is its first line, ``# TITLE``.
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"], *(entry["file"] for part in TOC["parts"] for chapter in part["chapters"]
                        for entry in [chapter, *chapter.get("sections", [])])]


def title(page: str) -> str:
    path = next((ROOT / page).parent.glob(Path(page).name + ".*"))
    if path.suffix == ".ipynb":
        text = "".join(json.loads(path.read_text())["cells"][0]["source"])
    else:
        text = path.read_text()
    return re.search(r"^# (.+)$", text, re.M)[1].strip()


def figure_sizes() -> collections.Counter[tuple[int, int]]:
    """The pixel size of each figure the chapters' visible cells drew (folded solutions included)."""
    from PIL import Image

    sizes: collections.Counter[tuple[int, int]] = collections.Counter()
    for chapter in CHAPTERS:
        for cell in json.loads((BOOK_DIR / f"{chapter}.ipynb").read_text())["cells"]:
            if cell["cell_type"] != "code" or "remove-cell" in cell["metadata"].get("tags", []):
                continue
            for output in cell.get("outputs", []):
                if "image/png" in output.get("data", {}):
                    image = Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"])))
                    sizes[image.size] += 1
    return sizes


@pytest.fixture(scope="module")
def book_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PDF, built as ``make pdf`` builds it, into a temporary folder."""
    return pdf.build_pdf(ROOT, tmp_path_factory.mktemp("pdf") / pdf.PDF_NAME)


@pytest.fixture(scope="module")
def reader(book_pdf: Path):
    from pypdf import PdfReader

    return PdfReader(book_pdf)


@pytest.fixture(scope="module")
def text(reader) -> str:
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.mark.slow
def test_the_pdf_has_a_page_per_few_hundred_words_and_numbers_them(reader, text):
    pages = len(reader.pages)
    # Nine chapters, the appendix's tables, the API reference: more than 50 pages; a layout
    # that lost its print styles (one figure a page, or the side bars) would run past 300.
    assert 50 <= pages <= 300, pages
    for number in (1, pages // 2, pages):
        assert f"{number} / {pages}" in " ".join(reader.pages[number - 1].extract_text().split())


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_every_page_of_the_book_is_in_the_text_and_the_outline(reader, text, page):
    def titles(outline) -> list[str]:
        return [entry for item in outline
                for entry in (titles(item) if isinstance(item, list) else [" ".join(item.title.split())])]

    assert title(page) in text
    # Chromium drops the space where a long heading wraps ("recipebuy?"): compare without spaces.
    assert title(page).replace(" ", "") in [entry.replace(" ", "") for entry in titles(reader.outline)]


@pytest.mark.slow
def test_every_figure_is_in_the_pdf(reader):
    drawn = collections.Counter(image.image.size for page in reader.pages for image in page.images)
    assert sum(figure_sizes().values()) >= 10
    assert not figure_sizes() - drawn, "figures missing from the PDF, by pixel size"


@pytest.mark.slow
def test_the_in_browser_page_is_a_link_to_the_site(text):
    assert "This page runs the book's model in your web browser, so it cannot be printed." in text
    assert "fm-canvas" not in text and "Draw with the mouse" not in text


def test_the_pdf_needs_chromium(tmp_path):
    with pytest.raises(pdf.PdfError, match=r"no-chromium does not exist; install Debian's Chromium with "
                                           r"`apt-get install chromium`"):
        pdf.build_pdf(ROOT, tmp_path / "book.pdf", chromium=tmp_path / "no-chromium")
    assert not (tmp_path / "book.pdf").exists()


def test_print_pdf_names_a_missing_page(tmp_path):
    with pytest.raises(pdf.PdfError, match=r"missing\.html does not exist; build it first"):
        pdf.print_pdf(tmp_path / "missing.html", tmp_path / "book.pdf")


def test_the_release_collects_the_files_under_their_names():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^release-assets:.*\n((?:\t.*\n)+)", makefile, re.M)[1]
    assert f"{pdf.PDF_BUILD_DIR.as_posix()}/{pdf.PDF_NAME}" in recipe
    assert f"_build/html/{pdf.NOTEBOOKS_ZIP}" in recipe
    assert re.search(r"^pdf: .*\n\t\$\(PY\) -m fmnist_helpers\.pdf$", makefile, re.M)
