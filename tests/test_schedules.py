"""adamedu.schedules against keras.optimizers.schedules and torch.optim.lr_scheduler, step by step.

Conventions (see the module docstring): adamedu's step t = 1, 2, ... uses ``s(t)``; Keras's schedule is
called with the number of steps already taken, ``t - 1``; a PyTorch scheduler holds the rate of the next
``optimizer.step()`` and is stepped after it, so step t runs at the rate read after t - 1 scheduler steps.
Keras computes its schedules in float32: compared at float32's rounding. PyTorch's schedulers update
their rate recursively (each from the previous): compared at 1e-12.
"""

import dataclasses
import math
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import adamedu as ae  # noqa: E402
from adamedu import schedules as S  # noqa: E402, N812

T = 60  # steps compared


def keras_values(schedule, n=T):
    """Keras's rate for adamedu's steps t = 1..n: schedule(t - 1)."""
    return np.array([float(schedule(np.float32(t - 1))) for t in range(1, n + 1)])


def torch_values(make, base_lr, n=T):
    """PyTorch's rate for steps t = 1..n: read before optimizer.step() number t, scheduler stepped after it."""
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's deprecated epoch argument, inside PyTorch
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(out)


def ours(schedule, n=T):
    return np.array([schedule(t) for t in range(1, n + 1)])


def keras_schedules():
    from adamedu.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras

    return keras.optimizers.schedules


