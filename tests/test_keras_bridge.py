"""adamedu.keras: adamedu's update rules inside Keras's compiled training.

Three kinds of evidence:

- A small Dense model trained by ``model.fit`` (compiled graph, TensorFlow backend) with
  ``to_keras(ae.X(...))`` ends with the weights Keras's own optimizer gives, for the equivalences
  of DESIGN.md; a setting that should not match (ε placed as in the paper, a learning rate not
  mapped) ends elsewhere, under the same comparison.
- Every adamedu optimizer, run through the bridge in a ``tf.function`` on float32 Keras variables,
  follows the numpy ``step`` on the same gradients, parameters and state, step by step.
- Bad input to ``to_keras`` is refused; ``import adamedu`` works without Keras and TensorFlow.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is first imported

import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import adamedu as ae  # noqa: E402
from adamedu.keras import KerasOptimizer, to_keras  # noqa: E402

RTOL = 1e-5  # float32: two engines may round differently; ~7 digits remain
ATOL = 1e-7


def mismatch(ours, theirs, rtol=RTOL, atol=ATOL):
    """The largest |ours − theirs| in units of the tolerance atol + rtol·|theirs|: ≤ 1 means equal."""
    return max(float(np.max(np.abs(a - b) / (atol + rtol * np.abs(b)), initial=0.0))  # an empty slot: 0
               for a, b in zip(ours, theirs, strict=True))


# -- model.fit: the bridge against Keras's own optimizers ------------------------------------------

def regression_data(seed=0, n=64, d=8):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ rng.normal(size=(d, 1)) + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    return x, y


def mse(y, p):
    return keras.ops.mean(keras.ops.square(y - p))


def tiny_mse(y, p):
    """The same minimum, with gradients ~1e-6: where the placement of ε decides the step."""
    return 1e-6 * mse(y, p)


def fit(optimizer, loss=mse, epochs=3):
    """Train a seeded Dense model with ``model.fit`` (compiled, default settings); return (initial, final) weights."""
    x, y = regression_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss=loss)
    assert not model.run_eagerly  # the default: fit runs a compiled tf.function graph
    initial = model.get_weights()
    model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
    return initial, model.get_weights()


K = keras.optimizers
SAME = [  # (adamedu optimizer, the Keras optimizer DESIGN.md says it equals, loss)
    (ae.GradientDescent(lr=0.05), lambda: K.SGD(0.05), mse),
    (ae.Momentum(lr=0.1, beta=0.9), lambda: K.SGD(0.1 * (1 - 0.9), momentum=0.9), mse),
    (ae.Momentum(lr=0.1, beta=0.8, nesterov=True), lambda: K.SGD(0.1 * (1 - 0.8), momentum=0.8, nesterov=True), mse),
    (ae.AdaGrad(lr=0.05, eps=1e-7, initial_accumulator=0.1, eps_in_sqrt=True), lambda: K.Adagrad(0.05), mse),
    (ae.RMSprop(eps=1e-7, eps_in_sqrt=True), lambda: K.RMSprop(), mse),
    (ae.RMSprop(lr=0.01, beta=0.8, eps=1e-7, eps_in_sqrt=True), lambda: K.RMSprop(0.01, rho=0.8), mse),
    (ae.Adam(eps=1e-7, eps_hat=True), lambda: K.Adam(), mse),
    (ae.Adam(eps=1e-7, eps_hat=True), lambda: K.Adam(), tiny_mse),
    (ae.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-7, eps_hat=True),
     lambda: K.Adam(0.01, beta_1=0.8, beta_2=0.99), mse),
    (ae.AdamW(lr=0.01, weight_decay=0.1, eps=1e-7, eps_hat=True), lambda: K.AdamW(0.01, weight_decay=0.1), mse),
    (ae.AMSGrad(lr=0.01, eps=1e-7, eps_hat=True), lambda: K.Adam(0.01, amsgrad=True), mse),
    (ae.Lion(lr=1e-3, weight_decay=0.5), lambda: K.Lion(1e-3, weight_decay=0.5), mse),
]
DIFFERENT = [  # one setting off each: the comparison above must see it
    # ε added to √v̂ (the paper) instead of Keras's ε̂ added to √v: with gradients ~1e-7 it decides the step
    (ae.Adam(eps=1e-7), lambda: K.Adam(), tiny_mse),
    (ae.Adam(eps=1e-7, eps_hat=True, beta2=0.99), lambda: K.Adam(), mse),
    # Momentum's lr used as Keras's without the factor (1 − β)
    (ae.Momentum(lr=0.01, beta=0.9), lambda: K.SGD(0.01, momentum=0.9), mse),
]


def with_ids(cases):
    return [pytest.param(*case, id=f"{case[0]!r}-{case[2].__name__}".replace(" ", "")) for case in cases]


@pytest.mark.parametrize("ours, make_theirs, loss", with_ids(SAME))
def test_fit_matches_keras_optimizer(ours, make_theirs, loss):
    initial, ours_final = fit(to_keras(ours), loss)
    initial_theirs, theirs_final = fit(make_theirs(), loss)
    assert all(np.array_equal(a, b) for a, b in zip(initial, initial_theirs, strict=True))  # the same seeded start
    assert mismatch(theirs_final, initial) > 100  # training moved the weights far beyond the tolerance
    assert mismatch(ours_final, theirs_final) <= 1


@pytest.mark.parametrize("ours, make_theirs, loss", with_ids(DIFFERENT))
def test_fit_differs_when_the_setting_does_not_match(ours, make_theirs, loss):
    _, ours_final = fit(to_keras(ours), loss)
    _, theirs_final = fit(make_theirs(), loss)
    assert mismatch(ours_final, theirs_final) > 10  # not at the edge of the tolerance: far beyond it


def test_sparse_gradients_match_keras():
    """An Embedding's gradient is sparse (tf.IndexedSlices): the bridge makes it dense, Keras's Adam scatters it.

    Each batch looks up distinct rows: with a row repeated, Keras 3's sparse Adam squares each slice
    before summing them (v gains Σg² rather than (Σg)²), and no longer equals its own dense step.
    """
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.permutation(20)[:16] for _ in range(4)])[:, None]
    y = rng.normal(size=(64, 1)).astype("float32")
    finals = []
    for optimizer in (to_keras(ae.Adam(lr=0.01, eps=1e-7, eps_hat=True)), K.Adam(0.01)):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((1,), dtype="int32"), keras.layers.Embedding(20, 4),
                                  keras.layers.Flatten(), keras.layers.Dense(1)])
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        finals.append(model.get_weights())
    assert mismatch(*finals) <= 1


@pytest.mark.parametrize("opt", [ae.RAdam(lr=0.01), ae.Nadam(lr=0.01)], ids=lambda opt: type(opt).__name__)
def test_xla_compiled_fit(opt):
    """XLA (Keras's default on GPUs) compiles the rule too: ops.cond (RAdam) and the shared scalars (Nadam)."""
    x, y = regression_data()
    finals = []
    for jit_compile in (True, False):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
        model.compile(optimizer=to_keras(opt), loss="mse", jit_compile=jit_compile)
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)  # 8 steps: RAdam rectifies from t = 6
        finals.append(model.get_weights())
    assert mismatch(*finals) <= 1


