"""Tests of fmnist_helpers/book.py: profiles, the runner's argument checks, the verified line."""

import dataclasses
import re
import shutil
from pathlib import Path

import nbformat
import papermill
import pytest

from fmnist_helpers import DEFAULT_RECIPE, METHOD_FIELDS
from fmnist_helpers.book import (BOOK_DIR, CHAPTERS, HIDDEN_PARAMETERS_TAG, declared_parameters,
                                 execute_chapter, tidy_executed_notebook,
                                 verified_on)

from .conftest import CHAPTER_5_LESSON_ONLY_CELLS


@pytest.fixture
def papermill_calls(monkeypatch):
    """Papermill's ``execute_notebook``, recording its arguments; it copies the notebook unexecuted."""
    calls = []

    def recording_execute_notebook(input_path, output_path, parameters, **kwargs):
        calls.append({"input": nbformat.read(input_path, as_version=4), "parameters": parameters, **kwargs})
        shutil.copyfile(input_path, output_path)

    monkeypatch.setattr(papermill, "execute_notebook", recording_execute_notebook)
    return calls


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_runner_passes_each_chapter_only_what_it_declares(chapter, papermill_calls, tmp_path):
    executed = execute_chapter(chapter, "smoke", output_dir=tmp_path, artifacts_dir="artifacts")
    assert executed == tmp_path / f"{chapter}.ipynb" and executed.is_file()
    (call,) = papermill_calls
    declared = declared_parameters(BOOK_DIR / f"{chapter}.ipynb")
    assert set(call["parameters"]) <= declared
    assert call["parameters"]["profile"] == "smoke"
    if "artifacts_dir" in declared:  # an absolute path: the kernel runs in the book's folder
        assert call["parameters"]["artifacts_dir"] == str(Path("artifacts").resolve())
    assert call["cwd"] == BOOK_DIR and call["kernel_name"] == "python3"


def test_the_smoke_profile_trains_chapter_5_briefly_and_otherwise_alike(papermill_calls, tmp_path):
    for profile in ("smoke", "full"):
        execute_chapter("5_train", profile, output_dir=tmp_path / profile)
    smoke, full = (call["parameters"] for call in papermill_calls)
    assert smoke["epochs"] == 1 < full["epochs"]
    assert smoke["train_size"] < full["train_size"]
    quick = {"profile", "epochs", "train_size", "min_test_accuracy"}
    assert {name: value for name, value in smoke.items() if name not in quick} == {
        name: value for name, value in full.items() if name not in quick}
    # The full profile trains what the published chapter shows: the book's default recipe.
    chapter_fields = {name: value for name, value in dataclasses.asdict(DEFAULT_RECIPE).items()
                      if name not in METHOD_FIELDS}  # the appendix's methods are not parameters
    assert {name: full[name] for name in chapter_fields} == chapter_fields
    assert not set(METHOD_FIELDS) & set(full)


def test_the_runner_leaves_out_skipped_cells(papermill_calls, tmp_path):
    from fmnist_helpers.book import LESSON_ONLY_TAG

    executed = execute_chapter("5_train", "smoke", output_dir=tmp_path, skip_tags={LESSON_ONLY_TAG})
    (call,) = papermill_calls
    chapter = nbformat.read(BOOK_DIR / "5_train.ipynb", as_version=4)
    assert len(call["input"].cells) == len(chapter.cells) - CHAPTER_5_LESSON_ONLY_CELLS
    assert not [cell for cell in call["input"].cells if LESSON_ONLY_TAG in cell.metadata.get("tags", [])]
    assert call["cwd"] == BOOK_DIR  # the trimmed copy still runs in the book's folder
    assert len(nbformat.read(executed, as_version=4).cells) == len(call["input"].cells)
    assert nbformat.read(BOOK_DIR / "5_train.ipynb", as_version=4) == chapter  # untouched


def test_recipe_rejects_impossible_settings():
    with pytest.raises(ValueError, match=r"batch_size and epochs must be at least 1, got batch_size=0, epochs=5"):
        dataclasses.replace(DEFAULT_RECIPE, batch_size=0)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_declares_a_profile_parameter(chapter):
    assert "profile" in declared_parameters(BOOK_DIR / f"{chapter}.ipynb")


