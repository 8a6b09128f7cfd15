"""Adafactor against torch.optim.Adafactor and keras.optimizers.Adafactor (float64, every step, state too),
against hand-derived steps, and its memory and bad input.

The two references differ from each other in where ε₁ goes and in weight decay; each is our class with the
settings its docstring states (torch/optim/_adafactor.py ``_single_tensor_adafactor`` and
keras/src/optimizers/adafactor.py ``update_step``, torch 2.13.0, Keras 3.15.1).
"""

import math

import numpy as np
import pytest
from test_reference import STEPS, assert_same, compiled_apply_gradients, gradient_sequence, initial_params

import adamedu as ae
from adamedu.optimizers.factored import factored_v

F64_EPS = float(np.finfo(np.float64).eps)  # torch's eps1=None in float64


def torch_cases():
    return [
        pytest.param(ae.Adafactor(eps1=F64_EPS, eps1_clamp=True), {}, id="defaults"),
        pytest.param(ae.Adafactor(lr=0.05, beta2_decay=-0.6, eps1=1e-10, eps2=1e-2, clip_threshold=2.0,
                                  eps1_clamp=True, weight_decay=0.1, decoupled_weight_decay=True),
                     {"lr": 0.05, "beta2_decay": -0.6, "eps": (1e-10, 1e-2), "d": 2.0, "weight_decay": 0.1},
                     id="all-options"),
        pytest.param(ae.Adafactor(lr=0.02, eps1=F64_EPS, eps1_clamp=True, maximize=True),
                     {"lr": 0.02, "maximize": True}, id="maximize"),
    ]


@pytest.mark.parametrize("ours, theirs_kwargs", torch_cases())
def test_matches_torch(torch_float64, ours, theirs_kwargs):
    torch = torch_float64
    params = initial_params()
    tensors = {k: torch.tensor(w, requires_grad=True) for k, w in params.items()}
    theirs = torch.optim.Adafactor(list(tensors.values()), **theirs_kwargs)
    state = ours.init(params)
    for t, grads in enumerate(gradient_sequence(params), start=1):
        params, state = ours.step(params, grads, state)
        for k, p in tensors.items():
            p.grad = torch.tensor(grads[k])
        theirs.step()
        for k, p in tensors.items():
            assert_same(params[k], p.detach().numpy(), f"params[{k!r}]", t)
            their = theirs.state[p]
            assert int(their["step"]) == t == state.t
            if p.dim() >= 2:  # torch keeps the factors with a kept axis of length 1
                assert_same(state.r[k], their["row_var"].numpy()[..., 0], f"state.r[{k!r}]", t)
                assert_same(state.c[k], their["col_var"].numpy()[..., 0, :], f"state.c[{k!r}]", t)
                assert state.v[k].size == 0
            else:
                assert_same(state.v[k], their["variance"].numpy(), f"state.v[{k!r}]", t)
                assert state.r[k].size == state.c[k].size == 0


