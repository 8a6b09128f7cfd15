"""adamedu's optimizers against the reference implementations: Keras always, PyTorch when installed.

Each case runs our optimizer and the framework's side by side for 200 steps on the same seeded
gradients, in float64, and compares the parameters after every step, and the state (m, v, ...)
with the framework's slots wherever the two keep the same quantity. The pairs are those of
DESIGN.md ("Equivalences the tests hold to"), with default and with non-default hyperparameters,
so that a hyperparameter that is ignored or mistranslated shows up.
"""

import math

import numpy as np
import pytest

import adamedu as ae

STEPS = 200
RTOL = 1e-9

# Gradient magnitudes, one per coordinate (fixed for the run): exactly zero, far below eps, small,
# unit and large. A coordinate of scale 1e-8 is where the placement of eps decides the step.
SCALES = (0.0, 1e-8, 1e-3, 1.0, 1e2)


def initial_params(seed=0):
    """Three arrays of different shapes in a dict, so the structure handling is exercised too."""
    rng = np.random.default_rng(seed)
    return {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=(3,)), "gamma": rng.normal(size=(2, 2, 2))}


def gradient_sequence(params, steps=STEPS, seed=1):
    """Yield ``steps`` gradients shaped like ``params``: mixed scales and signs, some exact zeros."""
    rng = np.random.default_rng(seed)
    scale = {k: rng.permutation(np.resize(SCALES, w.size)).reshape(w.shape) for k, w in params.items()}
    for t in range(1, steps + 1):
        # A loud first quarter, then quieter: v shrinks afterwards, so AMSGrad's running maximum
        # (and the slower decay of AdaMax's u) decide the later steps.
        loudness = 10.0 if t <= steps // 4 else 1.0
        grads = {}
        for k, w in params.items():
            g = loudness * scale[k] * rng.standard_normal(w.shape)
            grads[k] = np.where(rng.random(w.shape) < 0.1, 0.0, g)  # ~10% exact zeros on any coordinate
        yield grads


def assert_same(ours, theirs, what, t, rtol=RTOL, atol=0.0):
    # atol = 0 unless a test justifies one: every value, however near zero, must agree to rtol (both
    # sides compute the same float64 expressions, up to the order of a few roundings)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=f"{what} after step {t}")


def identity(x):
    return x


def run_torch(torch, ours, make_theirs, slots, steps=STEPS):
    """Step ``ours`` and the torch optimizer ``make_theirs(tensors)`` together; compare after every step.

    ``slots`` maps a name in our state to ``(key in torch's per-parameter state, map to our quantity)``.
    """
    params = initial_params()
    tensors = {k: torch.tensor(w, requires_grad=True) for k, w in params.items()}
    theirs = make_theirs(list(tensors.values()))
    state = ours.init(params)
    for t, grads in enumerate(gradient_sequence(params, steps), start=1):
        params, state = ours.step(params, grads, state)
        for k, p in tensors.items():
            p.grad = torch.tensor(grads[k])  # a copy, so torch cannot alter an array we still use
        theirs.step()
        assert state.t == t
        for k, p in tensors.items():
            assert_same(params[k], p.detach().numpy(), f"params[{k!r}]", t)
            their_state = theirs.state[p]
            if "step" in their_state:
                assert int(their_state["step"]) == t
            for name, (key, to_ours) in slots.items():
                # per-array slots are dicts like params; a shared scalar (Nadam's mu_product) is not
                value = state[name][k] if isinstance(state[name], dict) else state[name]
                assert_same(value, to_ours(their_state[key].numpy()), f"state.{name}[{k!r}] vs torch {key!r}", t)


def compiled_apply_gradients(keras, optimizer, variables):
    """``optimizer.apply_gradients`` for ``variables``, as a tf.function on the TensorFlow backend.

    A traced step runs ~5x faster than an eager one (and is how ``model.fit`` runs it); it computes
    the same float64 operations. Other backends run eagerly.
    """
    def apply_gradients(grads):
        optimizer.apply_gradients(zip(grads, variables, strict=True))

    if keras.backend.backend() != "tensorflow":
        return apply_gradients
    import tensorflow as tf

    optimizer.build(variables)  # a tf.function may create variables only in its first trace; build them now
    return tf.function(apply_gradients)


