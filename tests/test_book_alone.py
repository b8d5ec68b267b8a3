"""Every chapter runs alone, as a Colab reader runs it: one notebook, the package, the network.

Each chapter is copied into an empty folder and executed with papermill under the smoke
profile; the kernel imports the package from a copy of ``fmnist_helpers/`` (never from the
checkout), ``HOME`` and ``KERAS_HOME`` start empty but for the verified data set, and a local
HTTP server over the checkout stands in for the repository's raw-file address.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from fmnist_helpers import book
from fmnist_helpers.book import CHAPTERS

from .conftest import ROOT, environment_without, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repository_url():
    """Serve the checkout over HTTP on the loopback address, as GitHub serves raw files."""
    with serving(ROOT) as url:
        yield url


@pytest.fixture(scope="module")
def fresh_runtime(tmp_path_factory, repository_url):
    """Environment variables of a fresh runtime: the package copy, empty homes, the data set."""
    root = tmp_path_factory.mktemp("runtime")
    shutil.copytree(ROOT / "fmnist_helpers", root / "site" / "fmnist_helpers",
                    ignore=shutil.ignore_patterns("__pycache__"))
    home = root / "home"
    home.mkdir()
    env = {"HOME": str(home), "KERAS_HOME": str(home / ".keras"), "PYTHONPATH": str(root / "site"),
           "FMNIST_BOOK_URL": repository_url}
    # The data set, as Colab would download it: verified, into the empty Keras cache.
    probe = subprocess.run(
        [sys.executable, "-c", "import fmnist_helpers, sys; print(fmnist_helpers.__file__); "
         "from fmnist_helpers.__main__ import main; sys.exit(main(['data', '--keras-cache']))"],
        env={**environment_without("FMNIST_DATA_DIR", "PYTHONPATH"), **env},
        capture_output=True, text=True, check=True, cwd=root,
    )
    assert probe.stdout.splitlines()[0].startswith(str(root / "site")), probe.stdout
    return env


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_alone(chapter, fresh_runtime, tmp_path, monkeypatch):
    monkeypatch.delenv("FMNIST_DATA_DIR", raising=False)
    for key, value in fresh_runtime.items():
        monkeypatch.setenv(key, value)
    workdir = tmp_path / "notebook"
    workdir.mkdir()
    shutil.copy(book.BOOK_DIR / f"{chapter}.ipynb", workdir)
    # The book's own runner (its parameters, kernel and tidying), with the empty folder as
    # the chapters' folder and working directory.
    monkeypatch.setattr(book, "BOOK_DIR", workdir)
    executed_path = book.execute_chapter(chapter, "smoke", output_dir=workdir / "executed",
                                         artifacts_dir=workdir / "artifacts")
    executed = json.loads(executed_path.read_text())
    outputs = [output for cell in executed["cells"] if cell["cell_type"] == "code"
               for output in cell["outputs"]]
    assert not [output for output in outputs if output["output_type"] == "error"]
    if chapter in ("6_evaluate", "8_use_the_model"):
        text = "".join("".join(output.get("text", "")) for output in outputs)
        assert "No trained model at" in text and "training chapter 5's recipe now" in text
        assert (workdir / "artifacts" / "model.keras").is_file()
