"""How fast is adamedu next to Keras and PyTorch? ``python -m adamedu.benchmark`` (or ``python3 tasks.py bench``).

Three measurements, each on this machine and in this one process:

1. the time of one Adam step on a single float32 array of 1e3, 1e5, 1e6 and 1e7 parameters: adamedu's
   pure step and its in-place step, Keras's Adam (``apply_gradients`` inside a ``tf.function``, the
   compiled train step that ``model.fit`` runs; and with XLA), and PyTorch's Adam when it is installed
   (its default, which on CPU is the for-loop implementation; ``foreach=True``; ``fused=True``);
2. the training throughput (samples per second) of ``adamedu.fit`` and Keras's ``model.fit`` on the same
   network (64-128-10, ReLU, Adam, batch 32) and data (scikit-learn's digits);
3. the time to execute every notebook of the book.

The contenders of 1 and 2 are measured *interleaved*: each round runs every contender once, in an order
that rotates from round to round, so that a change in the machine's load during the run (another
program starting, the CPU's clock changing) falls on all of them alike. We report the median over the
rounds, and the spread as the range from the fastest to the slowest round.

The results are printed and written as a markdown table (``--out``; by default the book's
``book/_benchmark_results.md``, which the appendix "How fast is it?" includes). ``--quick`` is a smoke
run of a few seconds that writes nothing unless ``--out`` is given. Frameworks that are not installed
are left out. Nothing is downloaded: the digits ship with scikit-learn.
"""

import argparse
import contextlib
import datetime
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import Adam, fit, mlp

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book" / "_benchmark_results.md"
SIZES = (10**3, 10**5, 10**6, 10**7)
TARGETS = {  # the targets on a 2-core machine
    "step_vs_keras": 1.0,  # in-place step time / Keras's, at every size
    "step_vs_torch": 1.25,  # in-place step time / PyTorch's default, at 1e6 parameters and more
    "fit_vs_keras": 5.0,  # adamedu's samples/s / Keras's
    "notebook_s": 60.0,  # every notebook
    "notebooks_total_s": 300.0,  # all of them
}


# -- measuring -----------------------------------------------------------------------------------------

def interleaved(contenders, rounds, min_time):
    """Time each contender's ``run(k)`` (k units of work) in rounds; return ``{name: [seconds per unit, ...]}``.

    Before the first round each contender runs once untimed (a warm-up: tracing, caches, page faults)
    and is calibrated: ``k`` is chosen so that one timed call lasts about ``min_time`` seconds. In
    round r the contenders run in their order rotated by r.
    """
    batch = {}
    for name, run in contenders.items():
        run(1)
        start = time.perf_counter()
        run(1)
        once = max(time.perf_counter() - start, 1e-7)
        batch[name] = max(1, round(min_time / once))
    names = list(contenders)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            contenders[name](batch[name])
            times[name].append((time.perf_counter() - start) / batch[name])
    return times


def summary(samples):
    """``(median, fastest, slowest)`` of a list of measurements."""
    return statistics.median(samples), min(samples), max(samples)


# -- 1. one Adam step ---------------------------------------------------------------------------------

def step_contenders(n, seed=0):
    """``{name: run(k)}``: k Adam steps on one float32 array of n parameters, for every installed framework."""
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal(n).astype(np.float32)
    g = (1e-3 * rng.standard_normal(n)).astype(np.float32)  # held fixed: we time the optimizer, not a model
    contenders = {}

    def adamedu(inplace):
        opt = Adam()
        box = [w0.copy(), None]
        box[1] = opt.init(box[0])

        def run(k):
            w, state = box
            for _ in range(k):
                w, state = opt.step(w, g, state, inplace=inplace)
            box[:] = w, state
        return run

    contenders["adamedu (pure)"] = adamedu(inplace=False)
    contenders["adamedu (in place)"] = adamedu(inplace=True)

    keras = _import("keras")
    if keras is not None and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        for label, xla in (("Keras", False), ("Keras (XLA)", True)):
            contenders[label] = _keras_step(keras, tf, w0, g, xla)

    torch = _import("torch")
    if torch is not None:
        for label, kind in (("PyTorch (default)", {}), ("PyTorch (foreach)", {"foreach": True}),
                            ("PyTorch (fused)", {"fused": True})):
            contenders[label] = _torch_step(torch, w0, g, kind)
    return contenders


