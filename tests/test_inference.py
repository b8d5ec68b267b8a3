"""Tests of fmnist_helpers/inference.py and the ``predict`` command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

import fmnist_helpers.__main__ as cli
from fmnist_helpers import (CLASS_NAMES, DEFAULT_MODEL_PATH, HEADLINE_MODEL_NAME, best_model_path, build_mlp,
                            find_model_path, load_image, load_trained_model, make_example_image,
                            make_example_photo, predict_file, predict_image, prepare_photo,
                            save_image, top_predictions)
from fmnist_helpers.book import HIDDEN_PARAMETERS_TAG

from .conftest import ROOT, cell_source, cell_tags, load_chapter

SHIPPED_IMAGE = ROOT / "book" / "images" / "test_image_0.png"
LINE = re.compile(r"^(?P<name>.+?) +(?P<percent>\d{1,3}\.\d)%$")


def random_image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    """A random 28x28 grayscale PNG."""
    return save_image(random_image(), tmp_path / "image.png")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained MLP saved as .keras: enough to exercise loading and predicting."""
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "m.keras"
    build_mlp().save(path)
    return path


# --- save_image and load_image ---------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    image = random_image()
    path = save_image(image, tmp_path / "image.png")
    assert path == tmp_path / "image.png"
    with Image.open(path) as picture:
        assert (picture.format, picture.mode, picture.size) == ("PNG", "L", (28, 28))
    loaded = load_image(path)
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, image)


def test_save_image_writes_text_chunks(tmp_path):
    path = save_image(random_image(), tmp_path / "image.png", text={"Source": "a test"})
    with Image.open(path) as picture:
        assert picture.text == {"Source": "a test"}


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        pytest.param(random_image().tolist(), TypeError, r"image must be a numpy array, got list",
                     id="list"),
        pytest.param(random_image() / 255.0, TypeError,
                     r"image must have dtype uint8 \(values 0\.\.255\), got float64\. To fix: "
                     r"for pixels scaled to 0\.\.1 pass \(image \* 255\)", id="float"),
        pytest.param(random_image()[np.newaxis], ValueError,
                     r"image must have shape \(28, 28\), got \(1, 28, 28\)\. To fix: pass one "
                     r"image", id="batch"),
        pytest.param(np.zeros((32, 32), dtype=np.uint8), ValueError,
                     r"image must have shape \(28, 28\), got \(32, 32\)", id="32x32"),
    ],
)
def test_save_image_rejects(tmp_path, image, error, message):
    with pytest.raises(error, match=message):
        save_image(image, tmp_path / "image.png")
    assert not (tmp_path / "image.png").exists()


def test_load_image_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no image file at .*missing\.png; expected a 28x28 "
                                                r"image such as a PNG\. To fix: check the path"):
        load_image(tmp_path / "missing.png")


def test_a_missing_relative_path_is_named_with_the_folder_it_starts_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"relative paths start from " + re.escape(str(tmp_path))):
        load_image("missing.png")
    with pytest.raises(FileNotFoundError) as absolute:
        load_image(tmp_path / "missing.png")
    assert "relative paths" not in str(absolute.value)  # an absolute path needs no folder


def test_load_image_not_an_image(tmp_path):
    path = tmp_path / "x.png"
    path.write_text("this is text, not a PNG\n")
    with pytest.raises(ValueError, match=r"x\.png is not an image Pillow can read; expected an "
                                         r"image file such as a PNG\. To fix:") as caught:
        load_image(path)
    assert isinstance(caught.value.__cause__, UnidentifiedImageError)


def test_load_image_truncated(tmp_path, image_file):
    path = tmp_path / "truncated.png"
    path.write_bytes(image_file.read_bytes()[:400])
    with pytest.raises(ValueError, match=r"truncated\.png looks like an image but cannot be decoded "
                                         r"\(.*\); it may be truncated or damaged"):
        load_image(path)


@pytest.mark.parametrize(("shape", "found"), [((32, 32), "32x32"), ((40, 28), "28x40")],
                         ids=["32x32", "28-wide-40-high"])
def test_load_image_wrong_size(tmp_path, shape, found):
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros(shape, dtype=np.uint8)).save(path)
    with pytest.raises(ValueError, match=rf"big\.png is {found} pixels, expected 28x28 like the "
                                         rf"Fashion-MNIST images\. To fix: crop or resize it"):
        load_image(path)


