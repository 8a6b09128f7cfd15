"""The compiled engine (``adamedu.compiled``) against the numpy step it compiles, bit for bit.

The numpy step is the reference here: it is itself held to Keras and PyTorch by test_reference.py, and the
compiled step claims to compute exactly the same floating-point operations. Each kernel is compiled once per
test session into a temporary cache directory (shared by every test), which keeps this file to seconds of
numba compilation; most tests use the one-thread kernel, a few the multi-threaded one.
"""

import os
import platform
import re
import subprocess
import sys
import textwrap
import tracemalloc
from dataclasses import dataclass

import numpy as np
import pytest
from optimizer_support import snapshot
from test_bad_input import STEP_TABLE
from test_memory import assert_same_bits

import adamedu as ae
from adamedu.optimizers._base import numpy_ops

numba = pytest.importorskip("numba")
from adamedu.engines import compiled as engine  # noqa: E402 - needs numba

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPES = [np.float32, np.float64]
NEVER = 1 << 62  # parallel_from: one thread, whatever the size

# Every setting the equivalence tests (test_reference.py) cover, and a learning-rate schedule.
SETTINGS = {
    "GradientDescent": ae.GradientDescent(lr=0.03),
    "Momentum": ae.Momentum(lr=0.02, beta=0.8),
    "Momentum-nesterov": ae.Momentum(lr=0.02, beta=0.85, nesterov=True),
    "AdaGrad": ae.AdaGrad(),
    "AdaGrad-keras": ae.AdaGrad(lr=0.001, eps=1e-7, initial_accumulator=0.1, eps_in_sqrt=True),
    "AdaGrad-0.05": ae.AdaGrad(lr=0.05, eps=1e-6, initial_accumulator=0.1),
    "RMSprop": ae.RMSprop(lr=0.01, beta=0.95, eps=1e-6),
    "RMSprop-keras": ae.RMSprop(eps=1e-7, eps_in_sqrt=True),
    "Adam": ae.Adam(),
    "Adam-0.01": ae.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
    "Adam-keras": ae.Adam(lr=0.01, beta1=0.75, beta2=0.96875, eps=1e-6, eps_hat=True),
    "Adam-nobias": ae.Adam(bias_correction=False),
    "Adam-schedule": ae.Adam(lr=lambda t: 0.01 / t**0.5),
    "AdamW": ae.AdamW(),
    "AdamW-0.1": ae.AdamW(lr=0.01, beta1=0.85, beta2=0.995, eps=1e-7, weight_decay=0.1),
    "AdamW-keras": ae.AdamW(lr=0.01, beta1=0.875, beta2=0.9921875, eps=1e-6, eps_hat=True, weight_decay=0.125),
    "AMSGrad": ae.AMSGrad(),
    "AMSGrad-keras": ae.AMSGrad(lr=0.01, beta1=0.75, beta2=0.96875, eps=1e-6, eps_hat=True),
    "AdaMax": ae.AdaMax(),
    "AdaMax-0.01": ae.AdaMax(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
    "Nadam": ae.Nadam(),
    "Nadam-0.01": ae.Nadam(lr=0.01, beta1=0.85, beta2=0.99, eps=1e-6, momentum_decay=0.01),
    "RAdam": ae.RAdam(),  # rho_t > 5 from t = 6: both branches of its ops.cond run
    "RAdam-0.01": ae.RAdam(lr=0.01, beta1=0.85, beta2=0.99, eps=1e-6),
    "Lion": ae.Lion(lr=0.01, beta1=0.75, beta2=0.9375),
    "Lion-decay": ae.Lion(lr=0.01, beta1=0.75, beta2=0.9375, weight_decay=0.125),
    # the options at parity with torch and Keras (weight decay with a per-parameter exclusion, maximize)
    "RMSprop-centered-momentum": ae.RMSprop(lr=0.01, centered=True, momentum=0.5),
    "Adam-coupled-decay": ae.Adam(lr=0.01, weight_decay=0.1, exclude_from_weight_decay=("^b$",)),
    "Nadam-decoupled-maximize": ae.Nadam(weight_decay=0.1, decoupled_weight_decay=True, maximize=True),
    "AdaMax-keras": ae.AdaMax(lr=0.001, eps=1e-7, eps_in_max=False),
    # the family's ancestors and later members (LAMB is not elementwise: refused below)
    "Rprop": ae.Rprop(lr=0.05),
    "Adadelta": ae.Adadelta(),
    "Yogi": ae.Yogi(),
    "AdaBelief": ae.AdaBelief(eps=1e-12),
}
STEPS = 60


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("kernels"))