# -- every optimizer: the bridge in a compiled graph against the numpy step -----------------------

EVERY = [
    ae.GradientDescent(lr=0.05),
    ae.Momentum(lr=0.05, beta=0.8, nesterov=True),
    ae.AdaGrad(lr=0.05, initial_accumulator=0.1, eps_in_sqrt=True),
    ae.RMSprop(lr=0.01, beta=0.8),
    ae.Adam(lr=0.01),
    ae.AdamW(lr=0.01, weight_decay=0.1),
    ae.AMSGrad(lr=0.01, eps_hat=True),
    ae.AdaMax(lr=0.01),
    ae.Nadam(lr=0.01),
    ae.RAdam(lr=0.01),  # β2 = 0.999: momentum for t ≤ 5, rectified from t = 6 (both branches of ops.cond)
    ae.Lion(lr=0.01, weight_decay=0.5),
    ae.Rprop(lr=0.01),
    ae.Adadelta(lr=0.5),
    ae.Yogi(lr=0.01),
    ae.AdaBelief(lr=0.01),
    ae.Lamb(lr=0.01, weight_decay=0.01),  # not elementwise: the whole variable's norms, in the graph
    ae.ScheduleFreeAdamW(lr=0.01, warmup_steps=3, weight_decay=0.1),  # ops.cond on t: z set on step 1, warm-up
    ae.Adafactor(lr=0.05),  # not elementwise, and its factored slots are smaller than the variables
]
# every optimizer the package exports, except the matrix rules of chapter 9: Muon through to_keras is tested in
# test_matrix_optimizers.py (matrices only); Shampoo and FullMatrixAdaGrad keep state not shaped like the parameter,
# which the bridge's slot variables are not, and run in numpy only
MATRIX_RULES = {"Muon", "Shampoo", "FullMatrixAdaGrad"}
assert sorted(type(opt).__name__ for opt in EVERY) == sorted(
    name for name in ae.__all__ if isinstance(getattr(ae, name), type) and issubclass(getattr(ae, name), ae.Optimizer)
    and name not in {"Optimizer", *MATRIX_RULES})