def run_keras(keras, ours, theirs, slots, steps=STEPS, atol=0.0):
    """Step ``ours`` and the Keras optimizer ``theirs`` together; compare after every step.

    ``slots`` maps a name in our state to ``(attribute of the Keras optimizer holding one variable per
    parameter, in the order the parameters were first given, map to our quantity)``. These attributes
    are private to Keras; they are the only way to read its slots one by one.
    """
    params = initial_params()
    variables = {k: keras.Variable(w, dtype="float64", name=k) for k, w in params.items()}
    apply_gradients = compiled_apply_gradients(keras, theirs, list(variables.values()))
    state = ours.init(params)
    for t, grads in enumerate(gradient_sequence(params, steps), start=1):
        params, state = ours.step(params, grads, state)
        apply_gradients([keras.ops.convert_to_tensor(grads[k]) for k in variables])
        assert state.t == t == int(keras.ops.convert_to_numpy(theirs.iterations))
        for i, (k, v) in enumerate(variables.items()):
            assert_same(params[k], keras.ops.convert_to_numpy(v), f"params[{k!r}]", t, atol=atol)
            for name, (attr, to_ours) in slots.items():
                slot = keras.ops.convert_to_numpy(getattr(theirs, attr)[i])
                assert_same(state[name][k], to_ours(slot), f"state.{name}[{k!r}] vs keras {attr}", t)


# -- PyTorch ---------------------------------------------------------------------------------------

TORCH_ADAM_SLOTS = {"m": ("exp_avg", identity), "v": ("exp_avg_sq", identity)}


def torch_case(case_id, ours, make_theirs, slots=None):
    """``make_theirs(torch, tensors)`` builds the reference optimizer."""
    return pytest.param(ours, make_theirs, slots or {}, id=case_id)


TORCH_CASES = [
    torch_case("GradientDescent", ae.GradientDescent(lr=0.03),
               lambda torch, ps: torch.optim.SGD(ps, lr=0.03)),
    # torch's buffer u <- beta*u + g is our m / (1 - beta); hence its lr is ours times (1 - beta)
    torch_case("Momentum", ae.Momentum(lr=0.02, beta=0.8),
               lambda torch, ps: torch.optim.SGD(ps, lr=0.02 * (1 - 0.8), momentum=0.8),
               {"m": ("momentum_buffer", lambda u: (1 - 0.8) * u)}),
    torch_case("Momentum-nesterov", ae.Momentum(lr=0.02, beta=0.85, nesterov=True),
               lambda torch, ps: torch.optim.SGD(ps, lr=0.02 * (1 - 0.85), momentum=0.85, nesterov=True),
               {"m": ("momentum_buffer", lambda u: (1 - 0.85) * u)}),
    torch_case("AdaGrad-defaults", ae.AdaGrad(),
               lambda torch, ps: torch.optim.Adagrad(ps),
               {"G": ("sum", identity)}),
    torch_case("AdaGrad", ae.AdaGrad(lr=0.05, eps=1e-6, initial_accumulator=0.1),
               lambda torch, ps: torch.optim.Adagrad(ps, lr=0.05, eps=1e-6, initial_accumulator_value=0.1),
               {"G": ("sum", identity)}),
    torch_case("RMSprop", ae.RMSprop(lr=0.01, beta=0.95, eps=1e-6),
               lambda torch, ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.95, eps=1e-6),
               {"v": ("square_avg", identity)}),
    torch_case("Adam-defaults", ae.Adam(),
               lambda torch, ps: torch.optim.Adam(ps),
               TORCH_ADAM_SLOTS),
    torch_case("Adam", ae.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
               lambda torch, ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6),
               TORCH_ADAM_SLOTS),
    torch_case("AdamW-defaults", ae.AdamW(),
               lambda torch, ps: torch.optim.AdamW(ps),
               TORCH_ADAM_SLOTS),
    torch_case("AdamW", ae.AdamW(lr=0.01, beta1=0.85, beta2=0.995, eps=1e-7, weight_decay=0.1),
               lambda torch, ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.85, 0.995), eps=1e-7, weight_decay=0.1),
               TORCH_ADAM_SLOTS),
    torch_case("AMSGrad-defaults", ae.AMSGrad(),
               lambda torch, ps: torch.optim.Adam(ps, amsgrad=True),
               {**TORCH_ADAM_SLOTS, "v_max": ("max_exp_avg_sq", identity)}),
    torch_case("AMSGrad", ae.AMSGrad(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
               lambda torch, ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, amsgrad=True),
               {**TORCH_ADAM_SLOTS, "v_max": ("max_exp_avg_sq", identity)}),
    torch_case("AdaMax-defaults", ae.AdaMax(),
               lambda torch, ps: torch.optim.Adamax(ps),
               {"m": ("exp_avg", identity), "u": ("exp_inf", identity)}),
    torch_case("AdaMax", ae.AdaMax(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
               lambda torch, ps: torch.optim.Adamax(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6),
               {"m": ("exp_avg", identity), "u": ("exp_inf", identity)}),
    torch_case("Nadam-defaults", ae.Nadam(),
               lambda torch, ps: torch.optim.NAdam(ps),
               {**TORCH_ADAM_SLOTS, "mu_product": ("mu_product", identity)}),
    torch_case("Nadam", ae.Nadam(lr=0.01, beta1=0.85, beta2=0.99, eps=1e-6, momentum_decay=0.01),
               lambda torch, ps: torch.optim.NAdam(ps, lr=0.01, betas=(0.85, 0.99), eps=1e-6, momentum_decay=0.01),
               {**TORCH_ADAM_SLOTS, "mu_product": ("mu_product", identity)}),
    # rho_t first exceeds 5 at t = 6 for beta2 = 0.999 and for 0.99: both branches of RAdam run.
    torch_case("RAdam-defaults", ae.RAdam(),
               lambda torch, ps: torch.optim.RAdam(ps),
               TORCH_ADAM_SLOTS),
    torch_case("RAdam", ae.RAdam(lr=0.01, beta1=0.85, beta2=0.99, eps=1e-6),
               lambda torch, ps: torch.optim.RAdam(ps, lr=0.01, betas=(0.85, 0.99), eps=1e-6),
               TORCH_ADAM_SLOTS),
]


