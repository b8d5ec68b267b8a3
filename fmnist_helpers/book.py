"""The book's machinery: parameter profiles, papermill execution, myst-nb glue.

Usage: ``python -m fmnist_helpers.book execute [--profile full|smoke] [--output-dir DIR]``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import os
import sys
import tempfile
import uuid
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from .recipes import PROFILES

__all__ = [
    "BOOK_DIR",
    "CHAPTERS",
    "KEPT_PAPERMILL_METADATA",
    "LESSON_ONLY_TAG",
    "PROFILES",
    "TRAINING_TAG",
    "HIDDEN_PARAMETERS_TAG",
    "HIDDEN_CODE_TAGS",
    "declared_parameters",
    "drop_tagged_cells",
    "visible_code_cells",
    "execute_book",
    "execute_chapter",
    "glue",
    "kernel_config",
    "tidy_executed_notebook",
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

#: Tag of the cell whose papermill duration is a run's training time (chapter 5's ``fit``).
TRAINING_TAG = "training"
#: Tag of the code cells only a reader needs, such as chapter 5's early-stopping demo and
#: exercise solutions: the sweep passes it to :func:`execute_chapter`'s ``skip_tags``.
LESSON_ONLY_TAG = "lesson-only"

#: Tag of a hidden cell above a chapter's ``parameters`` cell that holds the book's own
#: settings (the profile's name, the thresholds of hidden checks, size overrides): a reader
#: sees only what they would change, and papermill, which injects its values right after
#: the ``parameters`` cell, still overrides these.
HIDDEN_PARAMETERS_TAG = "hidden-parameters"

#: Tags of the code cells whose code the site does not show: a removed cell, and a cell
#: whose input is removed (its output stays). Cells tagged ``hide-cell`` or ``hide-input``
#: are shown folded, so a reader can unfold and copy them.
HIDDEN_CODE_TAGS = ("remove-cell", "remove-input")

#: Notebook-level papermill metadata kept in an executed chapter; the rest (start and end
#: times, duration, the machine's paths) changes on every run and is dropped.
KEPT_PAPERMILL_METADATA = ("parameters", "version")


#: The longest path a Unix-domain socket may have (``sun_path`` is 108 bytes on Linux, 104 on
#: macOS), less a margin.
MAX_SOCKET_PATH = 100


def kernel_config() -> Any:
    """Return the Jupyter configuration the book's kernels start with.

    - **Transport.** Where the platform has Unix-domain sockets and the path of the Jupyter
      runtime folder leaves room for the socket names, the kernel talks over ``ipc`` sockets
      in that folder instead of TCP ports on localhost. With TCP the kernel manager picks
      free ports, closes them, and the kernel binds them a moment later; another process
      (a Dask connection in the sweep, another kernel) can take one in between, and the
      kernel then fails with "Address already in use" (nteract/papermill#511). Socket files
      with a name of their own cannot collide. Each call names new sockets: call it once
      per kernel.
    - **Encryption.** The sockets are encrypted with CurveZMQ keys that the kernel manager
      provisions (``KernelManager.transport_encryption = "auto"``; ipykernel's kernel spec
      declares Curve support). Without them ipykernel 7 warns "Kernel is running over TCP
      without encryption" on every start over TCP. A pyzmq built without Curve gets
      ``"disabled"`` instead (jupyter_client refuses ``"auto"`` there).

    Returns
    -------
    traitlets.config.Config
        Pass it as papermill's ``config=`` keyword (it reaches nbclient's kernel manager).
    """
    import zmq
    from jupyter_core.paths import jupyter_runtime_dir
    from jupyter_core.utils import ensure_dir_exists
    from traitlets.config import Config

    manager: dict[str, Any] = {"transport_encryption": "auto" if zmq.has("curve") else "disabled"}
    # The kernel's sockets: RUNTIME/kernel-<uuid>-ipc-<n>, n from 1 to 5.
    runtime = Path(jupyter_runtime_dir())
    prefix = runtime / f"kernel-{uuid.uuid4()}-ipc"
    if zmq.has("ipc") and len(os.fsencode(f"{prefix}-99")) <= MAX_SOCKET_PATH:
        ensure_dir_exists(runtime, mode=0o700)
        manager.update(transport="ipc", ip=str(prefix))
    return Config({"KernelManager": manager})


def execute_chapter(
    chapter: str,
    profile: str = "full",
    output_dir: str | os.PathLike[str] | None = None,
    artifacts_dir: str | os.PathLike[str] | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    keep_timings: bool = False,
    skip_tags: Collection[str] = (),
) -> Path:
    """Execute one chapter with papermill and write the executed notebook.

    Papermill's cell of injected parameters is tagged ``remove-cell``: the site shows the
    chapter's own parameters cell once, not twice. The metadata that changes on every run
    (each cell's execution timestamps, papermill's start and end times and durations) is
    dropped, so re-executing a deterministic chapter leaves its file byte-identical; outputs,
    execution counts and tags stay.

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
    keep_timings
        Keep papermill's per-cell durations and timestamps (the sweep reads how long the
        training cell ran).
    skip_tags
        Leave out the cells carrying any of these tags, such as :data:`LESSON_ONLY_TAG`
        (see :func:`drop_tagged_cells`). Papermill runs a trimmed copy, still in the book's
        folder; the executed notebook lacks those cells, so it needs an ``output_dir``.

    Returns
    -------
    Path
        The executed notebook.

    Raises
    ------
    ValueError
        If ``chapter`` or ``profile`` is unknown, or ``skip_tags`` is given without ``output_dir``.
    TypeError
        If ``skip_tags`` is a single string.
    """
    import nbformat
    import papermill

    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; expected one of {', '.join(CHAPTERS)}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    if isinstance(skip_tags, str):
        raise TypeError(f"skip_tags takes a collection of tags, such as [{skip_tags!r}], not a string")
    source = BOOK_DIR / f"{chapter}.ipynb"
    target = Path(output_dir or BOOK_DIR) / f"{chapter}.ipynb"
    if skip_tags and target.resolve() == source.resolve():
        raise ValueError(f"skip_tags={sorted(skip_tags)} would drop cells from the published chapter "
                         f"{chapter}; pass an output_dir for the trimmed run")
    target.parent.mkdir(parents=True, exist_ok=True)
    profile_parameters = {**PROFILES[profile].parameters(), **(parameters or {})}
    if artifacts_dir is not None:  # otherwise the chapters' own default, ../artifacts
        profile_parameters["artifacts_dir"] = str(Path(artifacts_dir).resolve())
    # Pass each chapter only the parameters it declares.
    declared = declared_parameters(source)
    with tempfile.TemporaryDirectory(prefix="fmnist-chapter-") as scratch:
        runnable = source
        if skip_tags:  # a trimmed copy; it still runs in BOOK_DIR, so its relative paths hold
            runnable = Path(scratch) / source.name
            nbformat.write(drop_tagged_cells(nbformat.read(source, as_version=4), skip_tags), runnable)
        hidden = declared - set(papermill.inspect_notebook(source))
        with _quiet_about(hidden):
            papermill.execute_notebook(
                runnable,
                target,
                parameters={name: value for name, value in profile_parameters.items() if name in declared},
                cwd=BOOK_DIR,
                kernel_name="python3",
                progress_bar=True,
                execution_timeout=CELL_TIMEOUT,
                report_mode=False,
                config=kernel_config(),
            )
    tidy_executed_notebook(target, keep_timings=keep_timings)
    return target


@contextlib.contextmanager
def _quiet_about(hidden: Collection[str]) -> Iterator[None]:
    """Silence papermill's "Passed unknown parameter" warning for the hidden parameters.

    Papermill only knows the ``parameters`` cell, so it warns about every name that a
    hidden-parameters cell declares, although it injects them all the same.
    """
    warnings = {f"Passed unknown parameter: {name}" for name in hidden}
    quiet = logging.Filter()
    quiet.filter = lambda record: record.getMessage() not in warnings  # type: ignore[method-assign]
    logger = logging.getLogger("papermill")
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def declared_parameters(path: str | os.PathLike[str]) -> set[str]:
    """The names a chapter takes as parameters: its ``parameters`` cell's and its hidden ones'.

    Parameters
    ----------
    path
        A chapter notebook.

    Returns
    -------
    set of str
        The names papermill's ``inspect_notebook`` finds in the ``parameters`` cell, and
        every name assigned in a cell tagged :data:`HIDDEN_PARAMETERS_TAG`.

    Raises
    ------
    ValueError
        If a hidden-parameters cell sits below the ``parameters`` cell, where it would
        overwrite the values papermill injects.
    """
    import ast

    import nbformat
    import papermill

    notebook = nbformat.read(path, as_version=4)
    names = set(papermill.inspect_notebook(path))
    seen_parameters = False
    for cell in notebook.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        seen_parameters = seen_parameters or "parameters" in tags
        if HIDDEN_PARAMETERS_TAG not in tags:
            continue
        if seen_parameters:
            raise ValueError(f"{Path(path).name}: the {HIDDEN_PARAMETERS_TAG!r} cell must come "
                             f"before the 'parameters' cell, or it overwrites what papermill "
                             f"injects; move it up")
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def drop_tagged_cells(notebook: Any, tags: Collection[str]) -> Any:
    """Return a copy of a notebook without the cells that carry any of ``tags``.

    Parameters
    ----------
    notebook
        An ``nbformat.NotebookNode``; it is left unchanged.
    tags
        Cell tags, such as :data:`LESSON_ONLY_TAG`.

    Returns
    -------
    nbformat.NotebookNode
        The notebook's copy, its other cells and metadata as they were.

    Examples
    --------
    >>> import nbformat
    >>> chapter = nbformat.read(BOOK_DIR / "5_train.ipynb", as_version=4)
    >>> trimmed = drop_tagged_cells(chapter, {LESSON_ONLY_TAG})
    """
    import copy

    trimmed = copy.deepcopy(notebook)
    trimmed.cells = [cell for cell in trimmed.cells
                     if not set(tags) & set(cell.get("metadata", {}).get("tags", []))]
    return trimmed


def visible_code_cells(notebook: Any) -> list[tuple[int, Any]]:
    """The code cells a reader of the site sees, in order, with their places in the notebook.

    A cell tagged with one of :data:`HIDDEN_CODE_TAGS` is left out (the site shows none of
    its code); a folded cell (``hide-cell``, ``hide-input``) is kept. Markdown is left out.

    Parameters
    ----------
    notebook
        An ``nbformat.NotebookNode``, or the same notebook as plain JSON (a ``dict``).

    Returns
    -------
    list of tuple
        Each visible code cell with its index in ``notebook``'s cells (markdown counted),
        the cell itself, not a copy.

    Examples
    --------
    >>> import nbformat
    >>> chapter = nbformat.read(BOOK_DIR / "1_load.ipynb", as_version=4)
    >>> sources = [cell.source for _, cell in visible_code_cells(chapter)]
    """
    return [(index, cell) for index, cell in enumerate(notebook["cells"])
            if cell["cell_type"] == "code"
            and not set(HIDDEN_CODE_TAGS) & set(cell.get("metadata", {}).get("tags", []))]


def tidy_executed_notebook(path: str | os.PathLike[str], *, keep_timings: bool = False) -> None:
    """Prepare a notebook papermill executed for the site and for git, in place.

    Papermill's injected-parameters cell is tagged ``remove-cell``, so the site does not show
    it, and given a fixed cell id instead of papermill's random one. Unless ``keep_timings``, what differs between two runs of the same code is dropped:
    each cell's ``execution`` timestamps and ``papermill`` record, and the notebook's
    papermill metadata except :data:`KEPT_PAPERMILL_METADATA`.

    Parameters
    ----------
    path
        The executed notebook; rewritten with nbformat.
    keep_timings
        Leave the timing metadata in place.
    """
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags:
            if "remove-cell" not in tags:
                tags.append("remove-cell")
            if "id" in cell:  # papermill draws a random one on every run
                cell.id = "injected-parameters"
        if not keep_timings:
            cell.metadata.pop("execution", None)
            cell.metadata.pop("papermill", None)
    if not keep_timings and "papermill" in notebook.metadata:
        notebook.metadata.papermill = {key: value for key, value in notebook.metadata.papermill.items()
                                       if key in KEPT_PAPERMILL_METADATA}
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


if __name__ == "__main__":
    sys.exit(main())