# -- hand-derived values (no framework) --------------------------------------------------------------
def test_hand_values():
    assert ours(S.warmup(4, peak=1.0), 6).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert ours(S.warmup(2, peak=1.0, start=0.5), 4).tolist() == [0.5, 0.75, 1.0, 1.0]
    assert ours(S.linear_decay(4, peak=1.0), 6).tolist() == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    c = ours(S.cosine(2, peak=1.0), 4)
    assert c[0] == 1.0 and c[1] == pytest.approx(0.5, abs=1e-15) and c[2] == c[3] == pytest.approx(0, abs=1e-15)
    assert ours(S.step_decay(1.0, every=2, factor=0.5), 5).tolist() == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert ours(S.exponential(1.0, rate=0.25, every=2), 3).tolist() == [1.0, 0.5, 0.25]
    assert ours(S.piecewise([2, 3], [3.0, 2.0, 1.0]), 5).tolist() == [3.0, 3.0, 2.0, 1.0, 1.0]
    np.testing.assert_allclose(ours(S.inverse_sqrt(1.0, timescale=1), 4), [1.0, 2**-0.5, 3**-0.5, 0.5], rtol=1e-15)
    assert ours(S.wsd(2, 3, 2, peak=1.0), 9).tolist() == [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    assert S.constant(0.1)(10**9) == 0.1


def test_sequence_restarts_each_part_at_its_own_t1():
    seq = S.warmup(3, peak=2.0).then(S.step_decay(2.0, every=1, factor=0.5))
    assert ours(seq, 6).tolist() == [0.0, 2 / 3, 4 / 3, 2.0, 1.0, 0.5]
    assert seq.steps is None and S.wsd(2, 3, 4, 1.0).steps == 9
    flat = S.sequence(S.constant(1.0, steps=1), S.sequence(S.constant(2.0, steps=1), S.constant(3.0)))
    assert ours(flat, 3).tolist() == [1.0, 2.0, 3.0] and len(flat.parts) == 3


def test_repr_is_readable_and_rebuilds_the_schedule():
    s = S.cosine_with_warmup(10, 90, peak=1e-3, final=1e-5)
    assert repr(s) == "warmup(10, peak=0.001).then(cosine(90, peak=0.001, final=1e-05))"
    rebuilt = eval(repr(s), vars(S))  # noqa: S307 - our own repr
    assert rebuilt == s and ours(rebuilt).tolist() == ours(s).tolist()
    assert repr(S.step_decay(0.1, every=30)) == "step_decay(0.1, every=30, factor=0.1)"
    assert repr(S.wsd(5, 10, 5, peak=0.01)) == ("warmup(5, peak=0.01).then(constant(0.01, steps=10), "
                                                "linear_decay(5, peak=0.01))")


# -- Keras ------------------------------------------------------------------------------------------
def test_cosine_with_warmup_equals_keras_cosine_decay():
    ks = keras_schedules()
    for start, final in [(0.0, 0.0), (1e-4, 2e-4)]:
        k = ks.CosineDecay(initial_learning_rate=start, decay_steps=40, alpha=final / 1e-3,
                           warmup_target=1e-3, warmup_steps=10)
        np.testing.assert_allclose(ours(S.cosine_with_warmup(10, 40, peak=1e-3, start=start, final=final)),
                                   keras_values(k), rtol=2e-6, atol=1e-10)  # float32 cancellation near 0


def test_cosine_linear_exponential_step_piecewise_equal_keras():
    ks = keras_schedules()
    pairs = [
        (S.cosine(30, peak=0.5, final=0.05), ks.CosineDecay(0.5, 30, alpha=0.1)),
        (S.linear_decay(30, peak=0.5, final=0.1), ks.PolynomialDecay(0.5, 30, end_learning_rate=0.1, power=1.0)),
        (S.exponential(0.5, rate=0.9, every=7), ks.ExponentialDecay(0.5, 7, 0.9)),
        (S.step_decay(0.5, every=7, factor=0.3), ks.ExponentialDecay(0.5, 7, 0.3, staircase=True)),
        # Keras's boundaries are adamedu's minus 1 (it tests s <= boundary with s = t - 1)
        (S.piecewise([10, 25], [0.5, 0.1, 0.01]), ks.PiecewiseConstantDecay([9, 24], [0.5, 0.1, 0.01])),
    ]
    for mine, theirs in pairs:
        np.testing.assert_allclose(ours(mine), keras_values(theirs), rtol=2e-6, err_msg=repr(mine))


def test_off_by_one_negative_control():
    """Calling Keras with t instead of t - 1 gives different values: the convention is tested, not assumed."""
    ks = keras_schedules()
    k = ks.PolynomialDecay(0.5, 30, end_learning_rate=0.1, power=1.0)
    shifted = np.array([float(k(np.float32(t))) for t in range(1, T + 1)])
    assert not np.allclose(ours(S.linear_decay(30, peak=0.5, final=0.1)), shifted, rtol=1e-3)


# -- PyTorch ----------------------------------------------------------------------------------------
def test_schedules_equal_torch_schedulers():
    torch = pytest.importorskip("torch")
    L = torch.optim.lr_scheduler
    cases = [
        (S.warmup(10, peak=0.1, start=0.01), 0.1, lambda o: L.LinearLR(o, start_factor=0.1, total_iters=10)),
        (S.linear_decay(30, peak=0.1, final=0.02), 0.1,
         lambda o: L.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=30)),
        (S.step_decay(0.1, every=7, factor=0.5), 0.1, lambda o: L.StepLR(o, step_size=7, gamma=0.5)),
        (S.exponential(0.1, rate=0.95), 0.1, lambda o: L.ExponentialLR(o, gamma=0.95)),
        (S.cosine(T, peak=0.1, final=0.01), 0.1, lambda o: L.CosineAnnealingLR(o, T_max=T, eta_min=0.01)),
        (S.piecewise([10, 25], [0.1, 0.01, 0.001]), 0.1, lambda o: L.MultiStepLR(o, milestones=[10, 25], gamma=0.1)),
        (S.inverse_sqrt(0.1, timescale=5), 0.1, lambda o: L.LambdaLR(o, lambda k: (5 / (5 + k)) ** 0.5)),
        (S.constant(0.1), 0.1, lambda o: L.ConstantLR(o, factor=1.0)),
        (S.cosine_with_warmup(10, 40, peak=0.1), 0.1, lambda o: L.SequentialLR(
            o, [L.LinearLR(o, start_factor=1e-12, total_iters=10), L.CosineAnnealingLR(o, T_max=40)],
            milestones=[10])),
        (S.wsd(5, 30, 20, peak=0.1, final=0.001), 0.1, lambda o: L.SequentialLR(
            o, [L.LinearLR(o, start_factor=1e-12, total_iters=5), L.ConstantLR(o, factor=1.0, total_iters=0),
                L.LinearLR(o, start_factor=1.0, end_factor=0.01, total_iters=20)], milestones=[5, 35])),
    ]
    for mine, base, make in cases:
        # PyTorch's LinearLR cannot start at exactly 0 (start_factor > 0): 1e-12 of the base rate instead.
        # PyTorch's cosine rises again after T_max; adamedu's (and Keras's) stays at its final rate: compared
        # up to the end of the schedule.
        n = T if mine.steps is None else min(T, mine.steps + 1)
        np.testing.assert_allclose(ours(mine, n), torch_values(make, base, n), rtol=1e-9, atol=1e-12,
                                   err_msg=repr(mine))