def test_load_image_converts_rgb_to_grayscale(tmp_path):
    colours = np.array(
        [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0], [128, 128, 128], [200, 100, 50]],
        dtype=np.uint8,
    )
    rgb = np.zeros((28, 28, 3), dtype=np.uint8)
    rgb[: len(colours)] = colours[:, np.newaxis, :]  # one colour per row
    path = tmp_path / "colour.png"
    Image.fromarray(rgb).save(path)
    with Image.open(path) as picture:
        assert picture.mode == "RGB"
    gray = load_image(path)
    assert gray.shape == (28, 28) and gray.dtype == np.uint8
    luma = np.rint(rgb.astype(float) @ [0.299, 0.587, 0.114])  # ITU-R 601-2, as Pillow's "L"
    np.testing.assert_array_equal(gray, luma)
    assert gray[0, 0] == 76 and gray[3, 0] == 255 and gray[5, 0] == 128


# --- the example image -----------------------------------------------------------------


def test_make_example_image_from_tiny_data(tiny_dir, tiny_files, isolated, monkeypatch, tmp_path):
    monkeypatch.setenv("FMNIST_DATA_DIR", str(tiny_dir))
    path = make_example_image(1, tmp_path / "new" / "folder" / "example.png")
    np.testing.assert_array_equal(load_image(path), tiny_files["t10k-images-idx3-ubyte.gz"][1])
    with Image.open(path) as picture:
        assert "image index 1, label 1 (Trouser)" in picture.text["Source"]
        assert picture.text["Copyright"].startswith("Copyright (c) 2017 Zalando SE")
        assert picture.text["License"] == "MIT"


def test_example_photo_prepares_back_into_the_test_image(tiny_dir, tiny_files, isolated, monkeypatch, tmp_path):
    monkeypatch.setenv("FMNIST_DATA_DIR", str(tiny_dir))
    path = make_example_photo(2, tmp_path / "photos" / "photo.png")
    with Image.open(path) as photo:
        assert photo.size == (320, 240) and photo.mode == "RGB"
        assert photo.text["Source"].startswith("made by fmnist_helpers.make_example_photo from the Fashion-MNIST")
        prepared = prepare_photo(photo)
    assert prepared.shape == (28, 28) and prepared.dtype == np.uint8
    # Random tiny images fill the whole square, so the object's crop is the whole 28x28 image
    # (enlarged 6 times), and preparing it gives back the original, up to resampling.
    original = tiny_files["t10k-images-idx3-ubyte.gz"][2].astype(int)
    assert np.corrcoef(prepared.ravel(), original.ravel())[0, 1] > 0.7


@pytest.mark.parametrize(
    ("index", "size", "message"),
    [(4, (320, 240), r"index 4 is out of range; the test set has 4 images, so expected 0..3"),
     (0, (100, 240), r"size must be at least 200x200 pixels to hold the 168x168 object, got \(100, 240\)")],
    ids=["index", "size"],
)
def test_make_example_photo_errors(tiny_dir, isolated, monkeypatch, tmp_path, index, size, message):
    monkeypatch.setenv("FMNIST_DATA_DIR", str(tiny_dir))
    with pytest.raises(ValueError, match=message):
        make_example_photo(index, tmp_path / "photo.png", size=size)
    assert not (tmp_path / "photo.png").exists()


def test_prepare_photo_crops_and_centres_the_object():
    canvas = np.full((100, 200), 255, dtype=np.uint8)
    canvas[10:30, 150:190] = 0  # a dark 40x20 object, top right
    prepared = prepare_photo(Image.fromarray(canvas))
    rows, cols = np.nonzero(prepared > 127)
    assert (cols.min(), cols.max()) == (0, 27)  # the longer side fills 28 pixels
    assert (rows.min(), rows.max()) == (7, 20)  # 14 rows, centred
    with pytest.raises(ValueError, match=r"no object found: every pixel is within 40 of white"):
        prepare_photo(Image.new("L", (50, 50), 250))


def test_predict_file_photo(tmp_path, model_file):
    write_photo(tmp_path / "photo.png")
    with pytest.raises(ValueError, match=r"is 90x120 pixels, expected 28x28 .* or treat it as a photo"):
        predict_file(tmp_path / "photo.png", model_file)
    assert len(predict_file(tmp_path / "photo.png", model_file, top=2, photo=True)) == 2


