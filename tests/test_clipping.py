"""adamedu.clipping against hand-derived values, PyTorch's clip_grad_norm_ / clip_grad_value_ and Keras's
clipnorm / clipvalue / global_clipnorm (read off a float64 SGD step with learning rate 1 from w = 0)."""

import math

import numpy as np
import pytest
from optimizer_support import assert_identical, snapshot

import adamedu as ae


def grads_of_scale(scale, seed=0):
    rng = np.random.default_rng(seed)
    return {"W": scale * rng.normal(size=(4, 3)), "b": scale * rng.normal(size=(3,)),
            "nested": [scale * rng.normal(size=(2, 2))]}


def flat(tree):
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in flat(v)]
    if isinstance(tree, (list, tuple)):
        return [x for v in tree for x in flat(v)]
    return [tree]


# -- hand-derived ----------------------------------------------------------------------------------

def test_global_norm_of_a_3_4_5_triangle():
    assert ae.global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}) == 5.0


def test_clip_by_global_norm_by_hand():
    clipped = ae.clip_by_global_norm({"a": np.array([3.0]), "b": np.array([4.0])}, 1.0)
    np.testing.assert_allclose(clipped["a"], [0.6], rtol=1e-15)
    np.testing.assert_allclose(clipped["b"], [0.8], rtol=1e-15)


def test_clip_by_norm_clips_each_array_alone():
    clipped = ae.clip_by_norm({"a": np.array([3.0, 4.0]), "b": np.array([0.3, 0.4])}, 1.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.8], rtol=1e-15)
    np.testing.assert_array_equal(clipped["b"], [0.3, 0.4])  # norm 0.5 <= 1: untouched


def test_clip_by_value_by_hand():
    clipped = ae.clip_by_value(np.array([-3.0, 0.5, 2.0]), 1.0)
    np.testing.assert_array_equal(clipped, [-1.0, 0.5, 1.0])


def test_below_the_threshold_nothing_changes_and_inputs_are_not_changed():
    grads = grads_of_scale(0.01)
    before = snapshot(grads)
    for clipped in (ae.clip_by_global_norm(grads, 10.0), ae.clip_by_norm(grads, 10.0), ae.clip_by_value(grads, 10.0)):
        assert_identical(clipped, before)
    assert_identical(grads, before)


def test_huge_finite_gradients_are_clipped_not_overflowed():
    """A gradient of 1e300 (its square overflows float64): the norm is computed scaled, the clip is exact."""
    g = {"a": np.array([3e300, 4e300])}
    assert ae.global_norm(g) == pytest.approx(5e300, rel=1e-15)
    np.testing.assert_allclose(ae.clip_by_global_norm(g, 1.0)["a"], [0.6, 0.8], rtol=1e-15)


def test_float32_stays_float32():
    g = {"a": np.array([3.0, 4.0], dtype=np.float32)}
    for clipped in (ae.clip_by_global_norm(g, 1.0), ae.clip_by_norm(g, 1.0), ae.clip_by_value(g, 1.0)):
        assert clipped["a"].dtype == np.float32


BAD = [
    (lambda: ae.clip_by_global_norm({"a": np.ones(2)}, 0.0), ValueError, ["max_norm", "0.0", "> 0"]),
    (lambda: ae.clip_by_global_norm({"a": np.ones(2)}, -1.0), ValueError, ["max_norm", "-1.0", ">= 0"]),
    (lambda: ae.clip_by_norm({"a": np.ones(2)}, "1"), TypeError, ["max_norm", "'1'", "number"]),
    (lambda: ae.clip_by_value({"a": np.ones(2)}, float("inf")), ValueError, ["max_value", "inf", "finite"]),
    (lambda: ae.clip_by_global_norm({"a": np.ones(2)}, 1.0, eps=-1e-6), ValueError, ["eps", "-1e-06", ">= 0"]),
    (lambda: ae.clip_by_global_norm({"a": np.array([1.0, np.nan])}, 1.0), ae.NonFiniteError,
     ["grads['a']", "nan", "index (1,)"]),
    (lambda: ae.clip_by_value({"a": np.array([1, 2])}, 1.0), TypeError, ["grads['a']", "int64", "floating-point"]),
]


@pytest.mark.parametrize("call, exc, words", BAD, ids=[" ".join(b[2][:2]) for b in BAD])
def test_bad_input(call, exc, words):
    with pytest.raises(exc) as excinfo:
        call()
    missing = [w for w in words if w not in str(excinfo.value)]
    assert not missing, f"{excinfo.value} lacks {missing}"


