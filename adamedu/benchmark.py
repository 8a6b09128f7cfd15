"""How fast is adamedu next to Keras and PyTorch? ``python3 tasks.py bench`` (or ``python adamedu/benchmark.py``).

What is measured, on this machine:

1. one Adam step on a single float32 array of 1e3, 1e5, 1e6 and 1e7 parameters: adamedu's numpy step (in
   place, and pure), its compiled engine ``adamedu.compiled`` when the installed adamedu has it, PyTorch's
   Adam (its CPU default, ``foreach=True``, ``fused=True``) and Keras's Adam (a ``tf.function`` as
   ``model.fit`` runs it, and with XLA); as yardsticks, one numpy pass over memory (``w += g``), and the
   cost of adamedu's finiteness checks (the step with them switched off, and the checks alone);
2. the first call of the compiled engine in a new process, on 1e5 parameters: tracing the rule and compiling
   its kernel, and loading the kernel from numba's cache;
3. training throughput (samples per second) of ``adamedu.fit`` and Keras's ``model.fit`` on the same
   network (64-128-10, ReLU, Adam, batch 32) and data (scikit-learn's digits);
4. the time to execute every notebook of the book.

How, so that the numbers can be trusted on a small shared machine:

- **One contender per process.** Each contender runs in a worker process of its own that imports only its
  own library: thread pools of PyTorch, TensorFlow, OpenBLAS and numba never share a process, where an idle
  pool of one can stall the next (PyTorch's Adam measured 0.9, 53 and 10 ms in three runs in one process).
- **Rounds.** One driver (this module run as a script, which imports no numerical library) alternates the
  workers: each round asks every worker for one timed call, in an order that rotates from round to round,
  so that a drift of the machine (another program, the clock) falls on all contenders alike. Only one
  worker computes at a time; the driver pauses briefly between calls so that spinning threads settle.
- **Warm-up, then timed calls.** Each worker first runs untimed steps (tracing, compiling, page faults)
  and calibrates how many steps make one timed call of about ``min_time``; the time per step of each
  round is one sample. We report the median, the interquartile range (IQR, the middle half of the
  rounds), the load average before and after each size, and ratios of medians from the same run.

The driver writes a markdown page section (``--out``; by default ``book/_benchmark_results.md``, which the
appendix "How fast is it?" includes) and, with ``--json``, the raw samples with each worker's process id.
``--quick`` is a smoke run that writes nothing unless asked. A library that is not installed (or
``adamedu.compiled`` on a version without it) is reported as not available. Nothing is downloaded.
"""

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__" and not __package__:
    # Run as a file (python adamedu/benchmark.py): Python put adamedu/ itself on the path, where our keras.py
    # would hide the real keras. The folder that holds the package is what belongs there.
    sys.path[0] = str(ROOT)

DEFAULT_OUT = ROOT / "book" / "_benchmark_results.md"
SIZES = (10**3, 10**5, 10**6, 10**7)
# The first call of the compiled engine is timed on this many parameters: a size the kernel runs at in any
# case (on 1e3 an older engine fell back to the numpy step, and the row timed no compilation at all).
FIRST_CALL_SIZE = 10**5
VERSIONED = ("numpy", "numba", "torch", "keras", "tensorflow", "sklearn")


class Unavailable(Exception):  # noqa: N818 - it is not an error: the contender is reported as not available
    """A contender that cannot run here (its library is not installed)."""


# == the workers: each runs in a process of its own and imports only its own library ===================

def _arrays(n, seed=0):
    """Parameters and a fixed gradient, float32: we time the optimizer, not a model."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.standard_normal(n).astype(np.float32), (1e-3 * rng.standard_normal(n)).astype(np.float32)


def _adamedu(engine):
    import adamedu

    if engine == "numpy":
        return adamedu.Adam()
    if not hasattr(adamedu, "compiled"):
        raise Unavailable("this version of adamedu has no compiled engine (adamedu.compiled)")
    try:
        import numba  # noqa: F401 - the engine's extra
    except ImportError:
        raise Unavailable("numba is not installed (pip install numba)") from None
    return adamedu.compiled(adamedu.Adam())


def _finiteness_checks_off():
    """Replace adamedu's finiteness test by one that says yes at no cost (this worker process only)."""
    from adamedu import _checks
    from adamedu.optimizers import _base

    def yes(x):
        return True

    _checks.all_finite = _base.all_finite = yes
    _base._surely_finite = lambda arrays: True  # the check of the new parameters and state


