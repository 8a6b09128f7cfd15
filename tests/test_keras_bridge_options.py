"""adamedu.keras: weight-decay exclusion and Keras's own optimizer options, in a real ``model.fit``.

Keras's options (clipnorm, clipvalue, global_clipnorm, use_ema, gradient_accumulation_steps,
loss_scale_factor) act around the update rule; each is compared with Keras's own Adam given the same
option, and shown to matter (the weights move elsewhere without it).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is first imported

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from test_keras_bridge import fit, mismatch, regression_data  # noqa: E402

import adamedu as ae  # noqa: E402
from adamedu.keras import to_keras  # noqa: E402

K = keras.optimizers
KERAS_ADAM = ae.Adam(lr=0.01, eps=1e-7, eps_hat=True)  # equals keras.optimizers.Adam(0.01)

OPTIONS = [
    {"clipnorm": 0.05},
    {"clipvalue": 0.01},
    {"global_clipnorm": 0.05},
    {"use_ema": True, "ema_momentum": 0.9},
    {"gradient_accumulation_steps": 2},
    {"loss_scale_factor": 128.0},
]


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: next(iter(o)))
def test_keras_options_pass_through_model_fit(option):
    initial, ours = fit(to_keras(KERAS_ADAM, **option))
    _, theirs = fit(K.Adam(0.01, **option))
    _, plain = fit(K.Adam(0.01))
    assert mismatch(ours, theirs) <= 1
    if "loss_scale_factor" in option:  # scaled up and back down: the same step, by design
        assert mismatch(ours, plain) <= 1
    else:
        assert mismatch(ours, plain) > 10  # the option took effect
    assert mismatch(ours, initial) > 100


def zero_loss(y, p):
    return 0.0 * keras.ops.mean(p)


def one_zero_loss_step(optimizer):
    """A Dense layer with all weights 1.0 after one step of zero loss: only weight decay moves them."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones",
                                                                    bias_initializer="ones")])
    model.compile(optimizer=optimizer, loss=zero_loss)
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), batch_size=4, epochs=1, verbose=0)
    kernel, bias = model.get_weights()
    return kernel, bias


def keras_adamw_excluding_bias():
    opt = K.AdamW(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    return opt


def ours_by_keras_method():
    opt = to_keras(ae.AdamW(lr=0.1, weight_decay=0.5))
    opt.exclude_from_weight_decay(var_names=["bias"])
    return opt




@pytest.mark.parametrize("make", [
    lambda: to_keras(ae.AdamW(lr=0.1, weight_decay=0.5, exclude_from_weight_decay=("bias",))),
    ours_by_keras_method,
    lambda: to_keras(ae.Adam(lr=0.1, weight_decay=0.5, decoupled_weight_decay=True,
                             exclude_from_weight_decay=("bias",))),
], ids=["AdamW-option", "keras-method", "Adam-decoupled-option"])
def test_excluded_bias_stays_at_one_like_keras_adamw(make):
    """The bug of issue 10: the bias, excluded by name, must stay at 1.0 (it shrank to 0.95)."""
    kernel, bias = one_zero_loss_step(make())
    kernel_k, bias_k = one_zero_loss_step(keras_adamw_excluding_bias())
    np.testing.assert_array_equal(bias, np.ones(2, "float32"))
    np.testing.assert_array_equal(bias_k, np.ones(2, "float32"))
    np.testing.assert_allclose(kernel, 1 - 0.1 * 0.5, rtol=1e-6)  # the kernel decays: w·(1 − lr·λ)
    np.testing.assert_allclose(kernel, kernel_k, rtol=1e-6)


def test_exclusion_by_var_list():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones",
                                                                    bias_initializer="ones")])
    opt = to_keras(ae.AdamW(lr=0.1, weight_decay=0.5))
    opt.exclude_from_weight_decay(var_list=[model.layers[0].kernel])
    model.compile(optimizer=opt, loss=zero_loss)
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), batch_size=4, epochs=1, verbose=0)
    kernel, bias = model.get_weights()
    np.testing.assert_array_equal(kernel, np.ones((3, 2), "float32"))
    np.testing.assert_allclose(bias, 0.95, rtol=1e-6)


def test_without_exclusion_the_bias_decays():
    """Negative control: the zero-loss step does decay what is not excluded."""
    _, bias = one_zero_loss_step(to_keras(ae.AdamW(lr=0.1, weight_decay=0.5)))
    np.testing.assert_allclose(bias, 0.95, rtol=1e-6)


def test_exclusion_that_matches_no_variable_is_refused():
    opt = to_keras(ae.AdamW(lr=0.1, weight_decay=0.5, exclude_from_weight_decay=("bais",)))
    with pytest.raises(ValueError, match=r"'bais'.*match no parameter.*bias"):
        one_zero_loss_step(opt)


def test_exclusion_after_build_is_refused():
    opt = to_keras(ae.AdamW())
    opt.build([keras.Variable(np.ones(2, "float32"), name="w")])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["w"])


def test_exclusion_survives_serialization():
    opt = to_keras(ae.AdamW(exclude_from_weight_decay=("bias",)))
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert again.rule.exclude_from_weight_decay == ("bias",)


_ = regression_data  # shared data of the model.fit helper