# -- PyTorch ---------------------------------------------------------------------------------------

SCALES = [1e-3, 0.3, 1.0, 7.0, 1e4]


@pytest.mark.parametrize("scale", SCALES)
def test_global_norm_equals_torch_clip_grad_norm(torch_float64, scale):
    torch = torch_float64
    grads = grads_of_scale(scale)
    tensors = [torch.zeros(g.shape, requires_grad=True) for g in flat(grads)]
    for p, g in zip(tensors, flat(grads), strict=True):
        p.grad = torch.tensor(g)
    total = torch.nn.utils.clip_grad_norm_(tensors, max_norm=1.0)
    assert ae.global_norm(grads) == pytest.approx(float(total), rel=1e-13)
    ours = ae.clip_by_global_norm(grads, 1.0, eps=1e-6)
    for a, p in zip(flat(ours), tensors, strict=True):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-13, atol=0)


@pytest.mark.parametrize("scale", SCALES)
def test_clip_by_norm_equals_torch_clip_grad_norm_per_parameter(torch_float64, scale):
    torch = torch_float64
    grads = grads_of_scale(scale, seed=1)
    ours = ae.clip_by_norm(grads, 0.5, eps=1e-6)
    for a, g in zip(flat(ours), flat(grads), strict=True):
        p = torch.zeros(g.shape, requires_grad=True)
        p.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_norm_([p], max_norm=0.5)
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-13, atol=0)


@pytest.mark.parametrize("scale", SCALES)
def test_clip_by_value_equals_torch_clip_grad_value(torch_float64, scale):
    torch = torch_float64
    grads = grads_of_scale(scale, seed=2)
    tensors = [torch.zeros(g.shape, requires_grad=True) for g in flat(grads)]
    for p, g in zip(tensors, flat(grads), strict=True):
        p.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(tensors, clip_value=0.5)
    for a, p in zip(flat(ae.clip_by_value(grads, 0.5)), tensors, strict=True):
        np.testing.assert_array_equal(a, p.grad.numpy())


def test_torch_eps_is_visible(torch_float64):
    """Negative control: without eps=1e-6 ours differs from torch's (by ~1e-6 relative at norm ~1)."""
    torch = torch_float64
    grads = {"a": np.array([3.0, 4.0])}
    p = torch.zeros(2, requires_grad=True)
    p.grad = torch.tensor(grads["a"])
    torch.nn.utils.clip_grad_norm_([p], max_norm=1.0)
    keras_like = ae.clip_by_global_norm(grads, 1.0)["a"]
    assert not np.allclose(keras_like, p.grad.numpy(), rtol=1e-9, atol=0)
    assert math.isclose(np.linalg.norm(keras_like), 1.0, rel_tol=1e-15)  # Keras's: exactly max_norm


# -- Keras -----------------------------------------------------------------------------------------

def keras_clipped(keras, grads, **clip):
    """The gradients after Keras's clipping: one float64 SGD step with learning rate 1 from w = 0 gives −g."""
    leaves = flat(grads)
    variables = [keras.Variable(np.zeros_like(g), dtype="float64") for g in leaves]
    opt = keras.optimizers.SGD(learning_rate=1.0, **clip)
    opt.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in leaves], variables, strict=True))
    return [-keras.ops.convert_to_numpy(v) for v in variables]


@pytest.mark.parametrize("scale", SCALES)
def test_clipping_equals_keras(keras_float64, scale):
    keras = keras_float64
    grads = grads_of_scale(scale, seed=3)
    cases = [(ae.clip_by_global_norm(grads, 1.0), {"global_clipnorm": 1.0}),
             (ae.clip_by_norm(grads, 0.5), {"clipnorm": 0.5}),
             (ae.clip_by_value(grads, 0.5), {"clipvalue": 0.5})]
    for ours, option in cases:
        for a, b in zip(flat(ours), keras_clipped(keras, grads, **option), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-14, atol=0, err_msg=str(option))


def test_keras_differs_from_torch_eps(keras_float64):
    """Negative control: with eps=1e-6 (torch's) ours no longer equals Keras's global_clipnorm."""
    keras = keras_float64
    grads = grads_of_scale(7.0)
    theirs = keras_clipped(keras, grads, global_clipnorm=1.0)
    ours = flat(ae.clip_by_global_norm(grads, 1.0, eps=1e-6))
    assert not all(np.allclose(a, b, rtol=1e-9, atol=0) for a, b in zip(ours, theirs, strict=True))
