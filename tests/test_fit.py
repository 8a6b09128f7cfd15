"""fit, evaluate and predict: learning real data sets, reproducibility, validation, divergence, bad input,
and one epoch against Keras's own fit."""

import math
import warnings

import numpy as np
import pytest

import adamedu as ae
from adamedu.nn import mlp
from adamedu.training import Divergence, History, evaluate, fit, predict, predict_classes

datasets = pytest.importorskip("sklearn.datasets")
preprocessing = pytest.importorskip("sklearn.preprocessing")
model_selection = pytest.importorskip("sklearn.model_selection")
metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture(scope="module")
def digits():
    X, y = datasets.load_digits(return_X_y=True)
    return preprocessing.StandardScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="module")
def moons():
    X, y = datasets.make_moons(n_samples=1000, noise=0.2, random_state=0)
    return model_selection.train_test_split(X, y, test_size=0.3, random_state=0)


def copy(params):
    return {name: {key: a.copy() for key, a in p.items()} for name, p in params.items()}


# -- it learns -------------------------------------------------------------------------------------


def test_digits_reach_95_percent_training_accuracy_with_adam_in_five_epochs(digits):
    X, y = digits
    net = mlp([64, 128, 10], seed=0)
    history = fit(net, X, y, ae.Adam(lr=1e-3), epochs=5, batch_size=32, seed=0)
    assert history.epochs == 5 and not history.diverged
    assert history.accuracy[-1] > 0.95
    assert evaluate(net, X, y)["accuracy"] > 0.95
    assert history.loss[0] > history.loss[-1]
    assert all(a.dtype == np.float32 for p in net.params.values() for a in p.values())


def test_moons_reach_85_percent_test_accuracy_with_binary_cross_entropy(moons):
    X_train, X_test, y_train, y_test = moons
    net = mlp([2, 16, 8, 1], loss="binary_cross_entropy", seed=0)
    chance = evaluate(net, X_test, y_test)["accuracy"]
    history = fit(net, X_train, y_train, ae.Adam(lr=0.01), epochs=40, seed=0)
    scores = evaluate(net, X_test, y_test)
    assert scores["accuracy"] > 0.85 > chance
    assert predict_classes(net, X_test).shape == y_test.shape
    assert np.mean(predict_classes(net, X_test) == y_test) == pytest.approx(scores["accuracy"])
    assert predict(net, X_test).shape == (len(X_test), 1)
    assert history.loss[-1] < 0.5 * history.loss[0]


def test_mse_regression_learns_a_sine():
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(256, 1))
    y = np.sin(X)
    net = mlp([1, 32, 1], activation="tanh", loss="mse", seed=0)
    history = fit(net, X, y, ae.Adam(lr=0.01), epochs=100, seed=0)
    assert history.accuracy == [] and "accuracy" not in evaluate(net, X, y)
    assert evaluate(net, X, y)["loss"] < 0.01 < history.loss[0]


# -- what History and evaluate report ----------------------------------------------------------------


def test_epoch_loss_is_the_sample_weighted_mean_of_the_batch_losses(digits):
    X, y = digits[0][:100], digits[1][:100]
    history = fit(mlp([64, 16, 10], seed=0), X, y, ae.Adam(), epochs=3, batch_size=32)
    assert len(history.batch_loss) == 3 * 4  # 32 + 32 + 32 + 4 samples per epoch
    sizes = np.array([32, 32, 32, 4])
    for epoch in range(3):
        batch = np.array(history.batch_loss[4 * epoch: 4 * epoch + 4])
        assert history.loss[epoch] == pytest.approx(np.sum(batch * sizes) / 100, rel=1e-12)


