"""Sphinx extension: an "Open in Colab" badge under the title of every chapter.

Jupyter Book loads it through ``sphinx.local_extensions`` in ``_config.yml``. Each page
built from a notebook (``*.ipynb``) gets, right after its title, a link that opens the
notebook in Colab from the repository and branch of ``_config.yml``'s ``repository:`` (the
same address as the rocket button's *Colab*). The badge is drawn in SVG inside the page,
so it loads nothing from another site.
"""

from __future__ import annotations

from html import escape
from typing import Any

from docutils import nodes

from sphinx.application import Sphinx

#: Colab's address for a notebook on GitHub: ``COLAB/OWNER/REPO/blob/BRANCH/PATH``.
COLAB = "https://colab.research.google.com/github"
#: The badge: a grey "Open in" and an orange "Colab", as Colab's own badge.
BADGE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" role="img" aria-hidden="true">'
    '<rect width="117" height="20" rx="3" fill="#555"/>'
    '<rect x="56" width="61" height="20" rx="3" fill="#f9ab00"/><rect x="56" width="6" height="20" fill="#f9ab00"/>'
    '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
    '<text x="8" y="14">Open in</text><text x="66" y="14" fill="#222">Colab</text></g></svg>'
)


def colab_url(repository_url: str, branch: str, path: str) -> str:
    """Return Colab's address for the notebook ``path`` of a GitHub repository.

    Parameters
    ----------
    repository_url
        ``https://github.com/OWNER/REPO``.
    branch
        The branch (or tag) to open.
    path
        The notebook's path in the repository, such as ``book/1_load.ipynb``.
    """
    owner_and_name = repository_url.removeprefix("https://github.com/").strip("/")
    return f"{COLAB}/{owner_and_name}/blob/{branch}/{path}"


def add_badge(app: Sphinx, doctree: nodes.document) -> None:
    """Put the badge after the first title of a page built from a notebook."""
    docname = app.env.docname
    if not app.env.doc2path(docname).endswith(".ipynb"):
        return
    options = app.config.html_theme_options
    repository, branch = options.get("repository_url"), options.get("repository_branch") or "main"
    section = next(iter(doctree.findall(nodes.section)), None)
    if not repository or section is None or not isinstance(section[0], nodes.title):
        return
    url = colab_url(repository, branch, f"{docname}.ipynb")
    html = (f'<p class="colab-badge"><a href="{escape(url)}" title="Open this chapter in Colab" '
            f'aria-label="Open this chapter in Colab">{BADGE_SVG}</a></p>\n')
    section.insert(1, nodes.raw("", html, format="html"))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", add_badge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
