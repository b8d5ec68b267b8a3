"""Execute every chapter with papermill under the quick `smoke` profile."""

from __future__ import annotations

import json

import pytest

from fmnist_helpers.book import CHAPTERS, PROFILES, execute_book

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("smoke")
    executed = execute_book("smoke", output_dir=output_dir, artifacts_dir=output_dir / "artifacts")
    return output_dir, executed


def test_every_chapter_runs(smoke_run):
    output_dir, executed = smoke_run
    assert [path.stem for path in executed] == list(CHAPTERS)
    assert (output_dir / "artifacts" / "model.keras").is_file()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_profile_is_recorded_and_no_errors(smoke_run, chapter):
    output_dir, _ = smoke_run
    notebook = json.loads((output_dir / f"{chapter}.ipynb").read_text())
    injected = [c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert 'profile = "smoke"' in "".join(injected[0]["source"])
    outputs = [o for c in notebook["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]


def test_smoke_profile_trains_one_epoch(smoke_run):
    output_dir, _ = smoke_run
    history = json.loads((output_dir / "artifacts" / "history.json").read_text())
    assert len(history["loss"]) == PROFILES["smoke"].recipe.epochs
