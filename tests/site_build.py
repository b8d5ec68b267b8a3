"""Build the site from the committed chapters (no execution), for the site tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

__all__ = ["ROOT", "build_site"]


def build_site(output_dir: Path) -> Path:
    """Build the book into ``output_dir`` with warnings as errors; return its HTML folder.

    Parameters
    ----------
    output_dir
        Folder passed to ``jupyter-book build --path-output``; the site lands in
        ``output_dir/_build/html``.

    Returns
    -------
    Path
        The ``_build/html`` folder, holding ``index.html``.

    Raises
    ------
    RuntimeError
        When ``jupyter-book build`` exits non-zero; the message ends with its output.
    """
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(ROOT), "--path-output", str(output_dir), "-W", "-n", "--keep-going"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"jupyter-book build failed with exit code {result.returncode}; "
            f"fix the warnings below, or run `{' '.join(command)}` to see them all.\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return output_dir / "_build" / "html"
