"""Muon, Shampoo and full-matrix AdaGrad (chapter 9) against references.

- Muon against ``torch.optim.Muon`` (torch 2.13, torch/optim/_muon.py) and ``keras.optimizers.Muon`` (Keras 3.15.1,
  keras/src/optimizers/muon.py) in float64, every step, parameters and momentum. torch runs Newton–Schulz in
  bfloat16 (``grad.bfloat16()``): here that cast is removed by monkeypatching ``torch.Tensor.bfloat16`` for the
  test only, and a second test compares with the unpatched torch to bfloat16's precision.
- Newton–Schulz against its action on singular values, computed from a matrix built from known U, S, V.
- Shampoo against a direct implementation of Gupta et al. (2018) Algorithm 1 with scipy's fractional matrix
  powers, and against two hand-derived reductions (diagonal gradients: AdaGrad; order 1: full-matrix AdaGrad).
- Full-matrix AdaGrad against its first step derived by hand and against rotation equivariance.
- Bad input named.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import adamedu as ae  # noqa: E402
from adamedu.optimizers._base import numpy_ops  # noqa: E402

STEPS = 12
RTOL = 1e-10


def gradients(shape, steps=STEPS, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) * (1 + 0.5 * np.sin(t)) for t in range(steps)]


def run_ours(opt, w0, grads):
    w, state = w0.copy(), opt.init(w0)
    out = []
    for g in grads:
        w, state = opt.step(w, g, state)
        out.append((w, state))
    return out


# -- Muon against PyTorch -------------------------------------------------------------------------
TORCH_CASES = [  # torch.optim.Muon keywords -> ae.Muon keywords (torch's default weight decay is 0.1)
    ({}, {"weight_decay": 0.1}),
    ({"adjust_lr_fn": "original", "weight_decay": 0.0}, {}),
    ({"adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.01}, {"adjust_lr": "match_rms_adamw", "weight_decay": 0.01}),
    ({"nesterov": False, "momentum": 0.9}, {"nesterov": False, "beta": 0.9, "weight_decay": 0.1}),
    ({"ns_steps": 3, "eps": 1e-3}, {"ns_steps": 3, "eps": 1e-3, "weight_decay": 0.1}),
]


@pytest.fixture
def torch64():
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(old)


def run_torch(torch, w0, grads, **kwargs):
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = torch.optim.Muon([p], lr=0.05, **kwargs)
    out = []
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
        out.append((p.detach().numpy().copy(), opt.state[p]["momentum_buffer"].numpy().copy()))
    return out


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
@pytest.mark.parametrize("theirs, ours", TORCH_CASES)
def test_muon_equals_torch_without_bfloat16(torch64, monkeypatch, shape, theirs, ours):
    torch = torch64
    # torch's Newton–Schulz casts to bfloat16 first (grad.bfloat16()); keep the dtype instead. clone(): torch then
    # divides the result in place, which must not reach its momentum buffer (nesterov=False passes the buffer).
    monkeypatch.setattr(torch.Tensor, "bfloat16", lambda self, *a, **k: self.clone())
    w0 = np.random.default_rng(0).normal(size=shape)
    grads = gradients(shape)
    expected = run_torch(torch, w0, grads, **theirs)
    got = run_ours(ae.Muon(lr=0.05, **ours), w0, grads)
    for t, ((w, m), (ow, ostate)) in enumerate(zip(expected, got, strict=True), 1):
        np.testing.assert_allclose(ow, w, rtol=RTOL, atol=1e-13, err_msg=f"params at step {t}")
        np.testing.assert_allclose(ostate.m, m, rtol=RTOL, atol=1e-13, err_msg=f"momentum at step {t}")


def test_muon_differs_from_torch_in_a_wrong_mapping(torch64, monkeypatch):
    """Negative control: torch's default decay (0.1) left out, or Keras's summed momentum, is seen."""
    torch = torch64
    monkeypatch.setattr(torch.Tensor, "bfloat16", lambda self, *a, **k: self.clone())
    w0 = np.random.default_rng(0).normal(size=(5, 3))
    grads = gradients((5, 3), steps=3)
    w_torch = run_torch(torch, w0, grads)[-1][0]
    for wrong in (ae.Muon(lr=0.05), ae.Muon(lr=0.05, weight_decay=0.1, adjust_lr="match_rms_adamw")):
        assert np.max(np.abs(run_ours(wrong, w0, grads)[-1][0] - w_torch)) > 1e-4
    m_torch = run_torch(torch, w0, grads)[-1][1]
    m_sum = run_ours(ae.Muon(lr=0.05, weight_decay=0.1, average=False), w0, grads)[-1][1].m
    assert np.max(np.abs(m_sum - m_torch)) > 1e-2


def test_muon_equals_torch_in_bfloat16_to_its_precision(torch64):
    """Unpatched torch orthogonalizes in bfloat16 (8 bits of mantissa, relative spacing 2⁻⁸ ≈ 0.4%), and five
    iterations of a polynomial with coefficients up to 4.8 amplify that: one step agrees to a few percent
    (measured 2.5% of the largest entry here), no better."""
    torch = torch64
    w0 = np.random.default_rng(0).normal(size=(6, 4))
    (g,) = gradients((6, 4), steps=1)
    w_torch = run_torch(torch, w0, [g], weight_decay=0.0)[0][0]
    w_ours = run_ours(ae.Muon(lr=0.05), w0, [g])[0][0]
    step_torch, step_ours = w_torch - w0, w_ours - w0
    assert np.max(np.abs(step_torch - step_ours)) < 0.05 * np.max(np.abs(step_ours))
    assert not np.allclose(step_torch, step_ours, rtol=1e-6)  # it is bfloat16: not equal to float64's


# -- Muon against Keras -------------------------------------------------------------------------------
@pytest.fixture
def keras64():
    keras = pytest.importorskip("keras")
    from adamedu.quiet import quiet_tensorflow

    quiet_tensorflow()
    old = keras.config.floatx()
    # float64 throughout: Keras's lr_adjust multiplies by ops.sqrt(ops.maximum(m, n)), a tensor of floatx
    keras.config.set_floatx("float64")
    yield keras
    keras.config.set_floatx(old)


# Keras casts the weight decay through float32 (ops.cast of a Python float makes a float32 constant first), so
# the tests use decays that float32 holds exactly; 0.004, its default, differs from float64's 0.004 by 2e-10.
KERAS_CASES = [  # keras.optimizers.Muon keywords -> ae.Muon keywords beyond the fixed mapping
    ({"weight_decay": 2.0**-8}, {"weight_decay": 2.0**-8, "adjust_lr": "match_rms_adamw"}),
    ({"weight_decay": 0.0, "rms_rate": None}, {"adjust_lr": "none"}),
    ({"weight_decay": 0.0, "rms_rate": 0.5, "nesterov": False}, {"adjust_lr": "match_rms_adamw", "rms_rate": 0.5,
                                                                 "nesterov": False}),
    ({"weight_decay": 2.0**-6, "momentum": 0.9, "ns_steps": 4},
     {"weight_decay": 2.0**-6, "beta": 0.9, "ns_steps": 4, "adjust_lr": "match_rms_adamw"}),
]


@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
@pytest.mark.parametrize("theirs, ours", KERAS_CASES)
def test_muon_equals_keras(keras64, shape, theirs, ours):
    keras = keras64
    w0 = np.random.default_rng(0).normal(size=shape)
    grads = gradients(shape)
    var = keras.Variable(w0.copy(), dtype="float64")
    opt = keras.optimizers.Muon(learning_rate=0.0625, **theirs)
    mine = ae.Muon(lr=0.0625, average=False, eps_in_max=False, **ours)
    w, state = w0.copy(), mine.init(w0)
    for t, g in enumerate(grads, 1):
        opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), var)])
        w, state = mine.step(w, g, state)
        np.testing.assert_allclose(w, np.asarray(var), rtol=RTOL, atol=1e-13, err_msg=f"params at step {t}")
        np.testing.assert_allclose(state.m, np.asarray(opt.momentums[0]), rtol=RTOL, atol=1e-13,
                                   err_msg=f"momentum at step {t}")


# -- Newton–Schulz -----------------------------------------------------------------------------------------
def quintic(s, steps, coefficients=ae.optimizers.matrix.NS_COEFFICIENTS):
    a, b, c = coefficients
    for _ in range(steps):
        s = a * s + b * s**3 + c * s**5
    return s


@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (4, 4)])
def test_newton_schulz_acts_on_singular_values(shape):
    """x = U diag(s) Vᵀ -> U diag(p⁵(s/‖s‖)) Vᵀ with p(s) = a s + b s³ + c s⁵: derived from X Xᵀ = U S² Uᵀ."""
    rng = np.random.default_rng(3)
    k = min(shape)
    u, _ = np.linalg.qr(rng.normal(size=(shape[0], k)))
    v, _ = np.linalg.qr(rng.normal(size=(shape[1], k)))
    s = np.array([3.0, 1.0, 0.2, 0.05][:k])
    x = (u * s) @ v.T
    expected = (u * quintic(s / np.linalg.norm(s), 5)) @ v.T
    np.testing.assert_allclose(ae.newton_schulz(x, eps=0.0), expected, rtol=1e-12, atol=1e-14)
    # and the point of it: the singular values end near 1 (Jordan et al.: roughly within [0.7, 1.2])
    sv = np.linalg.svd(ae.newton_schulz(x), compute_uv=False)
    assert sv.min() > 0.6 and sv.max() < 1.25


def test_newton_schulz_of_zero_is_zero_and_eps_placements_differ():
    assert not np.any(ae.newton_schulz(np.zeros((3, 2))))
    x = np.array([[1e-7, 0.0], [0.0, 2e-7]])
    assert not np.allclose(ae.newton_schulz(x, eps_in_max=True), ae.newton_schulz(x, eps_in_max=False))


def test_muon_first_step_by_hand():
    """Step 1 from m = 0, Nesterov, average: u = (1 − β²)g, so W ← W − α·√max(1, m/n)·NS(g)."""
    g = np.array([[2.0, 0.0], [0.0, 0.5], [0.0, 0.0]])  # = U diag(2, 0.5) Vᵀ with U = first two axes, V = I
    w0 = np.zeros((3, 2))
    w1, _ = ae.Muon(lr=0.1).step(w0, g, ae.Muon().init(w0))
    s = quintic(np.array([2.0, 0.5]) / np.hypot(2.0, 0.5), 5)
    expected = -0.1 * np.sqrt(1.5) * np.array([[s[0], 0.0], [0.0, s[1]], [0.0, 0.0]])
    np.testing.assert_allclose(w1, expected, rtol=1e-12, atol=1e-15)


def test_muon_inplace_equals_pure():
    w0 = np.random.default_rng(0).normal(size=(5, 3))
    opt = ae.Muon(lr=0.05, weight_decay=0.1)
    w, state = w0.copy(), opt.init(w0)
    wp, sp = w0.copy(), opt.init(w0)
    for g in gradients((5, 3), steps=4):
        w, state = opt.step(w, g, state, inplace=True)
        wp, sp = opt.step(wp, g, sp)
    np.testing.assert_array_equal(w, wp)
    np.testing.assert_array_equal(state.m, sp.m)


# -- Partition: Muon for matrices, AdamW for the rest ------------------------------------------------------
def test_muon_with_adamw_equals_the_two_optimizers_apart():
    rng = np.random.default_rng(0)
    params = {"dense0": {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}, "out": {"W": rng.normal(size=(3, 2))}}
    muon, adamw = ae.Muon(lr=0.05), ae.AdamW(lr=0.01)
    opt = ae.muon_with_adamw(muon, adamw, exclude=("out",))
    state = opt.init(params)
    assert list(state.muon.m) == ["dense0/W"] and list(state.adamw.m) == ["dense0/b", "out/W"]
    w_m, s_m = params["dense0"]["W"], muon.init(params["dense0"]["W"])
    rest = {"b": params["dense0"]["b"], "W": params["out"]["W"]}
    s_a = adamw.init(rest)
    for _ in range(3):
        grads = {"dense0": {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)},
                 "out": {"W": rng.normal(size=(3, 2))}}
        params, state = opt.step(params, grads, state)
        w_m, s_m = muon.step(w_m, grads["dense0"]["W"], s_m)
        rest, s_a = adamw.step(rest, {"b": grads["dense0"]["b"], "W": grads["out"]["W"]}, s_a)
    np.testing.assert_array_equal(params["dense0"]["W"], w_m)
    np.testing.assert_array_equal(params["dense0"]["b"], rest["b"])
    np.testing.assert_array_equal(params["out"]["W"], rest["W"])
    assert state.t == 3


# -- Shampoo --------------------------------------------------------------------------------------------------
def shampoo_paper(w0, grads, lr, eps):
    """Gupta, Koren & Singer (2018), Algorithm 1, written from the paper with scipy's matrix powers."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    m, n = w0.shape
    L, R, W = eps * np.eye(m), eps * np.eye(n), w0.copy()  # noqa: N806
    out = []
    for G in grads:  # noqa: N806
        L = L + G @ G.T  # noqa: N806
        R = R + G.T @ G  # noqa: N806
        W = W - lr * np.real(scipy_linalg.fractional_matrix_power(L, -0.25)) @ G @ np.real(  # noqa: N806
            scipy_linalg.fractional_matrix_power(R, -0.25))
        out.append((W, L, R))
    return out