@pytest.mark.parametrize("index", [4, -1])
def test_make_example_image_index_out_of_range(tiny_dir, isolated, monkeypatch, tmp_path, index):
    monkeypatch.setenv("FMNIST_DATA_DIR", str(tiny_dir))
    with pytest.raises(ValueError, match=rf"index {index} is out of range; the test set has 4 "
                                         rf"images, so expected 0\.\.3"):
        make_example_image(index, tmp_path / "example.png")
    assert not (tmp_path / "example.png").exists()


def test_shipped_example_image_is_test_image_0(real_data):
    _, (x_test, y_test) = real_data
    assert CLASS_NAMES[y_test[0]] == "Ankle boot"
    np.testing.assert_array_equal(load_image(SHIPPED_IMAGE), x_test[0])


def test_shipped_example_image_regenerates_byte_for_byte(real_data, tmp_path):
    path = make_example_image(0, tmp_path / "test_image_0.png")
    assert path.read_bytes() == SHIPPED_IMAGE.read_bytes()


# --- predict_file ----------------------------------------------------------------------


def test_predict_file_matches_predict_image(image_file, model_file):
    expected = top_predictions(predict_image(load_trained_model(model_file), random_image()), k=4)
    result = predict_file(image_file, model_file, top=4)
    assert [name for name, _ in result] == [name for name, _ in expected]
    np.testing.assert_allclose([p for _, p in result], [p for _, p in expected], rtol=1e-6)


@pytest.mark.parametrize("top", [0, 11])
def test_predict_file_top_out_of_range(image_file, tmp_path, top):
    with pytest.raises(ValueError, match=rf"top must be between 1 and 10 \(the number of "
                                         rf"classes\), got {top}"):
        predict_file(image_file, tmp_path / "never-loaded.keras", top=top)


def test_predict_file_rejects_model_with_wrong_outputs(image_file, tmp_path):
    build_mlp(num_classes=5).save(tmp_path / "five.keras")
    with pytest.raises(ValueError, match=r"five\.keras outputs shape \(5,\) per image, expected "
                                         r"\(10,\): one probability per Fashion-MNIST class"):
        predict_file(image_file, tmp_path / "five.keras")


def test_default_model_path_is_where_the_training_chapter_saves():
    # The book's own settings sit in a hidden cell above the parameters cell, or in it.
    settings = "\n".join(cell_source(cell) for cell in load_chapter("5_train")["cells"]
                         if {"parameters", HIDDEN_PARAMETERS_TAG} & set(cell_tags(cell)))
    artifacts_dir, = re.findall(r'^artifacts_dir = "([^"]+)"', settings, re.M)
    assert DEFAULT_MODEL_PATH == (ROOT / "book" / artifacts_dir / "model.keras").resolve()


# --- the command line ------------------------------------------------------------------