def adamedu_step(engine="numpy", inplace=True, checks=True):
    """``make(n) -> run(k)``: k steps of adamedu's Adam (numpy or compiled engine) on n parameters."""

    def make(n):
        opt = _adamedu(engine)
        if not checks:
            _finiteness_checks_off()
        w, g = _arrays(n)
        box = [w, opt.init(w)]

        def run(k):
            w, state = box
            for _ in range(k):
                w, state = opt.step(w, g, state, inplace=inplace)
            box[:] = w, state
        return run
    return make


def finiteness_check(n):
    """The checks alone: adamedu's finiteness test on the gradient and on the new parameters (two BLAS dot products)."""
    from adamedu._checks import all_finite

    w, g = _arrays(n)

    def run(k):
        for _ in range(k):
            all_finite(g)
            all_finite(w)
    return run


def one_pass(n):
    """One numpy operation over the arrays, ``w += g`` (reads two arrays, writes one): the unit of the rule's cost."""
    import numpy as np

    w, g = _arrays(n)

    def run(k):
        for _ in range(k):
            np.add(w, g, out=w)
    return run


def torch_step(**kind):
    """``make(n) -> run(k)``: PyTorch's Adam; ``kind`` is {} (the CPU default), foreach=True or fused=True."""

    def make(n):
        torch = _library("torch")
        w, g = _arrays(n)
        p = torch.tensor(w, requires_grad=True)
        p.grad = torch.tensor(g)
        opt = torch.optim.Adam([p], **kind)

        def run(k):
            for _ in range(k):
                opt.step()
        return run
    return make


def keras_step(xla):
    """Keras's Adam as ``model.fit`` runs it: ``apply_gradients`` in a compiled function, one call per step.

    On a machine without a GPU, ``compile(jit_compile="auto")`` leaves XLA off, so ``model.fit`` runs its
    train step as a ``tf.function`` without XLA; ``xla=True`` measures the XLA-compiled one.
    """

    def make(n):
        keras, tf = _keras()
        w, g = _arrays(n)
        var = keras.Variable(w)
        opt = keras.optimizers.Adam()
        opt.build([var])
        grad = tf.constant(g)

        @tf.function(jit_compile=xla)
        def train_step():
            opt.apply_gradients([(grad, var)])

        def run(k):
            for _ in range(k):
                train_step()
            var.value[0].numpy()  # wait until the last step is done
        return run
    return make


def _library(name):
    try:
        return __import__(name)
    except ImportError:
        raise Unavailable(f"{name} is not installed") from None


def _keras():
    keras = _library("keras")
    if keras.backend.backend() != "tensorflow":
        raise Unavailable(f"Keras runs on {keras.backend.backend()}, not TensorFlow")
    import tensorflow as tf

    return keras, tf


# -- training throughput --------------------------------------------------------------------------------

def _digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x / 16).astype("float32"), y.astype("int64")  # pixels 0..16 scaled to [0, 1]


def adamedu_fit(engine="numpy"):
    """``make(epochs) -> run(k)``: ``adamedu.fit`` for k epochs of the digits, going on where it stopped."""

    def make(_):
        from adamedu import fit, mlp

        x, y = _digits()
        net, opt, box = mlp([64, 128, 10], seed=0), _adamedu(engine), [None]

        def run(k):
            start = time.perf_counter()
            history = fit(net, x, y, opt, epochs=k, batch_size=32, state=box[0])
            seconds = time.perf_counter() - start  # the whole call
            box[0] = history.state
            return {"seconds": seconds, "samples": len(x), "accuracy": float(history.accuracy[-1])}  # samples per epoch
        return run
    return make


def keras_fit(_):
    """``run(k)``: the same network in Keras, ``model.fit`` for k epochs; only the epochs are counted."""
    keras, _tf = _keras()
    x, y = _digits()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    class EpochClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    clock = EpochClock()

    def run(k):
        history = model.fit(x, y, batch_size=32, epochs=k, verbose=0, callbacks=[clock])
        # the epochs only: the set-up model.fit does before the first epoch is left out (in Keras's favour)
        return {"seconds": sum(clock.seconds), "samples": len(x), "accuracy": history.history["accuracy"][-1]}
    return run


# -- one-shot measurements ------------------------------------------------------------------------------

def first_call(n):
    """Seconds to import adamedu and numba, then to build ``adamedu.compiled(Adam())`` and take its first step
    (tracing, generating and compiling the kernel, or loading it from the cache), and the second step."""
    start = time.perf_counter()
    import adamedu  # noqa: F401

    imported = time.perf_counter()
    with contextlib.suppress(ImportError):
        import numba  # noqa: F401 - imported by the engine in any case; timed on its own
    numba_imported = time.perf_counter()
    w, g = _arrays(n)
    begin = time.perf_counter()
    opt = _adamedu("compiled")
    state = opt.init(w)
    opt.step(w, g, state, inplace=True)
    first = time.perf_counter()
    opt.step(w, g, state, inplace=True)
    second = time.perf_counter()
    return {"import adamedu": imported - start, "import numba": numba_imported - imported, "first step": first - begin,
            "second step": second - first}