@pytest.mark.parametrize("shape", [(4, 3), (2, 5)])
def test_shampoo_equals_algorithm_1(shape):
    w0 = np.random.default_rng(0).normal(size=shape)
    grads = gradients(shape, steps=8)
    expected = shampoo_paper(w0, grads, lr=0.3, eps=1e-3)
    got = run_ours(ae.Shampoo(lr=0.3, eps=1e-3), w0, grads)
    for t, ((W, L, R), (w, state)) in enumerate(zip(expected, got, strict=True), 1):  # noqa: N806
        np.testing.assert_allclose(w, W, rtol=1e-8, atol=1e-10, err_msg=f"params at step {t}")
        np.testing.assert_allclose(state.L, L, rtol=1e-12, err_msg=f"L at step {t}")
        np.testing.assert_allclose(state.R, R, rtol=1e-12, err_msg=f"R at step {t}")


def test_shampoo_on_diagonal_gradients_is_adagrad():
    """Diagonal G = diag(d): L = R = diag(ε + Σd²), so L^(-1/4) G R^(-1/4) = diag(d / √(ε + Σd²)):
    AdaGrad with ε inside the root, on the diagonal; the off-diagonal entries never move."""
    rng = np.random.default_rng(2)
    eps, lr = 1e-2, 0.5
    w0 = rng.normal(size=(3, 3))
    diag = [rng.normal(size=3) for _ in range(6)]
    got = run_ours(ae.Shampoo(lr=lr, eps=eps), w0, [np.diag(d) for d in diag])[-1][0]
    ada = ae.AdaGrad(lr=lr, eps=eps, eps_in_sqrt=True)
    w, s = np.diag(w0).copy(), ada.init(np.diag(w0))
    for d in diag:
        w, s = ada.step(w, d, s)
    np.testing.assert_allclose(np.diag(got), w, rtol=1e-12)
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_array_equal(got[off], w0[off])