def _keras_step(keras, tf, w0, g, xla):
    """Keras's Adam as ``model.fit`` runs it: one call of a compiled function per step.

    On a machine without a GPU, ``compile(jit_compile="auto")`` turns XLA off, so ``model.fit`` runs
    its train step as a ``tf.function`` without XLA; ``xla=True`` measures the XLA-compiled one too.
    """
    var = keras.Variable(w0.copy())
    opt = keras.optimizers.Adam()
    opt.build([var])
    grad = tf.constant(g)

    @tf.function(jit_compile=xla)
    def train_step():
        opt.apply_gradients([(grad, var)])

    def run(k):
        for _ in range(k):
            train_step()
        var.value[0].numpy()  # wait for the last step to be done
    return run


def _torch_step(torch, w0, g, kind):
    """PyTorch's Adam; ``kind`` is ``{}`` (the default: on CPU, a loop over the tensors with one operation
    at a time), ``{"foreach": True}`` (each operation on all tensors at once) or ``{"fused": True}`` (one
    kernel that does the whole update in a single pass)."""
    w = torch.tensor(w0, requires_grad=True)
    w.grad = torch.tensor(g)
    opt = torch.optim.Adam([w], **kind)

    def run(k):
        for _ in range(k):
            opt.step()
    return run


def bench_steps(sizes, rounds, min_time, log):
    results = {}
    for n in sizes:
        log(f"Adam step, {_power(n)} parameters ...")
        contenders = step_contenders(n)
        results[n] = {name: summary(t) for name, t in interleaved(contenders, rounds, min_time).items()}
        del contenders
    return results


# -- 2. training throughput ----------------------------------------------------------------------------

def digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x / 16).astype(np.float32), y.astype(np.int64)  # pixels 0..16 scaled to [0, 1]


def fit_contenders(x, y, epochs):
    """``{name: run()}``: one call of each library's fit, ``epochs`` epochs long, which returns the seconds
    it counts (see below), so that samples/s = epochs · len(x) / seconds; and ``{name: training accuracy}``,
    filled in by the runs."""
    contenders, accuracy = {}, {}
    net, opt, box = mlp([64, 128, 10], seed=0), Adam(), [None]

    def run_adamedu():
        start = time.perf_counter()
        history = fit(net, x, y, opt, epochs=epochs, batch_size=32, state=box[0])
        seconds = time.perf_counter() - start  # the whole call
        box[0] = history.state  # the next call goes on training where this one stopped
        accuracy["adamedu"] = history.accuracy[-1]
        return seconds

    contenders["adamedu"] = run_adamedu
    keras = _import("keras")
    if keras is not None:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
                                  keras.layers.Dense(10)])
        model.compile(optimizer=keras.optimizers.Adam(), metrics=["accuracy"],
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        clock = epoch_clock(keras)

        def run_keras():
            history = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[clock])
            accuracy["Keras"] = history.history["accuracy"][-1]
            return sum(clock.seconds)  # the epochs only: fit's set-up before the first is not counted

        contenders["Keras"] = run_keras
    return contenders, accuracy


def epoch_clock(keras):
    """A Keras callback whose ``seconds`` lists the time of each epoch of the last fit, start to end."""

    class EpochClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochClock()


def bench_fit(rounds, epochs, log):
    log("training throughput on digits ...")
    x, y = digits()
    contenders, accuracy = fit_contenders(x, y, epochs)
    for run in contenders.values():
        run()  # warm-up, not counted: Keras traces and compiles its train step in its first fit
    names = list(contenders)
    rates = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            rates[name].append(epochs * len(x) / contenders[name]())
    return {name: summary(v) for name, v in rates.items()}, accuracy, len(x)


# -- 3. the notebooks ----------------------------------------------------------------------------------