# How far the bridge (float32 throughout) may be from the numpy step, whose factors of t
# (1 − β2ᵗ, ρₜ, μₜ) are Python floats. Absolute, on parameters of size ~1 after steps of ~lr.
# RAdam's ρₜ = ρ∞ − 2tβ2ᵗ/(1 − β2ᵗ) subtracts two numbers near 2000 to get one near 6: float32
# keeps ~3 of its digits (ρ₆ = 6.0005 against 5.9942), so rₜ, and the step, are off by up to ~1%.
STEP_ATOL = {ae.RAdam: 1e-5}
# Schedule-free's z is a point, like the parameters (it sums the steps, and the float32 factor 1 − β2ᵗ of the
# bridge differs from the numpy step's Python float in its last bit): compared as the parameters are.
SLOT_ATOL = {(ae.ScheduleFreeAdamW, "z"): 1e-6}


def gradients(shapes, steps, seed=1):
    """Seeded float32 gradients: coordinates of scale 1e-3 to 1 and a loud first third (so AMSGrad's max matters)."""
    rng = np.random.default_rng(seed)
    scales = [10.0 ** rng.integers(-3, 1, size=s) for s in shapes]
    return [[((10.0 if t < steps // 3 else 1.0) * c * rng.standard_normal(c.shape)).astype("float32")
             for c in scales] for t in range(steps)]


def rule_in_float32(opt, params, slots, scalars, grads, t):
    """One step of the numpy rule with t, lr and the scalars as float32 numbers, as the bridge computes them."""
    t = np.float32(t)
    scalars = opt.next_scalars(t, **scalars)
    new_params, new_slots = [], [[] for _ in opt.slots]
    for i, (w, g) in enumerate(zip(params, grads, strict=True)):
        out = opt.update(w, g, *(s[i] for s in slots), t=t, lr=np.float32(opt.learning_rate(int(t))), **scalars)
        out = out if opt.slots else (out,)
        new_params.append(out[0])
        for acc, x in zip(new_slots, out[1:], strict=True):
            acc.append(x)
    return new_params, new_slots, scalars


def run_both(opt, steps=12, learning_rate=None):
    """Step the numpy optimizer and its Keras bridge (graph mode) on the same gradients; compare every step.

    The bridge must follow the numpy ``step`` to float32 accuracy, and the same rule evaluated
    with float32 scalars almost to the last bit (which shows the two differ only there).
    """
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(3,)).astype("float32")]
    state = opt.init(params)
    mirror = (params, [state[name] for name in opt.slots], {k: np.float32(v) for k, v in opt.scalars.items()})
    variables = [keras.Variable(w) for w in params]
    bridge = to_keras(opt) if learning_rate is None else to_keras(opt, learning_rate=learning_rate)
    bridge.build(variables)
    apply = tf.function(lambda grads: bridge.apply_gradients(zip(grads, variables, strict=True)))
    step_atol = STEP_ATOL.get(type(opt), 1e-6)

    for t, grads in enumerate(gradients([w.shape for w in params], steps), start=1):
        params, state = opt.step(params, grads, state)
        mirror = rule_in_float32(opt, *mirror, grads, t)
        apply([tf.constant(g) for g in grads])
        where = f"{opt!r}, step {t}"
        ours = [v.numpy() for v in variables]
        assert all(w.dtype == np.float32 for w in ours + params + mirror[0])
        assert mismatch(ours, params, atol=step_atol) <= 1, f"parameters against step, {where}"
        assert mismatch(ours, mirror[0], rtol=1e-6, atol=1e-8) <= 1, f"parameters against float32 rule, {where}"
        for name in opt.slots:
            slot_atol = SLOT_ATOL.get((type(opt), name), 1e-12)
            assert mismatch([s.numpy() for s in bridge.slot_variables[name]], state[name], atol=slot_atol) <= 1, \
                f"slot {name}, {where}"
        for name in opt.scalars:
            assert mismatch([bridge.scalar_variables[name].numpy()], [state[name]]) <= 1, f"{name}, {where}"
    assert int(bridge.iterations.numpy()) == state.t == steps


@pytest.mark.parametrize("opt", EVERY, ids=lambda opt: type(opt).__name__)
def test_every_optimizer_follows_the_numpy_step(opt):
    run_both(opt)


