"""Weight decay, its exclusion (``for_param``) and ``maximize``: hand-derived values on the numpy step.

(Against PyTorch and Keras: tests/test_equivalences.py; Keras's own cases: tests/test_keras_cases.py.)
"""

import numpy as np
import pytest
from optimizer_support import ALL_OPTIMIZERS, optimizer_id

import adamedu as ae


def test_for_param_is_self_without_a_match():
    opt = ae.AdamW(exclude_from_weight_decay=("bias",))
    assert opt.for_param("dense/kernel") is opt
    plain = ae.Adam()
    assert plain.for_param("dense/bias") is plain


def test_for_param_drops_the_decay_of_a_matching_name():
    opt = ae.AdamW(lr=0.1, weight_decay=0.5, exclude_from_weight_decay=("bias", "^norm/"))
    for name in ("dense/bias", "norm/gamma"):
        excluded = opt.for_param(name)
        assert excluded.weight_decay == 0.0 and excluded.lr == 0.1
    assert opt.for_param("dense/kernel").weight_decay == 0.5
    assert opt.for_param("layer_norm/gamma").weight_decay == 0.5  # "^norm/" is anchored


@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
def test_an_excluded_bias_keeps_its_value_in_a_zero_gradient_step(cls):
    """The numpy counterpart of issue 10's Keras bug: with zero gradients only the decay moves w."""
    decoupled = {} if cls in (ae.AdamW, ae.Lion, ae.Lamb, ae.ScheduleFreeAdamW) else {"decoupled_weight_decay": True}
    opt = cls(lr=0.1, weight_decay=0.5, exclude_from_weight_decay=("/b$",), **decoupled)
    net = ae.mlp([3, 2, 1])
    params = net.params
    zeros = {k: {n: np.zeros_like(w) for n, w in layer.items()} for k, layer in params.items()}
    new, state = opt.step(params, zeros, opt.init(params))
    # LAMB's decay λw is its whole update here, and the trust ratio ‖w‖/‖λw‖ = 1/λ rescales it: w·(1 − lr)
    shrink = (1 - 0.1) if cls is ae.Lamb else (1 - 0.1 * 0.5)
    if cls is ae.ScheduleFreeAdamW:
        # Step 1 sets y to its average x_1 = z_1 = w (weight 1/t = 1), which undoes the decay of y; step 2
        # keeps half of it: z stays w, x_2 = (x_1' + w)/2 with x_1' = (w(1 − lr·λ) − (1 − β1)w)/β1, and
        # y_2 = (1 − β1)w + β1·x_2 = w(1 − lr·λ/2). (Recomputing y from z and x rounds in float32.)
        np.testing.assert_allclose(new["dense0"]["W"], params["dense0"]["W"], rtol=1e-6)  # float32: y = z + x's
        new, _ = opt.step(new, zeros, state)
        shrink = 1 - 0.1 * 0.5 / 2
    for layer in params:
        np.testing.assert_array_equal(new[layer]["b"], params[layer]["b"])
        np.testing.assert_allclose(new[layer]["W"], params[layer]["W"] * shrink, rtol=1e-6)


def test_coupled_and_decoupled_decay_by_hand():
    """Adam, first step, zero gradient, w = 2: coupled decay makes λw the gradient, which Adam normalizes
    (a step of lr·λw/(|λw| + ε) ≈ lr); decoupled decay shrinks w by lr·λ·w."""
    w, g = np.array([2.0]), np.array([0.0])
    coupled = ae.Adam(lr=0.1, weight_decay=0.01)
    decoupled = ae.Adam(lr=0.1, weight_decay=0.01, decoupled_weight_decay=True)
    w_c, _ = coupled.step(w, g, coupled.init(w))
    w_d, _ = decoupled.step(w, g, decoupled.init(w))
    np.testing.assert_allclose(w_c, 2.0 - 0.1 * 0.02 / (0.02 + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(w_d, 2.0 * (1 - 0.1 * 0.01), rtol=1e-15)


def test_adagrad_lr_decay_by_hand():
    """torch's lr_decay: step t uses lr / (1 + (t − 1)·lr_decay)."""
    opt = ae.AdaGrad(lr=0.1, lr_decay=0.5, eps=0.0)
    w, state = np.array([0.0]), opt.init(np.array([0.0]))
    w, state = opt.step(w, np.array([1.0]), state)  # G = 1: step lr·1/1
    w, state = opt.step(w, np.array([1.0]), state)  # G = 2: step lr/1.5 · 1/√2
    np.testing.assert_allclose(w, [-0.1 - 0.1 / 1.5 / np.sqrt(2)], rtol=1e-15)


def test_rmsprop_centered_momentum_by_hand():
    """One step: v = (1−β)g², ḡ = (1−β)g, b = g/(√(v − ḡ²) + ε), w − lr·b."""
    beta, g = 0.9, 2.0
    opt = ae.RMSprop(lr=0.1, beta=beta, eps=0.0, centered=True, momentum=0.5)
    w, state = opt.step(np.array([1.0]), np.array([g]), opt.init(np.array([1.0])))
    v, g_avg = (1 - beta) * g * g, (1 - beta) * g
    b = g / np.sqrt(v - g_avg**2)
    np.testing.assert_allclose(w, 1.0 - 0.1 * b, rtol=1e-14)
    assert list(state) == ["t", "v", "g_avg", "b"]
    np.testing.assert_allclose(state.b, [b], rtol=1e-14)


@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
def test_maximize_is_a_step_on_minus_g(cls):
    rng = np.random.default_rng(0)
    w, g = rng.normal(size=5), rng.normal(size=5)
    up, down = cls(maximize=True), cls()
    a, _ = up.step(w, g, up.init(w))
    b, _ = down.step(w, -g, down.init(w))
    np.testing.assert_array_equal(a, b)


def test_adamax_keras_eps_differs_from_torch_eps_by_hand():
    """Keras: u = max(β2u, |g|), step m̂/(u + ε); PyTorch: u = max(β2u, |g| + ε), step m̂/u. Equal results on
    the first step (u + ε either way), different slots."""
    w, g = np.array([1.0]), np.array([1e-3])
    torch_like, keras_like = ae.AdaMax(eps=1e-2), ae.AdaMax(eps=1e-2, eps_in_max=False)
    a, sa = torch_like.step(w, g, torch_like.init(w))
    b, sb = keras_like.step(w, g, keras_like.init(w))
    np.testing.assert_allclose(a, b, rtol=1e-15)
    np.testing.assert_allclose(sa.u, [1e-3 + 1e-2])
    np.testing.assert_allclose(sb.u, [1e-3])
