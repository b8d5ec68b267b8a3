"""Sphinx extension: the book's downloads (every notebook as a zip, the PDF) and its PDF build.

Jupyter Book loads it through ``sphinx.local_extensions`` in ``_config.yml``. It

- writes every chapter's notebook (``book/*.ipynb``, with the outputs the site shows) into
  one zip in the site's top folder (:data:`fmnist_helpers.pdf.NOTEBOOKS_ZIP`), with fixed
  dates so that the same notebooks give the same bytes;
- adds two buttons to the top bar of every page: the whole book as a PDF (the latest
  GitHub release's, which the release workflow attaches) and the notebooks' zip;
- fills ``@PDF_URL@`` and ``@NOTEBOOKS_URL@`` in the pages' text (the introduction links both);
- in the ``singlehtml`` build that ``make pdf`` prints, replaces the in-browser page, which
  cannot run on paper, with a link to it on the published site.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from docutils import nodes

from sphinx import addnodes
from sphinx.application import Sphinx

from fmnist_helpers.pdf import NOTEBOOKS_ZIP, PDF_NAME

#: The in-browser page, as a Sphinx document name.
IN_BROWSER_PAGE = "book/8_in_the_browser"
#: A date inside the zip for every file (zip's epoch, 1980), so its bytes depend only on the notebooks.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _repository(app: Sphinx) -> str:
    return app.config.html_theme_options.get("repository_url", "").rstrip("/")


def release_download_url(app: Sphinx, name: str) -> str:
    """The address of ``name`` among the latest GitHub release's files."""
    return f"{_repository(app)}/releases/latest/download/{name}"


def site_url(app: Sphinx, page: str) -> str:
    """The published address of ``page`` (GitHub Pages: ``https://OWNER.github.io/REPO/``)."""
    owner, name = _repository(app).removeprefix("https://github.com/").split("/")[:2]
    return f"https://{owner.lower()}.github.io/{name}/{page}.html"


def write_notebooks_zip(book_dir: Path, target: Path) -> Path:
    """Write every ``*.ipynb`` of ``book_dir`` into the zip ``target``, under ``notebooks/``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(book_dir.glob("*.ipynb")):
            info = zipfile.ZipInfo(f"notebooks/{path.name}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return target


def fill_placeholders(app: Sphinx, docname: str, source: list[str]) -> None:
    """Put the PDF's and the zip's addresses into a page's text."""
    if "@PDF_URL@" not in source[0] and "@NOTEBOOKS_URL@" not in source[0]:
        return
    if app.builder.name == "singlehtml":
        notebooks = release_download_url(app, NOTEBOOKS_ZIP)
    else:
        notebooks = "../" * docname.count("/") + NOTEBOOKS_ZIP
    source[0] = (source[0].replace("@PDF_URL@", release_download_url(app, PDF_NAME))
                 .replace("@NOTEBOOKS_URL@", notebooks))


def add_buttons(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Add the PDF and the notebooks' zip to the top bar (after the theme's own buttons)."""
    buttons = context.get("header_buttons")
    if buttons is None:
        return
    buttons.append({"type": "link", "url": release_download_url(app, PDF_NAME), "icon": "fas fa-file-pdf",
                    "tooltip": "The whole book as a PDF", "label": "book-pdf-button"})
    buttons.append({"type": "link", "url": context["pathto"](NOTEBOOKS_ZIP, 1), "icon": "fas fa-file-zipper",
                    "tooltip": "All the notebooks (zip)", "label": "notebooks-zip-button"})


def link_in_browser_page(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """In the singlehtml build, put a link to the in-browser page in place of its content."""
    if app.builder.name != "singlehtml":
        return
    for start in doctree.findall(addnodes.start_of_file):
        if start.get("docname") != IN_BROWSER_PAGE:
            continue
        section = next(iter(start.findall(nodes.section)))
        url = site_url(app, IN_BROWSER_PAGE)
        paragraph = nodes.paragraph(
            "", "This page runs the book's model in your web browser, so it cannot be printed. Open it at ")
        paragraph += nodes.reference(url, url, refuri=url)
        paragraph += nodes.Text(".")
        section.children = [section[0], paragraph]
        paragraph.parent = section


def write_zip(app: Sphinx, exception: Exception | None) -> None:
    """Write the notebooks' zip into the built HTML site."""
    if exception is None and app.builder.name == "html":
        write_notebooks_zip(Path(app.srcdir) / "book", Path(app.outdir) / NOTEBOOKS_ZIP)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("source-read", fill_placeholders)
    # After sphinx-book-theme's own buttons (priority 501).
    app.connect("html-page-context", add_buttons, priority=510)
    app.connect("doctree-resolved", link_in_browser_page)
    app.connect("build-finished", write_zip)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