def test_shampoo_on_a_vector_is_full_matrix_adagrad():
    w0 = np.array([1.0, -2.0, 0.5])
    grads = gradients((3,), steps=5)
    a = run_ours(ae.Shampoo(lr=0.2, eps=1e-3), w0, grads)[-1]
    b = run_ours(ae.FullMatrixAdaGrad(lr=0.2, eps=1e-3), w0, grads)[-1]
    np.testing.assert_allclose(a[0], b[0], rtol=1e-13)
    np.testing.assert_allclose(a[1].L, b[1].H, rtol=1e-13)
    assert a[1].R.shape == (0, 0)


def test_shampoo_inplace_equals_pure():
    params = {"W": np.random.default_rng(0).normal(size=(4, 3)), "b": np.ones(3)}
    opt = ae.Shampoo(lr=0.1)
    a, sa = {k: v.copy() for k, v in params.items()}, opt.init(params)
    b, sb = params, opt.init(params)
    for g in gradients((4, 3), steps=3):
        grads = {"W": g, "b": g[0]}
        a, sa = opt.step(a, grads, sa, inplace=True)
        b, sb = opt.step(b, grads, sb)
    for k in params:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-14)
        np.testing.assert_allclose(sa.L[k], sb.L[k], rtol=1e-14)


# -- full-matrix AdaGrad ---------------------------------------------------------------------------------------
def test_full_matrix_adagrad_first_step_by_hand():
    """H₁ = εI + g gᵀ has g as an eigenvector with eigenvalue ε + ‖g‖², so H₁^(-1/2) g = g / √(ε + ‖g‖²)."""
    g = np.array([3.0, 4.0])
    w1, state = ae.FullMatrixAdaGrad(lr=0.1, eps=1e-2).step(np.zeros(2), g, ae.FullMatrixAdaGrad(eps=1e-2).init(
        np.zeros(2)))
    np.testing.assert_allclose(w1, -0.1 * g / np.sqrt(1e-2 + 25.0), rtol=1e-14)
    np.testing.assert_allclose(state.H, 1e-2 * np.eye(2) + np.outer(g, g), rtol=1e-15)


