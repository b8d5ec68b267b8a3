"""Publishing the book: the site's summary, the repository's address, releases, the gh-pages push.

Usage: ``python -m fmnist_helpers.publish summary | set-repository URL | pin-install-cells |
set-version X.Y.Z | check-release TAG | publish`` (``make summary``, ``make set-repository
URL=...``, ``make release VERSION=X.Y.Z``, ``make publish``).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .book import BOOK_DIR

__all__ = [
    "ACCURACY_GLUE",
    "ROOT",
    "SITE_DIR",
    "TRAINING_CHAPTER",
    "PublishError",
    "check_release",
    "check_repository_url",
    "count_pages",
    "install_cell_source",
    "package_version",
    "pin_install_cells",
    "publish_site",
    "read_glued_value",
    "set_repository",
    "set_version",
    "summarize_site",
]

#: The repository's top folder (this package is used from a checkout here).
ROOT = BOOK_DIR.parent
#: Where ``make site`` (``jupyter-book build .``) writes the site, relative to the top folder.
SITE_DIR = Path("_build") / "html"
#: The chapter that trains the book's model and glues its test accuracy.
TRAINING_CHAPTER = Path("book") / "5_train.ipynb"
#: The name under which the training chapter glues its test accuracy (``glue("test_accuracy", ...)``).
ACCURACY_GLUE = "test_accuracy"
#: The branch that ``make publish`` pushes the site to.
PAGES_BRANCH = "gh-pages"

#: The pages that Sphinx generates at the site's top, which are not the book's.
_SPHINX_PAGES = ("genindex.html", "search.html")
#: A repository's page on GitHub: owner (letters, digits, hyphens) and name (also ``.`` and ``_``).
_GITHUB_URL = re.compile(r"https://github\.com/(?P<owner>[A-Za-z0-9-]+)/(?P<name>[A-Za-z0-9._-]+)")
#: The ``url:`` line of the ``repository:`` block of ``_config.yml``.
_CONFIG_URL = re.compile(r"^(repository:[ \t]*\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*)(\S+)", re.M)
#: The package's constant in ``fmnist_helpers/book_files.py``.
_PACKAGE_URL = re.compile(r'^(REPOSITORY_URL = ")([^"]*)(")', re.M)
#: The repository's address in a chapter's install cell: unpinned (``fmnist-helpers @ git+URL"``)
#: or pinned (``book = "URL"``, then ``git+{book}@vX.Y.Z``; see :func:`install_cell_source`).
_COLAB_URL = re.compile(r'(fmnist-helpers @ git\+|^book = ")(https://[^"\s@{]+)(")', re.M)
#: The package's version in ``fmnist_helpers/__init__.py``: the one place it is written
#: (``pyproject.toml`` reads it from there).
_PACKAGE_VERSION = re.compile(r'^(__version__ = ")([^"]*)(")', re.M)
#: A release's version: three numbers, as in ``0.2.0``.
_RELEASE_VERSION = re.compile(r"\d+\.\d+\.\d+")
#: The install cell of every chapter, pinned: it installs the package at the release the
#: page was executed with, in Colab only (elsewhere the package is installed already).
INSTALL_CELL = """\
# Colab only: install the book's helper package, at the release this page
# was run with. Elsewhere this cell does nothing.
import sys

book = "{url}"
if "google.colab" in sys.modules:
    %pip install -q "fmnist-helpers @ git+{{book}}@v{version}\""""
#: The introduction's instructions for a local copy: ``git clone URL`` then ``cd NAME``.
_INTRO_CLONE = re.compile(r"^(git clone )(\S+)(\ncd )(\S+)$", re.M)


class PublishError(RuntimeError):
    """The site or the repository is not in a state that can be summarized or published."""


def summarize_site(root: str | os.PathLike[str] = ROOT) -> str:
    """Return a short Markdown summary of the built site, for a CI job's summary page.

    Parameters
    ----------
    root
        The repository's top folder.

    Returns
    -------
    str
        A heading and two lines: the number of pages (see :func:`count_pages`) and the test
        accuracy that the committed training chapter glued.

    Raises
    ------
    PublishError
        If the site has not been built, or the training chapter holds no glued accuracy.

    Examples
    --------
    >>> print(summarize_site())  # doctest: +SKIP
    ### The book's site
    - **12 pages** built into `_build/html`
    - **test accuracy 92.4%** (chapter 5's committed output)
    """
    root = Path(root)
    pages = count_pages(root / SITE_DIR)
    accuracy = read_glued_value(root / TRAINING_CHAPTER, ACCURACY_GLUE)
    return (
        "### The book's site\n"
        f"- **{pages} page{'' if pages == 1 else 's'}** built into `{SITE_DIR.as_posix()}`\n"
        f"- **test accuracy {accuracy}** (chapter 5's committed output)\n"
    )


