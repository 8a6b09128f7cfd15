"""The tiny network: backprop against finite differences, losses against hand-computed values and
scikit-learn, dropout, initialization, dtypes, and bad input."""

import math

import numpy as np
import pytest

import adamedu as ae
from adamedu.nn import (
    LOSSES,
    BinaryCrossEntropy,
    Dense,
    Dropout,
    MeanSquaredError,
    Network,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    mlp,
    sigmoid,
)

# -- finite differences ----------------------------------------------------------------------------


def numerical_grads(net, params, X, y, dropout_seed, h=1e-6):
    """Central differences of the loss in every parameter; the dropout masks are drawn afresh from the
    same seed for every evaluation, so that the function being differentiated is fixed."""

    def loss_at(p):
        return net.loss_and_grads(p, X, y, rng=np.random.default_rng(dropout_seed))[0]

    grads = {}
    for name, layer in params.items():
        grads[name] = {}
        for key, w in layer.items():
            g = np.zeros_like(w)
            for i in np.ndindex(w.shape):
                plus = {n: {k: a.copy() for k, a in lp.items()} for n, lp in params.items()}
                minus = {n: {k: a.copy() for k, a in lp.items()} for n, lp in params.items()}
                plus[name][key][i] += h
                minus[name][key][i] -= h
                g[i] = (loss_at(plus) - loss_at(minus)) / (2 * h)
            grads[name][key] = g
    return grads


def targets(loss, n, n_out, rng):
    if loss == "softmax_cross_entropy":
        return rng.integers(0, n_out, size=n)
    if loss == "binary_cross_entropy":
        return rng.uniform(0, 1, size=(n, n_out))  # soft targets exercise the y in σ(z) − y
    return rng.normal(size=(n, n_out))


def assert_backprop_matches_finite_differences(net, loss, n_out, dropout_seed=None):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(7, net.n_inputs))
    y = targets(loss, 7, n_out, rng)
    rng_arg = None if dropout_seed is None else np.random.default_rng(dropout_seed)
    _, grads = net.loss_and_grads(net.params, X, y, rng=rng_arg)
    expected = numerical_grads(net, net.params, X, y, dropout_seed)
    assert list(grads) == list(net.params)
    for name in net.params:
        for key in net.params[name]:
            g, n = grads[name][key], expected[name][key]
            assert g.shape == n.shape and g.dtype == np.float64
            err = np.max(np.abs(g - n)) / max(np.max(np.abs(g) + np.abs(n)), 1e-12)
            assert err < 1e-6, f"{name}.{key}: relative error {err:.2e}"
            assert np.any(g != 0), f"{name}.{key}: the check would be vacuous with zero gradients"


@pytest.mark.parametrize("loss,n_out", [("softmax_cross_entropy", 3), ("binary_cross_entropy", 1),
                                        ("binary_cross_entropy", 2), ("mse", 2)])
@pytest.mark.parametrize("activation", [ReLU, Tanh, Sigmoid])
def test_backprop_equals_finite_differences(activation, loss, n_out):
    net = Network([Dense(4, 5), activation(), Dense(5, 3), activation(), Dense(3, n_out)],
                  loss=loss, seed=3, dtype=np.float64)
    net.params = {name: {"W": p["W"], "b": p["b"] + 0.1} for name, p in net.params.items()}  # nonzero biases
    assert_backprop_matches_finite_differences(net, loss, n_out)


@pytest.mark.parametrize("loss,n_out", [("softmax_cross_entropy", 3), ("mse", 1)])
def test_backprop_through_dropout_equals_finite_differences(loss, n_out):
    net = Network([Dropout(0.2), Dense(4, 6), Tanh(), Dropout(0.5), Dense(6, n_out)], loss=loss, seed=0,
                  dtype=np.float64)
    assert_backprop_matches_finite_differences(net, loss, n_out, dropout_seed=5)


