"""Tests of fmnist_helpers/publish.py: the site's summary, set-repository and the release's
version and install cells on a copy, the gh-pages push."""

from __future__ import annotations

import difflib
import importlib.util
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
import yaml

from fmnist_helpers import publish
from fmnist_helpers.publish import PublishError

from .conftest import ROOT

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
OLD_URL = CONFIG["repository"]["url"]
NEW_URL = "https://github.com/an-owner/a-fork"
#: What set-repository reads and writes, as paths in the repository.
DERIVED = ["_config.yml", "fmnist_helpers/book_files.py", "book/intro.md",
           *(f"book/{path.name}" for path in sorted((ROOT / "book").glob("*.ipynb")))]


# --- the site's summary ---------------------------------------------------------------------

def write_glued_notebook(path: Path, glued: dict[str, str]) -> None:
    """Write a notebook with one code cell whose outputs are myst-nb glue records."""
    cell = nbformat.v4.new_code_cell("glue(...)", execution_count=1)
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"application/papermill.record/text/plain": repr(value)},
            metadata={"scrapbook": {"mime_prefix": "application/papermill.record/", "name": name}},
        )
        for name, value in glued.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)


def write_site(site: Path, pages: list[str], redirect: bool = True) -> None:
    """Write a fake built site: the pages, Sphinx's own pages and theme files."""
    for page in [*pages, "genindex.html", "search.html", "py-modindex.html", "_static/macros.html"]:
        (site / page).parent.mkdir(parents=True, exist_ok=True)
        (site / page).write_text("<html><body>a page</body></html>")
    index = '<meta http-equiv="Refresh" content="0; url=book/intro.html" />' if redirect else "<html>home</html>"
    (site / "index.html").write_text(index)


def test_summary_counts_the_pages_and_quotes_the_glued_accuracy(tmp_path):
    write_site(tmp_path / publish.SITE_DIR, ["book/intro.html", "book/1_load.html", "book/5_train.html"])
    write_glued_notebook(tmp_path / publish.TRAINING_CHAPTER, {"train_images": "54,000", "test_accuracy": "91.8%"})
    assert publish.summarize_site(tmp_path) == (
        "### The book's site\n"
        "- **3 pages** built into `_build/html`\n"
        "- **test accuracy 91.8%** (chapter 5's committed output)\n"
    )


def test_count_pages_counts_a_root_index_that_is_a_page(tmp_path):
    write_site(tmp_path, ["book/1_load.html"], redirect=False)
    assert publish.count_pages(tmp_path) == 2


def test_the_committed_training_chapter_glues_its_test_accuracy():
    assert re.fullmatch(r"\d{2}\.\d%", publish.read_glued_value(ROOT / publish.TRAINING_CHAPTER, "test_accuracy"))


def test_summary_refuses_an_unbuilt_site(tmp_path):
    write_glued_notebook(tmp_path / publish.TRAINING_CHAPTER, {"test_accuracy": "91.8%"})
    with pytest.raises(PublishError, match=r"index\.html does not exist: the site has not been built; run `make site`"):
        publish.summarize_site(tmp_path)


def test_read_glued_value_names_a_missing_notebook(tmp_path):
    with pytest.raises(PublishError, match=r"5_train\.ipynb does not exist; run this in the repository's top folder"):
        publish.read_glued_value(tmp_path / "5_train.ipynb", "test_accuracy")


def test_read_glued_value_names_the_missing_glue_and_the_fix(tmp_path):
    write_glued_notebook(tmp_path / "5_train.ipynb", {"train_images": "54,000"})
    with pytest.raises(PublishError, match=r"has no glued 'test_accuracy' output; .*run `make execute`"):
        publish.read_glued_value(tmp_path / "5_train.ipynb", "test_accuracy")


def test_summary_command_prints_markdown(tmp_path, capsys):
    write_site(tmp_path / publish.SITE_DIR, ["book/intro.html"])
    write_glued_notebook(tmp_path / publish.TRAINING_CHAPTER, {"test_accuracy": "91.8%"})
    assert publish.main(["--root", str(tmp_path), "summary"]) == 0
    assert capsys.readouterr().out.startswith("### The book's site\n- **1 page** built")


