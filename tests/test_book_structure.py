"""Fast checks of the committed chapters: structure, tags, outputs, Colab cell, profiles."""

from __future__ import annotations

import ast
import re

import pytest
import yaml

from fmnist_helpers.book import BOOK_DIR, CHAPTERS, HIDDEN_PARAMETERS_TAG, PROFILES

from .conftest import CHAPTER_5_LESSON_ONLY_CELLS, ROOT, code_cells
from .conftest import cell_source as source
from .conftest import cell_tags as tags
from .conftest import load_chapter as load

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def test_toc_lists_the_chapters_in_order_then_the_api_reference_then_about():
    assert TOC["root"] == "book/intro"
    chapters, reference, about = TOC["parts"]
    assert [entry["file"] for entry in chapters["chapters"]] == [f"book/{c}" for c in CHAPTERS]
    assert reference == {"caption": "API reference", "chapters": [{"file": "book/api"}]}
    assert about == {"caption": "About", "chapters": [{"file": "book/about"}]}
    for entry in [TOC["root"], *(e["file"] for part in TOC["parts"] for e in part["chapters"])]:
        assert list(ROOT.glob(entry + ".*")), entry


#: The Markdown cell before a chapter's imports that links its helpers to the API reference.
HELPERS_CELL = "This chapter's helpers from the book's package"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_links_every_helper_it_imports(chapter):
    cells = load(chapter)["cells"]
    links = [source(cell) for cell in cells if cell["cell_type"] == "markdown" and source(cell).startswith(HELPERS_CELL)]
    assert len(links) == 1, f"{chapter}: one cell starting {HELPERS_CELL!r}"
    for cell in cells:
        if cell["cell_type"] != "code" or "remove-cell" in tags(cell):
            continue
        # An IPython magic (%pip) becomes `pass`, keeping its indentation and the block valid.
        python = "\n".join(re.sub(r"^(\s*)%.*", r"\1pass", line) for line in source(cell).splitlines())
        for node in ast.walk(ast.parse(python)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fmnist_helpers"):
                for alias in node.names:
                    role = r"\{(func|class|data)\}`~" + re.escape(f"{node.module}.{alias.name}") + "`"
                    assert re.search(role, links[0]), (chapter, alias.name)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_kernelspec_is_python3(chapter):
    assert load(chapter)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_parameters_cell_and_profile(chapter):
    notebook = load(chapter)
    cells = code_cells(notebook)
    assert sum("parameters" in tags(cell) for cell in cells) == 1
    injected = [cell for cell in cells if "injected-parameters" in tags(cell)]
    assert len(injected) == 1, "commit chapters executed by `make execute`"
    assert 'profile = "full"' in source(injected[0])
    full = PROFILES["full"].parameters()
    defaults = {}
    for cell in cells:  # the hidden defaults above the parameters cell, then that cell
        if {"parameters", HIDDEN_PARAMETERS_TAG} & set(tags(cell)):
            exec(source(cell), {}, defaults)  # noqa: S102
    assert set(defaults) <= set(full) | {"artifacts_dir", "validation_size"}
    # The defaults a reader sees are the full profile's, so running a chapter by hand
    # (or in Colab) trains what the published page shows.
    assert {name: full[name] for name in defaults if name in full} == {
        name: value for name, value in defaults.items() if name in full}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_committed_outputs_are_clean(chapter):
    for cell in code_cells(load(chapter)):
        assert cell["execution_count"] is not None, f"unexecuted cell: {source(cell)[:60]}"
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", source(cell)[:60]
            assert not (output["output_type"] == "stream" and output["name"] == "stderr"), (
                f"stderr in {chapter}: {''.join(output['text'])[:200]}"
            )
            text = "".join(output.get("data", {}).get("text/plain", ""))
            assert not re.search(r"<matplotlib\.\w+.* at 0x|Text\(|\[<matplotlib", text), text


def _sanitize(text: str) -> str:
    """Apply nbval's replacements from book/sanitize.cfg, in its order, as the regression tests do."""
    from nbval.plugin import get_sanitize_patterns

    for regex, replacement in get_sanitize_patterns((BOOK_DIR / "sanitize.cfg").read_text()):
        text = re.sub(regex, replacement, text)
    return text


#: A folder that exists nowhere: chapter 8 names a file in it to show the "no image file" error.
MISSING_ON_PURPOSE = "/no_such_folder/"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_compared_outputs_name_no_absolute_path(chapter):
    # An output that names the checkout (/work/main/...) or the machine's files differs in a
    # clone elsewhere, so nbval would fail there: print relative paths, or sanitize them.
    for cell in code_cells(load(chapter)):
        if {"nbval-ignore-output", "nbval-skip"} & set(tags(cell)):
            continue
        for output in cell.get("outputs", []):
            text = _sanitize("".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", "")))
            paths = [path for path in re.findall(r"(?<![\w.~:/])/[\w.-]+/[^\s'\")]*", text)
                     if not path.startswith(MISSING_ON_PURPOSE)]
            assert not paths, f"{chapter}: {source(cell)[:60]!r} prints {paths}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_plot_has_an_image(chapter):
    for cell in code_cells(load(chapter)):
        if "plt.show()" in source(cell):
            kinds = {kind for output in cell["outputs"] for kind in output.get("data", {})}
            assert "image/png" in kinds, source(cell)[:60]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapters_define_no_helpers(chapter):
    for cell in code_cells(load(chapter)):
        assert not re.search(r"^\s*(def|class) ", source(cell), re.M), source(cell)[:60]


#: The longest code line the rendered page shows without cutting it off.
PAGE_WIDTH = 79


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_visible_code_lines_fit_the_page(chapter):
    too_long = [line for cell in code_cells(load(chapter)) if "remove-cell" not in tags(cell)
                for line in source(cell).splitlines() if len(line) > PAGE_WIDTH]
    assert not too_long, f"{len(too_long)} lines over {PAGE_WIDTH} characters, e.g. {too_long[0]!r}"


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if c[0].isdigit()])
def test_chapter_has_overview_summary_and_exercises(chapter):
    text = "\n".join(source(c) for c in load(chapter)["cells"] if c["cell_type"] == "markdown")
    for heading in ("**In this chapter you will**", "**Prerequisites:**", "## Summary", "## Exercises"):
        assert heading in text, heading


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if c[0].isdigit()])
def test_every_exercise_has_a_hidden_solution(chapter):
    cells = load(chapter)["cells"]
    exercises = next(source(c) for c in cells if "## Exercises" in source(c))
    count = len(re.findall(r"^\d+\. ", exercises.split("## Exercises")[1], re.M))
    solutions = [c for c in cells if c["cell_type"] == "code" and "hide-cell" in tags(c)]
    assert count >= 2 and len(solutions) == count


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_lesson_only_cells_are_code_cells(chapter):
    from fmnist_helpers.book import LESSON_ONLY_TAG

    for cell in load(chapter)["cells"]:
        if LESSON_ONLY_TAG in tags(cell):
            assert cell["cell_type"] == "code", source(cell)[:60]


