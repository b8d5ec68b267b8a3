"""Code runs as shown: a chapter's visible code cells, alone, run as the site shows them.

A reader copies what the page shows: the code cells without ``remove-cell`` or
``remove-input`` (folded ``hide-cell`` and ``hide-input`` cells included, since a reader
can unfold them), in order. The slow test runs exactly those cells in a fresh kernel, with
no parameters injected, so a name defined only in a removed cell fails there. The fast
tests check, with ``ast``, that every name a visible cell imports is used by a visible
cell, and that no visible cell reads a name that only removed cells bind (the slow test's
NameErrors, all at once and without a kernel). (The 79-character width of visible code is
tests/test_book_structure.py's.)

The chapters run in a copy of the repository's layout in a temporary folder: ``book/`` (the
working directory), ``benchmarks/`` and ``_config.yml``, so that what they write (chapter
5's ``../artifacts``, chapter 8's ``images/``) stays out of the checkout, and the book's
result files are read from the copy. Chapters 6 and 8 load the model that chapter 5 saves
in ``../artifacts``: there, chapter 5's visible cells run first, once per session.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import nbformat
import pytest

from fmnist_helpers.book import BOOK_DIR, CELL_TIMEOUT, CHAPTERS, kernel_config, visible_code_cells

from .conftest import ROOT
from .conftest import cell_source as source
from .conftest import load_chapter as load

#: The chapters whose visible cells load the model chapter 5's visible cells save.
LOADS_CHAPTER_5_MODEL = ("6_evaluate", "8_use_the_model")
#: What a chapter's code names to reach that model.
MODEL_FILE = "model.keras"


def first_line(cell) -> str:
    """The first non-blank line of a cell's code, for messages."""
    return next((line.strip() for line in source(cell).splitlines() if line.strip()), "")


def python_of(cell) -> str:
    """A code cell's source as plain Python: IPython's ``%`` and ``!`` lines become ``pass``."""
    return "\n".join(line[: len(line) - len(line.lstrip())] + "pass"
                     if line.lstrip().startswith(("%", "!")) else line
                     for line in source(cell).splitlines())


# --- fast: what visible cells import, they use; what they read, they define ------------


def imported_names(tree: ast.AST) -> dict[str, int]:
    """The names that the imports in ``tree`` bind, each with its line number.

    ``import a.b`` binds ``a``; ``import a.b as c`` and ``from x import b as c`` bind ``c``.
    """
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = node.lineno
    return names


def used_names(tree: ast.AST) -> set[str]:
    """The names that ``tree`` reads (an attribute's object, such as ``np`` in ``np.mean``)."""
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
            and isinstance(node.ctx, (ast.Load, ast.Del))}


def unused_imports(notebook) -> list[str]:
    """Each imported name that no visible code cell uses, as "cell N ('import line'): name".

    N counts the notebook's cells from 0, markdown included; the line is the import's first.
    """
    trees = [(index, cell, ast.parse(python_of(cell))) for index, cell in visible_code_cells(notebook)]
    used = set().union(*(used_names(tree) for _, _, tree in trees))
    return [f"cell {index} ({source(cell).splitlines()[line - 1].strip()!r}): {name}"
            for index, cell, tree in trees for name, line in imported_names(tree).items()
            if name not in used]


def test_unused_imports_are_found():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('import os.path\nimport numpy as np\n'
                                  'from json import (dumps,\n    loads as read)\n'
                                  'if False:\n    %pip install x\n!ls'),
        nbformat.v4.new_code_cell("import sys", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("np.mean(read('[1]'))\nsys.exit"),
        nbformat.v4.new_markdown_cell("os dumps"),
    ])
    assert [finding.rsplit(": ", 1)[1] for finding in unused_imports(notebook)] == ["os", "dumps"]
    assert unused_imports(notebook)[0].startswith("cell 0 ('import os.path'): ")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_visible_cells_import_only_what_they_use(chapter):
    unused = unused_imports(load(chapter))
    assert not unused, f"{chapter}: visible cells import names no visible cell uses: " + "; ".join(unused)


