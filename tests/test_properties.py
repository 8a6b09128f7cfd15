"""Properties that hold for any numbers, checked with hypothesis on random inputs.

Hypothesis is derandomized (the examples depend only on the test), so a run is reproducible.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from optimizer_support import ALL_OPTIMIZERS, STATE_KEYS, assert_identical, leaves, optimizer_id, snapshot

import adamedu as ae

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None)

values = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
# nonzero gradients: magnitudes in [1e-3, 10] with either sign
nonzero = st.builds(lambda x, s: x * s, st.floats(1e-3, 10), st.sampled_from([-1.0, 1.0]))
learning_rates = st.floats(1e-3, 1.0)
betas = st.floats(0.0, 0.999)


def vectors(n, elements=values):
    return hnp.arrays(np.float64, n, elements=elements)


@st.composite
def runs(draw, steps=3, elements=values, min_size=1):
    """A parameter vector and a few gradient vectors of the same length."""
    n = draw(st.integers(min_size, 6))
    w = draw(vectors(n))
    grads = [draw(vectors(n, elements)) for _ in range(steps)]
    return w, grads


def default(cls, **kw):
    return cls(lr=0.01, **kw)


# -- purity and structure --------------------------------------------------------------------------

@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
@SETTINGS
@given(data=runs(steps=2, min_size=3))
def test_no_input_is_mutated(cls, data):
    w, (g1, g2) = data
    opt = default(cls)
    params = {"a": w[:2].copy(), "b": [w[2:].copy()]}
    grads1 = {"a": g1[:2].copy(), "b": [g1[2:].copy()]}
    grads2 = {"a": g2[:2].copy(), "b": [g2[2:].copy()]}
    state = opt.init(params)
    saved = snapshot((params, grads1, state))
    params1, state1 = opt.step(params, grads1, state)
    assert_identical((params, grads1, state), saved, "inputs of step 1")
    saved = snapshot((params1, grads2, state1))  # a state that is no longer zero
    opt.step(params1, grads2, state1)
    assert_identical((params1, grads2, state1), saved, "inputs of step 2")


def split(x, k):
    return x[:k].copy(), x[k:].copy()


@pytest.mark.parametrize("cls", [c for c in ALL_OPTIMIZERS if c.elementwise], ids=optimizer_id)
@SETTINGS
@given(data=runs(steps=3, min_size=2), k=st.integers(1, 5))
def test_array_dict_list_give_the_same_numbers(cls, data, k):
    # An elementwise optimizer works coordinate by coordinate, so splitting one array into several
    # changes nothing in the numbers. (LAMB's trust ratio is per array: the split is its point.)
    w, grads = data
    k = min(k, len(w) - 1)
    forms = {
        "array": (lambda x: x.copy(), lambda tree: tree),
        "dict": (lambda x: {"a": split(x, k)[0], "b": split(x, k)[1]},
                 lambda tree: np.concatenate([tree["a"], tree["b"]])),
        "list": (lambda x: list(split(x, k)), np.concatenate),
        "tuple": (lambda x: tuple(split(x, k)), np.concatenate),
        "nested": (lambda x: {"l": {"w": split(x, k)[0]}, "r": [split(x, k)[1]]},
                   lambda tree: np.concatenate([tree["l"]["w"], tree["r"][0]])),
    }
    results = {}
    for name, (pack, unpack) in forms.items():
        opt = default(cls)
        params = pack(w)
        state = opt.init(params)
        path = []
        for g in grads:
            params, state = opt.step(params, pack(g), state)
            path.append(unpack(params))
            for key in STATE_KEYS[cls][1:]:
                if key != "mu_product":
                    path.append(unpack(state[key]))
        results[name] = path
    for name, path in results.items():
        for got, expected in zip(path, results["array"], strict=True):
            np.testing.assert_array_equal(got, expected, err_msg=name)


# -- Adam ------------------------------------------------------------------------------------------

@SETTINGS
@given(data=runs(steps=1, elements=nonzero), lr=learning_rates, beta1=betas, beta2=betas)
def test_adam_first_step_moves_every_coordinate_by_lr(data, lr, beta1, beta2):
    # m̂1 = g and v̂1 = g², so with ε = 0 the first step is lr·g/|g|
    w, (g,) = data
    opt = ae.Adam(lr=lr, beta1=beta1, beta2=beta2, eps=0.0)
    w1, _ = opt.step(w, g, opt.init(w))
    np.testing.assert_allclose(w - w1, lr * np.sign(g), rtol=1e-9)


@SETTINGS
@given(data=runs(steps=5, elements=nonzero), c=st.floats(1e-3, 1e3), lr=learning_rates, beta1=betas,
       beta2=betas, eps_hat=st.booleans())
def test_adam_is_invariant_to_the_scale_of_the_gradients(data, c, lr, beta1, beta2, eps_hat):
    # m scales with c, √v with c: m̂/√v̂ does not change (ε = 0)
    w, grads = data
    opt = ae.Adam(lr=lr, beta1=beta1, beta2=beta2, eps=0.0, eps_hat=eps_hat)
    w_1, s_1, w_c, s_c = w, opt.init(w), w, opt.init(w)
    for g in grads:
        w_1, s_1 = opt.step(w_1, g, s_1)
        w_c, s_c = opt.step(w_c, c * g, s_c)
        np.testing.assert_allclose(w_c, w_1, rtol=1e-6, atol=1e-9)


@SETTINGS
@given(data=runs(steps=4, elements=nonzero), lr=learning_rates)
def test_adam_with_zero_betas_and_eps_is_sign_descent(data, lr):
    # β1 = β2 = 0: m = g, v = g², no bias to correct; with ε = 0 the step is lr·sign(g)
    w, grads = data
    opt = ae.Adam(lr=lr, beta1=0.0, beta2=0.0, eps=0.0)
    state = opt.init(w)
    for g in grads:
        expected = w - lr * np.sign(g)
        w, state = opt.step(w, g, state)
        np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(data=runs(steps=1, elements=nonzero), lr=learning_rates, beta1=betas, beta2=betas)
def test_adam_without_bias_correction_first_step(data, lr, beta1, beta2):
    # m1 = (1−β1)g, v1 = (1−β2)g²: the step is lr·(1−β1)/√(1−β2)·sign(g) (ε = 0)
    w, (g,) = data
    opt = ae.Adam(lr=lr, beta1=beta1, beta2=beta2, eps=0.0, bias_correction=False)
    w1, _ = opt.step(w, g, opt.init(w))
    np.testing.assert_allclose(w - w1, lr * (1 - beta1) / np.sqrt(1 - beta2) * np.sign(g), rtol=1e-9)


@SETTINGS
@given(data=runs(steps=4), lr=learning_rates, beta1=betas, beta2=betas, eps=st.floats(1e-10, 1.0),
       eps_hat=st.booleans())
def test_adamw_with_zero_weight_decay_is_adam(data, lr, beta1, beta2, eps, eps_hat):
    w, grads = data
    hyper = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "eps_hat": eps_hat}
    adam, adamw = ae.Adam(**hyper), ae.AdamW(weight_decay=0.0, **hyper)
    w_a, s_a, w_w, s_w = w, adam.init(w), w, adamw.init(w)
    for g in grads:
        w_a, s_a = adam.step(w_a, g, s_a)
        w_w, s_w = adamw.step(w_w, g, s_w)
        np.testing.assert_array_equal(w_w, w_a)
        np.testing.assert_array_equal(s_w.m, s_a.m)
        np.testing.assert_array_equal(s_w.v, s_a.v)


# -- Lion, AMSGrad, AdaGrad -----------------------------------------------------------------------

@SETTINGS
@given(data=runs(steps=4, elements=nonzero), lr=learning_rates, beta1=betas, beta2=betas)
def test_lion_moves_every_coordinate_by_lr(data, lr, beta1, beta2):
    # |w_t − w_{t−1}| = lr wherever the interpolation c = β1·m + (1−β1)·g is not 0 (λ = 0)
    w, grads = data
    opt = ae.Lion(lr=lr, beta1=beta1, beta2=beta2)
    state = opt.init(w)
    for g in grads:
        c = beta1 * state.m + (1 - beta1) * g
        w_new, state = opt.step(w, g, state)
        moved = c != 0
        np.testing.assert_allclose(np.abs(w_new - w)[moved], lr, rtol=1e-9)
        np.testing.assert_array_equal(w_new[~moved], w[~moved])
        w = w_new


@SETTINGS
@given(data=runs(steps=6), beta1=betas, beta2=betas)
def test_amsgrad_v_max_never_decreases(data, beta1, beta2):
    w, grads = data
    opt = ae.AMSGrad(lr=0.01, beta1=beta1, beta2=beta2)
    state = opt.init(w)
    previous = state.v_max
    for g in grads:
        w, state = opt.step(w, g, state)
        assert np.all(state.v_max >= previous)
        assert np.all(state.v_max >= state.v)
        previous = state.v_max


@SETTINGS
@given(data=runs(steps=6), initial=st.floats(0.0, 1.0))
def test_adagrad_accumulator_never_decreases(data, initial):
    w, grads = data
    opt = ae.AdaGrad(lr=0.01, initial_accumulator=initial)
    state = opt.init(w)
    previous = state.G
    for g in grads:
        w, state = opt.step(w, g, state)
        assert np.all(state.G >= previous)
        previous = state.G


@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
@SETTINGS
@given(data=runs(steps=3, elements=nonzero))
def test_float32_runs_close_to_float64(cls, data):
    # float32 is kept, and the float32 numbers are the float64 ones rounded (no dtype mixing gone wrong).
    # Gradients stay >= 1e-3 in size: float32 flushes 1e-300 to 0, which Lion's sign() would notice.
    w, grads = data
    if cls is ae.Lamb:
        # LAMB's trust ratio needs ‖w‖ = sqrt(Σw²); in float32, w² underflows to 0 for |w| below about 1e-23, and
        # the ratio is then taken as 1 (as for w = 0, and as Keras's Lamb does in float32): a precision limit of
        # the type, not a mixing of dtypes. Such weights are left out here; a normal ‖w‖² is compared.
        assume(float(np.sum(np.square(w.astype(np.float32)))) >= np.finfo(np.float32).tiny)
    opt = default(cls)
    w64, s64, w32, s32 = w, opt.init(w), w.astype(np.float32), opt.init(w.astype(np.float32))
    for g in grads:
        w64, s64 = opt.step(w64, g, s64)
        w32, s32 = opt.step(w32, g.astype(np.float32), s32)
        assert w32.dtype == np.float32
        assert all(x.dtype == np.float32 for key in STATE_KEYS[cls][1:] if key != "mu_product"
                   for x in leaves(s32[key]))
    if cls is not ae.Lion:  # sign(c) turns float32 rounding near c = 0 into a full step of lr
        np.testing.assert_allclose(w32, w64, rtol=1e-4, atol=1e-4)