def count_pages(site_dir: str | os.PathLike[str]) -> int:
    """Count the pages of a built Jupyter Book site.

    A page is an HTML file outside the theme's folders (``_static/``, ``_sources/``, ...),
    other than the pages Sphinx generates (``genindex.html``, ``search.html``, module indices
    such as ``py-modindex.html``) and the redirect that ``index.html`` is when the book's root
    page is elsewhere.

    Parameters
    ----------
    site_dir
        The site's folder, such as ``_build/html``.

    Returns
    -------
    int
        The number of pages.

    Raises
    ------
    PublishError
        If ``site_dir/index.html`` does not exist (the site has not been built).
    """
    site_dir = Path(site_dir)
    _require_site(site_dir)
    pages = 0
    for path in site_dir.rglob("*.html"):
        relative = path.relative_to(site_dir)
        if any(part.startswith("_") for part in relative.parts[:-1]):
            continue
        if relative.as_posix() in _SPHINX_PAGES or relative.as_posix().endswith("-modindex.html"):
            continue
        if 'http-equiv="Refresh"' in path.read_text(encoding="utf-8", errors="replace")[:500]:
            continue
        pages += 1
    return pages


def read_glued_value(notebook: str | os.PathLike[str], name: str) -> str:
    """Return the plain-text value that an executed notebook glued under ``name``.

    myst-nb's ``glue`` writes a ``display_data`` output whose ``scrapbook`` metadata
    names the value and whose ``application/papermill.record/text/plain`` holds its
    ``repr``; this reads that output back without executing anything.

    Parameters
    ----------
    notebook
        The executed notebook, such as ``book/5_train.ipynb``.
    name
        The glued name, such as ``"test_accuracy"``.

    Returns
    -------
    str
        The value as the chapter's prose shows it, such as ``"92.4%"``.

    Raises
    ------
    PublishError
        If the notebook does not exist or glued nothing under ``name``.
    """
    import nbformat

    notebook = Path(notebook)
    if not notebook.is_file():
        raise PublishError(f"{notebook} does not exist; run this in the repository's top folder")
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") != name:
                continue
            text = output.get("data", {}).get("application/papermill.record/text/plain")
            if text is not None:
                value = ast.literal_eval(text)
                return value if isinstance(value, str) else repr(value)
    raise PublishError(
        f"{notebook} has no glued {name!r} output; expected a cell calling "
        f"glue({name!r}, ...) executed with its outputs: run `make execute` and commit the chapters"
    )


def _require_site(site_dir: Path) -> None:
    """Raise :class:`PublishError` unless ``site_dir`` holds a built site."""
    if not (site_dir / "index.html").is_file():
        raise PublishError(
            f"{site_dir / 'index.html'} does not exist: the site has not been built; "
            "run `make site` first"
        )


def check_repository_url(url: str) -> tuple[str, str]:
    """Check that ``url`` is a repository's page on GitHub; return its owner and name.

    Parameters
    ----------
    url
        Such as ``https://github.com/OWNER/REPO``.

    Returns
    -------
    tuple of str
        The owner and the repository's name.

    Raises
    ------
    ValueError
        If ``url`` is not of the form ``https://github.com/OWNER/REPO`` (no ``.git``, no
        trailing slash, no further path).
    """
    match = _GITHUB_URL.fullmatch(url)
    if match is None or match["name"].endswith(".git") or match["name"] in (".", ".."):
        raise ValueError(
            f"repository URL {url!r} is not of the form https://github.com/OWNER/REPO; "
            "give the address of the repository's page on GitHub, without .git or a trailing "
            "slash, as in `make set-repository URL=https://github.com/OWNER/REPO`"
        )
    return match["owner"], match["name"]


