"""The project's two commands, each doing its own set-up on a machine with only Python 3.10+.

    python3 tasks.py book    build the website into _build/html  (executes every chapter)
    python3 tasks.py test    run every test: lint, unit, property, reference, notebooks, the -W book build

Both create ./.venv on first use and install the package into it (pip install -e) with the
extras they need; later runs only re-install when pyproject.toml has changed.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*cmd, check=True, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, **kwargs)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result


def setup(extra):
    """Create .venv and install adamedu[extra] into it, unless that is already done."""
    if sys.version_info < (3, 10):
        sys.exit(f"adamedu needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{extra}-{digest}"
    if stamp.exists():
        return
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", f".[{extra}]")
    if extra == "test":
        optional_torch()
    stamp.touch()


def optional_torch():
    """Install PyTorch for the reference tests only if a CPU wheel is already on this machine.

    PyPI's Linux wheel is a multi-GB CUDA build, so we look for a local wheel (pip's find-links)
    without touching an index, and install that exact version. Without PyTorch, the PyTorch
    comparisons are skipped and the Keras ones still run.
    """
    if run(PYTHON, "-c", "import torch", check=False, capture_output=True).returncode == 0:
        return
    probe = run(PYTHON, "-m", "pip", "install", "--dry-run", "--no-index", "--no-deps", "--quiet",
                "--report", "-", "torch>=2.1", check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        print("PyTorch: no local wheel; the PyTorch comparisons will be skipped", flush=True)
        return
    version = json.loads(probe.stdout)["install"][0]["metadata"]["version"]
    run(PYTHON, "-m", "pip", "install", "--quiet", f"torch=={version}")


def book(*args):
    """Build the website. Extra arguments go to `jupyter-book build` (e.g. -W --keep-going)."""
    setup("book")
    run(BIN / "jupyter-book", "build", ".", "--path-output", ".", *args)
    print(f"\nThe website is in {ROOT / '_build' / 'html'}; open {ROOT / '_build' / 'html' / 'index.html'}")


def test(*args):
    """Lint, then every test (unit, property, reference, notebooks), then the warning-free book build."""
    setup("test")
    run(BIN / "ruff", "check", ".")
    workers = ["-n", "2"] if os.cpu_count() and os.cpu_count() > 1 else []
    # pytest's workers already use every core: BLAS threads on top of them only fight for it.
    single = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    run(PYTHON, "-m", "pytest", *workers, "--nbmake", "tests", "book", *args, env=single)
    shutil.rmtree(ROOT / "_build", ignore_errors=True)  # a fresh build: -W must see every warning
    run(BIN / "jupyter-book", "build", ".", "--path-output", ".", "-W", "--keep-going")


COMMANDS = {"book": book, "test": test}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