def notebooks(book, timeout=600):
    """Execute every notebook of ``book`` in a copy of it; ``{name: seconds or 'failed: ...'}``."""
    import shutil

    import nbclient
    import nbformat

    results = {}
    with tempfile.TemporaryDirectory(prefix="adamedu-bench-") as tmp:
        copy = Path(tmp) / "book"
        shutil.copytree(book, copy, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
        for path in sorted(copy.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                             resources={"metadata": {"path": str(copy)}})
            start = time.perf_counter()
            try:
                client.execute()
            except Exception as err:  # a failing notebook is reported, and the others still run
                results[path.name] = f"failed: {type(err).__name__}"
                continue
            results[path.name] = time.perf_counter() - start
    return results


# The contenders: key -> (label, what it measures, the function that builds it in its worker).
STEP = {
    "numpy": ("adamedu numpy, in place", adamedu_step("numpy", inplace=True)),
    "numpy-pure": ("adamedu numpy, pure", adamedu_step("numpy", inplace=False)),
    "compiled": ("adamedu compiled, in place", adamedu_step("compiled", inplace=True)),
    "torch": ("PyTorch (default: for-loop)", torch_step()),
    "torch-foreach": ("PyTorch (foreach)", torch_step(foreach=True)),
    "torch-fused": ("PyTorch (fused)", torch_step(fused=True)),
    "keras": ("Keras (tf.function)", keras_step(xla=False)),
    "keras-xla": ("Keras (XLA)", keras_step(xla=True)),
    "numpy-nochecks": ("adamedu numpy, in place, finiteness checks off", adamedu_step("numpy", checks=False)),
    "compiled-nochecks": ("adamedu compiled, in place, finiteness checks off",
                          adamedu_step("compiled", checks=False)),
    "checks": ("finiteness checks alone (gradient and parameters)", finiteness_check),
    "one-pass": ("one numpy pass, w += g", one_pass),
}
FIT = {
    "numpy": ("adamedu.fit (numpy)", adamedu_fit("numpy")),
    "compiled": ("adamedu.fit (compiled)", adamedu_fit("compiled")),
    "keras": ("Keras model.fit", keras_fit),
}
ONCE = {"first-call": first_call, "notebooks": notebooks}
# A key with this suffix runs its contender with one thread (the others use their library's default: one per
# core). On a busy machine a multi-threaded kernel waits for its slowest thread to get a core.
ONE = ":1t"
MULTI_THREADED = ("compiled", "torch", "torch-foreach", "torch-fused", "keras", "keras-xla")
DEFAULT_STEP = [k for key in STEP for k in ((key, key + ONE) if key in MULTI_THREADED else (key,))]


def thread_env(n):
    """Environment variables that each library reads when it starts: n threads for PyTorch, TensorFlow, BLAS, numba."""
    return {name: str(n) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                      "NUMBA_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}


def step_label(key):
    base = key.removesuffix(ONE)
    return STEP[base][0] + (", 1 thread" if key != base else "")


def versions():
    """Versions and thread counts of the libraries this worker has imported."""
    info = {}
    for name in VERSIONED:
        module = sys.modules.get(name)
        if module is not None:
            info[name] = getattr(module, "__version__", "?")
    if "torch" in sys.modules:
        info["torch threads"] = sys.modules["torch"].get_num_threads()
    if "numba" in sys.modules:
        info["numba threads"] = sys.modules["numba"].config.NUMBA_NUM_THREADS
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        info["TensorFlow threads"] = (f"intra-op {tf.config.threading.get_intra_op_parallelism_threads() or 'auto'}, "
                                      f"inter-op {tf.config.threading.get_inter_op_parallelism_threads() or 'auto'}")
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_info

        pools = {f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info() if p["user_api"] == "blas"}
        if pools:
            info["BLAS threads"] = ", ".join(sorted(pools))
    return info


def serve(role, key):
    """The worker's loop: read one JSON command per line on stdin, answer one JSON line.

    ``setup n`` builds the contender and warms it up; ``run k`` times k units of work; ``once arg`` runs a
    one-shot measurement; ``quit`` ends. Whatever the libraries print goes to stderr, not into the answers.
    """
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def say(**message):
        answers.write(json.dumps(message) + "\n")

    say(pid=os.getpid())
    run = None
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["cmd"] == "setup":
                run = None
                run = (STEP if role == "step" else FIT)[key.removesuffix(ONE)][1](command["n"])
                run(command.get("warmup", 1))  # untimed: tracing, compiling, page faults
                say(once=_timed(run, 1)["seconds"], versions=versions())
            elif command["cmd"] == "run":
                say(**_timed(run, command["k"]))
            elif command["cmd"] == "once":
                say(result=ONCE[key](command["arg"]), versions=versions())
            elif command["cmd"] == "quit":
                return
        except Unavailable as why:
            say(unavailable=str(why))
        except Exception as err:  # reported by the driver with this worker's log
            say(error=f"{type(err).__name__}: {err}")


def _timed(run, k):
    """Seconds per unit of work (a step, an epoch) of ``run(k)``; a run may return the seconds it counts itself."""
    start = time.perf_counter()
    extra = run(k) or {}
    total = extra.pop("seconds", time.perf_counter() - start)
    return {"seconds": total / k, **extra}


# == the driver: starts the workers, alternates them, writes the report ===================================

class Worker:
    """A worker process, and the line-by-line conversation with it."""

    def __init__(self, role, key, log_dir, env=None):
        self.role, self.key, self.unavailable = role, key, None
        self.log = Path(log_dir) / f"{role}-{key}.log"
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow",
                       "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                       **(thread_env(1) if key.endswith(ONE) else {}), **(env or {})}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", role, key],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                            env=environment, cwd=ROOT)
        self.pid = None

    def ask(self, **command):
        if command:
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the {self.role} worker {self.key!r} stopped; its log ends with:\n{tail}")
        answer = json.loads(line)
        if "error" in answer:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the {self.role} worker {self.key!r} failed: {answer['error']}\n{tail}")
        return answer

    def started(self):
        self.pid = self.ask()["pid"]
        return self

    def close(self):
        with contextlib.suppress(OSError, ValueError):
            self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextlib.contextmanager