@pytest.mark.parametrize("top", [1, 3, 10])
def test_cli_predict_prints_top_classes(image_file, model_file, capsys, top):
    assert cli.main(["predict", str(image_file), "--model", str(model_file), "--top", str(top)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert len(lines) == top
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    names = [match["name"] for match in matches]
    percents = [float(match["percent"]) for match in matches]
    assert set(names) <= set(CLASS_NAMES) and len(set(names)) == top
    assert percents == sorted(percents, reverse=True)
    assert names == [name for name, _ in predict_file(image_file, model_file, top=top)]


def test_cli_predict_never_rounds_to_100_or_0_percent(monkeypatch, capsys):
    def fake_predict_file(image_path, model_path, top, photo):
        return [("Ankle boot", 0.99995), ("Sneaker", 0.00005), ("Sandal", 0.0)]

    monkeypatch.setattr(cli, "predict_file", fake_predict_file)
    assert cli.main(["predict", "boot.png", "--model", "mine.keras"]) == 0
    assert capsys.readouterr().out == "Ankle boot  >99.9%\nSneaker      <0.1%\nSandal        0.0%\n"


def test_cli_predict_format_and_defaults(monkeypatch, capsys, tmp_path):
    calls = []

    def fake_predict_file(image_path, model_path, top, photo):
        calls.append((image_path, model_path, top, photo))
        return [("Ankle boot", 0.973), ("Sneaker", 0.02), ("T-shirt/top", 0.004)]

    monkeypatch.setattr(cli, "predict_file", fake_predict_file)
    monkeypatch.chdir(tmp_path)
    saved = tmp_path / "artifacts" / "model.keras"
    saved.parent.mkdir()
    saved.write_bytes(b"saved by chapter 5")
    assert cli.main(["predict", "boot.png"]) == 0
    assert calls == [("boot.png", saved, 3, False)]
    captured = capsys.readouterr()
    assert captured.out == "Ankle boot   97.3%\nSneaker       2.0%\nT-shirt/top   0.4%\n"
    assert captured.err == f"model: {saved}\n"
    (tmp_path / "artifacts" / HEADLINE_MODEL_NAME).write_bytes(b"saved by make headline")
    assert cli.main(["predict", "boot.png"]) == 0
    assert calls[-1] == ("boot.png", tmp_path / "artifacts" / HEADLINE_MODEL_NAME, 3, False)
    # An explicit --model always wins, and needs no saying which.
    capsys.readouterr()
    assert cli.main(["predict", "boot.png", "--model", "mine.keras"]) == 0
    assert calls[-1] == ("boot.png", "mine.keras", 3, False)
    assert capsys.readouterr().err == ""


def save_fake_models(root: Path, where: dict[str, list[str]]) -> None:
    """Write placeholder model files: ``where`` maps a folder under ``root`` to file names."""
    for folder, names in where.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            (root / folder / name).write_bytes(b"a saved model")


@pytest.mark.parametrize(
    ("saved", "found"),
    [
        pytest.param({"work/artifacts": ["model.keras"]}, "work/artifacts/model.keras",
                     id="working-folder"),
        pytest.param({"artifacts": ["model.keras"]}, "artifacts/model.keras",
                     id="parent-folder-as-chapters-save"),
        pytest.param({"work/artifacts": ["model.keras"], "artifacts": ["model.keras"]},
                     "work/artifacts/model.keras", id="nearest-wins"),
        pytest.param({"work/artifacts": ["model.keras"], "artifacts": [HEADLINE_MODEL_NAME]},
                     "work/artifacts/model.keras", id="nearest-wins-over-a-farther-headline"),
        pytest.param({"work/artifacts": ["model.keras", HEADLINE_MODEL_NAME]},
                     f"work/artifacts/{HEADLINE_MODEL_NAME}", id="headline-first-in-a-folder"),
        pytest.param({"work/artifacts/model.keras": [], "artifacts": ["model.keras"]},
                     "artifacts/model.keras", id="a-folder-is-not-a-model"),
    ],
)
def test_find_model_path_search_order(tmp_path, monkeypatch, saved, found):
    save_fake_models(tmp_path, saved)
    (tmp_path / "work").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path / "work")
    assert find_model_path() == tmp_path / found


def test_find_model_path_names_every_folder_and_the_fix(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    expected = (rf"^no saved model \({HEADLINE_MODEL_NAME} or model\.keras\) in "
                rf"{re.escape(str(tmp_path / 'work' / 'artifacts'))} or "
                rf"{re.escape(str(tmp_path / 'artifacts'))}\. To fix: run the training chapter "
                rf"\(5_train\) in this folder \({re.escape(str(tmp_path / 'work'))}\), which saves "
                rf"model\.keras in \.\./artifacts, or `make book` in a clone of the book; or name "
                rf"a saved model with --model PATH$")
    with pytest.raises(FileNotFoundError, match=expected):
        find_model_path()


def test_find_model_path_looks_in_each_folder_once(tmp_path):
    folders = [tmp_path / "a", tmp_path / "b" / ".." / "a"]
    with pytest.raises(FileNotFoundError, match=rf"in {re.escape(str(tmp_path / 'a'))}\. To fix"):
        find_model_path(folders)


def test_best_model_path_prefers_the_headline_model(tmp_path):
    assert best_model_path(tmp_path) == tmp_path / "model.keras"
    (tmp_path / HEADLINE_MODEL_NAME).mkdir()  # not a file: not a saved model
    assert best_model_path(tmp_path) == tmp_path / "model.keras"
    (tmp_path / HEADLINE_MODEL_NAME).rmdir()
    (tmp_path / HEADLINE_MODEL_NAME).write_bytes(b"saved by make headline")
    assert best_model_path(tmp_path) == tmp_path / HEADLINE_MODEL_NAME


def test_cli_predict_missing_image(tmp_path, model_file, capsys):
    status = cli.main(["predict", str(tmp_path / "missing.png"), "--model", str(model_file)])
    assert status == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.match(r"error: no image file at .*missing\.png", captured.err)


def test_cli_predict_missing_model(image_file, tmp_path, capsys):
    assert cli.main(["predict", str(image_file), "--model", str(tmp_path / "none.keras")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: no saved model at {tmp_path / 'none.keras'}")
    assert "run the training chapter (5_train)" in err


def test_cli_predict_missing_default_model(image_file, tmp_path, monkeypatch, capsys):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert cli.main(["predict", str(image_file)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: no saved model ({HEADLINE_MODEL_NAME} or model.keras) in "
                                   f"{tmp_path / 'work' / 'artifacts'} or {tmp_path / 'artifacts'}. To fix: ")
    assert captured.err.endswith("or name a saved model with --model PATH\n")


def test_cli_predict_help_says_where_it_looks(capsys):
    with pytest.raises(SystemExit):
        cli.main(["predict", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert ("Without --model, it uses the nearest saved model: headline_model.keras (saved by "
            "`make headline`), else model.keras (saved by the training chapter), in artifacts/, "
            "else ../artifacts/ of the working folder.") in help_text
    assert "a saved model; always used when given" in help_text


def test_cli_predict_unreadable_image(tmp_path, model_file, capsys):
    (tmp_path / "x.png").write_text("not an image")
    assert cli.main(["predict", str(tmp_path / "x.png"), "--model", str(model_file)]) == 1
    assert re.match(r"error: .*x\.png is not an image Pillow can read", capsys.readouterr().err)


def test_cli_predict_bad_top(image_file, model_file, capsys):
    assert cli.main(["predict", str(image_file), "--model", str(model_file), "--top", "0"]) == 1
    assert "error: top must be between 1 and 10" in capsys.readouterr().err


def write_photo(path: Path) -> Path:
    """A photo-like RGB image: a dark 50x80 object on a light background, 90x120 pixels."""
    canvas = np.full((120, 90, 3), 240, dtype=np.uint8)
    canvas[20:100, 20:70] = 30
    Image.fromarray(canvas).save(path)
    return path


def test_cli_predict_photo(tmp_path, model_file, capsys):
    photo = write_photo(tmp_path / "photo.png")
    assert cli.main(["predict", "--photo", str(photo), "--model", str(model_file), "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = predict_file(photo, model_file, top=2, photo=True)
    assert [LINE.match(line)["name"] for line in lines] == [name for name, _ in expected]
    assert cli.main(["predict", str(photo), "--model", str(model_file)]) == 1  # not 28x28 without --photo
    assert "or treat it as a photo" in capsys.readouterr().err


def test_cli_predict_unreadable_file_is_an_error_line(image_file, model_file, monkeypatch, capsys):
    # As root, chmod does not stop reading; refuse the read where the image is opened.
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == image_file:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    assert cli.main(["predict", str(image_file), "--model", str(model_file)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: [Errno 13] Permission denied: '{image_file}'\n"


def test_cli_predict_a_folder_as_the_model_is_an_error_line(image_file, tmp_path, capsys):
    (tmp_path / "model.keras").mkdir()
    assert cli.main(["predict", str(image_file), "--model", str(tmp_path / "model.keras")]) == 1
    assert capsys.readouterr().err.startswith(f"error: no saved model at {tmp_path / 'model.keras'}")


@pytest.mark.slow  # two new Python processes, each importing TensorFlow
def test_console_script_predicts_a_photo_end_to_end(tmp_path, model_file):
    """The installed `fmnist-helpers` command, as a user types it: output, then an error's status."""
    script = Path(sys.executable).parent / "fmnist-helpers"
    photo = write_photo(tmp_path / "photo.png")
    done = subprocess.run([str(script), "predict", "--photo", str(photo), "--model", str(model_file)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [LINE.match(line)["name"] for line in lines] == [
        name for name, _ in predict_file(photo, model_file, top=3, photo=True)]
    failed = subprocess.run([sys.executable, "-m", "fmnist_helpers", "predict", "--photo", "missing.png",
                             "--model", str(model_file)], capture_output=True, text=True, cwd=tmp_path)
    assert failed.returncode == 1 and failed.stdout == ""
    # TensorFlow's C++ start-up lines may come first; the error is the last line, alone.
    assert failed.stderr.splitlines()[-1].startswith("error: no image file at missing.png; expected ")
    assert "Traceback" not in failed.stderr