def _notebook_with(tmp_path, *cells):
    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    for text, cell_tags in cells:
        notebook.cells.append(nbformat.v4.new_code_cell(text, metadata={"tags": cell_tags}))
    path = tmp_path / "chapter.ipynb"
    nbformat.write(notebook, path)
    return path


def test_declared_parameters_include_the_hidden_cell_above_the_parameters_cell(tmp_path):
    path = _notebook_with(tmp_path, ('profile = "full"\nmin_accuracy = 0.9', ["remove-cell", HIDDEN_PARAMETERS_TAG]),
                          ("epochs = 5", ["parameters"]), ("total = epochs", []))
    assert declared_parameters(path) == {"profile", "min_accuracy", "epochs"}


def test_declared_parameters_refuse_a_hidden_cell_below_the_parameters_cell(tmp_path):
    path = _notebook_with(tmp_path, ("epochs = 5", ["parameters"]),
                          ('profile = "full"', [HIDDEN_PARAMETERS_TAG]))
    with pytest.raises(ValueError, match=r"chapter.ipynb: the 'hidden-parameters' cell must come before"):
        declared_parameters(path)


def test_unknown_chapter_and_profile():
    with pytest.raises(ValueError, match=r"unknown chapter '9_nothing'; expected one of 1_load"):
        execute_chapter("9_nothing")
    with pytest.raises(ValueError, match=r"unknown profile 'huge'; expected one of full, smoke"):
        execute_chapter("1_load", profile="huge")


def test_verified_on_names_date_profile_and_versions():
    line = verified_on("full")
    assert re.match(r"Verified on \d{4}-\d{2}-\d{2}: every chapter executed with the `full` profile", line)
    assert "tensorflow 2." in line and "keras 3." in line


def _executed_notebook(tmp_path):
    notebook = nbformat.v4.new_notebook()
    injected = nbformat.v4.new_code_cell("profile = 'smoke'")
    injected.metadata.update(tags=["injected-parameters"], papermill={"duration": 0.1},
                             execution={"iopub.status.idle": "2026-11-30T05:16:26Z"})
    training = nbformat.v4.new_code_cell("fit()", execution_count=2)
    training.metadata.update(tags=["training"], papermill={"duration": 42.5, "status": "completed"})
    notebook.cells = [injected, training]
    notebook.metadata["papermill"] = {"duration": 91.0, "start_time": "2026-11-30T05:16:19",
                                      "input_path": "/home/me/book/5_train.ipynb",
                                      "parameters": {"epochs": 1}, "version": "2.7.0"}
    path = tmp_path / "executed.ipynb"
    nbformat.write(notebook, path)
    return path


def test_tidy_executed_notebook_drops_what_changes_between_runs(tmp_path):
    path = _executed_notebook(tmp_path)
    tidy_executed_notebook(path)
    notebook = nbformat.read(path, as_version=4)
    injected, training = notebook.cells
    assert injected.metadata == {"tags": ["injected-parameters", "remove-cell"]}
    assert injected.id == "injected-parameters"
    assert training.metadata == {"tags": ["training"]} and training.execution_count == 2
    assert notebook.metadata["papermill"] == {"parameters": {"epochs": 1}, "version": "2.7.0"}


def test_tidy_executed_notebook_keeps_timings_for_the_sweep(tmp_path):
    path = _executed_notebook(tmp_path)
    tidy_executed_notebook(path, keep_timings=True)
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[1].metadata["papermill"]["duration"] == 42.5
    assert notebook.metadata["papermill"]["duration"] == 91.0
    assert "remove-cell" in notebook.cells[0].metadata["tags"]


@pytest.mark.slow
def test_re_executing_a_deterministic_chapter_changes_no_byte(tmp_path, capfd):
    # The published chapter 1, executed again, must come out identical: no timestamps or
    # durations in its metadata. Its kernel starts without ipykernel's unencrypted-TCP warning.
    import json
    import platform

    executed = execute_chapter("1_load", "full", output_dir=tmp_path, artifacts_dir=tmp_path / "artifacts")
    committed = (BOOK_DIR / "1_load.ipynb").read_text()
    # On a machine with another Python, the kernel's language_info says so; nothing else may differ.
    python = json.loads(committed)["metadata"]["language_info"]["version"]
    committed = committed.replace(f'"version": "{python}"', f'"version": "{platform.python_version()}"')
    assert executed.read_text() == committed
    assert "without encryption" not in capfd.readouterr().err