@pytest.mark.parametrize("ours, make_theirs", [
    pytest.param(ae.Adafactor(lr=0.001), lambda keras: keras.optimizers.Adafactor(), id="defaults"),
    pytest.param(ae.Adafactor(lr=0.05, beta2_decay=-0.5, eps1=1e-20, eps2=1e-2, clip_threshold=1.5),
                 lambda keras: keras.optimizers.Adafactor(learning_rate=0.05, beta_2_decay=-0.5, epsilon_1=1e-20,
                                                          epsilon_2=1e-2, clip_threshold=1.5), id="options"),
    pytest.param(ae.Adafactor(lr=0.05), lambda keras: keras.optimizers.Adafactor(learning_rate=0.05,
                                                                                 relative_step=False),
                 id="relative_step-False-changes-nothing-in-keras"),
])
def test_matches_keras(keras_float64, ours, make_theirs):
    keras = keras_float64
    theirs = make_theirs(keras)
    params = initial_params()
    variables = {k: keras.Variable(w, dtype="float64", name=k) for k, w in params.items()}
    apply_gradients = compiled_apply_gradients(keras, theirs, list(variables.values()))
    state = ours.init(params)
    for t, grads in enumerate(gradient_sequence(params, 60), start=1):
        params, state = ours.step(params, grads, state)
        apply_gradients([keras.ops.convert_to_tensor(grads[k]) for k in variables])
        for i, (k, var) in enumerate(variables.items()):
            assert_same(params[k], keras.ops.convert_to_numpy(var), f"params[{k!r}]", t)
            their_v = keras.ops.convert_to_numpy(theirs._v[i])
            if var.ndim >= 2:  # Keras keeps r and c, and V̂ in full too (so its state is not smaller than Adam's v)
                assert_same(state.r[k], keras.ops.convert_to_numpy(theirs._r[i]), f"state.r[{k!r}]", t)
                assert_same(state.c[k], keras.ops.convert_to_numpy(theirs._c[i]), f"state.c[{k!r}]", t)
                assert_same(factored_v(state.r[k], state.c[k]), their_v, f"V̂[{k!r}]", t)
            else:
                assert_same(state.v[k], their_v, f"state.v[{k!r}]", t)


def test_keras_default_caps_rho_at_its_learning_rate_not_the_papers_1e_2(keras_float64):
    """Chapter 11: Keras's default learning_rate (0.001) caps ρ_t = min(lr, 1/√t) a tenth below the paper's 10⁻²
    (ae.Adafactor's default), so the two defaults differ, and agree once the rate is written out."""
    keras = keras_float64
    theirs = keras.optimizers.Adafactor()
    assert float(keras.ops.convert_to_numpy(theirs.learning_rate)) == pytest.approx(1e-3)
    assert ae.Adafactor().lr == 1e-2
    params = {"W": np.arange(1.0, 7.0).reshape(2, 3) / 10}
    grads = {"W": np.full((2, 3), 0.5)}
    paper = ae.Adafactor().step(params, grads, ae.Adafactor().init(params))[0]["W"]
    keras_default = ae.Adafactor(lr=1e-3).step(params, grads, ae.Adafactor(lr=1e-3).init(params))[0]["W"]
    # a constant gradient gives u = sign(g) (RMS 1, unclipped): the step is max(eps2, RMS(W))·rho_1
    rms_w = float(np.sqrt(np.mean(params["W"] ** 2)))
    assert np.allclose(params["W"] - paper, rms_w * 1e-2) and np.allclose(params["W"] - keras_default, rms_w * 1e-3)


def test_keras_and_torch_settings_differ():
    """Negative control: the paper's ε₁ placement is not torch's (so the option is not a no-op)."""
    params = initial_params()
    a, b = ae.Adafactor(eps1=1e-3), ae.Adafactor(eps1=1e-3, eps1_clamp=True)
    sa, sb = a.init(params), b.init(params)
    pa, pb = params, params
    for grads in gradient_sequence(params, 5):
        pa, sa = a.step(pa, grads, sa)
        pb, sb = b.step(pb, grads, sb)
    assert not np.allclose(pa["W"], pb["W"], rtol=1e-6, atol=0)


# -- hand-derived -------------------------------------------------------------------------------------

def test_first_step_by_hand():
    """At t = 1, β̂₂ = 0: r, c are the row and column means of g²; V̂ = r cᵀ / mean(r); u = g/√V̂, clipped to
    RMS 1; α = max(ε₂, RMS(w))·min(lr, 1)."""
    w = np.array([[1.0, -2.0], [3.0, 0.5]])
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    opt = ae.Adafactor(lr=0.01, eps1=0.0)
    w1, s = opt.step(w, g, opt.init(w))
    g2 = g**2
    r = np.array([(1 + 4) / 2, (9 + 16) / 2])
    c = np.array([(1 + 9) / 2, (4 + 16) / 2])
    np.testing.assert_allclose(s.r, r)
    np.testing.assert_allclose(s.c, c)
    v_hat = np.outer(r, c) / r.mean()
    u = g / np.sqrt(v_hat)
    rms_u = math.sqrt((u**2).mean())
    u = u / max(1.0, rms_u)
    alpha = max(1e-3, math.sqrt((w**2).mean())) * 0.01
    np.testing.assert_allclose(w1, w - alpha * u, rtol=1e-14)
    assert v_hat.sum() == pytest.approx(g2.sum())  # the factored estimate keeps the total