def make_params(dtype, seed=0):
    """A 0-d array, a matrix, a vector and a 3-d array: every shape the kernel flattens."""
    rng = np.random.default_rng(seed)
    shapes = {"scale": (), "W": (3, 5), "b": (257,), "cube": (4, 6, 11)}
    return {name: rng.standard_normal(shape).astype(dtype) for name, shape in shapes.items()}


def gradient_stream(params, steps, seed=1):
    """Gradients of mixed scales (zeros, tiny, unit, large), loud first and quieter later."""
    rng = np.random.default_rng(seed)
    scale = {k: rng.choice([0.0, 1e-8, 1e-3, 1.0, 1e2], size=w.shape) for k, w in params.items()}
    for t in range(1, steps + 1):
        loud = 10.0 if t <= steps // 4 else 1.0
        yield {k: (loud * scale[k] * rng.standard_normal(w.shape)).astype(w.dtype) for k, w in params.items()}


def copy_tree(tree):
    return snapshot(tree)


# -- bit for bit -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(SETTINGS))
def test_inplace_step_equals_the_numpy_inplace_step_bit_for_bit(name, dtype, kernel_dir):
    opt = SETTINGS[name]
    fast = ae.compiled(opt, cache_dir=kernel_dir, parallel_from=NEVER, compile_from=0)
    params = make_params(dtype)
    ours, theirs = copy_tree(params), copy_tree(params)
    ours_state, theirs_state = fast.init(ours), opt.init(theirs)
    for t, grads in enumerate(gradient_stream(params, STEPS), start=1):
        returned = fast.step(ours, grads, ours_state, inplace=True)
        opt.step(theirs, grads, theirs_state, inplace=True)
        assert returned[0] is ours and returned[1] is ours_state  # filled in, as the numpy step does
        assert_same_bits(ours, theirs, f"{name} params after step {t}")
        assert_same_bits(dict(ours_state), dict(theirs_state), f"{name} state after step {t}")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ["GradientDescent", "Momentum-nesterov", "AdaGrad-keras", "Adam", "Adam-keras",
                                  "AMSGrad", "AdaMax", "Nadam", "RAdam", "Lion-decay"])
def test_pure_step_equals_the_numpy_pure_step_and_changes_nothing(name, dtype, kernel_dir):
    opt = SETTINGS[name]
    fast = ae.compiled(opt, cache_dir=kernel_dir, parallel_from=NEVER, compile_from=0)
    ours = theirs = make_params(dtype)
    ours_state, theirs_state = fast.init(ours), opt.init(theirs)
    for t, grads in enumerate(gradient_stream(ours, STEPS), start=1):
        given = copy_tree((ours, grads, ours_state))
        new = fast.step(ours, grads, ours_state)
        assert_same_bits((ours, grads, ours_state)[0], given[0], f"{name}: the pure step changed its params")
        assert_same_bits(dict(ours_state), dict(given[2]), f"{name}: the pure step changed its state")
        ours, ours_state = new
        theirs, theirs_state = opt.step(theirs, grads, theirs_state)
        assert type(ours_state) is ae.State
        assert_same_bits(ours, theirs, f"{name} params after step {t}")
        assert_same_bits(dict(ours_state), dict(theirs_state), f"{name} state after step {t}")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_the_multithreaded_kernel_equals_the_numpy_step_bit_for_bit(dtype, kernel_dir):
    opt = ae.Adam(lr=0.01)
    fast = ae.compiled(opt, cache_dir=kernel_dir, parallel_from=0, compile_from=0, threads=True)
    params = {"w": np.random.default_rng(0).standard_normal(100_003).astype(dtype), "b": np.ones(3, dtype)}
    ours, theirs = copy_tree(params), copy_tree(params)
    ours_state, theirs_state = fast.init(ours), opt.init(theirs)
    for grads in gradient_stream(params, 10):
        fast.step(ours, grads, ours_state, inplace=True)
        opt.step(theirs, grads, theirs_state, inplace=True)
    assert_same_bits(ours, theirs, "params")
    assert_same_bits(dict(ours_state), dict(theirs_state), "state")