def test_full_matrix_adagrad_is_rotation_equivariant_and_adagrad_is_not():
    """Rotating the gradients rotates full-matrix AdaGrad's path; AdaGrad's (diagonal) path does not follow."""
    theta = 0.7
    q = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    grads = gradients((2,), steps=6)
    for opt, equivariant in ((ae.FullMatrixAdaGrad(lr=0.1), True), (ae.AdaGrad(lr=0.1), False)):
        w = run_ours(opt, np.zeros(2), grads)[-1][0]
        w_rot = run_ours(opt, np.zeros(2), [q @ g for g in grads])[-1][0]
        assert np.allclose(w_rot, q @ w, rtol=1e-10, atol=1e-12) == equivariant


def test_inverse_root_equals_scipy():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    a = np.random.default_rng(0).normal(size=(4, 4))
    a = a @ a.T + 0.1 * np.eye(4)
    np.testing.assert_allclose(numpy_ops.inverse_root(a, 4), np.real(scipy_linalg.fractional_matrix_power(a, -0.25)),
                               rtol=1e-10)


# -- bad input ----------------------------------------------------------------------------------------------------
def test_muon_refuses_a_vector_by_name_and_points_to_adamw():
    params = {"dense0": {"W": np.ones((3, 2)), "b": np.zeros(2)}}
    with pytest.raises(ValueError, match=r"'dense0/b' has shape \(2,\).*AdamW.*muon_with_adamw"):
        ae.Muon().init(params)
    with pytest.raises(ValueError, match=r"shape \(2,\).*AdamW"):  # the rule itself, as an engine calls it
        ae.Muon().update(np.zeros(2), np.ones(2), np.zeros(2), t=1, lr=0.1)