def test_adamedu_schedule_drives_an_optimizer_like_torch_scheduler():
    """The whole loop: ae.Adam(lr=schedule) equals torch.optim.Adam with the scheduler stepped after each step."""
    torch = pytest.importorskip("torch")
    L = torch.optim.lr_scheduler
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(25, 4))
    sched = S.warmup(5, peak=0.1, start=0.02).then(S.cosine(20, peak=0.1))
    w, state = np.ones(4), None
    opt = ae.Adam(lr=sched)
    state = opt.init(w)
    for g in grads:
        w, state = opt.step(w, g, state)
    p = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    topt = torch.optim.Adam([p], lr=0.1)
    tsched = L.SequentialLR(topt, [L.LinearLR(topt, start_factor=0.2, total_iters=5),
                                   L.CosineAnnealingLR(topt, T_max=20)], milestones=[5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for g in grads:
            p.grad = torch.tensor(g)
            topt.step()
            tsched.step()
    np.testing.assert_allclose(w, p.detach().numpy(), rtol=1e-12)


def test_every_optimizer_takes_a_schedule():
    from optimizer_support import ALL_OPTIMIZERS

    for cls in ALL_OPTIMIZERS:
        if dataclasses.fields(cls)[0].metadata["allowed"] != "schedule":
            continue  # Rprop adapts its own step sizes: its lr is a number
        opt = cls(lr=S.warmup(3, peak=0.01, start=0.001))
        w = np.array([1.0, -2.0])
        state = opt.init(w)
        for _ in range(4):
            w, state = opt.step(w, 2 * w, state)
        assert np.all(np.isfinite(w)), cls.__name__


# -- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "words"), [
    (lambda: S.warmup(0, peak=1.0), "warmup: steps must be a whole number >= 1, got 0"),
    (lambda: S.warmup(10, peak=-1.0), "warmup: peak must be a finite number >= 0, got -1.0"),
    (lambda: S.cosine(10, peak=1.0, final=float("nan")), "cosine: final must be a finite number >= 0, got nan"),
    (lambda: S.linear_decay(2.5, peak=1.0), "linear_decay: steps must be a whole number >= 1, got 2.5"),
    (lambda: S.exponential(1.0, rate=1.5), "exponential: rate must be a number in (0, 1], got 1.5"),
    (lambda: S.step_decay(1.0, every=10, factor=0), "step_decay: factor must be a number in (0, 1], got 0"),
    (lambda: S.piecewise([5, 3], [1, 2, 3]), "piecewise: boundaries must increase, got [5, 3]"),
    (lambda: S.piecewise([5], [1]), "piecewise: values must hold one rate more than boundaries (2), got 1"),
    (lambda: S.inverse_sqrt(1.0, timescale=0), "inverse_sqrt: timescale must be a finite number > 0, got 0"),
    (lambda: S.constant("0.1"), "constant: lr must be a finite number >= 0, got '0.1' (str)"),
    (lambda: S.constant(0.1).then(S.constant(0.2)), "constant(0.1) (part 0) has no length"),
    (lambda: S.sequence(S.warmup(2, 1.0), lambda t: 0.1), "sequence: schedule 1 must be an adamedu schedule"),
    (lambda: S.wsd(5, -1, 5, peak=1.0), "constant: steps must be a whole number >= 1, got -1"),
])
def test_bad_arguments_are_named(make, words):
    with pytest.raises((ValueError, TypeError)) as err:
        make()
    assert words in str(err.value)


def test_negative_or_nonfinite_rate_refused_by_name():
    neg = S.from_function(lambda t: 0.1 - 0.01 * t, name="falls_below_zero")
    assert neg(10) == pytest.approx(0.0)
    with pytest.raises(ValueError, match=r"from_function\(falls_below_zero\) would return the learning rate "
                                         r"-0\.0099.* at step t = 11; a learning rate must be a finite number >= 0"):
        neg(11)
    with pytest.raises(ValueError, match="at step t = 2"):
        S.from_function(lambda t: [0.1, math.inf][t - 1])(2)
    opt = ae.Adam(lr=neg)
    w, state = np.ones(2), opt.init(np.ones(2))
    state["t"] = 10
    before = w.copy()
    with pytest.raises(ValueError, match="would return the learning rate"):
        opt.step(w, w, state)
    assert np.array_equal(w, before) and state["t"] == 10  # nothing changed


@pytest.mark.parametrize("t", [0, -1, 1.5, True, "3"])
def test_bad_step_refused(t):
    with pytest.raises(ValueError, match=r"the step t must be a whole number >= 1 \(the first step is t = 1\)"):
        S.cosine(10, peak=1.0)(t)
