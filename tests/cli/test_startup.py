"""Start-up stays light: ``import rnnkit`` and ``rnnkit --help`` load no training engine, plotting or
statistics package (they cost seconds; a command loads what it needs when it runs)."""

import subprocess
import sys

HEAVY = ("lightning", "matplotlib", "statsmodels", "statsforecast", "sklearn", "gensim", "music21", "onnx", "onnxruntime")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip().splitlines()[-1].removeprefix("LOADED=")
    return [m for m in loaded.split(",") if m]


def test_import_rnnkit_loads_no_heavy_package_until_asked():
    assert _loaded_after("import rnnkit") == []
    assert "lightning" in _loaded_after("import rnnkit\nrnnkit.fit")  # loaded on first use (PEP 562)


def test_help_loads_no_command_module():
    code = "from rnnkit.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert _loaded_after(code) == []


def test_python_dash_m_rnnkit_is_the_cli():
    out = subprocess.run([sys.executable, "-m", "rnnkit", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("rnnkit ")
    out = subprocess.run([sys.executable, "-m", "rnnkit", "forecast", "--epochs", "0"], capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.strip() == "rnnkit forecast: error: --epochs must be an integer >= 1, got 0"