def test_summary_command_fails_with_the_error(tmp_path, capsys):
    assert publish.main(["--root", str(tmp_path), "summary"]) == 1
    assert capsys.readouterr().err.startswith("error: ")


# --- set-repository ---------------------------------------------------------------------------

#: The package's version, where set-version writes it.
PACKAGE_INIT = "fmnist_helpers/__init__.py"


def install_urls(source: str) -> list[str]:
    """The repository addresses in an install cell, unpinned (``git+URL"``) or pinned (``book = "URL"``)."""
    return re.findall(r'(?:git\+|^book = ")(https://[^"\s@{]+)', source, re.M)


def install_cells(root: Path) -> dict[str, nbformat.NotebookNode]:
    """Each chapter's first code cell, by file name."""
    return {path.name: next(cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
            for path in sorted((root / "book").glob("*.ipynb"))}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the repository's files that name its address or version (and the table of contents)."""
    for path in [*DERIVED, "_toc.yml", PACKAGE_INIT]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / path, tmp_path / path)
    return tmp_path


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """The (old, new) pairs of lines that differ; every change must replace one line by one."""
    pairs = []
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        assert tag == "replace" and a_end - a_start == b_end - b_start, (tag, before.splitlines()[a_start:a_end])
        pairs += zip(before.splitlines()[a_start:a_end], after.splitlines()[b_start:b_end])
    return pairs