def workers(role, keys, log_dir, env=None):
    """``{key: Worker}``, all started at once (their imports overlap), all ended on exit."""
    pool = {key: Worker(role, key, log_dir, env) for key in keys}
    try:
        yield {key: w.started() for key, w in pool.items()}
    finally:
        for w in pool.values():
            w.close()


def rounds_of(pool, batch, rounds, settle):
    """Ask each worker of ``pool`` for ``run batch[key]`` once per round, in an order rotated by the round.

    Returns ``{key: [answer, ...]}``.
    """
    keys = [key for key in pool if key in batch]
    answers = {key: [] for key in keys}
    for r in range(rounds):
        shift = r % len(keys) if keys else 0
        for key in keys[shift:] + keys[:shift]:
            time.sleep(settle)  # let the last worker's spinning threads go to sleep
            answers[key].append(pool[key].ask(cmd="run", k=batch[key]))
    return answers


def spread(samples):
    """``{"median", "q1", "q3", "min", "max", "n"}`` of a list of numbers."""
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive") if len(samples) > 1 else samples * 3
    return {"median": statistics.median(samples), "q1": q1, "q3": q3, "min": min(samples), "max": max(samples),
            "n": len(samples)}


def bench_steps(keys, sizes, rounds, min_time, settle, log_dir, log):
    """``{"contenders": {key: {label, pid, unavailable}}, "sizes": {n: {"load", "times": {key: spread}}}}``."""
    out = {"contenders": {}, "sizes": {}, "versions": {}}
    with workers("step", keys, log_dir) as pool:
        for n in sizes:
            log(f"Adam step, {power(n)} parameters ...")
            before, batch = load(), {}
            for key, w in pool.items():
                if w.unavailable:
                    continue
                answer = w.ask(cmd="setup", n=n, warmup=3)
                if "unavailable" in answer:
                    w.unavailable = answer["unavailable"]
                    continue
                if not key.endswith(ONE):  # the thread counts of the libraries' defaults
                    out["versions"].update(answer["versions"])
                batch[key] = max(1, round(min_time / max(answer["once"], 1e-7)))
            samples = {key: [a["seconds"] for a in a_list] for key, a_list in rounds_of(pool, batch, rounds,
                                                                                          settle).items()}
            out["sizes"][n] = {"load": [before, load()], "steps per call": batch, "samples": samples,
                               "times": {key: spread(s) for key, s in samples.items()}}
        out["contenders"] = {key: {"label": step_label(key), "pid": w.pid, "unavailable": w.unavailable}
                             for key, w in pool.items()}
    return out


