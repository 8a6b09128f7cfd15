"""The project's two commands, each doing its own set-up on a machine with only Python 3.10+.

    python3 tasks.py book    build the website into _build/html  (executes every chapter)
    python3 tasks.py test    run every test: lint, unit, property, reference, notebooks, the -W book build
    python3 tasks.py bench   time adamedu against Keras and PyTorch (each contender in a process of its
                             own), execute every notebook; write book/_benchmark_results.md
    python3 tasks.py student [FOLDER]
                             for a student: install what the chapters need (adamedu[student]: Keras,
                             matplotlib, scikit-learn, JupyterLab) and open FOLDER (the student edition) in
                             JupyterLab

Both create ./.venv on first use and install the package into it (pip install -e) with the
extras they need; later runs only re-install when pyproject.toml has changed. From npm, into
.venv/node_modules (when npm is there or apt-get can install it; without it they go on and say what is
missing): `book` and `test` install plotly.js-cartesian-dist-min (Plotly's cartesian bundle, at the plotly.js
version of the plotly package, served by the website's explorable pages instead of the full 4.8 MB bundle),
and `test` installs axe-core (the accessibility checker of tests/test_site_a11y.py).
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


# The chapters multiply small matrices, where BLAS threads cost more than they give, and pytest's workers
# already use every core: one BLAS thread per process.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run(*cmd, check=True, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    kwargs.setdefault("cwd", ROOT)
    result = subprocess.run([str(c) for c in cmd], **kwargs)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result


def setup(extra):
    """Create .venv and install adamedu[extra] into it, unless that is already done."""
    if sys.version_info < (3, 10):  # noqa: UP036 - this script may be started by an older Python
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
    plotly_cartesian()
    run(BIN / "jupyter-book", "build", ".", "--path-output", ".", *args, env={**os.environ, **ONE_THREAD})
    print(f"\nThe website is in {ROOT / '_build' / 'html'}; open {ROOT / '_build' / 'html' / 'index.html'}")


def chromium():
    """Debian's Chromium, which tests/test_site.py drives through Playwright (whose own browser download needs
    the internet). Installed with apt-get when we are root on a Debian-like system; otherwise we say how."""
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        apt = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run("apt-get", "update", "-q", check=False, env=apt)
        if run("apt-get", "install", "-y", "-q", "chromium", check=False, env=apt).returncode == 0:
            return
    print("Chromium is missing and could not be installed here: install Debian's `chromium` package (or set\n"
          "CHROMIUM=/path/to/chromium). Without it the browser tests of the website (tests/test_site.py)\n"
          "are skipped, and under CI they fail.", flush=True)


AXE_CORE = VENV / "node_modules" / "axe-core" / "axe.min.js"


def npm_install(spec):
    """`npm install SPEC` into .venv/node_modules; npm comes from apt-get when missing and we are root on a
    Debian-like system. Offline-tolerant: a failure is printed, not fatal (the caller says what falls back)."""
    if not shutil.which("npm") and shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        apt = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run("apt-get", "update", "-q", check=False, env=apt)
        run("apt-get", "install", "-y", "-q", "npm", check=False, env=apt)
    if not shutil.which("npm"):
        print(f"npm is missing: cannot install {spec}", flush=True)
        return
    VENV.mkdir(exist_ok=True)
    # Saved into .venv/package.json: with --no-save, each later `npm install` would prune the packages before it
    if run("npm", "install", "--prefix", VENV, "--no-audit", "--no-fund", spec,
           check=False).returncode != 0:
        print(f"npm could not install {spec} (offline?)", flush=True)


def axe_core():
    """axe-core 4, the accessibility checker that tests/test_site_a11y.py injects into each page, from npm into
    .venv/node_modules (once)."""
    if AXE_CORE.exists():
        return
    npm_install("axe-core@4")
    if not AXE_CORE.exists():
        print("axe-core is missing and could not be installed here: `npm install --prefix .venv axe-core@4` (or\n"
              "set AXE_CORE=/path/to/axe.min.js). Without it the accessibility tests of the website\n"
              "(tests/test_site_a11y.py) are skipped, and under CI they fail.", flush=True)


PLOTLY_CARTESIAN = VENV / "node_modules" / "plotly.js-cartesian-dist-min"


def plotly_cartesian():
    """Plotly's cartesian partial bundle (1.5 MB instead of the full 4.8 MB), which book/_ext/plotly_offline.py
    serves to the pages with an explorable, from npm into .venv/node_modules: the version the installed plotly
    package embeds (the explorables' figures are written for it). Without it (no npm, offline) the site serves
    the plotly package's full bundle, and the build log says so."""
    probe = run(PYTHON, "-c", "from plotly.offline import get_plotlyjs_version as v; print(v())", check=False,
                capture_output=True, text=True)
    if probe.returncode != 0:
        print("plotly is not installed in .venv: no cartesian bundle to match", flush=True)
        return
    version = probe.stdout.strip()
    manifest = PLOTLY_CARTESIAN / "package.json"
    if manifest.exists() and json.loads(manifest.read_text(encoding="utf-8")).get("version") == version:
        return
    npm_install(f"plotly.js-cartesian-dist-min@{version}")
    if not manifest.exists() or json.loads(manifest.read_text(encoding="utf-8")).get("version") != version:
        print(f"plotly.js-cartesian-dist-min@{version} is missing: the website serves plotly's full bundle "
              "(4.8 MB per page with an explorable, instead of 1.5 MB)", flush=True)


def test(*args):
    """Lint, the warning-free book build, then every test (unit, property, reference, notebooks, the built
    website in a browser)."""
    setup("test")
    chromium()
    axe_core()
    plotly_cartesian()
    run(BIN / "ruff", "check", ".")
    shutil.rmtree(ROOT / "_build", ignore_errors=True)  # a fresh build: -W must see every warning
    # The build comes first because tests/test_site.py tests the site it makes; if it fails, the tests still
    # run (to say what else is wrong) and the command fails at the end.
    single = {**os.environ, **ONE_THREAD}
    built = run(BIN / "jupyter-book", "build", ".", "--path-output", ".", "-W", "--keep-going", check=False,
                env=single)
    # loadgroup: the browser tests (one xdist_group) share one worker and one browser; the rest spread as usual.
    workers = ["-n", "2", "--dist", "loadgroup"] if os.cpu_count() and os.cpu_count() > 1 else []
    tests = run(PYTHON, "-m", "pytest", *workers, "--nbmake", "tests", "book", *args, env=single, check=False)
    if built.returncode != 0:
        print("the book build failed (see its log above)", flush=True)
    sys.exit(built.returncode or tests.returncode)


def bench(*args):
    """Time adamedu against Keras and PyTorch, and the notebooks; write book/_benchmark_results.md.

    Extra arguments go to adamedu/benchmark.py (e.g. --quick, --out FILE, --skip notebooks, --threads 1). It is
    run as a file, not with -m, so that its driver process imports no numerical library (only its workers do).
    No ONE_THREAD here: each library runs with its own default number of threads, as a user would run it.
    """
    setup("test")
    run(PYTHON, ROOT / "adamedu" / "benchmark.py", *args)


def student(folder=".", *args):
    """Install adamedu[student] into .venv and open the notebooks in FOLDER with JupyterLab."""
    if not Path(folder).is_dir():
        sys.exit(f"student: {folder} is not a folder; give the folder that holds your notebooks")
    setup("student")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in args:
        args = (*args, "--allow-root")  # JupyterLab refuses root without it (a container, a CI machine)
    run(BIN / "jupyter", "lab", *args, cwd=Path(folder).resolve(), env={**os.environ, **ONE_THREAD}, check=False)


COMMANDS = {"book": book, "test": test, "bench": bench, "student": student}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