@pytest.mark.parametrize("ours, make_theirs, slots", TORCH_CASES)
def test_matches_torch(torch_float64, ours, make_theirs, slots):
    torch = torch_float64
    run_torch(torch, ours, lambda tensors: make_theirs(torch, tensors), slots)


# -- Keras -----------------------------------------------------------------------------------------
# Keras (TensorFlow backend) passes some Python-float hyperparameters through ops.cast(x, "float64"),
# that is tf.cast, which first makes a float32 tensor of x: SGD's momentum, Adagrad's
# initial_accumulator_value, the beta_1 and beta_2 of Adam's bias corrections beta**t, Lion's betas,
# and every weight_decay. Keras then computes with float32(x), off by up to 6e-8 relative; the
# learning rate (a floatx variable), epsilon and RMSprop's rho stay exact. So the cases below choose
# those hyperparameters exactly representable in float32 (0.75, 0.96875, 0.125, ...), where both
# sides compute the same float64 expressions. A "-defaults" case builds the Keras optimizer with no
# arguments; where Keras rounds a default, ours is given float32(default), or (Adam's betas, below)
# a learning-rate schedule that makes up for the rounding.


def float32(x):
    """The value Keras computes with for a Python float that it passes through ops.cast."""
    return float(np.float32(x))


def test_keras_rounds_cast_hyperparameters_to_float32(keras_float64):
    """The assumption behind the choices below; if a Keras release changes it, revisit them."""
    keras = keras_float64
    assert float(keras.ops.cast(0.9, "float64")) == float32(0.9) != 0.9
    assert float(keras.ops.cast(0.75, "float64")) == 0.75


KERAS_ADAM_SLOTS = {"m": ("_momentums", identity), "v": ("_velocities", identity)}


def keras_case(case_id, ours, make_theirs, slots=None):
    """``make_theirs(keras)`` builds the reference optimizer."""
    return pytest.param(ours, make_theirs, slots or {}, id=case_id)