def _names(cell: dict, context: type) -> set[str]:
    """The names a code cell binds (``ast.Store``) or reads (``ast.Load``); magics are skipped."""
    python = "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line
                       for line in source(cell).splitlines())
    found = set()
    for node in ast.walk(ast.parse(python)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, context):
            found.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and context is ast.Store:
            found.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return found


def test_the_sweep_keeps_what_it_needs_of_chapter_5():
    # The sweep runs chapter 5 without its lesson-only cells: the training cell, the test score
    # and the saved files must stay, and no later cell may read what a skipped cell defined.
    from fmnist_helpers.book import LESSON_ONLY_TAG, TRAINING_TAG

    cells = code_cells(load("5_train"))
    skipped = [index for index, cell in enumerate(cells) if LESSON_ONLY_TAG in tags(cell)]
    assert len(skipped) == CHAPTER_5_LESSON_ONLY_CELLS
    kept = [cell for cell in cells if LESSON_ONLY_TAG not in tags(cell)]
    assert sum(TRAINING_TAG in tags(cell) for cell in kept) == 1
    assert any("model.evaluate(x_test" in source(cell) for cell in kept)
    assert any('"metrics.json"' in source(cell) and '"history.json"' in source(cell) for cell in kept)
    for index in skipped:
        defined = _names(cells[index], ast.Store)
        for later in cells[index + 1:]:
            if LESSON_ONLY_TAG not in tags(later):
                read = _names(later, ast.Load) - _names(later, ast.Store)
                assert not defined & read, (source(later)[:60], defined & read)