def bench_notebooks(book, log, timeout=600):
    """Execute every notebook of ``book`` (in a copy of it, in a temporary folder); ``{name: seconds or error}``."""
    import nbclient
    import nbformat

    results = {}
    with tempfile.TemporaryDirectory(prefix="adamedu-bench-") as tmp:
        copy = Path(tmp) / "book"
        shutil.copytree(book, copy, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
        for path in sorted(copy.glob("*.ipynb")):
            log(f"executing {path.name} ...")
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
            nbformat.write(nb, path)
    return results


# -- the report ----------------------------------------------------------------------------------------

def machine():
    """What the numbers depend on: CPU, cores, load, library versions, BLAS threads."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "CPU": cpu,
            "cores": str(os.cpu_count()), "Python": platform.python_version(), "numpy": np.__version__}
    for name in ("keras", "tensorflow", "torch", "sklearn"):
        module = _import(name)
        if module is not None:
            info[name] = module.__version__
    torch = _import("torch")
    if torch is not None:
        info["torch threads"] = f"{torch.get_num_threads()} (its default)"
    info["BLAS threads"] = _blas_threads()
    return info


def _blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.environ.get("OPENBLAS_NUM_THREADS", "default")
    pools = {f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info() if p["user_api"] == "blas"}
    return ", ".join(sorted(pools)) or "none found"


def load():
    with contextlib.suppress(OSError, AttributeError):
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return "unknown"


def _power(n):
    """1000 -> '1e3'."""
    return f"{n:.0e}".replace("e+0", "e").replace("e+", "e")


def duration(seconds, unit=None):
    """``seconds`` in s, ms or µs (the one that suits it, or ``unit``): ``(text, unit)``."""
    if unit is None:
        unit = "s" if seconds >= 1 else "ms" if seconds >= 1e-3 else "µs"
    scaled = seconds * {"s": 1, "ms": 1e3, "µs": 1e6}[unit]
    return f"{scaled:.{max(0, 2 - int(math.floor(math.log10(scaled))))}f}" if scaled > 0 else "0", unit


def cell(stats):
    """``median (fastest–slowest)`` in the median's unit: ``2.05 ms (1.89–5.11)``."""
    median, fastest, slowest = stats
    text, unit = duration(median)
    return f"{text} {unit} ({duration(fastest, unit)[0]}–{duration(slowest, unit)[0]})"


def report(info, load_before, load_after, steps, fit_rates, accuracy, n_samples, notebooks, settings):
    """The markdown page section, and the list of ``(target, measured, met)``."""
    lines = [f"<!-- written by `python3 tasks.py bench` (python -m adamedu.benchmark) on {info['date']}; "
             "do not edit by hand -->", "",
             "| machine | |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in info.items()]
    lines += [f"| load average (1, 5, 15 min) | {load_before} before, {load_after} after |",
              f"| settings | {settings} |", ""]
    checks = []
    if steps:
        sizes = list(steps)
        names = list(steps[sizes[0]])
        header = "| | " + " | ".join(f"{_power(n)} parameters" for n in sizes) + " |"
        rule = "| --- |" + " ---: |" * len(sizes)
        lines += ["### One Adam step, float32", "",
                  "Median time per step over the rounds, and (fastest–slowest round).", "", header, rule]
        lines += [f"| {name} | " + " | ".join(cell(steps[n][name]) for n in sizes) + " |" for name in names]
        lines += ["", "The in-place step's median time divided by the others' (below 1: adamedu's in-place step is "
                  "faster).", "", header.replace("| |", "| in place ÷ |", 1), rule]
        lines += [f"| {name} | " + " | ".join(f"{steps[n]['adamedu (in place)'][0] / steps[n][name][0]:.2f}"
                                             for n in sizes) + " |"
                  for name in names if name != "adamedu (in place)"]
        for n in sizes:
            inplace = steps[n]["adamedu (in place)"][0]
            if "Keras" in steps[n]:
                r = inplace / steps[n]["Keras"][0]
                checks.append((f"in-place step ≤ Keras's at {_power(n)}", f"{r:.3f}×", r <= TARGETS["step_vs_keras"]))
        for n in sizes:
            if "PyTorch (default)" in steps[n] and n >= 10**6:
                r = steps[n]["adamedu (in place)"][0] / steps[n]["PyTorch (default)"][0]
                checks.append((f"in-place step ≤ 1.25 × PyTorch's default at {_power(n)}", f"{r:.3f}×",
                               r <= TARGETS["step_vs_torch"]))
        lines.append("")
    if fit_rates:
        lines += ["### Training throughput: 64-128-10 network, Adam, batch 32, digits", "",
                  f"Samples per second over {n_samples} training samples (median, and slowest–fastest round), "
                  "and the training accuracy after the last round.", "",
                  "| library | samples/s | training accuracy |", "| --- | ---: | ---: |"]
        for name, (median, low, high) in fit_rates.items():
            acc = accuracy.get(name, float("nan"))
            lines.append(f"| {name} | {median:,.0f} ({low:,.0f}–{high:,.0f}) | {acc:.3f} |")
        if "Keras" in fit_rates:
            r = fit_rates["adamedu"][0] / fit_rates["Keras"][0]
            lines += ["", f"adamedu trains {r:.1f}× as many samples per second as Keras.", ""]
            checks.append(("fit ≥ 5 × Keras's samples/s", f"{r:.2f}×", r >= TARGETS["fit_vs_keras"]))
        else:
            lines.append("")
    if notebooks:
        lines += ["### Executing the notebooks", "",
                  "Each notebook executed top to bottom by a fresh Jupyter kernel (nbclient), its start included.", "",
                  "| notebook | time |", "| --- | ---: |"]
        total, timed = 0.0, {}
        for name, seconds in notebooks.items():
            if isinstance(seconds, str):  # it failed
                lines.append(f"| {name} | {seconds} |")
                checks.append((f"{name} runs", seconds, False))
                continue
            total += seconds
            timed[name] = seconds
            lines.append(f"| {name} | {seconds:.1f} s |")
        lines += [f"| **all {len(notebooks)}** | **{total:.1f} s** |", ""]
        if timed:
            slowest = max(timed, key=timed.get)
            checks.append(("every notebook < 60 s", f"slowest: {slowest}, {timed[slowest]:.1f} s",
                           timed[slowest] < TARGETS["notebook_s"]))
        checks.append(("all notebooks together < 5 min", f"{total:.0f} s", total < TARGETS["notebooks_total_s"]))
    if checks:
        lines += ["### The targets", "", "| target | measured | met |", "| --- | ---: | :---: |"]
        lines += [f"| {target} | {measured} | {'yes' if met else '**no**'} |" for target, measured, met in checks]
        lines.append("")
    return "\n".join(lines), checks


# -- the command ---------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m adamedu.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of a few seconds: fewer rounds, two sizes, no notebooks; writes no file "
                             "unless --out is given")
    parser.add_argument("--out", type=Path, help=f"the markdown file to write (default {DEFAULT_OUT})")
    parser.add_argument("--rounds", type=int, help="rounds of the interleaved measurements (default 15; quick 3)")
    parser.add_argument("--skip", action="append", default=[], choices=["steps", "fit", "notebooks"],
                        help="leave out a measurement (may be repeated)")
    parser.add_argument("--book", type=Path, default=ROOT / "book", help="the folder of the notebooks")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 15)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    sizes = SIZES[:2] if args.quick else SIZES
    min_time = 0.005 if args.quick else 0.05
    epochs = 1 if args.quick else 3
    skip = set(args.skip) | ({"notebooks"} if args.quick else set())
    out = args.out if args.out is not None else (None if args.quick else DEFAULT_OUT)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter

    def log(message):
        print(message, file=sys.stderr, flush=True)

    load_before = load()
    log(f"load average before: {load_before} on {os.cpu_count()} cores")
    steps = {} if "steps" in skip else bench_steps(sizes, rounds, min_time, log)
    fit_rates, accuracy, n_samples = ({}, {}, 0) if "fit" in skip else bench_fit(max(3, rounds // 2), epochs, log)
    notebooks = {} if "notebooks" in skip else bench_notebooks(args.book, log)
    settings = (f"{rounds} rounds, about {min_time * 1e3:g} ms per timed call of a step contender; "
                f"{max(3, rounds // 2)} rounds of {epochs} epoch(s) for fit")
    text, checks = report(machine(), load_before, load(), steps, fit_rates, accuracy, n_samples, notebooks, settings)
    print(text)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        log(f"written to {out}")
    missed = [target for target, _, met in checks if not met]
    log("every target met" if not missed else "targets missed: " + "; ".join(missed))
    return 0


def _import(name):
    """The module ``name``, or None when it is not installed."""
    try:
        return __import__(name)
    except ImportError:
        return None


if __name__ == "__main__":
    sys.exit(main())