def bench_fit(keys, rounds, epochs, settle, log_dir, log):
    log("training throughput on digits ...")
    out = {"contenders": {}, "versions": {}, "epochs": epochs, "load": [load()]}
    with workers("fit", keys, log_dir) as pool:
        batch = {}
        for key, w in pool.items():
            answer = w.ask(cmd="setup", n=None, warmup=1)  # Keras traces and compiles its train step here
            if "unavailable" in answer:
                w.unavailable = answer["unavailable"]
                continue
            out["versions"].update(answer["versions"])
            batch[key] = epochs
        answers = rounds_of(pool, batch, rounds, settle)
        out["load"].append(load())
        for key, w in pool.items():
            entry = {"label": FIT[key][0], "pid": w.pid, "unavailable": w.unavailable}
            if key in answers:
                rates = [a["samples"] / a["seconds"] for a in answers[key]]
                entry.update(rate=spread(rates), accuracy=answers[key][-1]["accuracy"])
            out["contenders"][key] = entry
    return out


def bench_first_call(n, log_dir, log):
    """The compiled engine's first step in a new process: with an empty numba cache, then with the filled one."""
    log("compiled engine: first call ...")
    with tempfile.TemporaryDirectory(prefix="adamedu-numba-cache-") as cache:
        # a cache of our own, empty at first: numba's, and the folder of the engine's generated modules
        env = {"NUMBA_CACHE_DIR": cache, "XDG_CACHE_HOME": cache, "ADAMEDU_CACHE_DIR": str(Path(cache) / "kernels")}
        out = {"n": n}
        for label in ("compile", "from cache"):
            with workers("once", ["first-call"], log_dir, env) as pool:
                answer = pool["first-call"].ask(cmd="once", arg=n)
            if "unavailable" in answer:
                return {"unavailable": answer["unavailable"]}
            out[label] = {**answer["result"], "pid": pool["first-call"].pid}
        return out


def bench_notebooks(book, log_dir, log):
    log("executing the notebooks ...")
    with workers("once", ["notebooks"], log_dir) as pool:
        return pool["notebooks"].ask(cmd="once", arg=str(book))["result"]


# == the report ================================================================================================

def machine():
    """CPU, cores and Python, read without importing any numerical library."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "CPU": cpu,
            "cores": str(os.cpu_count()), "Python": platform.python_version()}


def load():
    """The load average over 1, 5 and 15 minutes, as text."""
    with contextlib.suppress(OSError, AttributeError):
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return "unknown"


def power(n):
    """1000 -> '1e3'."""
    return f"{n:.0e}".replace("e+0", "e").replace("e+", "e")


def duration(seconds, unit=None):
    """``seconds`` in s, ms or µs (the one that suits it, or ``unit``): ``(text, unit)``, 3 significant digits."""
    if unit is None:
        unit = "s" if seconds >= 1 else "ms" if seconds >= 1e-3 else "µs"
    scaled = seconds * {"s": 1, "ms": 1e3, "µs": 1e6}[unit]
    digits = max(0, 2 - int(math.floor(math.log10(scaled)))) if scaled > 0 else 0
    return f"{scaled:.{digits}f}", unit


def cell(stats):
    """``median (q1–q3)`` in the median's unit: ``2.05 ms (1.99–2.11)``."""
    text, unit = duration(stats["median"])
    return f"{text} {unit} ({duration(stats['q1'], unit)[0]}–{duration(stats['q3'], unit)[0]})"


def ratios(steps):
    """``{(numerator, denominator): {n: ratio of medians}}``: each adamedu engine against each other contender."""
    out = {}
    others = [k for key in ("torch", "torch-foreach", "torch-fused", "keras", "keras-xla") for k in (key, key + ONE)]
    for mine in ("numpy", "compiled", "compiled" + ONE):
        for other in (*others, "numpy", "one-pass"):
            if other == mine or (mine.endswith(ONE) and not other.endswith(ONE)):
                continue
            row = {n: size["times"][mine]["median"] / size["times"][other]["median"]
                   for n, size in steps["sizes"].items() if mine in size["times"] and other in size["times"]}
            if row:
                out[mine, other] = row
    return out


def ratio_text(r):
    """A ratio with two decimals, or two significant digits below 0.1 (0.0042, not 0.00)."""
    return f"{r:.2f}" if r >= 0.1 else f"{r:.2g}"


def mark(name, lines):
    """Lines between ``<!-- name -->`` and ``<!-- end name -->``, which the appendix includes one by one."""
    return [f"<!-- {name} -->", "", *lines, "", f"<!-- end {name} -->", ""]