def test_rank_one_second_moment_is_exact():
    """When g² is an outer product (rank 1), the factored V̂ equals g² itself (Shazeer & Stern, section 3)."""
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.5, 4.0])
    g2 = np.outer(a, b)
    r, c = g2.mean(axis=1), g2.mean(axis=0)
    np.testing.assert_allclose(factored_v(r, c), g2, rtol=1e-14)
    # negative control: a matrix of rank 2 is not recovered
    g2[0, 0] += 1.0
    assert not np.allclose(factored_v(g2.mean(axis=1), g2.mean(axis=0)), g2)


def test_relative_step_false_uses_lr():
    w, g = np.array([0.0, 10.0]), np.array([1.0, 1.0])
    opt = ae.Adafactor(lr=0.1, relative_step=False, eps1=0.0)
    w1, _ = opt.step(w, g, opt.init(w))
    np.testing.assert_allclose(w1, w - 0.1 * np.array([1.0, 1.0]))  # u = g/|g| = 1, RMS 1: not clipped


def test_update_clipping():
    """A gradient that jumps after quiet steps gives u of RMS > d; the step is clipped to RMS d."""
    opt = ae.Adafactor(lr=1.0, relative_step=False, eps1=0.0, beta2_decay=-0.1)
    w = np.zeros(4)
    s = opt.init(w)
    for _ in range(5):
        w, s = opt.step(w, np.full(4, 1e-3), s)
    before = w.copy()
    w, s = opt.step(w, np.full(4, 1.0), s)
    step = before - w
    assert math.sqrt((step**2).mean()) == pytest.approx(1.0)


# -- memory, engines, bad input -----------------------------------------------------------------------

def test_state_is_sublinear():
    params = {"W": np.zeros((300, 200)), "b": np.zeros(200)}
    adam, fac = ae.Adam().init(params), ae.Adafactor().init(params)
    assert ae.state_nbytes(adam) == 2 * 8 * (300 * 200 + 200)
    assert ae.state_nbytes(fac) == 8 * (300 + 200 + 200)


def test_inplace_equals_pure():
    params = initial_params()
    opt = ae.Adafactor(weight_decay=0.01, decoupled_weight_decay=True)
    p1, s1 = params, opt.init(params)
    p2 = {k: w.copy() for k, w in params.items()}
    s2 = opt.init(p2)
    for grads in gradient_sequence(params, 10):
        p1, s1 = opt.step(p1, grads, s1)
        p2, s2 = opt.step(p2, grads, s2, inplace=True)
    for k in params:
        np.testing.assert_array_equal(p1[k], p2[k])
        np.testing.assert_array_equal(s1.r[k], s2.r[k])


def test_torch_bridge_matches_numpy(torch_float64):
    from adamedu.torch import to_torch

    torch = torch_float64
    params = initial_params()
    opt = ae.Adafactor(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True)
    tensors = [torch.tensor(w, requires_grad=True) for w in params.values()]
    bridge = to_torch(opt, tensors)
    state = opt.init(params)
    for t, grads in enumerate(gradient_sequence(params, 20), start=1):
        params, state = opt.step(params, grads, state)
        for p, g in zip(tensors, grads.values(), strict=True):
            p.grad = torch.tensor(g)
        bridge.step()
        for (k, w), p in zip(params.items(), tensors, strict=True):
            assert_same(w, p.detach().numpy(), k, t, rtol=1e-12)
            assert_same(state.r[k], bridge.state[p]["r"].numpy(), k, t, rtol=1e-12)
    sd = bridge.state_dict()
    again = to_torch(opt, tensors)
    again.load_state_dict(sd)  # factored slots: their shapes are the rule's, not the parameter's