KERAS_CASES = [
    keras_case("GradientDescent", ae.GradientDescent(lr=0.03),
               lambda keras: keras.optimizers.SGD(learning_rate=0.03)),
    # Keras keeps m_k <- beta*m_k - lr_k*g, with lr_k = lr*(1 - beta): m_k = -lr * (our m)
    keras_case("Momentum", ae.Momentum(lr=0.02, beta=0.75),
               lambda keras: keras.optimizers.SGD(learning_rate=0.02 * (1 - 0.75), momentum=0.75),
               {"m": ("momentums", lambda m_k: -m_k / 0.02)}),
    keras_case("Momentum-nesterov", ae.Momentum(lr=0.02, beta=0.875, nesterov=True),
               lambda keras: keras.optimizers.SGD(learning_rate=0.02 * (1 - 0.875), momentum=0.875, nesterov=True),
               {"m": ("momentums", lambda m_k: -m_k / 0.02)}),
    # Keras's Adagrad() has lr = 0.001 (ours 0.01, as torch) and starts from float32(0.1)
    keras_case("AdaGrad-defaults",
               ae.AdaGrad(lr=0.001, eps=1e-7, initial_accumulator=float32(0.1), eps_in_sqrt=True),
               lambda keras: keras.optimizers.Adagrad(),
               {"G": ("_accumulators", identity)}),
    keras_case("AdaGrad", ae.AdaGrad(lr=0.05, eps=1e-6, initial_accumulator=0.25, eps_in_sqrt=True),
               lambda keras: keras.optimizers.Adagrad(learning_rate=0.05, initial_accumulator_value=0.25, epsilon=1e-6),
               {"G": ("_accumulators", identity)}),
    keras_case("RMSprop-defaults", ae.RMSprop(eps=1e-7, eps_in_sqrt=True),
               lambda keras: keras.optimizers.RMSprop(),
               {"v": ("_velocities", identity)}),
    keras_case("RMSprop", ae.RMSprop(lr=0.01, beta=0.95, eps=1e-6, eps_in_sqrt=True),
               lambda keras: keras.optimizers.RMSprop(learning_rate=0.01, rho=0.95, epsilon=1e-6),
               {"v": ("_velocities", identity)}),
    keras_case("Adam", ae.Adam(lr=0.01, beta1=0.75, beta2=0.96875, eps=1e-6, eps_hat=True),
               lambda keras: keras.optimizers.Adam(learning_rate=0.01, beta_1=0.75, beta_2=0.96875, epsilon=1e-6),
               KERAS_ADAM_SLOTS),
    keras_case("AdamW", ae.AdamW(lr=0.01, beta1=0.875, beta2=0.9921875, eps=1e-6, eps_hat=True, weight_decay=0.125),
               lambda keras: keras.optimizers.AdamW(learning_rate=0.01, beta_1=0.875, beta_2=0.9921875, epsilon=1e-6,
                                                    weight_decay=0.125),
               KERAS_ADAM_SLOTS),
    keras_case("AMSGrad", ae.AMSGrad(lr=0.01, beta1=0.75, beta2=0.96875, eps=1e-6, eps_hat=True),
               lambda keras: keras.optimizers.Adam(learning_rate=0.01, beta_1=0.75, beta_2=0.96875, epsilon=1e-6,
                                                   amsgrad=True),
               {**KERAS_ADAM_SLOTS, "v_max": ("_velocity_hats", identity)}),
    # Keras's Lion() has lr = 1e-3 (ours 1e-4, the paper's suggestion) and uses its betas as float32
    keras_case("Lion-defaults", ae.Lion(lr=1e-3, beta1=float32(0.9), beta2=float32(0.99)),
               lambda keras: keras.optimizers.Lion(),
               {"m": ("_momentums", identity)}),
    keras_case("Lion", ae.Lion(lr=0.01, beta1=0.75, beta2=0.9375),
               lambda keras: keras.optimizers.Lion(learning_rate=0.01, beta_1=0.75, beta_2=0.9375),
               {"m": ("_momentums", identity)}),
    keras_case("Lion-weight-decay", ae.Lion(lr=0.01, beta1=0.75, beta2=0.9375, weight_decay=0.125),
               lambda keras: keras.optimizers.Lion(learning_rate=0.01, beta_1=0.75, beta_2=0.9375, weight_decay=0.125),
               {"m": ("_momentums", identity)}),
]


@pytest.mark.parametrize("ours, make_theirs, slots", KERAS_CASES)
def test_matches_keras(keras_float64, ours, make_theirs, slots):
    keras = keras_float64
    run_keras(keras, ours, make_theirs(keras), slots)


# Keras's Adam-family defaults, beta_1 = 0.9 and beta_2 = 0.999, are not float32 numbers, and Keras
# uses them both ways: exact in the moving averages (m += (g - m) * (1 - beta_1)), as float32 in the
# bias corrections (cast(beta_1) ** t). No single beta on our side does both; float32(0.999) alone
# moves √(1 − beta_2ᵗ) by 6e-6 to 7e-6 relative at every step of this run. A learning-rate schedule can:
# it swaps our bias corrections for Keras's.


def keras_adam_lr(lr, beta1=0.9, beta2=0.999):
    """A schedule for our ``eps_hat=True`` Adam that reproduces Keras's float32 bias corrections.

    Keras steps by lr·√(1 − b2ᵗ)/(1 − b1ᵗ)·m/(√v + ε) with b = float32(β); ours by lr(t)·√(1 − β2ᵗ)/(1 − β1ᵗ)·(...).
    """
    b1, b2 = float32(beta1), float32(beta2)

    def lr_t(t):
        return lr * (math.sqrt(1 - b2**t) / (1 - b1**t)) / (math.sqrt(1 - beta2**t) / (1 - beta1**t))

    return lr_t


