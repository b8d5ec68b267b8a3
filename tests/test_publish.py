"""Tests of fmnist_helpers/publish.py: the site's summary, set-repository on a copy, the gh-pages push."""

from __future__ import annotations

import difflib
import importlib.util
import re
import shutil
import subprocess
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

@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the repository's files that name its address (and the table of contents)."""
    for path in [*DERIVED, "_toc.yml"]:
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
    for path in sorted((copy / "book").glob("*.ipynb")):
        first = next(cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
        assert "remove-cell" in first.metadata["tags"]
        assert re.findall(r"git\+(\S+?)\"", first.source) == [config["repository"]["url"]], path
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