def test_float16_runs_on_the_numpy_step(kernel_dir):
    opt = ae.Adam(lr=0.01)
    fast = ae.compiled(opt, cache_dir=kernel_dir, compile_from=0)
    w = np.linspace(-1, 1, 7).astype(np.float16)
    g = np.linspace(1, 2, 7).astype(np.float16)
    ours, ours_state = fast.step(w, g, fast.init(w))
    theirs, theirs_state = opt.step(w, g, opt.init(w))
    assert ours.dtype == np.float16
    assert_same_bits(ours, theirs, "params")
    assert_same_bits(dict(ours_state), dict(theirs_state), "state")
    assert fast._kernels == {}  # no kernel was made for it


def test_a_small_step_runs_on_the_numpy_step(kernel_dir):
    opt = ae.Adam(lr=0.01)
    fast = ae.compiled(opt, cache_dir=kernel_dir, compile_from=100)
    w, g = np.linspace(-1, 1, 99), np.linspace(1, 2, 99)
    assert_same_bits(fast.step(w, g, fast.init(w))[0], opt.step(w, g, opt.init(w))[0], "params")
    assert fast._kernels == {}
    w, g = np.linspace(-1, 1, 100), np.linspace(1, 2, 100)
    assert_same_bits(fast.step(w, g, fast.init(w))[0], opt.step(w, g, opt.init(w))[0], "params")
    assert len(fast._kernels) == 1


def test_a_gradient_of_another_dtype_is_cast_as_the_numpy_step_casts_it(kernel_dir):
    opt = ae.Adam(lr=0.01)
    fast = ae.compiled(opt, cache_dir=kernel_dir, parallel_from=NEVER, compile_from=0)
    w = np.linspace(-1, 1, 9, dtype=np.float32)
    g = np.linspace(0.1, 3, 9)  # float64
    assert_same_bits(fast.step(w, g, opt.init(w))[0], opt.step(w, g, opt.init(w))[0], "params")


def test_per_parameter_optimizers_come_from_for_param(kernel_dir):
    # Optimizer.for_param(name) picks the rule of each parameter array: here, no decay for the bias
    opt = ae.AdamW(lr=0.01, weight_decay=0.5, exclude_from_weight_decay=("^b$",))
    fast = ae.compiled(opt, cache_dir=kernel_dir, parallel_from=NEVER, compile_from=0)
    params = {"W": np.ones((2, 3)), "b": np.ones(3)}
    grads = {"W": np.full((2, 3), 0.5), "b": np.full(3, 0.5)}
    new, _ = fast.step(params, grads, fast.init(params))
    for name, rule in (("W", ae.AdamW(lr=0.01, weight_decay=0.5)), ("b", ae.AdamW(lr=0.01, weight_decay=0.0))):
        expected, _ = rule.step(params[name], grads[name], rule.init(params[name]))
        assert_same_bits(new[name], expected, name)
    assert not np.array_equal(new["W"][0], new["b"])  # the negative control: the decay did differ


# -- the scalar plan ---------------------------------------------------------------------------------------------

def count_traces(monkeypatch):
    calls = []
    real = engine.trace

    def counting(*args, **kwargs):
        calls.append(args[2])  # t
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "trace", counting)
    return calls


