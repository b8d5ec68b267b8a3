"""Every chapter runs alone, as a Colab reader runs it: one notebook, the package, the network.

Each chapter is copied into an empty folder and executed with papermill; the kernel imports
the package from a copy of ``fmnist_helpers/`` (never from the checkout), ``HOME`` and
``KERAS_HOME`` start empty but for the verified data set, and a local HTTP server over the
checkout stands in for the repository's raw-file address. Every chapter runs so under the
smoke profile; the chapters that train or use a model (5, 6 and 8) run so again under the
full profile, where their hidden assertions check the model such a run trains.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fmnist_helpers import book, make_example_image
from fmnist_helpers.book import CHAPTERS

from .conftest import ROOT, environment_without, serving

pytestmark = pytest.mark.slow

#: The chapters that, run alone, find no chapter-5 model and train one first.
TRAIN_WHEN_ALONE = ("6_evaluate", "8_use_the_model")


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


def run_alone(chapter: str, profile: str, runtime: dict[str, str], workdir: Path,
              monkeypatch: pytest.MonkeyPatch, artifacts_dir: Path | None = None) -> str:
    """Execute ``chapter`` alone in the empty folder ``workdir``; return what its cells printed.

    The environment becomes ``runtime``'s (without ``FMNIST_DATA_DIR``) for the rest of the
    test, so commands the test runs afterwards see the same runtime. Papermill fails the
    test on the first cell that raises, hidden assertions included. ``artifacts_dir=None``
    leaves the chapter its own default, ``../artifacts``, as Colab does.
    """
    monkeypatch.delenv("FMNIST_DATA_DIR", raising=False)
    for key, value in runtime.items():
        monkeypatch.setenv(key, value)
    workdir.mkdir()
    shutil.copy(book.BOOK_DIR / f"{chapter}.ipynb", workdir)
    # The book's own runner (its parameters, kernel and tidying), with the empty folder as
    # the chapters' folder and working directory.
    monkeypatch.setattr(book, "BOOK_DIR", workdir)
    executed_path = book.execute_chapter(chapter, profile, output_dir=workdir / "executed",
                                         artifacts_dir=artifacts_dir)
    executed = json.loads(executed_path.read_text())
    outputs = [output for cell in executed["cells"] if cell["cell_type"] == "code"
               for output in cell["outputs"]]
    assert not [output for output in outputs if output["output_type"] == "error"]
    return "".join("".join(output.get("text", "")) for output in outputs)


def assert_trained_alone(printed: str, model_path: Path) -> None:
    """The chapter said it found no model, trained chapter 5's recipe and saved it."""
    assert "No trained model at" in printed and "training chapter 5's recipe now" in printed
    assert model_path.is_file()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_alone(chapter, fresh_runtime, tmp_path, monkeypatch):
    workdir = tmp_path / "notebook"
    printed = run_alone(chapter, "smoke", fresh_runtime, workdir, monkeypatch,
                        artifacts_dir=workdir / "artifacts")
    if chapter in TRAIN_WHEN_ALONE:
        assert_trained_alone(printed, workdir / "artifacts" / "model.keras")


@pytest.mark.parametrize("chapter", ["5_train", *TRAIN_WHEN_ALONE])
def test_chapter_runs_alone_with_the_full_profile(chapter, fresh_runtime, refused_url, tmp_path,
                                                  monkeypatch):
    """Colab's path: the full profile, the chapter's own ``artifacts_dir``, no repository file.

    Every hidden assertion holds against the model this run trains (chapter 5's fit, or
    chapters 6 and 8 training chapter 5's recipe through ``load_or_train_model``); the
    repository's address refuses every connection, so a chapter that reached for a
    repository file fails. Then ``predict`` without ``--model``, run in the chapter's
    folder, finds the model the chapter saved and names the test image's class.
    """
    workdir = tmp_path / "notebook"
    printed = run_alone(chapter, "full", {**fresh_runtime, "FMNIST_BOOK_URL": refused_url},
                        workdir, monkeypatch)
    saved = tmp_path / "artifacts" / "model.keras"  # the chapters' ../artifacts, from workdir
    if chapter in TRAIN_WHEN_ALONE:
        assert_trained_alone(printed, saved)
    image = make_example_image(0, tmp_path / "ankle_boot.png")  # test image 0, an ankle boot
    predicted = subprocess.run([sys.executable, "-m", "fmnist_helpers", "predict", str(image)],
                               capture_output=True, text=True, cwd=workdir)
    assert predicted.returncode == 0, predicted.stderr
    assert f"model: {saved}\n" in predicted.stderr
    assert predicted.stdout.splitlines()[0].startswith("Ankle boot ")