def set_repository(url: str, root: str | os.PathLike[str] = ROOT) -> list[Path]:
    """Point the book at another repository: rewrite its address wherever it is written.

    The address is set in ``_config.yml`` (``repository: url:``, from which Jupyter Book
    makes the launch and repository buttons). Derived from it, and rewritten too:

    - the Colab install cell of every chapter (the first code cell of each
      ``book/*.ipynb``: ``%pip install -q "fmnist-helpers @ git+URL"``), edited with
      nbformat, which writes the rest of the notebook back unchanged;
    - ``REPOSITORY_URL`` in ``fmnist_helpers/book_files.py`` (where Colab fetches the
      book's result files);
    - the introduction's ``git clone URL`` and ``cd NAME`` lines (``book/intro.md``).

    Every file is checked before any is written, so a file that is not as expected leaves
    the repository untouched.

    Parameters
    ----------
    url
        The new address, ``https://github.com/OWNER/REPO``.
    root
        The repository's top folder.

    Returns
    -------
    list of Path
        The files that changed (none when the address was already ``url``).

    Raises
    ------
    ValueError
        If ``url`` is not of the form ``https://github.com/OWNER/REPO``.
    PublishError
        If one of the files is missing or does not hold its address where expected.
    """
    import nbformat

    _, name = check_repository_url(url)
    root = Path(root)
    updated: dict[Path, str] = {}
    updated[root / "_config.yml"] = _replace_once(
        root / "_config.yml", _CONFIG_URL, lambda match: match[1] + url,
        "a `url:` line in its `repository:` block")
    updated[root / "fmnist_helpers" / "book_files.py"] = _replace_once(
        root / "fmnist_helpers" / "book_files.py", _PACKAGE_URL,
        lambda match: match[1] + url + match[3], 'a line `REPOSITORY_URL = "..."`')
    updated[root / "book" / "intro.md"] = _replace_once(
        root / "book" / "intro.md", _INTRO_CLONE,
        lambda match: match[1] + url + match[3] + name, "a `git clone URL` line followed by `cd NAME`")
    chapters = _chapters(root)
    for path in chapters:
        notebook = nbformat.read(path, as_version=4)
        first = _install_cell(notebook, path, "set-repository")
        first.source = _COLAB_URL.sub(lambda match: match[1] + url + match[3], first.source)
        updated[path] = nbformat.writes(notebook) + "\n"
    return _write_changed(updated)


def _write_changed(updated: dict[Path, str]) -> list[Path]:
    """Write each file whose text differs from ``updated``'s; return those written."""
    changed = []
    for path, text in updated.items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def _chapters(root: Path) -> list[Path]:
    """The chapters, ``book/*.ipynb``, in order; raise :class:`PublishError` when there are none."""
    chapters = sorted((root / "book").glob("*.ipynb"))
    if not chapters:
        raise PublishError(f"{root / 'book'} holds no chapters (*.ipynb); pass the repository's top folder")
    return chapters


def _install_cell(notebook: Any, path: Path, command: str) -> Any:
    """Return the notebook's install cell, its first code cell; raise :class:`PublishError` if it is not."""
    first = next((cell for cell in notebook.cells if cell.cell_type == "code"), None)
    if first is None or len(_COLAB_URL.findall(first.source)) != 1:
        raise PublishError(
            f"{path}: its first code cell has no Colab install line "
            '`%pip install -q "fmnist-helpers @ git+URL"`; restore that cell (git restore) '
            f"and run {command} again"
        )
    return first


def install_cell_source(url: str, version: str) -> str:
    """Return a chapter's install cell, pinned to a release of the package.

    In Colab the cell installs ``fmnist-helpers`` from the repository at the tag
    ``vVERSION`` (IPython puts the variable ``book`` into the ``%pip`` line); elsewhere it
    does nothing. Every line fits 79 characters for a repository address of up to 70.

    Parameters
    ----------
    url
        The repository, ``https://github.com/OWNER/REPO``.
    version
        The release, such as ``"0.2.0"``.

    Returns
    -------
    str
        The cell's source.

    Raises
    ------
    ValueError
        If ``url`` is not a repository on GitHub or ``version`` is not ``X.Y.Z``.

    Examples
    --------
    >>> print(install_cell_source("https://github.com/owner/repo", "1.2.3").splitlines()[-1])
        %pip install -q "fmnist-helpers @ git+{book}@v1.2.3"
    """
    check_repository_url(url)
    _check_version(version)
    return INSTALL_CELL.format(url=url, version=version)


def _check_version(version: str) -> None:
    """Raise ``ValueError`` unless ``version`` is three numbers, ``X.Y.Z``."""
    if not _RELEASE_VERSION.fullmatch(version):
        raise ValueError(
            f"version {version!r} is not of the form X.Y.Z (three numbers, no leading v), "
            "as in `make release VERSION=0.2.0`"
        )


def package_version(root: str | os.PathLike[str] = ROOT) -> str:
    """Return the package's version as ``fmnist_helpers/__init__.py`` under ``root`` writes it.

    Read from the file, not imported, so that it works on a copy of the repository.

    Raises
    ------
    PublishError
        If the file is missing or holds no line ``__version__ = "..."``.
    """
    path = Path(root) / "fmnist_helpers" / "__init__.py"
    text = _replace_once(path, _PACKAGE_VERSION, lambda match: match[0], 'a line `__version__ = "X.Y.Z"`')
    match = _PACKAGE_VERSION.search(text)
    assert match is not None  # _replace_once found exactly one
    return match[2]


