"""The installable package: its version, its wheel (every module and py.typed, nothing of the
book), and the release's dry run (``make dist``: build, then twine check)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement

import fmnist_helpers

from .conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

#: What Colab's runtime ships (shared reference colab-runtime.md); the Colab install cell
#: must install the package beside these without replacing them.
COLAB = {"tensorflow": "2.20.0", "keras": "3.13.2", "numpy": "2.1.3", "pandas": "2.2.3",
         "matplotlib": "3.10.0", "seaborn": "0.13.2", "scikit-learn": "1.6.1", "pillow": "11.3.0"}


@pytest.mark.slow
def test_wheel_holds_the_package_and_nothing_else(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), "--quiet"], check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob(f"fmnist_helpers-{fmnist_helpers.__version__}-py3-none-any.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {f"fmnist_helpers/{path.name}" for path in (ROOT / "fmnist_helpers").glob("*.py")}
    assert modules | {"fmnist_helpers/py.typed"} <= names
    assert not [name for name in names if name.split("/")[0] in ("book", "tests", "benchmarks")]


def test_dependency_ranges_accept_colabs_packages():
    requirements = {Requirement(line).name.lower(): Requirement(line) for line in PYPROJECT["project"]["dependencies"]}
    assert set(requirements) == set(COLAB)
    for name, version in COLAB.items():
        assert requirements[name].specifier.contains(version), (name, version)
    assert Requirement(f"python{PYPROJECT['project']['requires-python']}").specifier.contains("3.13.15")


def test_build_system_understands_the_license_expression():
    (setuptools,) = PYPROJECT["build-system"]["requires"]
    assert Requirement(setuptools).specifier.contains("77.0.0")
    assert not Requirement(setuptools).specifier.contains("76.1.0")


def test_the_version_is_written_once_in_the_package():
    # pyproject.toml reads __version__ (statically: a clean clone without tags builds the same).
    assert "version" not in PYPROJECT["project"] and PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "fmnist_helpers.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", fmnist_helpers.__version__)


@pytest.mark.slow
def test_the_release_builds_and_passes_twine_check(tmp_path):
    # make dist, into tmp_path: what the release workflow uploads to PyPI.
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    version = fmnist_helpers.__version__
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == [f"fmnist_helpers-{version}-py3-none-any.whl", f"fmnist_helpers-{version}.tar.gz"]
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, tmp_path.iterdir())],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2
