"""Every chapter runs alone, as a Colab reader runs it: one notebook, the package, the network.

Each chapter is copied into an empty folder and executed with papermill under the smoke
profile; the kernel imports the package from a copy of ``fmnist_helpers/`` (never from the
checkout), ``HOME`` and ``KERAS_HOME`` start empty but for the verified data set, and a local
HTTP server over the checkout stands in for the repository's raw-file address.
"""

from __future__ import annotations

import functools
import os
import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import papermill
import pytest

from fmnist_helpers.book import BOOK_DIR, CHAPTERS, kernel_config
from fmnist_helpers.recipes import PROFILES

pytestmark = pytest.mark.slow

ROOT = BOOK_DIR.parent


@pytest.fixture(scope="module")
def repository_url():
    """Serve the checkout over HTTP on the loopback address, as GitHub serves raw files."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ROOT))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


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
        env={**_base_env(), **env}, capture_output=True, text=True, check=True, cwd=root,
    )
    assert probe.stdout.splitlines()[0].startswith(str(root / "site")), probe.stdout
    return env


def _base_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items()
            if key not in ("FMNIST_DATA_DIR", "PYTHONPATH")}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_alone(chapter, fresh_runtime, tmp_path, monkeypatch):
    for key in ("FMNIST_DATA_DIR",):
        monkeypatch.delenv(key, raising=False)
    for key, value in fresh_runtime.items():
        monkeypatch.setenv(key, value)
    workdir = tmp_path / "notebook"
    workdir.mkdir()
    shutil.copy(BOOK_DIR / f"{chapter}.ipynb", workdir)
    declared = papermill.inspect_notebook(workdir / f"{chapter}.ipynb")
    parameters = {name: value for name, value in PROFILES["smoke"].parameters().items() if name in declared}
    if "artifacts_dir" in declared:
        parameters["artifacts_dir"] = str(workdir / "artifacts")
    papermill.execute_notebook(workdir / f"{chapter}.ipynb", workdir / "executed.ipynb",
                               parameters=parameters, cwd=workdir, kernel_name="python3",
                               progress_bar=False, config=kernel_config())
    executed = json.loads((workdir / "executed.ipynb").read_text())
    outputs = [output for cell in executed["cells"] if cell["cell_type"] == "code"
               for output in cell["outputs"]]
    assert not [output for output in outputs if output["output_type"] == "error"]
    if chapter in ("6_evaluate", "8_use_the_model"):
        text = "".join("".join(output.get("text", "")) for output in outputs)
        assert "No trained model at" in text and "training chapter 5's recipe now" in text
        assert (workdir / "artifacts" / "model.keras").is_file()