def pin_install_cells(root: str | os.PathLike[str] = ROOT, version: str | None = None) -> list[Path]:
    """Pin every chapter's install cell to a release, and show it.

    Each chapter's first code cell becomes :func:`install_cell_source` for the repository
    of ``_config.yml`` and ``version``, and loses its ``remove-cell`` tag, so the site shows
    it as the chapter's first code cell. Its outputs are kept (outside Colab it prints
    nothing). Every chapter is checked before any is written.

    Parameters
    ----------
    root
        The repository's top folder.
    version
        The release; by default the package's version (:func:`package_version`).

    Returns
    -------
    list of Path
        The chapters that changed.

    Raises
    ------
    PublishError
        If a chapter's first code cell is not its install cell, or ``_config.yml`` holds no
        repository address.
    ValueError
        If ``version`` is not ``X.Y.Z``.
    """
    import nbformat

    root = Path(root)
    version = package_version(root) if version is None else version
    _check_version(version)
    config = _replace_once(root / "_config.yml", _CONFIG_URL, lambda match: match[0],
                           "a `url:` line in its `repository:` block")
    match = _CONFIG_URL.search(config)
    assert match is not None  # _replace_once found exactly one
    source = install_cell_source(match[2], version)
    updated = {}
    for path in _chapters(root):
        notebook = nbformat.read(path, as_version=4)
        cell = _install_cell(notebook, path, "pin-install-cells")
        cell.source = source
        tags = [tag for tag in cell.metadata.get("tags", []) if tag != "remove-cell"]
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        updated[path] = nbformat.writes(notebook) + "\n"
    return _write_changed(updated)


def set_version(version: str, root: str | os.PathLike[str] = ROOT) -> list[Path]:
    """Set the package's version and pin every chapter's install cell to it.

    Writes ``__version__`` in ``fmnist_helpers/__init__.py`` (``pyproject.toml`` reads it
    from there), then runs :func:`pin_install_cells`. ``make release`` calls this, then
    executes the chapters, commits and tags ``vVERSION``.

    Returns
    -------
    list of Path
        The files that changed.

    Raises
    ------
    ValueError
        If ``version`` is not ``X.Y.Z``.
    PublishError
        As :func:`pin_install_cells`; the version is written only when every chapter can be pinned.
    """
    import nbformat

    _check_version(version)
    root = Path(root)
    path = root / "fmnist_helpers" / "__init__.py"
    text = _replace_once(path, _PACKAGE_VERSION, lambda match: match[1] + version + match[3],
                         'a line `__version__ = "X.Y.Z"`')
    for chapter in _chapters(root):  # check every chapter before writing anything
        _install_cell(nbformat.read(chapter, as_version=4), chapter, "set-version")
    return _write_changed({path: text}) + pin_install_cells(root, version)


def check_release(tag: str, root: str | os.PathLike[str] = ROOT) -> str:
    """Check that a release's tag matches the package and every chapter's install cell.

    Parameters
    ----------
    tag
        The pushed tag, such as ``"v0.2.0"`` (the release workflow's ``GITHUB_REF_NAME``).
    root
        The repository's top folder.

    Returns
    -------
    str
        The version, such as ``"0.2.0"``.

    Raises
    ------
    PublishError
        If the tag is not ``v`` and the package's version, or a chapter's install cell is
        not pinned to it.
    """
    import nbformat

    root = Path(root)
    version = package_version(root)
    if tag != f"v{version}":
        raise PublishError(
            f"the tag {tag!r} does not match the package's version {version} "
            f"(fmnist_helpers/__init__.py); tag the release v{version}, or make a new one "
            "with `make release VERSION=X.Y.Z`"
        )
    for path in _chapters(root):
        cell = _install_cell(nbformat.read(path, as_version=4), path, "check-release")
        if f"@v{version}\"" not in cell.source or "remove-cell" in cell.metadata.get("tags", []):
            raise PublishError(
                f"{path.relative_to(root)}: its install cell is not pinned to v{version}, or is "
                "hidden; run `python -m fmnist_helpers.publish pin-install-cells`, execute the "
                "chapters (make execute), commit, and tag again"
            )
    return version