KERAS_ADAM_DEFAULT_CASES = [
    keras_case("Adam-defaults", ae.Adam(lr=keras_adam_lr(1e-3), eps=1e-7, eps_hat=True),
               lambda keras: keras.optimizers.Adam(),
               KERAS_ADAM_SLOTS),
    keras_case("AMSGrad-defaults", ae.AMSGrad(lr=keras_adam_lr(1e-3), eps=1e-7, eps_hat=True),
               lambda keras: keras.optimizers.Adam(amsgrad=True),
               {**KERAS_ADAM_SLOTS, "v_max": ("_velocity_hats", identity)}),
]


@pytest.mark.parametrize("ours, make_theirs, slots", KERAS_ADAM_DEFAULT_CASES)
def test_matches_keras_adam_defaults(keras_float64, ours, make_theirs, slots):
    keras = keras_float64
    run_keras(keras, ours, make_theirs(keras), slots)


def test_matches_keras_adamw_defaults(keras_float64):
    """Keras's AdamW() is our AdamW(eps=1e-7, eps_hat=True, weight_decay=0.004) (ours defaults to 0.01, as torch).

    The schedule that fixes the bias corrections also scales our decay w·(1 − lr(t)·λ), by the ratio
    r(t) = lr(t)/lr, with |r(t) − 1| < 7e-6 for t ≤ 200; Keras decays by lr·λ·w, λ = float32(0.004) on
    both sides. Per step the two decays differ by at most lr·λ·7e-6·|w| < 8.4e-11 (|w| < 3 in this
    run), so over 200 steps by less than 1.7e-8 (1.2e-8 measured): hence atol = 2e-8 on the
    parameters. The state is held to RTOL alone, as everywhere.
    """
    keras = keras_float64
    ours = ae.AdamW(lr=keras_adam_lr(1e-3), eps=1e-7, eps_hat=True, weight_decay=float32(0.004))
    run_keras(keras, ours, keras.optimizers.AdamW(), KERAS_ADAM_SLOTS, atol=2e-8)


# -- negative controls: the comparison can fail ---------------------------------------------------

def test_eps_placement_is_detected_against_keras(keras_float64):
    """Adam puts eps on √v̂; Keras's Adam on √v (our eps_hat=True). With gradients ~1e-8 the steps differ."""
    keras = keras_float64
    hyper = {"lr": 0.01, "beta1": 0.75, "beta2": 0.96875, "eps": 1e-6}  # as the passing "Adam" case
    theirs = keras.optimizers.Adam(learning_rate=0.01, beta_1=0.75, beta_2=0.96875, epsilon=1e-6)
    with pytest.raises(AssertionError, match=r"params\[.*\] after step 1\b"):
        run_keras(keras, ae.Adam(**hyper, eps_hat=False), theirs, KERAS_ADAM_SLOTS, steps=5)


def test_our_adam_defaults_are_not_keras_adam_defaults(keras_float64):
    """Adam() adds eps = 1e-8 to √v̂, Keras's Adam() 1e-7 to √v: alike for ordinary gradients, not for tiny ones."""
    keras = keras_float64
    w0, g = np.zeros(3), np.array([1.0, -0.1, 1e-8])
    ours, _ = ae.Adam().step(w0, g, ae.Adam().init(w0))
    w = keras.Variable(w0, dtype="float64")
    keras.optimizers.Adam().apply_gradients([(keras.ops.convert_to_tensor(g), w)])
    theirs = keras.ops.convert_to_numpy(w)
    np.testing.assert_allclose(ours[:2], theirs[:2], rtol=1e-4)  # both ≈ −lr·sign(g): eps does not matter
    assert abs(ours[2]) > 100 * abs(theirs[2])  # ours: lr·g/(|g| + 1e-8) = lr/2; Keras's: ~lr/300


def test_torch_sgd_momentum_needs_the_rescaled_lr(torch_float64):
    """Momentum(lr, beta) is torch's SGD(lr·(1−β), momentum=beta), not SGD(lr, momentum=beta)."""
    torch = torch_float64
    with pytest.raises(AssertionError, match=r"params\[.*\] after step 1\b"):
        run_torch(torch, ae.Momentum(lr=0.02, beta=0.8),
                  lambda ps: torch.optim.SGD(ps, lr=0.02, momentum=0.8), {}, steps=5)