def load_book_files(root: Path):
    """Import ``fmnist_helpers/book_files.py`` from ``root`` as a module of its own."""
    spec = importlib.util.spec_from_file_location("copied_book_files", root / "fmnist_helpers" / "book_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_set_repository_rewrites_every_derived_place_and_nothing_else(copy):
    changed = publish.set_repository(NEW_URL, copy)
    assert sorted(changed) == sorted(copy / path for path in DERIVED)
    old_name, new_name = OLD_URL.rsplit("/", 1)[1], "a-fork"
    for path in DERIVED:
        pairs = changed_lines((ROOT / path).read_text(), (copy / path).read_text())
        expected = 2 if path == "book/intro.md" else 1
        assert len(pairs) == expected, (path, pairs)
        for old, new in pairs:
            assert OLD_URL in old or old == f"cd {old_name}", (path, old)
            assert new == old.replace(OLD_URL, NEW_URL).replace(f"cd {old_name}", f"cd {new_name}"), (path, new)
    assert not any((copy / "book").glob("*.ipynb.*")), "no stray files"


def test_set_repository_keeps_the_tie_between_config_package_and_colab_cells(copy):
    publish.set_repository(NEW_URL, copy)
    config = yaml.safe_load((copy / "_config.yml").read_text())
    assert config["repository"] == {**CONFIG["repository"], "url": NEW_URL}
    # tests/test_book_files.py's tie, on the copy
    assert load_book_files(copy).REPOSITORY_URL == config["repository"]["url"]
    # tests/test_book_structure.py's tie, on the copy
    for name, first in install_cells(copy).items():
        assert install_urls(first.source) == [config["repository"]["url"]], name
    assert f"git clone {NEW_URL}\ncd a-fork\n" in (copy / "book" / "intro.md").read_text()


def test_set_repository_back_restores_every_file_byte_for_byte(copy):
    publish.set_repository(NEW_URL, copy)
    assert publish.set_repository(NEW_URL, copy) == []
    publish.set_repository(OLD_URL, copy)
    for path in DERIVED:
        assert (copy / path).read_bytes() == (ROOT / path).read_bytes(), path


@pytest.mark.parametrize(
    "url",
    ["http://github.com/owner/repo", "https://github.com/owner/repo/", "https://github.com/owner/repo.git",
     "https://gitlab.com/owner/repo", "github.com/owner/repo", "https://github.com/owner",
     "https://github.com/owner/repo/tree/main", "https://github.com/owner/re po", ""],
    ids=["http", "trailing-slash", "dot-git", "not-github", "no-scheme", "no-name", "deeper-path", "space", "empty"],
)
def test_set_repository_rejects_a_url_that_is_not_a_github_repository(copy, url):
    with pytest.raises(ValueError, match=r"is not of the form https://github\.com/OWNER/REPO; give the address"):
        publish.set_repository(url, copy)
    for path in DERIVED:
        assert (copy / path).read_bytes() == (ROOT / path).read_bytes(), path


def test_set_repository_refuses_a_chapter_without_its_colab_cell_and_writes_nothing(copy):
    chapter = copy / "book" / "3_preprocess.ipynb"
    notebook = nbformat.read(chapter, as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    first.source = "import sys"
    nbformat.write(notebook, chapter)
    with pytest.raises(PublishError, match=r"3_preprocess\.ipynb: its first code cell has no Colab install line"):
        publish.set_repository(NEW_URL, copy)
    assert (copy / "_config.yml").read_bytes() == (ROOT / "_config.yml").read_bytes()


def test_set_repository_refuses_a_config_without_the_address(copy):
    config = copy / "_config.yml"
    config.write_text(config.read_text().replace("  url: ", "  address: "))
    with pytest.raises(PublishError, match=r"should hold a `url:` line in its `repository:` block once, but it holds 0"):
        publish.set_repository(NEW_URL, copy)


def test_set_repository_refuses_an_intro_without_the_clone_lines(copy):
    intro = copy / "book" / "intro.md"
    intro.write_text(intro.read_text().replace("git clone ", "git clone --depth 1 "))
    with pytest.raises(PublishError, match=r"should hold a `git clone URL` line followed by `cd NAME` once"):
        publish.set_repository(NEW_URL, copy)


def test_set_repository_names_a_missing_file(copy):
    (copy / "fmnist_helpers" / "book_files.py").unlink()
    with pytest.raises(PublishError, match=r"book_files\.py does not exist; pass the repository's top folder"):
        publish.set_repository(NEW_URL, copy)


def test_set_repository_refuses_a_folder_without_chapters(copy):
    for path in (copy / "book").glob("*.ipynb"):
        path.unlink()
    with pytest.raises(PublishError, match=r"holds no chapters \(\*\.ipynb\); pass the repository's top folder"):
        publish.set_repository(NEW_URL, copy)


def test_set_repository_command(copy, capsys):
    assert publish.main(["--root", str(copy), "set-repository", NEW_URL]) == 0
    out = capsys.readouterr().out
    assert "updated _config.yml\n" in out
    assert out.endswith(f"the book's repository is {NEW_URL} ({len(DERIVED)} files changed)\n")
    assert publish.main(["--root", str(copy), "set-repository", "https://github.com/owner"]) == 1
    assert capsys.readouterr().err.startswith("error: repository URL 'https://github.com/owner' is not")


# --- releases: the version and the pinned install cells -----------------------------------

def test_install_cell_is_pinned_and_fits_79_characters():
    source = publish.install_cell_source(OLD_URL, "1.2.3")
    assert install_urls(source) == [OLD_URL]
    assert source.endswith('%pip install -q "fmnist-helpers @ git+{book}@v1.2.3"')
    assert max(map(len, source.splitlines())) <= 79
    long_url = "https://github.com/" + "o" * 20 + "/" + "r" * 30  # 70 characters
    assert max(map(len, publish.install_cell_source(long_url, "10.20.30").splitlines())) <= 79


@pytest.fixture
def ipython(monkeypatch: pytest.MonkeyPatch):
    """An IPython shell whose ``%pip`` records its argument instead of running pip."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    calls: list[str] = []
    shell.register_magic_function(calls.append, "line", "pip")
    yield shell, calls
    InteractiveShell.clear_instance()


def test_install_cell_installs_the_release_in_colab(ipython, monkeypatch):
    shell, calls = ipython
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    result = shell.run_cell(publish.install_cell_source(OLD_URL, "1.2.3"))
    assert result.success, result.error_in_exec
    assert calls == [f'install -q "fmnist-helpers @ git+{OLD_URL}@v1.2.3"']


def test_install_cell_does_nothing_outside_colab(ipython, monkeypatch):
    shell, calls = ipython
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert shell.run_cell(publish.install_cell_source(OLD_URL, "1.2.3")).success
    assert calls == []


def test_pin_install_cells_pins_and_shows_each_chapters_first_code_cell_and_nothing_else(copy):
    before = {path: (copy / path).read_text() for path in DERIVED}
    changed = publish.pin_install_cells(copy, "2.3.4")
    chapters = [path for path in DERIVED if path.endswith(".ipynb")]
    assert sorted(changed) == sorted(copy / path for path in chapters)
    for name, first in install_cells(copy).items():
        assert first.source == publish.install_cell_source(OLD_URL, "2.3.4"), name
        assert "remove-cell" not in first.metadata.get("tags", []), name
    for path in chapters:  # every other cell, and every output, as it was
        old, new = (nbformat.reads(text, as_version=4) for text in (before[path], (copy / path).read_text()))
        assert len(old.cells) == len(new.cells)
        first = next(index for index, cell in enumerate(old.cells) if cell.cell_type == "code")
        for index, (old_cell, new_cell) in enumerate(zip(old.cells, new.cells)):
            if index != first:
                assert old_cell == new_cell, (path, index)
            assert old_cell.get("outputs") == new_cell.get("outputs"), (path, index)
    assert publish.pin_install_cells(copy, "2.3.4") == []


def test_pin_install_cells_uses_the_packages_version(copy):
    publish.pin_install_cells(copy)
    version = publish.package_version(copy)
    for first in install_cells(copy).values():
        assert first.source.endswith(f'@v{version}"')


def test_set_repository_rewrites_pinned_install_cells(copy):
    publish.pin_install_cells(copy, "2.3.4")
    publish.set_repository(NEW_URL, copy)
    for name, first in install_cells(copy).items():
        assert first.source == publish.install_cell_source(NEW_URL, "2.3.4"), name


def test_set_version_writes_the_version_and_pins_the_cells(copy):
    changed = publish.set_version("3.0.1", copy)
    assert copy / PACKAGE_INIT in changed
    assert publish.package_version(copy) == "3.0.1"
    assert '__version__ = "3.0.1"\n' in (copy / PACKAGE_INIT).read_text()
    assert all(first.source.endswith('@v3.0.1"') for first in install_cells(copy).values())
    assert publish.check_release("v3.0.1", copy) == "3.0.1"


@pytest.mark.parametrize("version", ["1.2", "v1.2.3", "1.2.3rc1", "1.2.3 ", ""])
def test_set_version_rejects_a_version_that_is_not_three_numbers_and_writes_nothing(copy, version):
    with pytest.raises(ValueError, match=r"is not of the form X\.Y\.Z \(three numbers, no leading v\)"):
        publish.set_version(version, copy)
    for path in [*DERIVED, PACKAGE_INIT]:
        assert (copy / path).read_bytes() == (ROOT / path).read_bytes(), path


def test_set_version_refuses_a_chapter_without_its_install_cell_and_writes_nothing(copy):
    chapter = copy / "book" / "2_visualize.ipynb"
    notebook = nbformat.read(chapter, as_version=4)
    next(cell for cell in notebook.cells if cell.cell_type == "code").source = "import sys"
    nbformat.write(notebook, chapter)
    with pytest.raises(PublishError, match=r"2_visualize\.ipynb: its first code cell has no Colab install line.*set-version"):
        publish.set_version("3.0.1", copy)
    assert (copy / PACKAGE_INIT).read_bytes() == (ROOT / PACKAGE_INIT).read_bytes()


def test_check_release_refuses_a_tag_that_is_not_the_version(copy):
    publish.set_version("3.0.1", copy)
    with pytest.raises(PublishError, match=r"the tag 'v3\.0\.2' does not match the package's version 3\.0\.1"):
        publish.check_release("v3.0.2", copy)


def test_check_release_refuses_unpinned_install_cells(copy):
    publish.set_version("3.0.1", copy)
    publish.pin_install_cells(copy, "3.0.0")
    with pytest.raises(PublishError, match=r"1_load\.ipynb: its install cell is not pinned to v3\.0\.1.*pin-install-cells"):
        publish.check_release("v3.0.1", copy)


def test_package_version_names_a_file_without_it(copy):
    (copy / PACKAGE_INIT).write_text('"""No version."""\n')
    with pytest.raises(PublishError, match=r'__init__\.py should hold a line `__version__ = "X\.Y\.Z"` once, but it holds 0'):
        publish.package_version(copy)


def test_release_commands(copy, capsys):
    assert publish.main(["--root", str(copy), "set-version", "4.5.6"]) == 0
    assert capsys.readouterr().out.endswith("install cells pinned to v4.5.6 (10 files changed)\n")
    assert publish.main(["--root", str(copy), "pin-install-cells"]) == 0
    assert capsys.readouterr().out == "install cells pinned to v4.5.6 (0 files changed)\n"
    assert publish.main(["--root", str(copy), "check-release", "v4.5.6"]) == 0
    assert capsys.readouterr().out == "release v4.5.6: version and install cells agree\n"
    assert publish.main(["--root", str(copy), "check-release", "v4.5.7"]) == 1
    assert capsys.readouterr().err.startswith("error: the tag 'v4.5.7' does not match")
    assert publish.main(["--root", str(copy), "set-version", "4.5"]) == 1
    assert capsys.readouterr().err.startswith("error: version '4.5' is not of the form X.Y.Z")


# --- make publish -------------------------------------------------------------------------------

def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout with a committed chapter, a built site and a local bare ``origin``."""
    folder = tmp_path / "book-checkout"
    (folder / "book").mkdir(parents=True)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "config", "user.name", "A Tester")
    git(folder, "config", "user.email", "tester@example.org")
    (folder / ".gitignore").write_text("_build/\n")
    (folder / "book" / "1_load.ipynb").write_text("{}\n")
    (folder / "_toc.yml").write_text("root: book/1_load\n")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "A chapter")
    write_site(folder / publish.SITE_DIR, ["book/1_load.html"])
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(folder, "remote", "add", "origin", str(tmp_path / "origin.git"))
    return folder