def test_shampoo_refuses_eps_zero_and_names_a_singular_factor():
    with pytest.raises(ValueError, match=r"Shampoo: eps must be a finite number > 0, got 0.0"):
        ae.Shampoo(eps=0.0)
    params = {"W": np.ones((2, 3))}
    opt = ae.Shampoo(eps=1e-300)  # positive, but below float64's resolution next to G Gᵀ: singular in practice
    state = opt.init(params)
    before = {k: v.copy() for k, v in state.items() if k != "t"}
    with pytest.raises(ValueError, match=r"Shampoo step 1, params\['W'\]: .*smallest eigenvalue is .*singular"):
        opt.step(params, {"W": np.ones((2, 3))}, state)
    assert np.array_equal(state.L["W"], before["L"]["W"]) and np.array_equal(params["W"], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"inverse root A\^\(-1/4\) .*singular"):
        numpy_ops.inverse_root(np.zeros((2, 2)), 4)


def test_shampoo_refuses_tensors_of_order_three_and_a_wrong_factor():
    with pytest.raises(ValueError, match=r"Shampoo takes parameters with 1 or 2 dimension\(s\), but 'k' has shape"):
        ae.Shampoo().init({"k": np.ones((2, 2, 2))})
    w = np.ones((2, 3))
    state = ae.Shampoo().init(w)
    state["R"] = np.eye(2)
    with pytest.raises(ValueError, match=r"state.R has shape \(2, 2\), but for params of shape \(2, 3\) it must "
                                         r"have shape \(3, 3\)"):
        ae.Shampoo().step(w, w, state)