def run_both(opt, kernel_dir, steps=12, dtype=np.float32):
    """``steps`` in-place steps of the compiled and the numpy step, compared bit for bit after each."""
    fast = ae.compiled(opt, cache_dir=kernel_dir, parallel_from=NEVER, compile_from=0)
    params = make_params(dtype)
    ours, theirs = copy_tree(params), copy_tree(params)
    ours_state, theirs_state = fast.init(ours), opt.init(theirs)
    for t, grads in enumerate(gradient_stream(params, steps), start=1):
        fast.step(ours, grads, ours_state, inplace=True)
        opt.step(theirs, grads, theirs_state, inplace=True)
        assert_same_bits(ours, theirs, f"{type(opt).__name__} params after step {t}")
        assert_same_bits(dict(ours_state), dict(theirs_state), f"{type(opt).__name__} state after step {t}")
    return fast


def test_the_scalar_plan_replaces_the_trace_after_its_checks(monkeypatch, kernel_dir):
    calls = count_traces(monkeypatch)
    run_both(ae.Adam(lr=lambda t: 0.01 / t**0.5), kernel_dir)
    # step 1 traces (and records the plan); steps 2 and 3 replay it and check it against a trace; then only the plan
    assert calls == [1, 2, 3], calls


def test_a_branch_on_t_gets_a_plan_per_branch(monkeypatch, kernel_dir):
    calls = count_traces(monkeypatch)
    fast = run_both(ae.RAdam(), kernel_dir)  # ops.cond(rho_t > 5, ...): momentum until t = 5, rectified from t = 6
    assert calls == [1, 2, 3, 6, 7, 8], calls
    (entry,) = fast._plans.values()
    assert len(entry.plans) == 2


@dataclass(frozen=True)
class MathSqrtSGD(ae.GradientDescent):
    """lr / √t through math.sqrt, which turns t into a Python float: a plan cannot replay that."""

    def update(self, w, g, *, t, lr, ops=numpy_ops):
        import math
        return w - lr / math.sqrt(t) * g


@dataclass(frozen=True)
class PythonIfOnT(ae.GradientDescent):
    """A Python `if` and min() on t: guards of the plan (the numpy step runs them as written)."""

    def update(self, w, g, *, t, lr, ops=numpy_ops):
        if t > 4:
            lr = lr * 0.5
        return w - min(t, 7) * lr * g


HIDDEN = [1.0]


@dataclass(frozen=True)
class HiddenInput(ae.GradientDescent):
    """A rule that reads a value neither t, lr nor a hyperparameter: the plan's checks must notice."""

    def update(self, w, g, *, t, lr, ops=numpy_ops):
        return w - (lr * HIDDEN[0]) * g


def test_a_rule_the_plan_cannot_replay_is_traced_every_step(monkeypatch, kernel_dir):
    calls = count_traces(monkeypatch)
    fast = run_both(MathSqrtSGD(lr=0.1), kernel_dir, steps=6)
    assert calls == [1, 2, 3, 4, 5, 6]
    assert [entry.plans for entry in fast._plans.values()] == [None]


def test_python_branches_on_t_are_guards(monkeypatch, kernel_dir):
    calls = count_traces(monkeypatch)
    run_both(PythonIfOnT(lr=0.01), kernel_dir, steps=12)
    # the guards t > 4 and 7 < t (min's test) split the steps into plans for t <= 4, 5-7 and >= 8,
    # each traced when first met and checked on its next two steps
    assert calls == [1, 2, 3, 5, 6, 7, 8, 9, 10], calls