def test_evaluate_and_predict_agree_with_scikit_learn(digits):
    X, y = digits
    net = mlp([64, 32, 10], seed=1)
    fit(net, X, y, ae.Adam(), epochs=1)
    probabilities = predict(net, X)
    assert probabilities.shape == (len(X), 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    scores = evaluate(net, X, y)
    p64 = probabilities.astype(np.float64)
    assert scores["loss"] == pytest.approx(metrics.log_loss(y, p64 / p64.sum(axis=1, keepdims=True)), rel=1e-4)
    assert scores["accuracy"] == pytest.approx(metrics.accuracy_score(y, predict_classes(net, X)))


def test_evaluation_ignores_dropout(digits):
    X, y = digits
    net = mlp([64, 32, 10], dropout=0.5, seed=0)
    assert evaluate(net, X, y) == evaluate(net, X, y)  # no randomness at evaluation
    plain = mlp([64, 32, 10], seed=0)  # the same parameters without dropout
    assert evaluate(net, X, y) == evaluate(plain, X, y)


# -- reproducibility -------------------------------------------------------------------------------


def test_same_seed_gives_identical_histories_and_other_seeds_differ(digits):
    X, y = digits[0][:400], digits[1][:400]

    def run(net_seed, fit_seed):
        net = mlp([64, 32, 10], dropout=0.2, seed=net_seed)
        h = fit(net, X, y, ae.Adam(lr=3e-3), epochs=3, seed=fit_seed, validation_split=0.25)
        return (h.loss, h.accuracy, h.val_loss, h.val_accuracy, h.batch_loss), net.params

    first, params = run(0, 0)
    again, params_again = run(0, 0)
    assert first == again
    for name in params:
        for key in params[name]:
            np.testing.assert_array_equal(params[name][key], params_again[name][key])
    assert run(0, 1)[0][0] != first[0]  # another shuffle and other dropout masks
    assert run(1, 0)[0][0] != first[0]  # another initialization


def test_shuffle_changes_the_order_and_false_keeps_it(digits):
    X, y = digits[0][:200], digits[1][:200]
    ordered = [fit(mlp([64, 8, 10]), X, y, ae.GradientDescent(lr=0.1), epochs=2, shuffle=False, seed=s).batch_loss
               for s in (0, 1)]
    assert ordered[0] == ordered[1]  # without shuffling or dropout the seed has nothing to decide
    shuffled = fit(mlp([64, 8, 10]), X, y, ae.GradientDescent(lr=0.1), epochs=2, seed=0).batch_loss
    assert shuffled != ordered[0]


def test_continuing_from_the_returned_state_equals_one_longer_run(digits):
    X, y = digits[0][:300], digits[1][:300]
    long = mlp([64, 16, 10], seed=0)
    fit(long, X, y, ae.Adam(lr=1e-2), epochs=2, shuffle=False)
    split = mlp([64, 16, 10], seed=0)
    h = fit(split, X, y, ae.Adam(lr=1e-2), epochs=1, shuffle=False)
    assert h.state.t == 10
    fit(split, X, y, ae.Adam(lr=1e-2), epochs=1, shuffle=False, state=h.state)
    restarted = mlp([64, 16, 10], seed=0)
    fit(restarted, X, y, ae.Adam(lr=1e-2), epochs=1, shuffle=False)
    fit(restarted, X, y, ae.Adam(lr=1e-2), epochs=1, shuffle=False)  # Adam's moments start again from 0
    np.testing.assert_allclose(split.params["dense0"]["W"], long.params["dense0"]["W"], rtol=1e-6)
    assert not np.allclose(restarted.params["dense0"]["W"], long.params["dense0"]["W"], rtol=1e-6)


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,split,n_train", [(100, 0.25, 75), (10, 0.25, 7), (1797, 0.2, 1437), (3, 0.5, 1)])
def test_validation_split_holds_out_the_last_samples_as_keras_does(digits, n, split, n_train):
    X, y = digits[0][:n], digits[1][:n]
    net = mlp([64, 8, 10], seed=0)
    history = fit(net, X, y, ae.Adam(), epochs=1, batch_size=1, validation_split=split)
    assert len(history.batch_loss) == n_train  # one step per training sample
    assert history.val_loss == [evaluate(net, X[n_train:], y[n_train:])["loss"]]
    assert history.val_accuracy == [evaluate(net, X[n_train:], y[n_train:])["accuracy"]]


def test_validation_data_is_evaluated_after_every_epoch(digits):
    X, y = digits
    net = mlp([64, 16, 10], seed=0)
    history = fit(net, X[:1000], y[:1000], ae.Adam(), epochs=3, validation_data=(X[1000:], y[1000:]))
    assert len(history.val_loss) == len(history.val_accuracy) == 3
    assert history.val_loss[-1] == evaluate(net, X[1000:], y[1000:])["loss"]
    assert history.val_loss[0] > history.val_loss[-1]
    assert fit(net, X, y, ae.Adam(), epochs=1).val_loss == []


# -- divergence ------------------------------------------------------------------------------------


def test_a_refused_step_stops_the_run_cleanly(digits):
    X, y = digits
    net = mlp([64, 32, 1], loss="mse", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no wall of overflow warnings
        history = fit(net, X, y.astype(float), ae.GradientDescent(lr=1.0), epochs=5, verbose=False)
    assert isinstance(history.diverged_at, Divergence)
    assert history.diverged_at.epoch == 1 and 1 < history.diverged_at.step < 57
    assert history.loss == [] and len(history.batch_loss) == history.diverged_at.step - 1
    assert history.state.t == history.diverged_at.step - 1
    assert all(np.all(np.isfinite(a)) for p in net.params.values() for a in p.values())
    assert "GradientDescent" in history.diverged_at.reason or "loss" in history.diverged_at.reason


def test_verbose_prints_one_line_per_epoch(digits, capsys):
    X, y = digits[0][:100], digits[1][:100]
    fit(mlp([64, 8, 10]), X, y, ae.Adam(), epochs=2, validation_split=0.2, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2") and "val_accuracy" in lines[1]


# -- bad input -------------------------------------------------------------------------------------

rng = np.random.default_rng(0)
X8, y8 = rng.normal(size=(8, 4)), rng.integers(0, 3, size=8)

BAD = [
    ({"batch_size": 0}, ValueError, ["batch_size", "0", ">= 1"]),
    ({"batch_size": -4}, ValueError, ["batch_size", "-4"]),
    ({"batch_size": 2.5}, ValueError, ["batch_size", "2.5"]),
    ({"epochs": -1}, ValueError, ["epochs", "-1", ">= 0"]),
    ({"seed": None}, ValueError, ["seed", "None"]),
    ({"validation_split": 1.0}, ValueError, ["validation_split", "1.0", "[0, 1)"]),
    ({"validation_split": -0.1}, ValueError, ["validation_split", "-0.1"]),
    ({"validation_split": "0.2"}, ValueError, ["validation_split", "'0.2'"]),
    ({"validation_split": 0.9}, ValueError, ["validation_split=0.9", "8 samples", "leaves 0 for training"]),
    ({"validation_split": 0.2, "validation_data": (X8, y8)}, ValueError, ["validation_split", "validation_data"]),
    ({"validation_data": X8}, ValueError, ["validation_data", "pair"]),
    ({"validation_data": (X8[:, :3], y8)}, ValueError, ["validation_data[0]", "(8, 3)", "4 inputs"]),
    ({"validation_data": (X8, y8 + 3)}, ValueError, ["validation_data[1][0]", "[0, 2]"]),
    ({"validation_data": (X8, y8[:5])}, ValueError, ["validation_data[0] has 8 rows", "validation_data[1] has 5"]),
    ({"X": X8[:6]}, ValueError, ["x has 6 rows", "y has 8"]),
    ({"X": X8[:, :2]}, ValueError, ["x", "(8, 2)", "4 inputs"]),
    ({"y": np.where(y8 == 0, 7, y8)}, ValueError, ["y[", "= 7", "[0, 2]"]),
    ({"X": X8[:0], "y": y8[:0]}, ValueError, ["x", "no samples"]),
    ({"optimizer": "adam"}, TypeError, ["optimizer", "'adam'"]),
]


@pytest.mark.parametrize("change,exc,words", BAD, ids=[str(sorted(c[0])) + str(i) for i, c in enumerate(BAD)])
def test_bad_fit_input_raises_naming_the_parameter_and_changes_nothing(change, exc, words):
    net = mlp([4, 5, 3], seed=0)
    before = copy(net.params)
    args = {"X": X8, "y": y8, "optimizer": ae.Adam(), "epochs": 1, **change}
    with pytest.raises(exc) as info:
        fit(net, args.pop("X"), args.pop("y"), args.pop("optimizer"), **args)
    for word in words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"
    assert all(np.array_equal(net.params[n][k], before[n][k]) for n in before for k in before[n])


def test_bad_evaluate_and_predict_input():
    net = mlp([4, 5, 3], seed=0)
    with pytest.raises(ValueError, match="x has 8 rows but y has 7"):
        evaluate(net, X8, y8[:7])
    with pytest.raises(ValueError, match=r"shape \(8, 5\)"):
        predict(net, np.zeros((8, 5)))
    with pytest.raises(ValueError, match="'mse'"):
        predict_classes(mlp([4, 1], loss="mse"), X8)


def test_history_defaults():
    h = History()
    assert h.epochs == 0 and not h.diverged and h.loss == []


# -- against Keras ---------------------------------------------------------------------------------


def test_one_epoch_equals_keras_fit_from_the_same_weights(digits):
    keras = pytest.importorskip("keras")
    X, y = digits[0][:640], digits[1][:640]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    net = mlp([64, 32, 10])
    W0, b0, W1, b1 = model.get_weights()
    net.params = {"dense0": {"W": W0, "b": b0}, "dense1": {"W": W1, "b": b1}}
    expected = model.fit(X, y, epochs=2, batch_size=32, shuffle=False, verbose=0).history
    history = fit(net, X, y, ae.Adam(lr=1e-3, eps=1e-7, eps_hat=True), epochs=2, batch_size=32, shuffle=False)
    np.testing.assert_allclose(history.loss, expected["loss"], rtol=1e-4)
    np.testing.assert_allclose(history.accuracy, expected["accuracy"], rtol=1e-6)
    for ours, theirs in zip([net.params["dense0"]["W"], net.params["dense1"]["b"]],
                            [model.get_weights()[0], model.get_weights()[3]], strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert math.isfinite(history.loss[-1])