def test_publish_pushes_the_site_to_gh_pages(checkout):
    publish.publish_site(checkout)
    origin = checkout.parent / "origin.git"
    files = git(origin, "ls-tree", "-r", "--name-only", "gh-pages").split()
    assert sorted(files) == sorted([".nojekyll", "index.html", "book/1_load.html", "genindex.html",
                                    "search.html", "py-modindex.html", "_static/macros.html"])
    revision = git(checkout, "rev-parse", "--short", "HEAD").strip()
    assert git(origin, "log", "-1", "--format=%s", "gh-pages").strip() == f"Publish the book built from {revision}"
    publish.publish_site(checkout)  # again: one more commit on the branch
    assert git(origin, "rev-list", "--count", "gh-pages").strip() == "2"


def test_publish_refuses_an_unbuilt_site(checkout):
    shutil.rmtree(checkout / "_build")
    with pytest.raises(PublishError, match=r"index\.html does not exist: the site has not been built; run `make site` first"):
        publish.publish_site(checkout)


@pytest.mark.parametrize("name", ["book/1_load.ipynb", "book/9_new.ipynb", "_toc.yml"],
                         ids=["modified chapter", "untracked chapter", "modified table of contents"])
def test_publish_refuses_uncommitted_chapters(checkout, name):
    (checkout / name).write_text('{"cells": []}\n')
    with pytest.raises(PublishError, match=rf"the book has uncommitted changes \({name}\), .*commit them"):
        publish.publish_site(checkout)
    assert "gh-pages" not in git(checkout.parent / "origin.git", "branch")


def test_publish_refuses_outside_a_git_checkout(tmp_path):
    write_site(tmp_path / publish.SITE_DIR, ["book/1_load.html"])
    with pytest.raises(PublishError, match=r"`git status --porcelain -- book _config.yml _toc.yml` failed in .*: .*publish from a git checkout"):
        publish.publish_site(tmp_path)


def test_publish_reports_a_failed_push(checkout):
    git(checkout, "remote", "remove", "origin")
    with pytest.raises(PublishError, match=r"ghp-import could not push the site to the gh-pages branch of origin \(exit status"):
        publish.publish_site(checkout)


def test_publish_command(checkout, capsys):
    assert publish.main(["--root", str(checkout), "publish"]) == 0
    assert capsys.readouterr().out == "published _build/html to the gh-pages branch of origin\n"
    shutil.rmtree(checkout / "_build")
    assert publish.main(["--root", str(checkout), "publish"]) == 1
    assert "error: " in capsys.readouterr().err