def report(info, settings, steps, first, fit, notes, quick):
    """The markdown page section that the appendix includes, part by part."""
    lines = [f"<!-- written by `python3 tasks.py bench` on {info['date']}{' (--quick)' if quick else ''}; "
             "do not edit by hand -->", ""]
    versions = {**(steps or {}).get("versions", {}), **(fit or {}).get("versions", {})}
    rows = {**info, **versions, **settings}
    table = ["| machine | |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in rows.items()]
    lines += mark("machine", table)
    # Every part is written, measured or not: the appendix includes each by its markers.
    skipped = ["(Not measured in this run.)"]
    for name, data, make in (("steps", steps, step_table), ("ratios", steps, ratio_table),
                             ("passes", steps, passes_table), ("checks", steps, checks_table),
                             ("first-call", first, first_call_table), ("fit", fit, fit_table),
                             ("notebooks", notes, notebook_table)):
        lines += mark(name, make(data) if data else skipped)
    lines += mark("summary", summary(steps, fit) if steps or fit else skipped)
    return "\n".join(lines)


def _header(sizes, first="contender"):
    return [f"| {first} | " + " | ".join(f"{power(n)}" for n in sizes) + " |", "| --- |" + " ---: |" * len(sizes)]


def step_table(steps):
    sizes = list(steps["sizes"])
    lines = ["Time per Adam step (float32), median over the rounds and, in brackets, the interquartile range "
             f"(the middle half of the rounds), for {' to '.join(dict.fromkeys(map(power, (sizes[0], sizes[-1]))))} "
             "parameters.", ""] + _header(sizes)
    for key, c in steps["contenders"].items():
        if key in ("numpy-nochecks", "compiled-nochecks", "checks"):
            continue  # in the table of the checks
        cells = ["not available" if c["unavailable"] else cell(steps["sizes"][n]["times"][key]) if
                 key in steps["sizes"][n]["times"] else "–" for n in sizes]
        lines.append(f"| {c['label']} | " + " | ".join(cells) + " |")
    lines.append("| *load average before → after* | " + " | ".join(
        f"*{steps['sizes'][n]['load'][0].split()[0]} → {steps['sizes'][n]['load'][1].split()[0]}*" for n in sizes)
        + " |")
    unavailable = [f"{c['label']}: {c['unavailable']}" for c in steps["contenders"].values() if c["unavailable"]]
    if unavailable:
        lines += ["", "Not available in this run: " + "; ".join(unavailable) + "."]
    return lines


def ratio_table(steps):
    table = ratios(steps)
    if not table:
        return ["(No ratio: this run had no adamedu contender or nothing to compare it with.)"]
    sizes = list(steps["sizes"])
    labels = {key: c["label"] for key, c in steps["contenders"].items()}
    lines = ["adamedu's median step time divided by the other's, from the same run (below 1: adamedu is faster).",
             ""] + _header(sizes, "ratio")
    for (mine, other), row in table.items():
        lines.append(f"| {labels[mine]} ÷ {labels[other]} | "
                     + " | ".join(ratio_text(row[n]) if n in row else "–" for n in sizes) + " |")
    return lines


def passes_table(steps):
    """Each contender's median step in units of one numpy pass (``w += g``) over arrays of the same size."""
    sizes = [n for n, s in steps["sizes"].items() if "one-pass" in s["times"]]
    if not sizes:
        return ["(No yardstick: the one-pass contender was not in this run.)"]
    lines = ["The same medians divided by the time of one numpy pass, `w += g`, over arrays of the same size (a "
             "pass reads two arrays and writes one): the step's cost counted in passes over memory. (For small arrays "
             "the fixed cost of a call dominates, and the count means little.)", ""]
    lines += _header(sizes)
    for key, c in steps["contenders"].items():
        if key in ("one-pass", "checks", "numpy-nochecks", "compiled-nochecks") or c["unavailable"]:
            continue
        cells = [f"{steps['sizes'][n]['times'][key]['median'] / steps['sizes'][n]['times']['one-pass']['median']:.1f}"
                 if key in steps["sizes"][n]["times"] else "–" for n in sizes]
        lines.append(f"| {c['label']} | " + " | ".join(cells) + " |")
    return lines


def summary(steps, fit):
    """A few sentences with this run's key numbers, for the appendix's prose (which types no number itself)."""
    lines = []
    times = {n: s["times"] for n, s in (steps or {}).get("sizes", {}).items()}
    small, large = (min(times), max(times)) if times else (None, None)

    def ratio(n, a, b):
        return times[n][a]["median"] / times[n][b]["median"] if {a, b} <= set(times.get(n, {})) else None

    for mine, label in (("numpy", "numpy"), ("compiled", "compiled")):
        for other, name in (("torch", "default"), ("torch-fused", "fused"), ("torch" + ONE, "default (1 thread)"),
                            ("torch-fused" + ONE, "fused (1 thread)")):
            low, high = ratio(small, mine, other), ratio(large, mine, other)
            if low and high:
                lines.append(f"- adamedu's {label} in-place step takes {ratio_text(low)}× the time of PyTorch's {name} "
                             f"Adam at {power(small)} parameters and {ratio_text(high)}× at {power(large)}.")
    for key, label in (("numpy", "adamedu's numpy in-place step"), ("compiled", "adamedu's compiled in-place step"),
                       ("torch-fused", "PyTorch's fused step")):
        r = ratio(large, key, "one-pass")
        if r:
            lines.append(f"- At {power(large)} parameters, {label} costs as much time as {r:.1f} numpy passes "
                         "(`w += g`).")
    for engine in ("numpy", "compiled"):
        r = ratio(large, engine + "-nochecks", engine)
        if r:
            lines.append(f"- At {power(large)} parameters, the finiteness checks take {100 * (1 - r):.0f} % of the "
                         f"{engine} in-place step.")
    rates = {k: c["rate"]["median"] for k, c in (fit or {}).get("contenders", {}).items() if "rate" in c}
    if {"numpy", "keras"} <= set(rates):
        lines.append(f"- `adamedu.fit` trains {rates['numpy'] / rates['keras']:.1f}× as many samples per second as "
                     "Keras's `model.fit` on the digits network.")
    return lines or ["(Nothing to summarize in this run.)"]


def checks_table(steps):
    """The in-place step with and without the finiteness checks (numpy and compiled engines), and the checks alone."""
    sizes = list(steps["sizes"])
    times = {n: steps["sizes"][n]["times"] for n in sizes}
    rows = []
    for engine in ("numpy", "compiled"):
        off = engine + "-nochecks"
        if not any({engine, off} <= set(t) for t in times.values()):
            continue
        rows += [(f"{engine} step with the checks", lambda t, e=engine: _time(t, e)),
                 (f"{engine} step without them", lambda t, o=off: _time(t, o)),
                 (f"the checks' share of the {engine} step", lambda t, e=engine, o=off: _share(t, e, o))]
    if not rows:
        return ["(The cost of the finiteness checks was not measured in this run.)"]
    rows.append(("the checks alone", lambda t: _time(t, "checks")))
    lines = ["The in-place step as it is, and in a worker whose finiteness test always says yes; and the test alone on "
             "one gradient and one parameter array. Medians.", ""] + _header(sizes, "")
    for label, value in rows:
        lines.append(f"| {label} | " + " | ".join(value(times[n]) for n in sizes) + " |")
    return lines


def _time(times, key):
    return " ".join(duration(times[key]["median"])) if key in times else "–"


def _share(times, on, off):
    if not {on, off} <= set(times):
        return "–"
    return f"{100 * (1 - times[off]['median'] / times[on]['median']):.0f} %"


def first_call_table(first):
    if "unavailable" in first:
        return [f"The compiled engine is not available in this run: {first['unavailable']}."]
    columns = ("import adamedu", "import numba", "first step", "second step")
    lines = [f"The compiled engine in a new Python process, on {power(first['n'])} parameters: once with an empty "
             "cache (the first step traces the rule, records its scalar plan, generates the kernel and compiles "
             "it), once more in another new process that finds the kernel in the cache. The first step includes "
             "`adamedu.compiled(opt)` and "
             "`opt.init`.", "", "| new process | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for label in ("compile", "from cache"):
        lines.append(f"| {label} | " + " | ".join(" ".join(duration(first[label][k])) for k in columns) + " |")
    return lines


def fit_table(fit):
    lines = ["Training throughput on the 1797 digits, network 64-128-10 (ReLU), Adam, batch 32: samples per "
             f"second over {fit['epochs']} epoch(s) per round, median (interquartile range), and the training "
             f"accuracy after the last round. Load average before → after: {fit['load'][0].split()[0]} → "
             f"{fit['load'][1].split()[0]}.", "", "| library | samples/s | training accuracy | ÷ Keras |",
             "| --- | ---: | ---: | ---: |"]
    keras = fit["contenders"].get("keras", {}).get("rate")
    for c in fit["contenders"].values():
        if c["unavailable"]:
            lines.append(f"| {c['label']} | not available | | |")
            continue
        r = c["rate"]
        versus = f"{r['median'] / keras['median']:.2f}" if keras else "–"
        lines.append(f"| {c['label']} | {r['median']:,.0f} ({r['q1']:,.0f}–{r['q3']:,.0f}) | {c['accuracy']:.3f} "
                     f"| {versus} |")
    return lines


def notebook_table(notes):
    lines = ["Each notebook executed top to bottom by a fresh Jupyter kernel (nbclient), its start included.", "",
             "| notebook | time |", "| --- | ---: |"]
    total = 0.0
    for name, seconds in notes.items():
        if isinstance(seconds, str):
            lines.append(f"| {name} | {seconds} |")
            continue
        total += seconds
        lines.append(f"| {name} | {seconds:.1f} s |")
    return lines + [f"| **all {len(notes)}** | **{total:.1f} s** |"]


# == the command ==================================================================================================

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python adamedu/benchmark.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 3 rounds, sizes 1e3 and 1e5, short calls, no notebooks; writes no file "
                             "unless --out or --json is given")
    parser.add_argument("--out", type=Path, help=f"the markdown file to write (default {DEFAULT_OUT})")
    parser.add_argument("--json", type=Path, help="also write every measurement, with the workers' process ids")
    parser.add_argument("--rounds", type=int, help="rounds of the alternated measurements (default 15; quick 3)")
    parser.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")],
                        help="parameter counts, comma-separated (default 1e3,1e5,1e6,1e7; quick 1e3,1e5)")
    parser.add_argument("--contenders", type=lambda s: s.split(","), default=DEFAULT_STEP,
                        help=f"step contenders, comma-separated, of: {','.join(STEP)}; a key + '{ONE}' runs that "
                             "contender on one thread")
    parser.add_argument("--skip", action="append", default=[], choices=["steps", "first-call", "fit", "notebooks"],
                        help="leave out a measurement (may be repeated)")
    parser.add_argument("--threads", type=int,
                        help="threads per worker for PyTorch, TensorFlow, BLAS and numba (default: each library's own)")
    parser.add_argument("--first-call-size", type=lambda s: int(float(s)), default=FIRST_CALL_SIZE,
                        help=f"parameters of the compiled engine's first call (default {FIRST_CALL_SIZE:.0e})")
    parser.add_argument("--book", type=Path, default=ROOT / "book", help="the folder of the notebooks")
    parser.add_argument("--worker", nargs=2, metavar=("ROLE", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        serve(*args.worker)
        return 0
    unknown = [key for key in args.contenders if key.removesuffix(ONE) not in STEP]
    if unknown:
        parser.error(f"--contenders: unknown {unknown}; the contenders are {list(STEP)}")
    rounds = args.rounds or (3 if args.quick else 15)
    if rounds < 1:
        parser.error(f"--rounds must be at least 1, got {rounds}")
    sizes = args.sizes or (list(SIZES[:2]) if args.quick else list(SIZES))
    min_time, settle, epochs = (0.005, 0.005, 1) if args.quick else (0.05, 0.02, 3)
    skip = set(args.skip) | ({"notebooks"} if args.quick else set())
    out = args.out if args.out is not None else (None if args.quick else DEFAULT_OUT)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    if args.threads:  # read by each library as it starts in a worker, which inherits our environment
        os.environ.update(thread_env(args.threads))

    load_before = load()
    log(f"load average before: {load_before} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="adamedu-bench-logs-") as log_dir:
        steps = None if "steps" in skip else bench_steps(args.contenders, sizes, rounds, min_time, settle, log_dir,
                                                         log)
        first = None if "first-call" in skip else bench_first_call(args.first_call_size, log_dir, log)
        fit = None if "fit" in skip else bench_fit(list(FIT), max(3, rounds // 2), epochs, settle, log_dir, log)
        notes = None if "notebooks" in skip else bench_notebooks(args.book, log_dir, log)
    settings = {"load average (1, 5, 15 min)": f"{load_before} before, {load()} after the whole run",
                "settings": f"{rounds} rounds; each timed call about {min_time * 1e3:g} ms of steps, "
                            f"{settle * 1e3:g} ms pause between calls; fit: {max(3, rounds // 2)} rounds of {epochs} "
                            "epoch(s); one worker process per contender; threads: "
                            + (f"{args.threads} per library" if args.threads else "each library's default")}
    text = report(machine(), settings, steps, first, fit, notes, args.quick)
    print(text)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        log(f"written to {out}")
    if args.json is not None:
        raw = {"machine": machine(), "driver pid": os.getpid(), "steps": steps, "first_call": first, "fit": fit,
               "notebooks": notes,
               "ratios": {f"{a}/{b}": row for (a, b), row in ratios(steps).items()} if steps else {}}
        args.json.write_text(json.dumps(raw, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