def test_the_checks_catch_a_plan_that_misses_an_input(monkeypatch, kernel_dir):
    # the negative control of the checks: the value read behind the tracer's back changes at step 2
    calls = count_traces(monkeypatch)
    opt = HiddenInput(lr=0.1)
    fast = ae.compiled(opt, cache_dir=kernel_dir, parallel_from=NEVER, compile_from=0)
    w = np.linspace(-1, 1, 5)
    ours, theirs = w.copy(), w.copy()
    ours_state, theirs_state = fast.init(ours), opt.init(theirs)
    try:
        for t in range(1, 6):
            HIDDEN[0] = 1.0 if t == 1 else 3.0
            fast.step(ours, np.ones(5), ours_state, inplace=True)
            opt.step(theirs, np.ones(5), theirs_state, inplace=True)
            assert_same_bits(ours, theirs, f"params after step {t}")
    finally:
        HIDDEN[0] = 1.0
    assert calls == [1, 2, 3, 4, 5]  # the plan was dropped at step 2
    assert [entry.plans for entry in fast._plans.values()] == [None]


# -- the machine code ----------------------------------------------------------------------------------------------

@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="reads x86-64 machine code")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ["Adam", "AMSGrad", "Lion-decay", "RAdam", "Rprop", "Momentum-nesterov"])
def test_the_kernel_loop_is_vectorized(name, dtype):
    # The finiteness test written with `and` and a boolean flag kept LLVM from vectorizing the loop: it ran one
    # element at a time, several times slower, with the same results. Not a timing: the compiled loop must hold
    # packed (SIMD) arithmetic, which a loop of one element at a time does not.
    opt = SETTINGS[name]
    dtypes = (np.dtype(dtype),) * (2 + len(opt.slots))
    key, _, consts = engine.trace(opt, dtypes, 10, 1e-3, {})
    scope = {}
    exec(compile(engine.kernel_source(key).replace("cache=True", "cache=False"), "kernel", "exec"), scope)
    serial = scope["serial"]
    arrays = [np.ones(64, dtype) for _ in dtypes]
    serial(64, *arrays, *consts)
    asm = serial.inspect_asm(serial.signatures[0])
    suffix = "ps" if np.dtype(dtype) == np.float32 else "pd"
    assert re.search(rf"\bv?(add|sub|mul|div|sqrt){suffix}\b", asm), "the kernel's loop is not vectorized"


# -- what the tracer refuses --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClippedSGD(ae.GradientDescent):
    def update(self, w, g, *, t, lr, ops=numpy_ops):
        if g > 1:  # a Python if on an array: numpy itself refuses it for arrays of more than one element
            g = 1.0
        return w - lr * g


@dataclass(frozen=True)
class NumpySqrtRMSprop(ae.RMSprop):
    def update(self, w, g, v, *, t, lr, ops=numpy_ops):
        v = self.beta * v + (1 - self.beta) * g * g
        return w - lr * g / (np.sqrt(v) + self.eps), v


@dataclass(frozen=True)
class ElementwiseCond(ae.GradientDescent):
    def update(self, w, g, *, t, lr, ops=numpy_ops):
        return ops.cond(g > 0, lambda: w - lr * g, lambda: w)


@dataclass(frozen=True)
class UnknownOp(ae.GradientDescent):
    def update(self, w, g, *, t, lr, ops=numpy_ops):
        return w - lr * ops.tanh(g)


@pytest.mark.parametrize("opt, words", [
    (ClippedSGD(), ["Python `if`", "ops.cond"]),
    (NumpySqrtRMSprop(), ["numpy's sqrt", "ops.sqrt"]),
    (ElementwiseCond(), ["ops.cond", "scalars"]),
    (UnknownOp(), ["tanh", "sqrt, abs, sign, maximum and cond"]),
], ids=["python-if", "numpy-function", "cond-on-array", "unknown-op"])
def test_the_tracer_refuses_what_it_cannot_follow_and_changes_nothing(opt, words, kernel_dir):
    fast = ae.compiled(opt, cache_dir=kernel_dir, compile_from=0)
    params = {"w": np.linspace(-1, 1, 5)}
    state = fast.init(params)
    saved = snapshot((params, state))
    with pytest.raises(engine.TraceError) as excinfo:
        fast.step(params, {"w": np.ones(5)}, state, inplace=True)
    for word in words:
        assert word in str(excinfo.value), (word, str(excinfo.value))
    assert_same_bits(params, saved[0], "params")
    assert_same_bits(dict(state), dict(saved[1]), "state")