def test_backprop_of_a_single_dense_layer_by_hand():
    # L = mean((xW + b − y)²) over 2 samples × 1 output: dL/dW = xᵀ·2r/2, dL/db = Σ 2r/2
    net = Network([Dense(2, 1)], loss="mse", dtype=np.float64)
    params = {"dense0": {"W": np.array([[1.0], [-2.0]]), "b": np.array([0.5])}}
    X = np.array([[1.0, 2.0], [3.0, 0.0]])
    y = np.array([0.0, 1.0])
    # z = [1 − 4 + 0.5, 3 + 0.5] = [−2.5, 3.5]; r = z − y = [−2.5, 2.5]
    loss, grads = net.loss_and_grads(params, X, y)
    assert loss == pytest.approx((6.25 + 6.25) / 2)
    np.testing.assert_allclose(grads["dense0"]["W"], [[-2.5 + 7.5], [-5.0]])
    np.testing.assert_allclose(grads["dense0"]["b"], [0.0])


# -- losses ----------------------------------------------------------------------------------------


def test_softmax_cross_entropy_on_a_hand_computed_example():
    z = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    y = np.array([2, 0])
    # −log(e³ / (e + e² + e³)) = log(1 + e⁻¹ + e⁻²) = 0.4076059644; −log(1/3) = 1.0986122887
    loss, dz = SoftmaxCrossEntropy().value_and_grad(z, y)
    assert loss == pytest.approx((0.4076059644 + 1.0986122887) / 2, rel=1e-9)
    p = np.array([0.0900305732, 0.2447284711, 0.6652409558])
    np.testing.assert_allclose(dz, np.array([p - [0, 0, 1], [1 / 3 - 1, 1 / 3, 1 / 3]]) / 2, rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_finite_for_huge_logits(dtype):
    z = np.array([[1000.0, 0.0, -1000.0], [1000.0, 999.0, 0.0]], dtype=dtype)
    ce = SoftmaxCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dz = ce.value_and_grad(z, np.array([1, 1]))
        p = ce.output(z)
    # −log softmax: 1000 − 0 for the first row; log(e¹ + 1) − 0 for the second (after subtracting 999)
    assert loss == pytest.approx((1000 + math.log1p(math.e)) / 2, rel=1e-6)
    assert np.all(np.isfinite(dz)) and np.all(np.isfinite(p)) and p.dtype == dtype
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)


def test_cross_entropies_agree_with_scikit_learn_log_loss():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    z = rng.normal(scale=3, size=(50, 4))
    y = rng.integers(0, 4, size=50)
    ce = SoftmaxCrossEntropy()
    assert ce.value_and_grad(z, y)[0] == pytest.approx(metrics.log_loss(y, ce.output(z), labels=range(4)), rel=1e-9)
    zb = rng.normal(scale=3, size=(50, 1))
    yb = rng.integers(0, 2, size=(50, 1)).astype(float)
    bce = BinaryCrossEntropy()
    expected = metrics.log_loss(yb[:, 0], bce.output(zb)[:, 0])
    assert bce.value_and_grad(zb, yb)[0] == pytest.approx(expected, rel=1e-9)


