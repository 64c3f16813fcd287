"""Packaging: the wheel and the sdist build, and hold the completions, the license and one version.

The build runs on a copy of the sources (a build writes build/ and *.egg-info next to them) and
without build isolation, so it needs no network: the test extras bring ``build`` and a
setuptools that reads this pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import azbackupjobs
from azbackupjobs.cli.shell_scripts import SCRIPT_FILES
from tests.harness import run_cli_process

ROOT = Path(__file__).resolve().parent.parent
_SKIP = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    assert importlib.util.find_spec("build") is not None, "the test extras install `build`"
    source = tmp_path_factory.mktemp("src") / "azjobs"
    shutil.copytree(ROOT, source, ignore=_SKIP)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheels = list(out.glob("*.whl"))
    sdists = list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_wheel_holds_the_package_completions_and_license(dists: dict[str, Path]) -> None:
    version = azbackupjobs.__version__
    assert dists["wheel"].name == f"azjobs-{version}-py3-none-any.whl"
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = set(wheel.namelist())
        for script in SCRIPT_FILES.values():
            member = f"azjobs-{version}.data/data/share/azjobs/completions/{script}"
            assert member in names
            assert wheel.read(member) == (ROOT / "completions" / script).read_bytes()
        assert f"azjobs-{version}.dist-info/licenses/LICENSE" in names
        assert "azbackupjobs/cli/app.py" in names and "azbackupjobs/emulator/__init__.py" in names
        assert not any(n.startswith("tests/") for n in names)
        metadata = Parser().parsestr(wheel.read(f"azjobs-{version}.dist-info/METADATA").decode())
        entry_points = wheel.read(f"azjobs-{version}.dist-info/entry_points.txt").decode()
    assert metadata["Version"] == version
    assert metadata["License-Expression"] == "MIT"
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert f"azjobs = {declared['azjobs']}" in entry_points


def test_sdist_holds_sources_tests_completions_and_license(dists: dict[str, Path]) -> None:
    version = azbackupjobs.__version__
    prefix = f"azjobs-{version}/"
    with tarfile.open(dists["sdist"]) as sdist:
        names = set(sdist.getnames())
    for required in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        "scripts/gen_completions.py",
        "tests/conftest.py",
        "azbackupjobs/cli/app.py",
        *(f"completions/{name}" for name in SCRIPT_FILES.values()),
    ):
        assert prefix + required in names, required
    assert not any(n.endswith(".pyc") for n in names)


def test_the_wheel_installs_and_runs(dists: dict[str, Path], tmp_path: Path) -> None:
    """Installed without its dependencies next to the ones of this environment, it runs."""
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(dists["wheel"]),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    probe = (
        "import azbackupjobs, sys; print(azbackupjobs.__file__); "
        "from azbackupjobs.cli.app import main; main(['--version'])"
    )
    done = run_cli_process(
        program=(sys.executable, "-c", probe),
        env={"PYTHONPATH": str(target)},
        cwd=tmp_path,  # not the source tree
    )
    assert done.exit_code == 0, done.stderr
    location, version_line = done.stdout.splitlines()
    assert location.startswith(str(target))
    assert version_line == f"azjobs {azbackupjobs.__version__}"
    completions = target / "share" / "azjobs" / "completions"
    assert sorted(p.name for p in completions.iterdir()) == sorted(SCRIPT_FILES.values())