def test_compiled_refuses_what_is_not_an_optimizer():
    with pytest.raises(TypeError, match="adamedu optimizer"):
        ae.compiled("Adam")
    with pytest.raises(ValueError, match="threads must be 'auto', True or False, got 'yes'"):
        ae.compiled(ae.Adam(), threads="yes")


# -- the same validation as the numpy step -------------------------------------------------------------------------

@pytest.mark.parametrize("inplace", [False, True], ids=["pure", "inplace"])
@pytest.mark.parametrize("make", [row[1] for row in STEP_TABLE], ids=[row[0] for row in STEP_TABLE])
def test_bad_input_gets_the_numpy_steps_error_and_changes_nothing(make, inplace, kernel_dir):
    opt, params, grads, state = make()
    with pytest.raises(Exception) as expected:
        opt.step(*snapshot((params, grads, state)), inplace=inplace)
    fast = ae.compiled(opt, cache_dir=kernel_dir, parallel_from=NEVER, compile_from=0)
    saved = snapshot((params, grads, state))
    with pytest.raises(type(expected.value)) as excinfo:
        fast.step(params, grads, state, inplace=inplace)
    assert str(excinfo.value) == str(expected.value)
    if inplace and (str(excinfo.value).startswith("params") or "would overflow" in str(excinfo.value)):
        # NaN already in the parameters, or an overflow: found in the kernel (see the module's docstring).
        # The finite elements were written; the non-finite ones kept their old values; t did not advance.
        for a, b in zip(_leaves(params), _leaves(saved[0]), strict=True):
            assert np.array_equal(np.isfinite(a), np.isfinite(b))
        assert state is None or state["t"] == saved[2]["t"]
        params, state, saved = None, None, (None, saved[1], None)
    for given, kept in zip((params, grads, state), saved, strict=True):
        for a, b in zip(_leaves(given), _leaves(kept), strict=True):
            a, b = np.asarray(a), np.asarray(b)
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (a, b)


def _leaves(tree):
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in _leaves(v)]
    if isinstance(tree, (list, tuple)):
        return [x for v in tree for x in _leaves(v)]
    return [tree]


def test_an_overflow_keeps_the_old_values_where_the_new_ones_are_not_finite(kernel_dir):
    # The documented difference from the blocked numpy step: every element whose new value is finite is
    # written; the others keep their old values; t does not advance; the error names the first bad index.
    opt = ae.GradientDescent(lr=1e300)
    fast = ae.compiled(opt, cache_dir=kernel_dir, parallel_from=NEVER, compile_from=0)
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    g = np.array([[1e-300, 1e300, 0.0], [-1e300, 2e-300, 0.0]])
    state = fast.init(w)
    with pytest.raises(ae.NonFiniteError) as excinfo:
        fast.step(w, g, state, inplace=True)
    assert str(excinfo.value) == ("GradientDescent step 1 would overflow: params holds -inf at index (0, 1) "
                                  "(2 non-finite value(s)); parameters must be finite")
    assert np.array_equal(w, [[0.0, 2.0, 3.0], [4.0, 3.0, 6.0]])
    assert state.t == 0


# -- the cache ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdamOtherOrder(ae.Adam):
    """Adam with its step written lr · (m̂ / (√v̂ + ε)): the same in exact arithmetic, not in floating point."""

    def update(self, w, g, m, v, *, t, lr, ops=numpy_ops):
        m = self.beta1 * m + (1 - self.beta1) * g
        v = self.beta2 * v + (1 - self.beta2) * g * g
        m_hat, v_hat = m / (1 - self.beta1**t), v / (1 - self.beta2**t)
        return w - lr * (m_hat / (ops.sqrt(v_hat) + self.eps)), m, v