def test_radam_run_covers_both_branches():
    """The RAdam case above crosses ρₜ = 5 within its 12 steps (the branch Keras takes with ops.cond)."""
    radam = next(opt for opt in EVERY if isinstance(opt, ae.RAdam))
    rho = [radam.rho(t)[0] for t in range(1, 13)]
    assert rho[0] <= 5 < rho[-1]


def test_keras_schedule_drives_the_rule():
    """A Keras schedule (steps from 0) equals the adamedu schedule lr(t) (t from 1) it is written to match."""
    opt = ae.Adam(lr=lambda t: 0.01 * 0.5 ** ((t - 1) / 4))
    schedule = K.schedules.ExponentialDecay(0.01, decay_steps=4, decay_rate=0.5)
    run_both(opt, learning_rate=schedule)


def test_shared_scalars_advance_once_per_step():
    """Nadam's mu_product: with two variables, advancing it per variable would square it every step."""
    opt = ae.Nadam()
    variables = [keras.Variable(np.ones(3, "float32")), keras.Variable(np.ones(2, "float32"))]
    bridge = to_keras(opt)
    bridge.build(variables)
    apply = tf.function(lambda grads: bridge.apply_gradients(zip(grads, variables, strict=True)))
    for _ in range(3):
        apply([tf.ones(3), tf.ones(2)])
    expected = opt.mu(1) * opt.mu(2) * opt.mu(3)  # Dozat's product of the first three coefficients
    np.testing.assert_allclose(bridge.scalar_variables["mu_product"].numpy(), expected, rtol=RTOL)


def test_config_round_trip():
    bridge = to_keras(ae.Nadam(lr=0.003, beta2=0.99), clipnorm=1.0)
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(bridge))
    assert isinstance(clone, KerasOptimizer)
    assert clone.rule == bridge.rule and clone.clipnorm == 1.0
    assert float(clone.learning_rate.numpy()) == pytest.approx(0.003)


# -- bad input; life without Keras ------------------------------------------------------------------

@pytest.mark.parametrize("args, kwargs, error, match", [
    (("adam",), {}, TypeError, r"adamedu optimizer such as ae\.Adam\(\), got 'adam' \(str\)"),
    ((None,), {}, TypeError, r"adamedu optimizer .* got None"),
    ((keras.optimizers.Adam(),), {}, TypeError, "already a Keras optimizer"),
    ((ae.Adam,), {}, TypeError, r"instance, got the class Adam: write to_keras\(ae\.Adam\(\.\.\.\)\)"),
    ((ae.Optimizer(),), {}, TypeError, "Optimizer has no update rule"),
    ((ae.Adam(),), {"momentum": 0.9}, TypeError, "unknown keyword.*'momentum'.*learning_rate.*clipnorm"),
    ((ae.Adam(),), {"weight_decay": 0.1}, ValueError, r"weight_decay=0\.1 .*AdamW"),
    ((ae.Adam(lr=lambda t: 0.1),), {}, ValueError, r"lr=.*function of t.*learning_rate=keras"),
    ((ae.Adam(),), {"learning_rate": -1.0}, ValueError, r"learning_rate must be .*>= 0.*got -1\.0"),
    ((ae.Adam(),), {"learning_rate": float("nan")}, ValueError, "learning_rate must be .* got nan"),
    ((ae.Adam(),), {"learning_rate": "fast"}, TypeError, "learning_rate must be .* got 'fast'"),
    ((ae.Adam(),), {"learning_rate": True}, TypeError, "learning_rate must be .* got True"),
    ((ae.Adam(),), {"learning_rate": lambda: 0.1}, TypeError, "learning_rate must be .* got the function"),
])
def test_bad_input_is_refused(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        to_keras(*args, **kwargs)


def test_adamedu_imports_without_keras():
    """With keras and tensorflow unimportable, the package (every module but the bridges) still works.

    adamedu.torch is left out too: on a machine without PyTorch it raises ImportError by design
    (tests/test_torch_bridge.py tests that message).
    """
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        sys.modules["keras"] = None  # makes `import keras` raise ImportError
        sys.modules["tensorflow"] = None
        import numpy as np
        import adamedu as ae
        for info in pkgutil.walk_packages(ae.__path__, "adamedu."):
            if info.name not in ("adamedu.keras", "adamedu.engines.keras", "adamedu.torch", "adamedu.engines.torch"):
                importlib.import_module(info.name)
        w, state = np.zeros(3), ae.Adam().init(np.zeros(3))
        w, state = ae.Adam().step(w, np.ones(3), state)
        assert state.t == 1 and np.all(w < 0)
        try:
            import adamedu.keras
        except ImportError as err:
            print(err)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install keras tensorflow" in done.stdout
