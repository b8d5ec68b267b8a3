"""The book's machinery: parameter profiles, papermill execution, myst-nb glue.

Usage: ``python -m fmnist_helpers.book execute [--profile full|smoke] [--output-dir DIR]``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .recipes import PROFILES

__all__ = [
    "BOOK_DIR",
    "CHAPTERS",
    "PROFILES",
    "execute_book",
    "execute_chapter",
    "glue",
    "verified_on",
]

#: The folder holding the chapters; they run with it as working directory.
BOOK_DIR = Path(__file__).resolve().parent.parent / "book"

#: The chapters in reading order (the same order as ``_toc.yml``).
CHAPTERS: tuple[str, ...] = (
    "1_load",
    "2_visualize",
    "3_preprocess",
    "4_model",
    "5_train",
    "6_evaluate",
    "7_experiments",
    "8_use_the_model",
    "appendix_speed",
)

#: Seconds one cell may run before papermill gives up.
CELL_TIMEOUT = 1800


def execute_chapter(
    chapter: str,
    profile: str = "full",
    output_dir: str | os.PathLike[str] | None = None,
    artifacts_dir: str | os.PathLike[str] | None = None,
    parameters: dict[str, Any] | None = None,
) -> Path:
    """Execute one chapter with papermill and write the executed notebook.

    Papermill's cell of injected parameters is tagged ``remove-cell``: the site shows the
    chapter's own parameters cell once, not twice.

    Parameters
    ----------
    chapter
        A name from :data:`CHAPTERS`.
    profile
        A key of :data:`PROFILES`.
    output_dir
        Where to write the executed notebook; by default over the chapter itself.
    artifacts_dir
        Where the training chapter saves, and the evaluation chapter loads, the model;
        by default the chapters' own ``../artifacts``: ``artifacts/`` at the repository's top.
    parameters
        Parameters that replace the profile's (the sweep's recipes).

    Returns
    -------
    Path
        The executed notebook.

    Raises
    ------
    ValueError
        If ``chapter`` or ``profile`` is unknown.
    """
    import papermill

    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; expected one of {', '.join(CHAPTERS)}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    source = BOOK_DIR / f"{chapter}.ipynb"
    target = Path(output_dir or BOOK_DIR) / f"{chapter}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    profile_parameters = {**PROFILES[profile].parameters(), **(parameters or {})}
    if artifacts_dir is not None:  # otherwise the chapters' own default, ../artifacts
        profile_parameters["artifacts_dir"] = str(Path(artifacts_dir).resolve())
    # Pass each chapter only the parameters its `parameters` cell declares.
    declared = papermill.inspect_notebook(source)
    papermill.execute_notebook(
        source,
        target,
        parameters={name: value for name, value in profile_parameters.items() if name in declared},
        cwd=BOOK_DIR,
        kernel_name="python3",
        progress_bar=True,
        execution_timeout=CELL_TIMEOUT,
        report_mode=False,
    )
    _hide_injected_parameters(target)
    return target


def _hide_injected_parameters(path: Path) -> None:
    """Tag papermill's injected-parameters cell ``remove-cell``, so the site does not show it."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(notebook, path)


def verified_on(profile: str) -> str:
    """Return the "verified on" line: today's date, the profile and the library versions.

    Parameters
    ----------
    profile
        The profile the chapters were executed with.

    Returns
    -------
    str
        One line of Markdown.
    """
    import platform
    from importlib.metadata import version

    libraries = ("tensorflow", "keras", "numpy", "pandas", "scikit-learn", "matplotlib", "seaborn")
    versions = ", ".join(f"{name} {version(name)}" for name in libraries)
    return (
        f"Verified on {datetime.date.today().isoformat()}: every chapter executed with the "
        f"`{profile}` profile on Python {platform.python_version()}, {versions}."
    )


def execute_book(
    profile: str = "full",
    output_dir: str | os.PathLike[str] | None = None,
    artifacts_dir: str | os.PathLike[str] | None = None,
    chapters: Sequence[str] = CHAPTERS,
) -> list[Path]:
    """Execute the chapters in order; see :func:`execute_chapter` for the arguments.

    When every chapter is executed over the published notebooks (no ``output_dir``), the
    "verified on" line that the introduction includes (``book/_verified_on.md``) is rewritten.
    """
    executed = []
    for chapter in chapters:
        print(f"[{profile}] executing {chapter}", flush=True)
        executed.append(execute_chapter(chapter, profile, output_dir, artifacts_dir))
    if output_dir is None and list(chapters) == list(CHAPTERS):
        (BOOK_DIR / "_verified_on.md").write_text(verified_on(profile) + "\n")
    return executed


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m fmnist_helpers.book", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    execute = commands.add_parser("execute", help="execute the chapters with papermill")
    execute.add_argument("--profile", choices=sorted(PROFILES), default="full")
    execute.add_argument("--output-dir", help="write executed notebooks here, not over the chapters")
    execute.add_argument("--artifacts-dir", help="where the trained model is saved")
    execute.add_argument("chapters", nargs="*", default=list(CHAPTERS), help="default: all, in order")
    args = parser.parse_args(argv)
    execute_book(args.profile, args.output_dir, args.artifacts_dir, args.chapters)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def glue(name: str, value: Any, display: bool = False) -> None:
    """Glue a value into the book's prose with myst-nb; do nothing where myst-nb is absent.

    Chapters quote computed numbers through ``{glue:text}`name``` instead of typing them.
    On Colab, where myst-nb is not installed, there is no prose to glue into.

    Parameters
    ----------
    name
        The key the prose refers to.
    value
        Usually a formatted string.
    display
        Also show the value in the cell's output.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)