def bound_names(tree: ast.AST) -> set[str]:
    """The names that ``tree`` binds: assignments, imports, ``def``, arguments, ``except as``."""
    names = set(imported_names(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
    return names


def names_only_removed_cells_define(notebook) -> list[str]:
    """Each name a visible cell reads that only hidden cells bind, as "cell N ('first line'): name".

    A quick, static view of the slow test's NameErrors: it needs no kernel, and finds every
    such name at once rather than the first one that runs.
    """
    shown = visible_code_cells(notebook)
    shown_indices = {index for index, _ in shown}
    hidden = [cell for index, cell in enumerate(notebook["cells"])
              if cell["cell_type"] == "code" and index not in shown_indices]
    trees = [(index, cell, ast.parse(python_of(cell))) for index, cell in shown]
    bound = set().union(*(bound_names(tree) for _, _, tree in trees))
    hidden_only = set().union(*(bound_names(ast.parse(python_of(cell))) for cell in hidden)) - bound
    return [f"cell {index} ({first_line(cell)!r}): {name}" for index, cell, tree in trees
            for name in sorted(used_names(tree) & hidden_only)]


def test_names_only_removed_cells_define_are_found():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os\nhidden, also = 1, 2\nboth = 3",
                                  metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("print(hidden)", metadata={"tags": ["remove-input"]}),
        nbformat.v4.new_code_cell("both = 4\n[x for x in range(both)]",
                                  metadata={"tags": ["hide-cell"]}),
        nbformat.v4.new_code_cell("# reads\nprint(hidden, both, os.sep, x)"),
    ])
    assert names_only_removed_cells_define(notebook) == [
        "cell 3 ('# reads'): hidden", "cell 3 ('# reads'): os"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_visible_cells_read_no_name_only_removed_cells_define(chapter):
    found = names_only_removed_cells_define(load(chapter))
    assert not found, f"{chapter}: visible cells read names only removed cells define: " + "; ".join(found)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_chapters_that_load_chapter_5s_model_run_after_it(chapter):
    # The slow test runs chapter 5 first only for LOADS_CHAPTER_5_MODEL: keep it true.
    shown = "\n".join(source(cell) for _, cell in visible_code_cells(load(chapter)))
    loads = MODEL_FILE in shown and chapter != "5_train"
    assert loads == (chapter in LOADS_CHAPTER_5_MODEL), f"{chapter}: update LOADS_CHAPTER_5_MODEL"
    if loads:
        assert CHAPTERS.index(chapter) > CHAPTERS.index("5_train")


# --- slow: the visible cells run -------------------------------------------------------


class VisibleCellFailed(Exception):
    """A visible cell raised; the message names the chapter, the cell and the error."""


def run_visible_cells(chapter: str, book_dir: Path) -> None:
    """Run ``chapter``'s visible code cells in order in a fresh kernel, in ``book_dir``.

    The kernel is the book's own (:func:`fmnist_helpers.book.kernel_config`), with no
    parameters injected. Raises :class:`VisibleCellFailed` at the first cell that raises.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    chapter_notebook = nbformat.read(book_dir / f"{chapter}.ipynb", as_version=4)
    shown = visible_code_cells(chapter_notebook)
    notebook = nbformat.v4.new_notebook(cells=[cell for _, cell in shown],
                                        metadata=chapter_notebook.metadata)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(book_dir)}}, config=kernel_config())
    with client.setup_kernel():
        for position, (index, cell) in enumerate(shown):
            try:
                client.execute_cell(cell, position)
            except CellExecutionError as error:
                raise VisibleCellFailed(
                    f"{chapter}, cell {index} ({first_line(cell)!r}), the visible cells run "
                    f"alone: {error.ename}: {error.evalue}") from None


@pytest.mark.slow
def test_a_name_only_a_removed_cell_defines_fails_in_the_book_folder(tmp_path):
    cells = [nbformat.v4.new_markdown_cell("text"),
             nbformat.v4.new_code_cell("hidden = 1", metadata={"tags": ["remove-cell"]}),
             nbformat.v4.new_code_cell("folded = 2", metadata={"tags": ["hide-cell"]}),
             nbformat.v4.new_code_cell("import sys\nif 'google.colab' in sys.modules:\n"
                                       "    %pip install nothing\nopen('here.txt')\nfolded"),
             nbformat.v4.new_code_cell("# uses it\nprint(hidden)")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "chapter.ipynb")
    (tmp_path / "here.txt").touch()  # the working directory is the chapter's folder
    with pytest.raises(VisibleCellFailed) as failure:
        run_visible_cells("chapter", tmp_path)
    assert str(failure.value) == ("chapter, cell 4 ('# uses it'), the visible cells run alone: "
                                  "NameError: name 'hidden' is not defined")


@pytest.fixture(scope="module")
def book_copy(tmp_path_factory) -> Path:
    """A copy of the repository's layout that chapters read; returns its ``book/`` folder."""
    root = tmp_path_factory.mktemp("visible")
    unneeded = shutil.ignore_patterns("_build", "__pycache__", ".ipynb_checkpoints")
    shutil.copytree(BOOK_DIR, root / "book", ignore=unneeded)
    shutil.copytree(ROOT / "benchmarks", root / "benchmarks", ignore=unneeded)
    shutil.copy(ROOT / "_config.yml", root)  # book files are found from the folder that holds it
    return root / "book"


def failure_of(chapter: str, book_dir: Path) -> str | None:
    """Run ``chapter``'s visible cells in ``book_dir``; return why they failed, or None."""
    try:
        run_visible_cells(chapter, book_dir)
    except VisibleCellFailed as failure:
        return str(failure)
    return None


@pytest.fixture(scope="module")
def chapter_5_failure(book_copy) -> str | None:
    """Run chapter 5's visible cells once in the copy; return why they failed, or None.

    They save the model in the copy's ``artifacts/`` (chapter 5's ``../artifacts``).
    """
    return failure_of("5_train", book_copy)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_visible_cells_run_as_shown(chapter, book_copy, real_data_paths, request):
    if chapter == "5_train":
        failure = request.getfixturevalue("chapter_5_failure")
    elif chapter in LOADS_CHAPTER_5_MODEL and request.getfixturevalue("chapter_5_failure"):
        failure = (f"{chapter} loads chapter 5's model, which chapter 5's visible cells did not "
                   f"save: {request.getfixturevalue('chapter_5_failure')}")
    else:
        failure = failure_of(chapter, book_copy)
    if failure:
        pytest.fail(failure, pytrace=False)