def test_binary_cross_entropy_by_hand():
    z = np.array([[0.0], [2.0]])
    y = np.array([[1.0], [0.0]])
    # −log σ(0) = log 2; −log(1 − σ(2)) = 2 + log(1 + e⁻²)
    loss, dz = BinaryCrossEntropy().value_and_grad(z, y)
    assert loss == pytest.approx((math.log(2) + 2 + math.log1p(math.exp(-2))) / 2, rel=1e-12)
    np.testing.assert_allclose(dz, [[(0.5 - 1) / 2], [1 / (1 + math.exp(-2)) / 2]], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_is_finite_for_huge_logits(dtype):
    z = np.array([[1000.0], [-1000.0], [60.0], [-60.0], [88.0], [-104.0]], dtype=dtype)
    y = np.array([[0.0], [1.0], [1.0], [0.0], [0.0], [1.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dz = BinaryCrossEntropy().value_and_grad(z, y)
        p = sigmoid(z)
    assert math.isfinite(loss) and np.all(np.isfinite(dz)) and np.all(np.isfinite(p))
    # the wrong side costs |z|; the right side costs log(1 + e^−|z|) ≈ e^−|z|
    assert loss == pytest.approx((1000 + 1000 + 0 + 0 + 88 + 104) / 6, rel=1e-6)
    np.testing.assert_allclose(dz[:, 0] * 6, [1, -1, 0, 0, 1, -1], atol=1e-6)
    assert p.dtype == dtype and dz.dtype == dtype


def test_sigmoid_is_accurate_where_it_is_tiny():
    np.testing.assert_allclose(sigmoid(np.array([-50.0, -20.0, 0.0, 20.0])),
                               [math.exp(-50), 1 / (1 + math.exp(20)), 0.5, 1 / (1 + math.exp(-20))], rtol=1e-12)


def test_mean_squared_error_by_hand():
    z = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.array([[0.0, 2.0], [5.0, 4.0]])
    loss, dz = MeanSquaredError().value_and_grad(z, y)
    assert loss == pytest.approx((1 + 0 + 4 + 0) / 4)
    np.testing.assert_allclose(dz, [[2 * 1 / 4, 0], [2 * -2 / 4, 0]])


def test_the_loss_registry_names_every_loss():
    assert set(LOSSES) == {"softmax_cross_entropy", "binary_cross_entropy", "mse"}


# -- dropout ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_scales_kept_units_and_is_the_identity_at_evaluation(dtype):
    x = np.full((400, 250), 3.0, dtype=dtype)
    layer = Dropout(0.25)
    out, _ = layer.forward(None, x, training=True, rng=np.random.default_rng(0))
    kept = out != 0
    np.testing.assert_allclose(out[kept], 3.0 / 0.75, rtol=1e-6)
    assert out.dtype == dtype
    assert abs(1 - kept.mean() - 0.25) < 0.01  # 100 000 draws: the standard error is 0.0014
    assert abs(out.mean() - 3.0) < 0.03  # inverted dropout keeps the expected value
    same, _ = layer.forward(None, x, training=False)
    assert same is x
    again, _ = layer.forward(None, x, training=True, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again, out)


def test_dropout_in_a_network_acts_only_in_training():
    net = Network([Dense(5, 50), Dropout(0.5), Dense(50, 2)], loss="mse", seed=0)
    X = np.ones((3, 5), dtype=np.float32)
    evaluation = net.forward(net.params, X)
    np.testing.assert_array_equal(evaluation, net.forward(net.params, X, training=False))
    training = net.forward(net.params, X, training=True, rng=np.random.default_rng(0))
    assert not np.allclose(training, evaluation)
    with pytest.raises(TypeError, match="rng"):
        net.loss_and_grads(net.params, X, np.zeros((3, 2)))


# -- initialization, dtypes, purity ----------------------------------------------------------------


def test_glorot_and_he_initialization():
    rng = np.random.default_rng(0)
    glorot = Dense(300, 200, init="glorot").init_params(rng, np.float64)["W"]
    limit = math.sqrt(6 / 500)
    assert np.abs(glorot).max() <= limit and np.abs(glorot).max() > 0.99 * limit
    assert glorot.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)  # uniform(−a, a) has std a/√3
    he = Dense(300, 200, init="he").init_params(rng, np.float64)
    assert he["W"].std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    np.testing.assert_array_equal(he["b"], np.zeros(200))


def test_mlp_builds_the_layers_it_says():
    net = mlp([64, 128, 32, 10], activation="tanh", dropout=0.2, seed=0)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Dense", "Tanh", "Dropout", "Dense", "Tanh", "Dropout", "Dense"]
    assert [layer.init for layer in net.layers if isinstance(layer, Dense)] == ["glorot"] * 3
    assert mlp([4, 3, 2]).layers[0].init == "he"
    assert list(net.params) == ["dense0", "dense1", "dense2"]
    assert net.params["dense1"]["W"].shape == (128, 32) and net.params["dense2"]["b"].shape == (10,)
    assert "9610" in mlp([64, 128, 10]).summary()  # 64·128 + 128 + 128·10 + 10


def test_float32_by_default_and_float64_on_request():
    X = np.random.default_rng(0).normal(size=(4, 3))  # float64 inputs are cast to the network's dtype
    for dtype in (np.float32, np.float64):
        net = mlp([3, 5, 2], seed=0, dtype=dtype)
        loss, grads = net.loss_and_grads(net.params, X, np.array([0, 1, 1, 0]))
        assert net.forward(net.params, X).dtype == dtype
        assert all(a.dtype == dtype for layer in (net.params, grads) for p in layer.values() for a in p.values())
        bce = mlp([3, 5, 1], loss="binary_cross_entropy", dtype=dtype)
        _, grads = bce.loss_and_grads(bce.params, X, np.array([0.0, 1.0, 1.0, 0.0]))  # float64 targets
        assert all(a.dtype == dtype for p in grads.values() for a in p.values())


def test_seeds_decide_the_initial_parameters():
    a, b, c = mlp([8, 6, 3], seed=1), mlp([8, 6, 3], seed=1), mlp([8, 6, 3], seed=2)
    np.testing.assert_array_equal(a.params["dense0"]["W"], b.params["dense0"]["W"])
    assert not np.array_equal(a.params["dense0"]["W"], c.params["dense0"]["W"])


def test_loss_and_grads_is_pure_and_an_optimizer_steps_its_output():
    net = mlp([4, 8, 3], seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 4)), rng.integers(0, 3, size=16)
    before = {n: {k: a.copy() for k, a in p.items()} for n, p in net.params.items()}
    opt = ae.Adam(lr=0.01)
    params, state = net.params, opt.init(net.params)
    first, _ = net.loss_and_grads(params, X, y)
    for _ in range(50):
        loss, grads = net.loss_and_grads(params, X, y)
        params, state = opt.step(params, grads, state)
    for n in before:
        for k in before[n]:
            np.testing.assert_array_equal(net.params[n][k], before[n][k])
    assert net.loss_and_grads(params, X, y)[0] < 0.5 * first


# -- bad input -------------------------------------------------------------------------------------

X3 = np.zeros((4, 3))


def call(mlp_kwargs, method, *args):
    """A function that builds ``mlp(**mlp_kwargs)`` and calls ``method`` with its parameters and ``args``."""
    def run():
        net = mlp(**mlp_kwargs)
        return getattr(net, method)(net.params, *args)
    return run


BAD = [
    # (what, function, exception, words in the message)
    ("n_in 0", lambda: Dense(0, 3), ValueError, ["n_in", "0", ">= 1"]),
    ("n_out float", lambda: Dense(3, 2.5), ValueError, ["n_out", "2.5"]),
    ("unknown init", lambda: Dense(3, 2, init="lecun"), ValueError, ["init", "lecun", "glorot", "he"]),
    ("dropout 1", lambda: Dropout(1.0), ValueError, ["p", "1.0", "[0, 1)"]),
    ("dropout negative", lambda: Dropout(-0.1), ValueError, ["p", "-0.1", "[0, 1)"]),
    ("dropout string", lambda: Dropout("0.5"), ValueError, ["p", "'0.5'"]),
    ("widths disagree", lambda: Network([Dense(3, 4), ReLU(), Dense(5, 2)]), ValueError,
     ["Dense(3, 4", "Dense(5, 2", "4 inputs"]),
    ("no dense", lambda: Network([ReLU()]), ValueError, ["Dense"]),
    ("not a layer", lambda: Network([Dense(3, 2), "relu"]), TypeError, ["layers[1]", "'relu'"]),
    ("unknown loss", lambda: mlp([3, 2], loss="hinge"), ValueError, ["loss", "hinge", "mse"]),
    ("unknown activation", lambda: mlp([3, 4, 2], activation="gelu"), ValueError, ["activation", "gelu", "relu"]),
    ("too few sizes", lambda: mlp([3]), ValueError, ["sizes", "[3]"]),
    ("int dtype", lambda: mlp([3, 2], dtype=np.int32), ValueError, ["dtype", "int32", "float32"]),
    ("negative seed", lambda: mlp([3, 2], seed=-1), ValueError, ["seed", "-1"]),
    ("sigmoid before bce", lambda: Network([Dense(3, 1), Sigmoid()], loss="binary_cross_entropy"), ValueError,
     ["Sigmoid", "logits"]),
    ("x too narrow", call({"sizes": [3, 2]}, "forward", np.zeros((4, 2))), ValueError,
     ["x", "(4, 2)", "3 inputs", "(n_samples, 3)"]),
    ("x one-dimensional", call({"sizes": [3, 2]}, "forward", np.zeros(3)), ValueError, ["x", "(3,)"]),
    ("x text", call({"sizes": [3, 2]}, "forward", np.array([["a", "b", "c"]])), TypeError, ["x", "dtype"]),
    ("x NaN", call({"sizes": [3, 2]}, "forward", np.array([[0.0, np.nan, 0.0]])), ae.NonFiniteError,
     ["x", "nan", "(0, 1)"]),
    ("label too large", call({"sizes": [3, 2]}, "loss_and_grads", X3, [0, 1, 2, 0]), ValueError,
     ["y[2] = 2", "2 outputs", "[0, 1]"]),
    ("negative label", call({"sizes": [3, 2]}, "loss_and_grads", X3, [0, -1, 1, 0]), ValueError, ["y[1] = -1"]),
    ("fractional label", call({"sizes": [3, 2]}, "loss_and_grads", X3, [0, 0.5, 1, 0]), TypeError,
     ["y", "integer", "float64"]),
    ("one-hot labels", call({"sizes": [3, 2]}, "loss_and_grads", X3, np.eye(2)[[0, 1, 1, 0]]), ValueError,
     ["y", "(4, 2)", "argmax"]),
    ("x and y lengths", call({"sizes": [3, 2]}, "loss_and_grads", X3, [0, 1, 1]), ValueError,
     ["x has 4 rows", "y has 3"]),
    ("bce target 2", call({"sizes": [3, 1], "loss": "binary_cross_entropy"}, "loss_and_grads", X3, [0, 1, 2, 0]),
     ValueError, ["y[2, 0] = 2", "[0, 1]"]),
    ("mse wrong width", call({"sizes": [3, 2], "loss": "mse"}, "loss_and_grads", X3, np.zeros((4, 3))), ValueError,
     ["y", "(4, 3)", "(n, 2)"]),
    ("mse NaN target", call({"sizes": [3, 1], "loss": "mse"}, "loss_and_grads", X3, [0, np.inf, 0, 0]),
     ae.NonFiniteError, ["y", "inf"]),
    ("params missing a layer", lambda: mlp([3, 4, 2]).forward({"dense0": mlp([3, 4, 2]).params["dense0"]}, X3),
     ValueError, ["params", "dense1"]),
    ("params wrong shape", lambda: mlp([3, 2]).forward({"dense0": {"W": np.zeros((2, 2)), "b": np.zeros(2)}}, X3),
     ValueError, ["params['dense0']['W']", "(2, 2)", "(3, 2)"]),
]


@pytest.mark.parametrize("what,fn,exc,words", BAD, ids=[case[0] for case in BAD])
def test_bad_input_raises_with_a_message_that_names_it(what, fn, exc, words):
    with pytest.raises(exc) as info:
        fn()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"