def _replace_once(
    path: Path, pattern: re.Pattern[str], replacement: Callable[[re.Match[str]], str], expected: str
) -> str:
    """Return ``path``'s text with the one match of ``pattern`` replaced.

    Raises
    ------
    PublishError
        If the file is missing or ``pattern`` does not match exactly once.
    """
    if not path.is_file():
        raise PublishError(f"{path} does not exist; pass the repository's top folder")
    text = path.read_text(encoding="utf-8")
    count = len(pattern.findall(text))
    if count != 1:
        raise PublishError(
            f"{path} should hold {expected} once, but it holds {count}; "
            "restore the file (git restore) and run set-repository again"
        )
    return pattern.sub(replacement, text)


def publish_site(root: str | os.PathLike[str] = ROOT) -> None:
    """Push the built site to the ``gh-pages`` branch of ``origin`` with ghp-import.

    Runs ``ghp-import -n -p -f _build/html``: it commits the site, with a ``.nojekyll``
    file, onto the ``gh-pages`` branch (its whole tree) and pushes it with ``--force``: the
    branch keeps its history only where this clone has a local ``gh-pages`` branch. Refuses
    when the site has not been built, or when the chapters or the book's configuration have
    uncommitted changes (the site would then not be the committed book).

    Parameters
    ----------
    root
        The repository's top folder, a git checkout with an ``origin`` remote.

    Raises
    ------
    PublishError
        If the site has not been built, ``root`` is not a git checkout, ``book/``,
        ``_config.yml`` or ``_toc.yml`` have uncommitted changes, or ghp-import fails.
    """
    root = Path(root)
    _require_site(root / SITE_DIR)
    status = _git(root, "status", "--porcelain", "--", "book", "_config.yml", "_toc.yml")
    if status:
        changes = ", ".join(line[3:] for line in status.splitlines())
        raise PublishError(
            f"the book has uncommitted changes ({changes}), so the built site may not be "
            "the committed book; commit them (or discard them with git restore), run `make site`, "
            "then `make publish`"
        )
    revision = _git(root, "rev-parse", "--short", "HEAD").strip()
    command = [sys.executable, "-m", "ghp_import", "-n", "-p", "-f",
               "-b", PAGES_BRANCH, "-m", f"Publish the book built from {revision}", SITE_DIR.as_posix()]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise PublishError(
            f"ghp-import could not push the site to the {PAGES_BRANCH} branch of origin "
            f"(exit status {result.returncode}): {(result.stderr or result.stdout).strip()}; "
            "check that `git push origin` works from this checkout"
        )


def _git(root: Path, *args: str) -> str:
    """Run ``git`` in ``root``; return its standard output.

    Raises
    ------
    PublishError
        If git fails, as outside a git checkout.
    """
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise PublishError(
            f"`git {' '.join(args)}` failed in {root}: {result.stderr.strip()}; "
            "publish from a git checkout of the book"
        )
    return result.stdout


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (1, with ``error: ...``, on failure)."""
    parser = argparse.ArgumentParser(prog="python -m fmnist_helpers.publish", description=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository's top folder (default: this checkout)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("summary", help="print the built site's summary (pages, test accuracy) in Markdown")
    repository = commands.add_parser(
        "set-repository", help="point the book at another repository (config, Colab cells, package, intro)")
    repository.add_argument("url", help="https://github.com/OWNER/REPO")
    commands.add_parser("publish", help=f"push _build/html to the {PAGES_BRANCH} branch of origin with ghp-import")
    commands.add_parser("pin-install-cells",
                        help="pin every chapter's install cell to the package's version, and show it")
    version = commands.add_parser("set-version", help="set the package's version and pin the install cells to it")
    version.add_argument("version", help="X.Y.Z")
    release = commands.add_parser("check-release", help="check that a tag matches the version and the install cells")
    release.add_argument("tag", help="vX.Y.Z")
    args = parser.parse_args(argv)
    try:
        if args.command == "summary":
            print(summarize_site(args.root), end="")
        elif args.command == "set-repository":
            changed = set_repository(args.url, args.root)
            for path in changed:
                print(f"updated {path.relative_to(args.root)}")
            print(f"the book's repository is {args.url} ({len(changed)} files changed)")
        elif args.command in ("pin-install-cells", "set-version"):
            if args.command == "set-version":
                changed = set_version(args.version, args.root)
            else:
                changed = pin_install_cells(args.root)
            for path in changed:
                print(f"updated {path.relative_to(args.root)}")
            print(f"install cells pinned to v{package_version(args.root)} ({len(changed)} files changed)")
        elif args.command == "check-release":
            print(f"release v{check_release(args.tag, args.root)}: version and install cells agree")
        else:
            publish_site(args.root)
            print(f"published {SITE_DIR.as_posix()} to the {PAGES_BRANCH} branch of origin")
    except (PublishError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