@pytest.mark.parametrize("kwargs, match", [
    ({"adjust_lr": "rms"}, r"Muon: adjust_lr must be one of \['original', 'match_rms_adamw', 'none'\], got 'rms'"),
    ({"ns_steps": 0}, r"Muon: ns_steps must be a whole number >= 1, got 0"),
    ({"ns_steps": 2.5}, r"Muon: ns_steps must be a whole number >= 1, got 2.5"),
    ({"ns_coefficients": (1.0, 2.0)}, r"Muon: ns_coefficients must be a tuple of three finite numbers"),
    ({"beta": 1.0}, r"Muon: beta must be a number in \[0, 1\), got 1.0"),
])
def test_muon_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ae.Muon(**kwargs)


@pytest.mark.parametrize("key, match", [
    ("momentum", "adamedu calls Muon's momentum beta"),
    ("adjust_lr_fn", "adamedu calls it adjust_lr"),
    ("decoupled_weight_decay", "always decoupled"),
])
def test_muon_refuses_framework_keywords(key, match):
    with pytest.raises(TypeError, match=match):
        ae.Muon(**{key: 0.9})


def test_partition_refuses_a_state_of_another_optimizer():
    opt = ae.muon_with_adamw()
    params = {"W": np.ones((2, 2)), "b": np.ones(2)}
    with pytest.raises(ValueError, match=r"Partition.step: state must be the State of Partition.init, with the keys "
                                         r"\['t', 'muon', 'adamw'\]; got \['t', 'm'\]"):
        opt.step(params, params, ae.Momentum().init(params))


def test_partition_refuses_an_unknown_label():
    opt = ae.Partition({"muon": ae.Muon()}, lambda name, shape: "adam")
    with pytest.raises(ValueError, match=r"label\('W', \(2, 2\)\) returned 'adam', which names no optimizer"):
        opt.init({"W": np.ones((2, 2))})


# -- Muon through the engines: the same rule, run by PyTorch and by Keras ------------------------------------------
def test_muon_runs_unchanged_in_the_torch_and_keras_engines(torch64, keras64):
    from adamedu.keras import to_keras
    from adamedu.torch import to_torch

    torch, keras = torch64, keras64
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(5, 3))
    opt = ae.Muon(lr=0.0625, weight_decay=0.0625)  # numbers float32 holds exactly (Keras keeps lr in a variable)
    w, state = w0.copy(), opt.init(w0)
    p = torch.nn.Parameter(torch.tensor(w0))
    t_opt = to_torch(opt, [p])
    var = keras.Variable(w0.copy(), dtype="float64")
    k_opt = to_keras(opt)
    for g in gradients((5, 3), steps=5):
        w, state = opt.step(w, g, state)
        p.grad = torch.tensor(g)
        t_opt.step()
        k_opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), var)])
        np.testing.assert_allclose(p.detach().numpy(), w, rtol=RTOL, atol=1e-14)
        np.testing.assert_allclose(np.asarray(var), w, rtol=RTOL, atol=1e-14)


# -- what the generic suites check for the elementwise rules, here on matrices ------------------------------------
MATRIX_RULES = [ae.Muon(lr=0.05, weight_decay=0.1), ae.Shampoo(lr=0.1, weight_decay=0.1),
                ae.FullMatrixAdaGrad(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)]


@pytest.mark.parametrize("opt", MATRIX_RULES, ids=lambda o: type(o).__name__)
def test_matrix_rules_change_no_input_and_maximize_is_a_step_on_minus_g(opt):
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(4, 3))}
    state = opt.init(params)
    params, state = opt.step(params, {"W": rng.normal(size=(4, 3))}, state)  # a state that is not the initial one
    g = {"W": rng.normal(size=(4, 3))}
    before = [x.copy() for x in (params["W"], g["W"], *(state[s]["W"] for s in opt.slots))]
    w_min, s_min = opt.step(params, g, state)
    after = [params["W"], g["W"], *(state[s]["W"] for s in opt.slots)]
    for x, y in zip(before, after, strict=True):
        np.testing.assert_array_equal(x, y)
    maximizer = type(opt)(**{**{f: getattr(opt, f) for f in opt.__dataclass_fields__ if f != "_"}, "maximize": True})
    w_max, s_max = maximizer.step(params, {"W": -g["W"]}, state)
    np.testing.assert_array_equal(w_max["W"], w_min["W"])
    for s in opt.slots:
        np.testing.assert_array_equal(s_max[s]["W"], s_min[s]["W"])