def kernel_files(directory):
    return sorted(f for f in os.listdir(directory) if f.startswith("adamedu_k_") and f.endswith(".py"))


def test_a_changed_rule_gets_a_kernel_of_its_own(tmp_path):
    w = np.linspace(-1, 1, 101, dtype=np.float32)
    g = np.linspace(0.3, -7, 101, dtype=np.float32)
    results = {}
    for opt in (ae.Adam(lr=0.1), AdamOtherOrder(lr=0.1)):
        fast = ae.compiled(opt, cache_dir=str(tmp_path), parallel_from=NEVER, compile_from=0)
        results[type(opt).__name__] = fast.step(w, g, fast.init(w))[0]
        assert_same_bits(results[type(opt).__name__], opt.step(w, g, opt.init(w))[0], type(opt).__name__)
    assert len(kernel_files(tmp_path)) == 2
    # the negative control: the two rules do round differently, so sharing a kernel would have shown
    assert not np.array_equal(results["Adam"], results["AdamOtherOrder"])
    # the same rule with other hyperparameters shares its kernel (the scalars are arguments)
    fast = ae.compiled(ae.Adam(lr=0.5, beta1=0.5), cache_dir=str(tmp_path), parallel_from=NEVER, compile_from=0)
    fast.step(w, g, fast.init(w))
    assert len(kernel_files(tmp_path)) == 2


def test_the_kernel_file_is_named_by_its_source(tmp_path):
    key = engine.trace(ae.Adam(), (np.dtype(np.float32),) * 4, 1, 1e-3, {})[0]
    source = engine.kernel_source(key)
    module = engine.load_kernels(source, str(tmp_path))
    with open(module.__file__) as f:
        assert f.read() == source
    other = engine.kernel_source(engine.trace(ae.Adam(eps_hat=True), (np.dtype(np.float32),) * 4, 1, 1e-3, {})[0])
    assert other != source
    assert engine.load_kernels(other, str(tmp_path)).__file__ != module.__file__


SECOND_PROCESS = textwrap.dedent("""
    import sys, time, numpy as np
    t0 = time.perf_counter()
    import adamedu as ae
    opt = ae.compiled(ae.Adam(lr=0.01), cache_dir=sys.argv[1], parallel_from=1 << 62, compile_from=0)
    w = np.linspace(-1, 1, 1000, dtype=np.float32)
    opt.step(w, np.ones_like(w), opt.init(w), inplace=True)
    (kernels,) = opt._kernels.values()
    stats = kernels.serial.stats
    print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()), time.perf_counter() - t0)
""")


def test_a_second_process_loads_the_kernel_from_the_cache(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", SECOND_PROCESS, str(tmp_path)], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        runs.append((int(out[0]), int(out[1])))
    assert runs == [(0, 1), (1, 0)]  # compiled by the first process, loaded from disk by the second


def test_import_adamedu_does_not_import_numba():
    code = "import sys, adamedu; assert 'numba' not in sys.modules; assert callable(adamedu.compiled)"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


# -- memory --------------------------------------------------------------------------------------------------------

def test_the_compiled_inplace_step_allocates_nothing_as_large_as_the_parameters(kernel_dir):
    n = 10**6
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    fast = ae.compiled(ae.Adam(), cache_dir=kernel_dir, threads=True)  # 1e6 elements: the multi-threaded kernel
    state = fast.init(w)
    fast.step(w, g, state, inplace=True)  # compiles (or loads) the kernel: allocations made once happen here
    peaks = {}
    for inplace in (True, False):
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            result = fast.step(w, g, state, inplace=inplace)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        del result
        peaks[inplace] = peak - before
    assert peaks[True] < w.nbytes / 100, peaks
    assert peaks[False] >= 3 * w.nbytes, peaks  # the negative control: the pure step's new w, m and v count


def test_a_rule_that_is_not_elementwise_is_refused():
    with pytest.raises(ValueError, match="Lamb.*not elementwise"):
        ae.compiled(ae.Lamb())