def test_keras_bridge_matches_numpy(keras_float64):
    from adamedu.keras import to_keras

    keras = keras_float64
    params = initial_params()
    opt = ae.Adafactor(lr=0.02)
    variables = [keras.Variable(w, dtype="float64") for w in params.values()]
    bridge = to_keras(opt)
    apply_gradients = compiled_apply_gradients(keras, bridge, variables)
    state = opt.init(params)
    for t, grads in enumerate(gradient_sequence(params, 20), start=1):
        params, state = opt.step(params, grads, state)
        apply_gradients([keras.ops.convert_to_tensor(g) for g in grads.values()])
        for i, ((k, w), var) in enumerate(zip(params.items(), variables, strict=True)):
            assert_same(w, keras.ops.convert_to_numpy(var), k, t, rtol=1e-12)
            assert_same(state.c[k], keras.ops.convert_to_numpy(bridge.slot_variables["c"][i]), k, t, rtol=1e-12)


@pytest.mark.parametrize("kwargs, words", [
    ({"beta2_decay": 0.5}, ["beta2_decay", "0.5", "<= 0"]),
    ({"clip_threshold": 0.5}, ["clip_threshold", "0.5", ">= 1"]),
    ({"eps1": -1.0}, ["eps1", "-1.0", ">= 0"]),
    ({"beta1": 0.9}, ["beta1", "no first moment"]),
    ({"d": 1.0}, ["'d'", "clip_threshold"]),
    ({"eps": (None, 1e-3)}, ["'eps'", "eps1"]),
])
def test_bad_hyperparameters_named(kwargs, words):
    with pytest.raises((TypeError, ValueError)) as err:
        ae.Adafactor(**kwargs)
    for word in words:
        assert word in str(err.value)


def test_bad_state_shape_named_and_nothing_changes():
    w = {"W": np.ones((3, 2))}
    opt = ae.Adafactor()
    state = opt.init(w)
    state["r"] = {"W": np.zeros((2,))}  # the column count, not the row count
    with pytest.raises(ValueError, match=r"state\.r\['W'\] has shape \(2,\).*must have shape \(3,\)"):
        opt.step(w, {"W": np.ones((3, 2))}, state)
    np.testing.assert_array_equal(w["W"], 1.0)


def test_nan_gradient_refused():
    w = {"W": np.ones((3, 2))}
    opt = ae.Adafactor()
    with pytest.raises(ValueError, match=r"grads\['W'\]"):
        opt.step(w, {"W": np.full((3, 2), np.nan)}, opt.init(w))
    assert STEPS  # the shared run length is imported, not redefined


def test_compiled_engine_refuses_it_by_name():
    pytest.importorskip("numba")
    with pytest.raises(ValueError, match="Adafactor.*not elementwise"):
        ae.compiled(ae.Adafactor())


def test_slots_of_a_stack_of_matrices_factor_the_last_two_axes():
    opt = ae.Adafactor()
    state = opt.init({"k": np.zeros((5, 3, 4))})
    assert state.r["k"].shape == (5, 3) and state.c["k"].shape == (5, 4) and state.v["k"].shape == (0,)


def test_overflow_of_a_factored_slot_is_named_and_nothing_changes():
    w = {"W": np.ones((3, 2))}
    opt = ae.Adafactor()
    state = opt.init(w)
    with pytest.raises(ae.NonFiniteError, match=r"state\.r\['W'\]"):
        opt.step(w, {"W": np.full((3, 2), 1e200)}, state)
    assert not state.r["W"].any() and np.all(w["W"] == 1)
