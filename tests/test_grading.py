"""adamedu.grading.check: accepts any correct implementation, names each classic mistake."""

import numpy as np
import pytest

from adamedu.grading import EXERCISES, check

# -- correct implementations, in several styles -------------------------------------------------------------


def gd_plain(w, g, lr):
    return w - lr * g


def gd_copy_then_inplace(w, g, lr):
    w = np.array(w, copy=True)
    w -= lr * g
    return w


def momentum_plain(w, g, m, lr, beta):
    m = beta * m + (1 - beta) * g
    return w - lr * m, m


def momentum_lerp(w, g, m, lr, beta):
    m = m + (1 - beta) * (g - m)  # the same average, written as an interpolation (PyTorch's lerp)
    return w - lr * m, m


def rmsprop_plain(w, g, v, lr, beta, eps):
    v = beta * v + (1 - beta) * g**2
    return w - lr * g / (np.sqrt(v) + eps), v


def adam_paper(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * np.square(g)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_torch_style(w, g, m, v, t, lr, beta1, beta2, eps):
    m = m + (g - m) * (1 - beta1)
    v = v * beta2 + (1 - beta2) * g * g
    step_size = lr / (1 - beta1**t)
    denom = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
    return w - step_size * m / denom, m, v


def adam_list_output(w, g, m, v, t, lr, beta1, beta2, eps):
    return list(adam_paper(w, g, m, v, t, lr, beta1, beta2, eps))


def adamw_plain(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    w = w * (1 - lr * weight_decay)
    return adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)


def adamw_subtract(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    w = w - lr * weight_decay * w
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@pytest.mark.parametrize("name, fn", [
    ("gd_step", gd_plain), ("gd_step", gd_copy_then_inplace),
    ("momentum_step", momentum_plain), ("momentum_step", momentum_lerp),
    ("rmsprop_step", rmsprop_plain),
    ("adam_step", adam_paper), ("adam_step", adam_torch_style), ("adam_step", adam_list_output),
    ("adamw_step", adamw_plain), ("adamw_step", adamw_subtract),
], ids=lambda x: x if isinstance(x, str) else x.__name__)
def test_correct_implementations_pass_with_one_line(name, fn, capsys):
    check(name, fn)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("✓") and name in out[0]


# -- wrong implementations: each must be diagnosed by name --------------------------------------------------


def adam_no_bias_correction(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return w - lr * m / (np.sqrt(v) + eps), m, v


def adam_eps_in_sqrt(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return w - lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps), m, v


def adam_abs_g(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * np.abs(g)
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def adam_plain_g(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def adam_t_from_zero(w, g, m, v, t, lr, beta1, beta2, eps):
    return adam_paper(w, g, m, v, t - 1, lr, beta1, beta2, eps)


def adam_t_plus_one(w, g, m, v, t, lr, beta1, beta2, eps):
    return adam_paper(w, g, m, v, t + 1, lr, beta1, beta2, eps)


def adam_only_m_corrected(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v) + eps), m, v


def adam_sign_error(w, g, m, v, t, lr, beta1, beta2, eps):
    new_w, m, v = adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)
    return w + (w - new_w), m, v


def adam_swapped_betas(w, g, m, v, t, lr, beta1, beta2, eps):
    m = (1 - beta1) * m + beta1 * g
    v = (1 - beta2) * v + beta2 * g**2
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def adam_wrong_order(w, g, m, v, t, lr, beta1, beta2, eps):
    new_w, m, v = adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)
    return m, v, new_w


def adam_in_place(w, g, m, v, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    w -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w, m, v


def adam_returns_w_only(w, g, m, v, t, lr, beta1, beta2, eps):
    return adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)[0]


def adam_forgot_return(w, g, m, v, t, lr, beta1, beta2, eps):
    adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)


def adam_stub(w, g, m, v, t, lr, beta1, beta2, eps):
    raise NotImplementedError


def adam_typo(w, g, m, v, t, lr, beta1, beta2, eps):
    return w - lr * mhat, m, v  # noqa: F821 - the student's NameError


def adamw_l2(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    return adam_paper(w, g + weight_decay * w, m, v, t, lr, beta1, beta2, eps)


def adamw_unscaled(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    return adam_paper(w * (1 - weight_decay), g, m, v, t, lr, beta1, beta2, eps)


def adamw_after(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    new_w, m, v = adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)
    return new_w * (1 - lr * weight_decay), m, v


def adamw_no_bias_correction(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    return adam_no_bias_correction(w * (1 - lr * weight_decay), g, m, v, t, lr, beta1, beta2, eps)


def momentum_framework(w, g, m, lr, beta):
    m = beta * m + g
    return w - lr * m, m


def momentum_stale(w, g, m, lr, beta):
    return w - lr * m, beta * m + (1 - beta) * g


def momentum_nesterov(w, g, m, lr, beta):
    m = beta * m + (1 - beta) * g
    return w - lr * (beta * m + (1 - beta) * g), m


def rmsprop_eps_in_sqrt(w, g, v, lr, beta, eps):
    v = beta * v + (1 - beta) * g**2
    return w - lr * g / np.sqrt(v + eps), v


def rmsprop_no_sqrt(w, g, v, lr, beta, eps):
    v = beta * v + (1 - beta) * g**2
    return w - lr * g / (v + eps), v


def gd_sign(w, g, lr):
    return w + lr * g


def gd_no_lr(w, g, lr):
    return w - g


WRONG = [
    ("adam_step", adam_no_bias_correction, ["no bias correction"]),
    ("adam_step", adam_eps_in_sqrt, ["inside the square root"]),
    ("adam_step", adam_abs_g, ["|g| where g² belongs"]),
    ("adam_step", adam_plain_g, ["g where g² belongs"]),
    ("adam_step", adam_t_from_zero, ["off by one", "counted from 0"]),
    ("adam_step", adam_t_plus_one, ["off by one"]),
    ("adam_step", adam_only_m_corrected, ["only m is bias-corrected"]),
    ("adam_step", adam_sign_error, ["sign error"]),
    ("adam_step", adam_swapped_betas, ["swapped"]),
    ("adam_step", adam_wrong_order, ["wrong order", "(m, v, w)", "return (w, m, v)"]),
    ("adam_step", adam_in_place, ["in place", "w"]),
    ("adam_step", adam_returns_w_only, ["should return (w, m, v)", "ndarray"]),
    ("adam_step", adam_forgot_return, ["None", "return"]),
    ("adam_step", adam_stub, ["not written yet", "NotImplementedError"]),
    ("adam_step", adam_typo, ["raised NameError", "mhat"]),
    ("adamw_step", adamw_l2, ["L2 regularization"]),
    ("adamw_step", adamw_unscaled, ["not scaled by the learning rate"]),
    ("adamw_step", adamw_after, ["applied after Adam's step"]),
    ("adamw_step", adamw_no_bias_correction, ["no bias correction"]),
    ("momentum_step", momentum_framework, ["not a moving average", "(1 − β) is missing"]),
    ("momentum_step", momentum_stale, ["old m"]),
    ("momentum_step", momentum_nesterov, ["Nesterov"]),
    ("rmsprop_step", rmsprop_eps_in_sqrt, ["inside the square root"]),
    ("rmsprop_step", rmsprop_no_sqrt, ["square root is missing"]),
    ("gd_step", gd_sign, ["sign error"]),
    ("gd_step", gd_no_lr, ["learning rate is missing"]),
]


@pytest.mark.parametrize("name, fn, words", WRONG, ids=[fn.__name__ for _, fn, _ in WRONG])
def test_each_classic_mistake_is_named(name, fn, words):
    with pytest.raises(AssertionError) as excinfo:
        check(name, fn)
    message = str(excinfo.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"message lacks {missing}:\n{message}"
    assert "input:" in message or "not written yet" in message  # every message shows the failing input


def test_wrong_result_message_shows_expected_and_got():
    with pytest.raises(AssertionError) as excinfo:
        check("adam_step", adam_no_bias_correction)
    message = str(excinfo.value)
    assert "expected" in message and "got" in message and "differs by up to" in message
    # m and v were right; only w is marked
    assert message.count("<- differs") == 1


def test_a_mistake_seen_only_with_tiny_gradients_is_caught():
    # The ε̂ form agrees with Algorithm 1 unless √v̂ is near ε; the cases include gradients of 1e-8.
    def adam_eps_hat(w, g, m, v, t, lr, beta1, beta2, eps):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        return w - lr * np.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (np.sqrt(v) + eps), m, v

    with pytest.raises(AssertionError, match="efficient"):
        check("adam_step", adam_eps_hat)


def test_every_exercise_has_cases_with_t_above_one_and_every_scale():
    from adamedu.course.grading import _cases

    cases = list(_cases(EXERCISES["adam_step"], 40))
    assert {c["t"] for c in cases} >= {1, 2, 1000}
    scales = {float(np.max(np.abs(c["g"]))) for c in cases if np.size(c["g"])}
    assert min(scales) < 1e-6 and max(scales) > 10


def test_unknown_exercise_and_non_callable_are_refused():
    with pytest.raises(ValueError, match="adam_step"):
        check("adam", adam_paper)
    with pytest.raises(TypeError, match="must be your function"):
        check("adam_step", 3)


def test_attempt_passes_results_through_and_explains_failures():
    from adamedu.grading import attempt

    assert attempt(lambda x, y=1: x + y, 2, y=3) == 5

    def smallest_beta2(C):
        raise NotImplementedError

    with pytest.raises(AssertionError, match="smallest_beta2 is not written yet"):
        attempt(smallest_beta2, 5)
    with pytest.raises(AssertionError, match="raised ZeroDivisionError"):
        attempt(lambda: 1 / 0)


# -- float32 answers ------------------------------------------------------------------------------------------


def adam_float32(w, g, m, v, t, lr, beta1, beta2, eps):
    w, g, m, v = (np.asarray(x, dtype=np.float32) for x in (w, g, m, v))
    return adam_paper(w, g, m, v, t, lr, beta1, beta2, eps)


def test_a_correct_float32_answer_is_accepted_and_said_to_be_float32(capsys):
    verdict = check("adam_step", adam_float32)
    out = capsys.readouterr().out
    assert verdict.passed and "float32" in out and "m is wrong" not in out


def test_a_wrong_float32_answer_names_the_mistake_not_the_precision():
    def wrong(w, g, m, v, t, lr, beta1, beta2, eps):
        w, g, m, v = (np.asarray(x, dtype=np.float32) for x in (w, g, m, v))
        return adam_no_bias_correction(w, g, m, v, t, lr, beta1, beta2, eps)

    with pytest.raises(AssertionError) as excinfo:
        check("adam_step", wrong)
    assert "Computed in float32" in str(excinfo.value) and "no bias correction" in str(excinfo.value)


def test_float64_answers_keep_the_tight_tolerance():
    # a float64 answer off by 1e-5 relative is wrong (float32 slack is only for float32 answers)
    def off(w, g, lr):
        return (w - lr * g) * (1 + 1e-5)

    with pytest.raises(AssertionError, match="wrong result"):
        check("gd_step", off)


# -- chapters 6 to 8 ------------------------------------------------------------------------------------------


def state_bytes_ok(optimizer, n_params, dtype=np.float32):
    state = optimizer.init(np.zeros(10, dtype=dtype))
    return sum(a.nbytes for a in state.values() if isinstance(a, np.ndarray)) / 10 * n_params


def state_bytes_float64(optimizer, n_params, dtype=np.float32):
    return state_bytes_ok(optimizer, n_params, np.float64)


def state_bytes_bits(optimizer, n_params, dtype=np.float32):
    return 8 * state_bytes_ok(optimizer, n_params, dtype)


def state_bytes_with_params(optimizer, n_params, dtype=np.float32):
    return state_bytes_ok(optimizer, n_params, dtype) + np.dtype(dtype).itemsize * n_params


def state_bytes_one_array(optimizer, n_params, dtype=np.float32):
    return np.dtype(dtype).itemsize * n_params * bool(optimizer.slots)


def p_norm_ok(grads, p, beta2):
    v, out = 0.0, []
    for g in grads:
        v = beta2**p * v + (1 - beta2**p) * abs(g) ** p
        out.append(v ** (1 / p))
    return np.array(out)


def p_norm_beta2(grads, p, beta2):
    v, out = 0.0, []
    for g in grads:
        v = beta2 * v + (1 - beta2) * abs(g) ** p
        out.append(v ** (1 / p))
    return np.array(out)


def p_norm_no_root(grads, p, beta2):
    return p_norm_ok(grads, p, beta2) ** p


def p_norm_signed(grads, p, beta2):
    v, out = 0.0, []
    for g in grads:
        v = beta2**p * v + (1 - beta2**p) * g**p
        out.append(v ** (1 / p))
    return np.array(out)


def keras_eps_ok(t, eps_hat=1e-7, beta2=0.999):
    return eps_hat / np.sqrt(1 - beta2 ** np.asarray(t, dtype=float))


NEW_WRONG = [
    ("state_bytes", state_bytes_float64, ["dtype is ignored"]),
    ("state_bytes", state_bytes_bits, ["bits, not bytes"]),
    ("state_bytes", state_bytes_with_params, ["parameters themselves"]),
    ("state_bytes", state_bytes_one_array, ["one array per optimizer"]),
    ("p_norm_scale", p_norm_beta2, ["decay is β2, not β2ᵖ"]),
    ("p_norm_scale", p_norm_no_root, ["p-th root is missing"]),
    ("p_norm_scale", p_norm_signed, ["g where |g| belongs"]),
    ("keras_effective_eps", lambda t, eps_hat, beta2: eps_hat * np.sqrt(1 - np.power(beta2, t)), ["multiplied"]),
    ("keras_effective_eps", lambda t, eps_hat, beta2: eps_hat / (1 - np.power(beta2, t)),
     ["square root is missing"]),
    ("keras_effective_eps", lambda t, eps_hat, beta2: eps_hat / np.sqrt(1 - beta2) + 0 * np.asarray(t),
     ["β2 where β2ᵗ belongs"]),
    ("keras_effective_eps", lambda t, eps_hat, beta2: keras_eps_ok(np.asarray(t) + 1, eps_hat, beta2), ["off by one"]),
    ("keras_effective_eps", lambda t, eps_hat, beta2: eps_hat + 0 * np.asarray(t, dtype=float), ["unchanged"]),
]


@pytest.mark.parametrize("name, fn", [("state_bytes", state_bytes_ok), ("p_norm_scale", p_norm_ok),
                                      ("keras_effective_eps", keras_eps_ok)], ids=lambda x: getattr(x, "__name__", x))
def test_the_new_exercises_accept_a_correct_answer(name, fn, capsys):
    assert check(name, fn).passed
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("name, fn, words", NEW_WRONG, ids=[f"{n}-{w[0][:20]}" for n, _, w in NEW_WRONG])
def test_each_classic_mistake_of_the_new_exercises_is_named(name, fn, words):
    with pytest.raises(AssertionError) as excinfo:
        check(name, fn)
    assert all(w in str(excinfo.value) for w in words), str(excinfo.value)


def test_state_bytes_reference_agrees_with_hand_counts():
    import adamedu as ae
    from adamedu.grading import judge

    by_hand = [({"optimizer": ae.Adam(), "n_params": 7e9, "dtype": np.float32}, 2 * 4 * 7e9),
               ({"optimizer": ae.AMSGrad(), "n_params": 1e3, "dtype": np.float64}, 3 * 8 * 1e3),
               ({"optimizer": ae.Momentum(), "n_params": 1e6, "dtype": np.float16}, 2 * 1e6),
               ({"optimizer": ae.GradientDescent(), "n_params": 1e6, "dtype": np.float32}, 0)]
    inputs = [case for case, _ in by_hand]
    assert judge("state_bytes", inputs, [b for _, b in by_hand]).passed
    assert not judge("state_bytes", inputs, [b + 1 for _, b in by_hand]).passed  # negative control


def test_p_norm_reference_is_adam_at_p_2_and_adamax_for_large_p():
    import adamedu as ae
    from adamedu.grading import expected

    grads, beta2 = np.array([4.0, 1.0, -1.0, -2.0, 0.5]), 0.7
    adam, adamax = ae.Adam(beta2=beta2**2), ae.AdaMax(beta2=beta2, eps=0.0)
    w, s_adam, s_max = np.zeros(1), adam.init(np.zeros(1)), adamax.init(np.zeros(1))
    root_v, u = [], []
    for g in grads:
        _, s_adam = adam.step(w, np.array([g]), s_adam)
        _, s_max = adamax.step(w, np.array([g]), s_max)
        root_v.append(np.sqrt(s_adam.v[0]))
        u.append(s_max.u[0])
    (p2,) = expected("p_norm_scale", {"grads": grads, "p": 2, "beta2": beta2})
    (p256,) = expected("p_norm_scale", {"grads": grads, "p": 256, "beta2": beta2})
    assert np.allclose(p2, root_v, rtol=1e-12)
    assert np.allclose(p256, u, rtol=0.01) and not np.allclose(p2, u, rtol=0.01)


@pytest.mark.parametrize("t", [1, 2, 10, 1000])
def test_keras_effective_eps_reference_makes_algorithm_1_step_like_keras(t):
    import adamedu as ae
    from adamedu.grading import expected

    eps_hat, beta2 = 1e-7, 0.999
    (eps,) = expected("keras_effective_eps", {"t": t, "eps_hat": eps_hat, "beta2": beta2})
    rng = np.random.default_rng(t)
    w, g = rng.normal(size=5), rng.normal(size=5) * 1e-6
    m, v = rng.normal(size=5) * 1e-7 * (t > 1), (rng.normal(size=5) * 1e-6) ** 2 * (t > 1)
    keras_form = ae.Adam(eps=eps_hat, eps_hat=True, beta2=beta2).update(w, g, m, v, t=t, lr=0.1)[0]
    paper = ae.Adam(eps=float(eps), beta2=beta2).update(w, g, m, v, t=t, lr=0.1)[0]
    naive = ae.Adam(eps=eps_hat, beta2=beta2).update(w, g, m, v, t=t, lr=0.1)[0]
    assert np.allclose(paper, keras_form, rtol=1e-10, atol=0)
    assert not np.allclose(naive, keras_form, rtol=1e-6, atol=0)  # negative control: ε̂ itself is not it


# -- the verdict as data --------------------------------------------------------------------------------------


def test_cases_are_seeded_and_judge_decides_from_outputs_alone():
    from adamedu.grading import Raised, cases, judge

    a, b, c = cases("adam_step", seed=3), cases("adam_step", seed=3), cases("adam_step", seed=4)
    assert len(a) == 40 and all(np.array_equal(x["g"], y["g"]) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x["g"], y["g"]) for x, y in zip(a, c, strict=True))
    right = [adam_paper(**case) for case in a]
    verdict = judge("adam_step", a, right)
    assert verdict.passed and verdict.exercise == "adam_step" and verdict.message.startswith("✓")
    wrong = judge("adam_step", a, [adam_no_bias_correction(**case) for case in a])
    assert not wrong.passed and "no bias correction" in wrong.message and "input:" in wrong.message
    stub = judge("adam_step", a, [Raised("NotImplementedError")] * len(a))
    assert not stub.passed and "not written yet" in stub.message
    crashed = judge("adam_step", a, [Raised("NameError", "name 'mhat' is not defined")] * len(a))
    assert "raised NameError" in crashed.message
    moved = [dict(case, w=case["w"] + 1) for case in a]
    assert "in place" in judge("adam_step", a, right, after=moved).message
    assert judge("adam_step", a, right, after=[dict(case) for case in a]).passed
    with pytest.raises(ValueError, match="40 inputs but 39 results"):
        judge("adam_step", a, right[:-1])


def test_check_returns_and_records_its_verdict_and_fails_with_a_short_message():
    from adamedu.course import grading

    before = len(grading.RESULTS)
    assert check("gd_step", gd_plain).passed
    with pytest.raises(grading.CheckFailed) as excinfo:
        check("gd_step", gd_sign)
    assert [v.passed for v in grading.RESULTS[before:]] == [True, False]
    assert excinfo.value.verdict == grading.RESULTS[-1]
    shown = excinfo.value._render_traceback_()  # what IPython prints instead of a traceback
    assert "CheckFailed" in shown[0] and len(shown) == len(str(excinfo.value).splitlines())
    assert not any("grading.py" in line for line in shown)


def test_needs_turns_a_missing_answer_into_not_written_yet():
    from adamedu.grading import CheckFailed, needs

    namespace = {"needs": needs, "predicted": {}, "measured": {0.1: 1.0}}
    with pytest.raises(CheckFailed, match="predicted_threshold is not defined.*not written yet"):
        exec("needs('predicted_threshold')", namespace)
    with pytest.raises(CheckFailed, match="predicted has no entry for 0.1"):
        exec("needs('predicted', 'measured', keys=(0.1,))", namespace)
    namespace["predicted"][0.1] = 1.0
    exec("needs('predicted', 'measured', keys=(0.1,))", namespace)


# -- buffer_step (chapter 2): PyTorch's and Keras's momentum buffer, written by hand ----------------------------
def buffer_plain(w, g, u, lr, beta):
    u = beta * u + g
    return w - lr * u, u


def buffer_moving_average(w, g, u, lr, beta):
    u = beta * u + (1 - beta) * g
    return w - lr * u, u


def buffer_stale(w, g, u, lr, beta):
    return w - lr * u, beta * u + g


def buffer_sign(w, g, u, lr, beta):
    u = beta * u + g
    return w + lr * u, u


def test_buffer_step_by_hand_and_against_torch_translation(capsys):
    """u ← βu + g, w ← w − αu, one step by hand; the judge's reference is Momentum(α/(1 − β)) on m = (1 − β)u."""
    from adamedu.course.grading import expected

    case = {"w": np.array([1.0, -2.0]), "g": np.array([0.5, 4.0]), "u": np.array([2.0, 0.0]), "lr": 0.1,
            "beta": 0.9}
    w, u = expected("buffer_step", case)
    assert np.allclose(u, [0.9 * 2.0 + 0.5, 4.0], rtol=1e-14)
    assert np.allclose(w, [1.0 - 0.1 * 2.3, -2.0 - 0.1 * 4.0], rtol=1e-14)
    check("buffer_step", buffer_plain)
    assert capsys.readouterr().out.startswith("✓ buffer_step")


@pytest.mark.parametrize("fn, words", [
    (buffer_moving_average, ["moving-average form"]),
    (buffer_stale, ["old u"]),
    (buffer_sign, ["sign error"]),
], ids=lambda x: getattr(x, "__name__", ""))
def test_buffer_step_mistakes_are_named(fn, words):
    with pytest.raises(AssertionError) as excinfo:
        check("buffer_step", fn)
    assert all(w in str(excinfo.value) for w in words), str(excinfo.value)