def test_drop_tagged_cells_leaves_out_chapter_5s_lesson_only_cells():
    from fmnist_helpers.book import LESSON_ONLY_TAG, TRAINING_TAG, drop_tagged_cells

    chapter = nbformat.read(BOOK_DIR / "5_train.ipynb", as_version=4)
    before = nbformat.writes(chapter)
    trimmed = drop_tagged_cells(chapter, {LESSON_ONLY_TAG})
    assert nbformat.writes(chapter) == before  # the chapter itself is untouched
    kept = [cell for cell in chapter.cells if LESSON_ONLY_TAG not in cell.metadata.get("tags", [])]
    assert len(kept) == len(chapter.cells) - CHAPTER_5_LESSON_ONLY_CELLS
    assert [cell.id for cell in trimmed.cells] == [cell.id for cell in kept]
    assert sum(TRAINING_TAG in cell.metadata.get("tags", []) for cell in trimmed.cells) == 1
    assert drop_tagged_cells(chapter, ()).cells == chapter.cells


def test_skip_tags_must_be_a_collection_and_needs_an_output_dir():
    with pytest.raises(TypeError, match=r"skip_tags takes a collection of tags, such as \['lesson-only'\], "
                                        r"not a string"):
        execute_chapter("5_train", output_dir="elsewhere", skip_tags="lesson-only")
    with pytest.raises(ValueError, match=r"skip_tags=\['lesson-only'\] would drop cells from the published "
                                         r"chapter 5_train; pass an output_dir"):
        execute_chapter("5_train", skip_tags={"lesson-only"})
    with pytest.raises(ValueError, match=r"would drop cells from the published chapter 5_train"):
        execute_chapter("5_train", output_dir=BOOK_DIR, skip_tags={"lesson-only"})


def test_each_kernel_gets_its_own_ipc_sockets_in_the_runtime_folder(monkeypatch):
    # TCP ports are picked, released and bound later, so another process can take one in
    # between ("Address already in use"); socket files with a name of their own cannot clash.
    import tempfile
    from pathlib import Path

    import zmq

    from fmnist_helpers.book import kernel_config

    if not zmq.has("ipc"):
        pytest.skip("this libzmq has no ipc transport")
    with tempfile.TemporaryDirectory(dir="/tmp") as short:  # pytest's tmp_path is too deep for sockets
        runtime = Path(short) / "runtime"
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
        first, second = (kernel_config().KernelManager for _ in range(2))
        assert first.transport == second.transport == "ipc"
        assert first.ip != second.ip
        assert first.ip.startswith(str(runtime / "kernel-"))
        assert runtime.is_dir()


@pytest.mark.slow  # starts a Jupyter kernel
def test_a_runtime_folder_too_deep_for_socket_names_keeps_tcp_without_its_warning(tmp_path, monkeypatch, capfd):
    from fmnist_helpers.book import MAX_SOCKET_PATH, kernel_config

    deep = tmp_path / ("r" * MAX_SOCKET_PATH)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(deep))
    config = kernel_config()
    assert "transport" not in config.KernelManager and "ip" not in config.KernelManager
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "tiny.ipynb")
    papermill.execute_notebook(tmp_path / "tiny.ipynb", tmp_path / "out.ipynb", progress_bar=False,
                               config=config)
    assert nbformat.read(tmp_path / "out.ipynb", 4).cells[0].outputs[0]["text"] == "42\n"
    assert "without encryption" not in capfd.readouterr().err


def test_papermill_is_quiet_only_about_the_hidden_parameters(caplog):
    import logging

    from fmnist_helpers.book import _quiet_about

    logger = logging.getLogger("papermill")
    with caplog.at_level(logging.WARNING, logger="papermill"), _quiet_about({"profile"}):
        logger.warning("Passed unknown parameter: profile")
        logger.warning("Passed unknown parameter: epoch")  # a typo still warns
    assert [record.getMessage() for record in caplog.records] == ["Passed unknown parameter: epoch"]
    assert not logger.filters  # the filter goes with the block
