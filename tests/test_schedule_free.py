"""ae.ScheduleFreeAdamW against keras.optimizers.ScheduleFreeAdamW (Keras 3.15.1), every step, state too.

Keras's update_step (keras/src/optimizers/schedule_free_adamw.py, v3.15.1) saves ``momentum_old =
momentum.value`` to recover the average x from the old z after z has moved. On the TensorFlow backend
``.value`` is the live tf.Variable, not a copy, so the read after ``assign_sub`` sees the *new* z:
Keras then recovers x from the new z, which is not the paper's algorithm (Defazio et al. 2024,
Algorithm 1; the authors' AdamWScheduleFree recovers x before z moves) and not what the same Keras
code computes on a backend whose values are immutable. The tests therefore run Keras's own
update_step with ``momentum.value`` read as a snapshot (``keras_run(..., snapshot=True)``, the
code's intent), and check separately that the shipped TF behaviour is exactly that aliased read.

Float64 variables; the learning rates are exact in float32, since Keras keeps its learning rate in a float32
variable and casts it (β₁, β₂, ε are Python floats that Keras casts to the variable's float64 exactly).
Keras keeps y in the variable and z in its "momentum" slot, v in "velocity".
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import adamedu as ae  # noqa: E402


class _Snapshot:
    """A Keras variable whose ``.value`` is a copy taken when read (as on an immutable backend)."""

    def __init__(self, var):
        self._var = var

    @property
    def value(self):
        import keras

        return keras.ops.copy(self._var.value)

    def __getattr__(self, name):
        return getattr(self._var, name)


def keras_run(w0, grads, snapshot=True, **kwargs):
    from adamedu.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras

    var = keras.Variable(np.array(w0, dtype=np.float64), dtype="float64")
    opt = keras.optimizers.ScheduleFreeAdamW(**kwargs)
    opt.build([var])
    if snapshot:
        opt._momentums = [_Snapshot(m) for m in opt._momentums]
    out = []
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(np.asarray(g, np.float64)), var)])
        out.append((var.numpy().copy(), opt._momentums[0].numpy().copy(), opt._velocities[0].numpy().copy()))
    return out


def ours_run(opt, w0, grads):
    w = np.array(w0, dtype=np.float64)
    state = opt.init(w)
    out = []
    for g in grads:
        w, state = opt.step(w, np.asarray(g, np.float64), state)
        out.append((w, state.z, state.v))
    return out


def grads_of(w0, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, len(w0))) * np.array([1.0, 10.0, 0.01, 3.0])[: len(w0)]


def f32(x):
    """The float64 value of x rounded to float32: what Keras's ops.cast(0.999, "float64") gives."""
    return float(np.float32(x))


# Keras turns its Python-float β₁, β₂, ε into float32 tensors before casting them to the variable's float64,
# so adamedu gets the float32 roundings of Keras's defaults (0.9, 0.999, 1e-8).
DEFAULTS = dict(beta1=f32(0.9), beta2=f32(0.999), eps=f32(1e-8))

CASES = [  # adamedu keywords, Keras keywords
    (dict(lr=2.0**-7, **DEFAULTS), dict(learning_rate=2.0**-7)),
    (dict(lr=2.0**-5, beta1=0.5, beta2=1 - 2.0**-7, eps=2.0**-20),
     dict(learning_rate=2.0**-5, beta_1=0.5, beta_2=1 - 2.0**-7, epsilon=2.0**-20)),
    (dict(lr=0.0625, warmup_steps=7, **DEFAULTS), dict(learning_rate=0.0625, warmup_steps=7)),
    (dict(lr=0.125, weight_decay=0.25, warmup_steps=3, **DEFAULTS),
     dict(learning_rate=0.125, weight_decay=0.25, warmup_steps=3)),
]


