"""The installable package: its wheel holds every module and py.typed, and nothing of the book."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement

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
    (wheel,) = tmp_path.glob("fmnist_helpers-*.whl")
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
