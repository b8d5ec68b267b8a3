"""The whole book as one PDF: Debian's Chromium prints a ``singlehtml`` build (``make pdf``).

Usage: ``python -m fmnist_helpers.pdf [--output PATH]``. Jupyter Book builds every page of
the table of contents into one HTML file (``_build/pdf/_build/singlehtml``, apart from the
site in ``_build/html``); Playwright drives Debian's ``/usr/bin/chromium`` (never a browser
of its own) to print it, with an outline of the headings and page numbers. Nothing is
fetched from the network: every request that is not a local file is refused.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .book import BOOK_DIR

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "NOTEBOOKS_ZIP",
    "PDF_BUILD_DIR",
    "PDF_NAME",
    "PdfError",
    "build_pdf",
    "build_singlehtml",
    "print_pdf",
]

#: The repository's top folder (the PDF is built from a checkout).
ROOT = BOOK_DIR.parent
#: The PDF's file name, on the site's top bar and in each GitHub release.
PDF_NAME = "fashion-mnist-with-keras.pdf"
#: The zip of every chapter's notebook, which the site build writes to the site's top folder.
NOTEBOOKS_ZIP = "fashion-mnist-with-keras-notebooks.zip"
#: The PDF build's folder, relative to the top folder: the singlehtml build lands in its
#: ``_build/singlehtml``, the PDF beside it. ``_build/html`` (the site) is left alone.
PDF_BUILD_DIR = Path("_build") / "pdf"
#: The whole book's page in the singlehtml build's top folder.
SINGLE_PAGE = "book.html"
#: Debian's Chromium (``apt-get install chromium``; ``make test-packages`` installs it).
CHROMIUM = Path("/usr/bin/chromium")
#: Root needs --no-sandbox; the rest keep Chromium from calling home on a closed network.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: Printed pages: the site's chrome (top bar, side bars, the previous/next links, the
#: buttons) is left out, each page of the book starts on a new sheet, and the folded
#: solutions are open (``<details>`` opened before printing).
PRINT_CSS = """
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .header-article, .bd-header-article,
.prev-next-area, .bd-footer, .bd-footer-article, .bd-footer-content, footer, #pst-back-to-top,
.headerlink, .toggle-button, .copybtn, .skip-link, .search-button-field, .colab-badge
  { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.bd-page-width { max-width: 100% !important; }
span[id^="document-"] + section { break-before: page; }
img, figure, table, .cell_output { break-inside: avoid; }
"""
#: Page numbers, centred at the foot of each page.
FOOTER = ('<div style="font-size: 8pt; width: 100%; text-align: center; color: #555;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


class PdfError(RuntimeError):
    """The PDF could not be built: the build failed, or Chromium is missing."""


def build_singlehtml(root: str | os.PathLike[str] = ROOT,
                     output_dir: str | os.PathLike[str] | None = None) -> Path:
    """Build the whole book as one HTML page, with warnings as errors; return that page.

    Parameters
    ----------
    root
        The repository's top folder.
    output_dir
        Passed to ``jupyter-book build --path-output``; by default ``root/_build/pdf``.

    Returns
    -------
    Path
        ``output_dir/_build/singlehtml/book.html``: the page Sphinx writes as the table of
        contents' root (``book/intro.html``), in the folder its links are relative to.

    Raises
    ------
    PdfError
        If ``jupyter-book build`` fails; the message ends with its output.
    """
    root = Path(root)
    output_dir = root / PDF_BUILD_DIR if output_dir is None else Path(output_dir)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(root), "--builder", "singlehtml",
               "--path-output", str(output_dir), "-W", "-n", "--keep-going"]
    result = subprocess.run(command, capture_output=True, text=True)
    import yaml  # PyYAML, which Jupyter Book needs

    root_page = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))["root"]
    built = output_dir / "_build" / "singlehtml" / f"{root_page}.html"
    if result.returncode != 0 or not built.is_file():
        raise PdfError(
            f"jupyter-book build --builder singlehtml failed with exit code {result.returncode}; "
            f"fix the warnings below, or run `{' '.join(command)}` to see them all.\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    # Sphinx writes the page as book/intro.html, but its links (_static/, _images/) are
    # relative to the build's top folder: the page is read from there.
    page = output_dir / "_build" / "singlehtml" / SINGLE_PAGE
    page.write_bytes(built.read_bytes())
    return page


def print_pdf(html: str | os.PathLike[str], pdf: str | os.PathLike[str],
              chromium: str | os.PathLike[str] = CHROMIUM) -> Path:
    """Print an HTML file to a PDF with an outline and page numbers, offline.

    Parameters
    ----------
    html
        The page to print, such as the singlehtml build's page.
    pdf
        Where to write the PDF (its folder is created).
    chromium
        The browser to drive (Debian's Chromium; Playwright's own is never downloaded).

    Returns
    -------
    Path
        ``pdf``.

    Raises
    ------
    PdfError
        If ``chromium`` or ``html`` does not exist.
    """
    from playwright.sync_api import sync_playwright

    html, pdf, chromium = Path(html).resolve(), Path(pdf), Path(chromium)
    if not chromium.is_file():
        raise PdfError(f"{chromium} does not exist; install Debian's Chromium with "
                       "`apt-get install chromium` (make test-packages does), then run `make pdf` again")
    if not html.is_file():
        raise PdfError(f"{html} does not exist; build it first (make pdf builds it)")
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page()
            # Offline: only the build's own files load.
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                       else route.abort())
            page.goto(html.as_uri(), wait_until="load")
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            page.add_style_tag(content=PRINT_CSS)
            page.emulate_media(media="print")
            page.pdf(path=str(pdf), format="A4", print_background=True, outline=True, tagged=True,
                     display_header_footer=True, header_template="<span></span>",
                     footer_template=FOOTER,
                     margin={"top": "15mm", "bottom": "18mm", "left": "15mm", "right": "15mm"})
        finally:
            browser.close()
    return pdf


def build_pdf(root: str | os.PathLike[str] = ROOT, output: str | os.PathLike[str] | None = None,
              chromium: str | os.PathLike[str] = CHROMIUM) -> Path:
    """Build the singlehtml book and print it: the whole book as one PDF.

    Parameters
    ----------
    root
        The repository's top folder.
    output
        The PDF's path; by default ``root/_build/pdf/`` and :data:`PDF_NAME`.
    chromium
        The browser that prints it.

    Returns
    -------
    Path
        The PDF.

    Raises
    ------
    PdfError
        If the build fails or Chromium is missing (checked first).
    """
    root = Path(root)
    if not Path(chromium).is_file():
        raise PdfError(f"{chromium} does not exist; install Debian's Chromium with "
                       "`apt-get install chromium` (make test-packages does), then run `make pdf` again")
    output = root / PDF_BUILD_DIR / PDF_NAME if output is None else Path(output)
    return print_pdf(build_singlehtml(root, output.parent), output, chromium)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (1, with ``error: ...``, on failure)."""
    parser = argparse.ArgumentParser(prog="python -m fmnist_helpers.pdf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository's top folder")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"the PDF (default: {PDF_BUILD_DIR.as_posix()}/{PDF_NAME})")
    args = parser.parse_args(argv)
    try:
        pdf = build_pdf(args.root, args.output)
    except PdfError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"PDF built: {pdf} ({pdf.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
