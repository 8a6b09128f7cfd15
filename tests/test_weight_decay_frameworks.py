"""What chapter 5 (AdamW) says PyTorch 2.13 and Keras 3.15 do with ``weight_decay``, checked by running them.

- PyTorch's ``AdamW`` is its ``Adam`` with ``decoupled_weight_decay=True``; its plain ``Adam(weight_decay=λ)`` is Adam
  on the loss plus λ/2·‖w‖² (L2), which is not AdamW (the negative control).
- Every Keras optimizer applies ``weight_decay`` decoupled, by the current learning rate (schedule included) times
  λ, before its step: ``keras.optimizers.Adam(weight_decay=λ)`` takes the steps of ``keras.optimizers.AdamW``, and
  both those of ``ae.AdamW(eps=1e-7, eps_hat=True)``.
- The defaults the chapter quotes, and Keras's ``L2(l2)`` penalty, l2·Σw² without a ½.

The expected values come from the chapter's equations (the L2 gradient g + λw written out here, the hand value of
the penalty), not from the code under test.
"""

import inspect

import numpy as np
import pytest

import adamedu as ae

STEPS, LR, LAM = 40, 0.01, 0.1


def gradients(seed=0, steps=STEPS, size=5):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(size) * rng.choice([1e-3, 1.0, 30.0], size) for _ in range(steps)]


def start(size=5):
    return np.random.default_rng(1).standard_normal(size)


def torch_path(torch, make, grads_of):
    """Iterates of a torch optimizer; ``grads_of(w, t)`` gives the gradient at the current weights."""
    p = torch.nn.Parameter(torch.tensor(start()))
    opt, path = make([p]), []
    for t in range(STEPS):
        p.grad = torch.tensor(grads_of(p.detach().numpy(), t))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def ours_path(opt, grads_of):
    w = start()
    state, path = opt.init(w), []
    for t in range(STEPS):
        w, state = opt.step(w, grads_of(w, t), state)
        path.append(w)
    return np.array(path)


def keras_path(keras, opt):
    v = keras.Variable(start(), dtype="float64")
    path = []
    for g in gradients():
        opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), v)])
        path.append(keras.ops.convert_to_numpy(v).copy())
    return np.array(path)


def test_torch_adamw_is_adam_with_the_decoupled_flag(torch_float64):
    torch, gs = torch_float64, gradients()
    adamw = torch_path(torch, lambda p: torch.optim.AdamW(p, lr=LR, weight_decay=LAM), lambda w, t: gs[t])
    flag = torch_path(torch, lambda p: torch.optim.Adam(p, lr=LR, weight_decay=LAM, decoupled_weight_decay=True),
                      lambda w, t: gs[t])
    np.testing.assert_array_equal(adamw, flag)
    np.testing.assert_allclose(adamw, ours_path(ae.AdamW(lr=LR, weight_decay=LAM), lambda w, t: gs[t]), rtol=1e-12)


def test_torch_adam_weight_decay_is_l2_not_adamw(torch_float64):
    torch, gs = torch_float64, gradients()
    coupled = torch_path(torch, lambda p: torch.optim.Adam(p, lr=LR, weight_decay=LAM), lambda w, t: gs[t])
    # Adam, without any decay, on the gradient of f + λ/2 ||w||²: g + λ w (eq-adamw-gd-l2 of chapter 5)
    l2 = ours_path(ae.Adam(lr=LR), lambda w, t: gs[t] + LAM * w)
    np.testing.assert_allclose(coupled, l2, rtol=1e-12)
    adamw = ours_path(ae.AdamW(lr=LR, weight_decay=LAM), lambda w, t: gs[t])
    assert np.abs(coupled - adamw).max() > 1e-6  # negative control: L2 through Adam is not decoupled decay


@pytest.mark.parametrize("schedule", [False, True])
def test_keras_adam_weight_decay_is_adamw(keras_float64, schedule):
    keras = keras_float64

    def lr():  # a fresh schedule object per optimizer
        return keras.optimizers.schedules.ExponentialDecay(LR, decay_steps=1, decay_rate=0.9) if schedule else LR

    adam = keras_path(keras, keras.optimizers.Adam(learning_rate=lr(), weight_decay=LAM))
    adamw = keras_path(keras, keras.optimizers.AdamW(learning_rate=lr(), weight_decay=LAM))
    np.testing.assert_array_equal(adam, adamw)
    # decoupled, by the current learning rate times λ, before the step (Keras's rearranged ε)
    gs = gradients()
    ours = ours_path(ae.AdamW(lr=(lambda t: LR * 0.9 ** (t - 1)) if schedule else LR, weight_decay=LAM, eps=1e-7,
                              eps_hat=True), lambda w, t: gs[t])
    # rtol: Keras rounds β1, β2 to float32 in its bias corrections (test_reference.keras_adam_lr): ~1e-6 relative
    np.testing.assert_allclose(adam, ours, rtol=1e-5)
    coupled = ours_path(ae.Adam(lr=LR, eps=1e-7, eps_hat=True), lambda w, t: gs[t] + LAM * w)
    assert np.abs(adam - coupled).max() > 1e-3 * np.abs(adam).max()  # negative control: Keras's decay is not L2


def test_the_defaults_chapter_5_quotes(torch_float64):
    import keras

    def default(cls, name):
        return inspect.signature(cls.__init__).parameters[name].default

    torch = torch_float64
    assert default(torch.optim.AdamW, "weight_decay") == 0.01
    assert default(torch.optim.Adam, "weight_decay") == 0
    assert default(torch.optim.Adam, "eps") == 1e-8
    assert default(keras.optimizers.AdamW, "weight_decay") == 0.004
    assert default(keras.optimizers.Adam, "epsilon") == 1e-7
    assert "weight_decay" in inspect.signature(keras.optimizers.SGD.__init__).parameters  # every optimizer has it


def test_keras_l2_regularizer_has_no_half(keras_float64):
    keras = keras_float64
    penalty = keras.regularizers.L2(0.5)(keras.ops.convert_to_tensor(np.array([1.0, 2.0])))
    assert float(penalty) == pytest.approx(0.5 * (1.0 + 4.0))  # l2·Σw², so λ' = 2·l2 in the chapter's ½λ'‖w‖²