@pytest.mark.parametrize(("mine", "theirs"), CASES)
def test_equals_keras_every_step_and_state(mine, theirs):
    w0 = [0.5, -1.5, 2.0, 0.0]
    grads = grads_of(w0, 20)
    for step, ((w, z, v), (kw, kz, kv)) in enumerate(zip(ours_run(ae.ScheduleFreeAdamW(**mine), w0, grads),
                                                          keras_run(w0, grads, **theirs), strict=True), 1):
        np.testing.assert_allclose(w, kw, rtol=1e-13, atol=1e-15, err_msg=f"y at step {step}")
        np.testing.assert_allclose(z, kz, rtol=1e-13, atol=1e-15, err_msg=f"z at step {step}")
        np.testing.assert_allclose(v, kv, rtol=1e-13, atol=1e-300, err_msg=f"v at step {step}")


def test_shipped_keras_on_tensorflow_reads_z_after_its_update():
    """Keras as shipped (TF backend): x is recovered from the new z. A hand-written loop with that read equals
    it exactly; adamedu (the paper's order) does not, by a margin the tests above would see."""
    w0 = np.array([0.5, -1.5, 2.0, 0.0])
    grads = grads_of(w0, 6)
    lr, b1, b2, eps = 2.0**-7, DEFAULTS["beta1"], DEFAULTS["beta2"], DEFAULTS["eps"]
    shipped = keras_run(w0, grads, snapshot=False, learning_rate=lr)
    y, z, v = w0.copy(), w0.copy(), np.zeros(4)
    for t, (g, (ky, kz, _)) in enumerate(zip(grads, shipped, strict=True), 1):
        v = b2 * v + (1 - b2) * g * g
        z = z - lr * g / (np.sqrt(v / (1 - b2**t)) + eps)
        x = (y - (1 - b1) * z) / b1  # the new z: the aliased read
        x = (1 - 1 / t) * x + z / t
        y = (1 - b1) * z + b1 * x
        np.testing.assert_allclose(y, ky, rtol=1e-13)
        np.testing.assert_allclose(z, kz, rtol=1e-13)
    ours = ours_run(ae.ScheduleFreeAdamW(lr=lr, **DEFAULTS), w0, grads)[-1][0]
    assert not np.allclose(ours, shipped[-1][0], rtol=1e-4)


def test_negative_control_float64_defaults_differ_from_keras():
    """β₂ = 0.999 in float64 is not Keras's float32 0.999: v differs at 1e-5, which the tests above would see."""
    w0 = [0.5, -1.5, 2.0, 0.0]
    grads = grads_of(w0, 3)
    v = ours_run(ae.ScheduleFreeAdamW(lr=2.0**-7), w0, grads)[-1][2]
    assert not np.allclose(v, keras_run(w0, grads, learning_rate=2.0**-7)[-1][2], rtol=1e-7)


def test_negative_control_plain_adam_differs_from_keras():
    w0 = [0.5, -1.5, 2.0, 0.0]
    grads = grads_of(w0, 5)
    w = np.array(w0)
    opt = ae.Adam(lr=2.0**-7)
    state = opt.init(w)
    for g in grads:
        w, state = opt.step(w, g, state)
    w_adam = w
    kw = keras_run(w0, grads, learning_rate=2.0**-7)[-1][0]
    assert not np.allclose(w_adam, kw, rtol=1e-6)
    # and a warm-up off by one step (t - 1 instead of t) would show
    off = ours_run(ae.ScheduleFreeAdamW(lr=0.0625, warmup_steps=8, **DEFAULTS), w0, grads)[-1][0]
    assert not np.allclose(off, keras_run(w0, grads, learning_rate=0.0625, warmup_steps=7)[-1][0], rtol=1e-9)


def test_hand_derived_first_steps():
    """Step 1: x = z (weight 1), so y = z = w - lr·g/(|g| + ε); step 2 from there by hand."""
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    opt = ae.ScheduleFreeAdamW(lr=lr, beta1=b1, beta2=b2, eps=eps)
    w = np.array([1.0, -2.0])
    g1, g2 = np.array([0.5, -4.0]), np.array([-1.0, 2.0])
    state = opt.init(w)
    w1, state = opt.step(w, g1, state)
    z1 = w - lr * g1 / (np.abs(g1) + eps)
    np.testing.assert_allclose(w1, z1, rtol=1e-15)
    np.testing.assert_allclose(opt.averaged(w1, state), z1, rtol=1e-14)
    w2, state = opt.step(w1, g2, state)
    v2 = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    z2 = z1 - lr * g2 / (np.sqrt(v2 / (1 - b2**2)) + eps)
    x2 = 0.5 * z1 + 0.5 * z2
    np.testing.assert_allclose(state.z, z2, rtol=1e-15)
    np.testing.assert_allclose(w2, (1 - b1) * z2 + b1 * x2, rtol=1e-14)
    np.testing.assert_allclose(opt.averaged(w2, state), x2, rtol=1e-13)


def test_zeroed_z_is_set_on_the_first_step():
    """Engines create zeroed slots; step 1 sets z to the parameters, so the run is the same."""
    opt = ae.ScheduleFreeAdamW(lr=0.01)
    w = np.array([1.0, -2.0, 3.0])
    a, state = w, opt.init(w)
    assert not state.z.any()  # every slot starts at zero; step 1 sets z to w
    b, zeroed = w, ae.State(t=0, z=np.full(3, 7.0), v=np.zeros(3))  # whatever z holds before step 1
    for g in grads_of(w, 4, seed=2)[:, :3]:
        a, state = opt.step(a, g, state)
        b, zeroed = opt.step(b, g, zeroed)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(state.z, zeroed.z)


def test_averaged_is_the_mean_of_the_z():
    opt = ae.ScheduleFreeAdamW(lr=0.05)
    w = np.array([1.0, -2.0])
    state = opt.init(w)
    zs = []
    for g in grads_of(w, 10, seed=3)[:, :2]:
        w, state = opt.step(w, g, state)
        zs.append(state.z)
    np.testing.assert_allclose(opt.averaged(w, state), np.mean(zs, axis=0), rtol=1e-12)
    tree = {"a": np.ones(2), "b": [np.zeros(3)]}
    assert ae.ScheduleFreeAdamW().averaged(tree, ae.ScheduleFreeAdamW().init(tree))["b"][0].shape == (3,)


def test_through_to_keras_equals_keras():
    from adamedu.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras

    from adamedu.keras import to_keras

    w0 = [0.5, -1.5, 2.0, 0.0]
    grads = grads_of(w0, 8)
    var = keras.Variable(np.array(w0), dtype="float64")
    opt = to_keras(ae.ScheduleFreeAdamW(lr=2.0**-6, warmup_steps=3, **DEFAULTS))
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
    np.testing.assert_allclose(var.numpy(), keras_run(w0, grads, learning_rate=2.0**-6, warmup_steps=3)[-1][0],
                               rtol=1e-13)


@pytest.mark.parametrize(("kwargs", "words"), [
    (dict(beta1=0.0), "ScheduleFreeAdamW: beta1 must be a number in (0, 1), got 0.0"),
    (dict(beta1=1.0), "ScheduleFreeAdamW: beta1 must be a number in (0, 1), got 1.0"),
    (dict(warmup_steps=2.5), "ScheduleFreeAdamW: warmup_steps must be a whole number >= 0, got 2.5"),
    (dict(warmup_steps=-1), "ScheduleFreeAdamW: warmup_steps must be a finite number >= 0, got -1"),
    (dict(lr=-0.1), "ScheduleFreeAdamW: lr must be a finite number >= 0"),
    (dict(warmup=10), "ScheduleFreeAdamW calls it warmup_steps"),
    (dict(decoupled_weight_decay=False), "ScheduleFreeAdamW's decay is decoupled"),
])
def test_bad_input_named(kwargs, words):
    with pytest.raises((ValueError, TypeError)) as err:
        ae.ScheduleFreeAdamW(**kwargs)
    assert words in str(err.value)


def test_averaged_refuses_a_foreign_state():
    opt = ae.ScheduleFreeAdamW()
    state = opt.init({"a": np.ones(2)})
    state["t"] = 1
    with pytest.raises(ValueError, match="state.z does not have the structure of params"):
        opt.averaged({"a": np.ones(2), "b": np.ones(1)}, state)
