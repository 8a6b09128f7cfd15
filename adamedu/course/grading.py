"""Checks for the book's code exercises: accept any correct implementation, name the mistake in a wrong one.

::

    from adamedu.grading import check
    check("adam_step", adam_step)   # prints one line if right; raises AssertionError saying what is wrong

``check`` calls the student's function on many random inputs (shapes, scales from 1e-8 to 1e3, steps t
from 1 to 1000) and compares it with the package's own update rule. When they disagree, the message
shows the smallest failing input, what was expected and what came back, and, where the result matches
one of the classic mistakes (no bias correction, ε inside the square root, |g| or g where g² belongs,
t counted from 0, a sign error, outputs in the wrong order, inputs changed in place ...), says which.
In a notebook a failed check shows only its message (:class:`CheckFailed` hides the traceback through this
module from IPython); ``needs(...)`` turns a missing answer of an experiment into the same "not written yet"
message instead of a ``NameError`` or ``KeyError``; and importing this module in IPython makes a stub's
``NotImplementedError`` in any later cell show as a short message too (:mod:`adamedu.course.not_written`).
Answers computed in float32 are accepted at float32's precision, and a wrong one is reported as "computed in
float32: ...".

The verdict as data (for a grader that runs outside the student's kernel)
-------------------------------------------------------------------------
The comparison is a pure function of the inputs and what the student's function returned, so a grader can
call the student's function in the student's process and decide the verdict in its own::

    from adamedu.course import grading
    inputs = grading.cases("adam_step", seed=0)          # list of dicts of keyword arguments, seeded
    returned = [adam_step(**case) for case in inputs]     # in the student's kernel; an exception may be
                                                          # passed as grading.Raised(type_name, message)
    verdict = grading.judge("adam_step", inputs, returned)   # Verdict(exercise, passed, message)

``judge(name, inputs, returned, after=None)`` also takes ``after``, the inputs as they were after each call,
to report a function that changes its arguments in place. ``expected(name, case)`` gives the package's
answer for one case. ``check(name, fn)`` is ``cases`` + calls + ``judge`` in one process: it returns the
:class:`Verdict` when it passes, raises :class:`CheckFailed` (whose ``.verdict`` is the verdict) when not,
and appends every verdict to ``RESULTS``. ``GRADED`` lists the exercises ``judge`` knows.

Value exercises (an experiment's answers, not a function)
---------------------------------------------------------
An experiment's check cell is ``check_value("tilted_threshold")``. ``VALUE_EXERCISES[name]`` (defined in
:mod:`adamedu.course.value_judges`) declares the variables it reads and the calls of the student's functions
on fixed arguments it makes; ``judge_values(name, answers)`` decides from those values alone (a pure function
of data: it recomputes the expected values with the package and names the classic mistakes), so a grader
fetches the values from the student's kernel as data and decides in its own process::

    answers = {"predicted_threshold": 0.04, "measured_threshold": 0.0400003, ...}   # fetched as data
    verdict = grading.judge_values("tilted_threshold", answers)                      # Verdict

``check_value`` is the same judge run in the notebook: it reads the variables where it is called, prints the
message if right and raises :class:`CheckFailed` if not.
"""

import dataclasses
import itertools
import sys

import numpy as np

from .. import optimizers
from ..optimizers import Adam, AdamW, GradientDescent, Momentum, RMSprop

__all__ = ["check", "check_value", "attempt", "needs", "cases", "judge", "judge_values", "expected", "Verdict",
           "Raised", "CheckFailed", "EXERCISES", "VALUE_EXERCISES", "GRADED", "RESULTS"]

RTOL, ATOL = 1e-6, 1e-12  # float64 inputs: a correct rule written any sensible way agrees far closer
# float32 answers: float32 carries about 7 digits; a correct rule loses a few of them in its arithmetic
RTOL32, ATOL32 = 1e-4, 1e-5  # ATOL32 is relative to the largest |value| of the array (cancellation in w − step)
LOW_PRECISION = (np.float32, np.float16)

RESULTS = []  # every Verdict that check() reached in this process, in order


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of one check: machine-readable for a grader, ``message`` readable by the student."""

    exercise: str
    passed: bool
    message: str


@dataclasses.dataclass(frozen=True)
class Raised:
    """What a grader records when the student's function raised instead of returning (see :func:`judge`)."""

    type_name: str
    message: str = ""


class CheckFailed(AssertionError):  # noqa: N818  (the student reads "CheckFailed: ...")
    """A failed check. In IPython/Jupyter it shows as its message alone: the traceback through this module
    says nothing to a student (IPython calls ``_render_traceback_`` when an exception defines it)."""

    def __init__(self, message, verdict=None):
        super().__init__(message)
        self.verdict = verdict

    def _render_traceback_(self):
        lines = str(self).splitlines() or [""]
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {lines[0]}", *lines[1:]]


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One code exercise: its signature, the right answer (from the package) and the known wrong ones."""

    name: str
    args: tuple  # the argument names, in order
    outputs: tuple  # the names of what the function returns, in order
    reference: object  # **case -> tuple of outputs, computed by the package
    mistakes: dict  # diagnosis text -> (**case -> tuple of outputs)
    hyper: dict  # hyperparameter name -> sampler(rng)
    generate: object = None  # (count, seed) -> list of cases; None: the step exercises' shapes × scales × t
    count: int = 40  # how many cases check() tries
    about: str = "shapes, scales 1e-8 to 1e3"  # what the cases cover, for the success line

    @property
    def signature(self):
        returns = self.outputs[0] if len(self.outputs) == 1 else f"({', '.join(self.outputs)})"
        return f"{self.name}({', '.join(self.args)}) -> {returns}"


# -- the right answers: the package's rules -----------------------------------------------------------
def _gd(w, g, lr):
    return (GradientDescent(lr=lr).update(w, g, t=1, lr=lr),)


def _momentum(w, g, m, lr, beta):
    return Momentum(lr=lr, beta=beta).update(w, g, m, t=1, lr=lr)


def _buffer(w, g, u, lr, beta):
    """PyTorch's and Keras's buffer u ← βu + g, w ← w − αu: the package's Momentum with α/(1 − β) on m = (1 − β)u
    (the translation of chapter 2 and of Momentum's docstring)."""
    w, m = Momentum(lr=lr / (1 - beta), beta=beta).update(w, g, (1 - beta) * u, t=1, lr=lr / (1 - beta))
    return w, m / (1 - beta)


def _rmsprop(w, g, v, lr, beta, eps, eps_in_sqrt=False):
    return RMSprop(lr=lr, beta=beta, eps=eps, eps_in_sqrt=eps_in_sqrt).update(w, g, v, t=1, lr=lr)


def _adam(w, g, m, v, t, lr, beta1, beta2, eps, **options):
    return Adam(lr=lr, beta1=beta1, beta2=beta2, eps=eps, **options).update(w, g, m, v, t=t, lr=lr)


def _adamw(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    opt = AdamW(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
    return opt.update(w, g, m, v, t=t, lr=lr)


# -- the classic mistakes -------------------------------------------------------------------------------
# Each mistake is the package's rule run on altered inputs where that is possible; the few that cannot be
# expressed that way are written out below, deliberately wrong, and only ever compared against.
def _sign_error(rule):
    def wrong(w, *rest, **kw):
        out = rule(w, *rest, **kw)
        return (2 * w - out[0], *out[1:])

    return wrong


def _adam_variant(w, g, m, v, t, lr, beta1, beta2, eps, *, square=np.square, correct_m=True, correct_v=True,
                  root=np.sqrt, eps_inside=False, swap=False):
    """Algorithm 1 with one piece changed, to recognise a student's mistake (never the reference)."""
    a1, a2 = (1 - beta1, 1 - beta2) if not swap else (beta1, beta2)
    m = (1 - a1) * m + a1 * g
    v = (1 - a2) * v + a2 * square(g)
    m_hat = m / (1 - beta1**t) if correct_m else m
    v_hat = v / (1 - beta2**t) if correct_v else v
    denom = root(v_hat + eps) if eps_inside else root(v_hat) + eps
    return w - lr * m_hat / denom, m, v


def _adam_mistakes(rule, pre=lambda c: c):
    """Adam's mistakes, for Adam (``pre`` is identity) and for AdamW (``pre`` applies the decay first)."""

    def variant(**changes):
        def wrong(**case):
            case = pre(dict(case))
            return _adam_variant(**case, **changes)

        return wrong

    def package(**options):
        def wrong(**case):
            case = pre(dict(case))
            return _adam(**case, **options)

        return wrong

    def shifted_t(shift):
        def wrong(**case):
            case = pre(dict(case))
            case["t"] = case["t"] + shift
            return _adam(**case)

        return wrong

    return {
        "no bias correction: divide m by (1 − β1ᵗ) and v by (1 − β2ᵗ) before the step":
            package(bias_correction=False),
        "only m is bias-corrected: v needs its own correction, v̂ = v / (1 − β2ᵗ)": variant(correct_v=False),
        "only v is bias-corrected: m needs its own correction, m̂ = m / (1 − β1ᵗ)": variant(correct_m=False),
        "ε is inside the square root: Algorithm 1 divides by √v̂ + ε, not √(v̂ + ε)": variant(eps_inside=True),
        "this is the 'efficient' form with ε̂ (ε added to √v, not to √v̂); Algorithm 1 adds ε to √v̂":
            package(eps_hat=True),
        "|g| where g² belongs: v averages the squared gradient, g * g": variant(square=np.abs),
        "g where g² belongs: v averages the squared gradient, g * g": variant(square=lambda g: g),
        "the square root is missing: divide by √v̂ + ε": variant(root=lambda x: x),
        "β and 1 − β are swapped: m ← β1·m + (1 − β1)·g keeps most of the old average": variant(swap=True),
        "t is off by one: the bias corrections of step t use β1ᵗ and β2ᵗ with t counting from 1":
            shifted_t(+1),
        "t is off by one (counted from 0): the corrections of step t use β1ᵗ, β2ᵗ with the t you are given":
            shifted_t(-1),
        "sign error: step against the gradient, w − α·m̂/(√v̂ + ε)": _sign_error(rule),
    }


def _decayed(case):
    """AdamW's first move, w ← w·(1 − αλ), leaving the case ready for Adam's rule."""
    decay = case.pop("weight_decay")
    case["w"] = case["w"] * (1 - case["lr"] * decay)
    return case


def _adamw_mistakes():
    def l2(**case):  # λw added to the gradient: Adam with L2 regularization, not decoupled decay
        decay = case.pop("weight_decay")
        return _adam(**{**case, "g": case["g"] + decay * case["w"]})

    def unscaled(**case):  # w·(1 − λ): the decay is not multiplied by the learning rate
        return _adamw(**{**case, "weight_decay": case["weight_decay"] / case["lr"]})

    def after(**case):  # the decay applied to the result of Adam's step
        decay = case.pop("weight_decay")
        w, m, v = _adam(**case)
        return w * (1 - case["lr"] * decay), m, v

    return {
        "weight decay added to the gradient (L2 regularization): AdamW shrinks w directly, "
        "w ← w·(1 − α·λ), outside the adaptive step": l2,
        "the decay is not scaled by the learning rate: w ← w·(1 − α·λ), not w·(1 − λ)": unscaled,
        "the decay is applied after Adam's step; AdamW decays the w it was given (w·(1 − α·λ)) "
        "and then takes Adam's step": after,
        **_adam_mistakes(_adamw, pre=_decayed),
    }


def _momentum_mistakes():
    def framework(w, g, m, lr, beta):  # u ← β·u + g, the PyTorch/Keras buffer, not a moving average
        m = beta * m + g
        return w - lr * m, m

    def stale(w, g, m, lr, beta):  # the step uses m before it is updated
        return _gd(w, m, lr)[0], _momentum(w, g, m, lr, beta)[1]

    return {
        "m is not a moving average: m ← β·m + (1 − β)·g (the (1 − β) is missing; that is PyTorch's "
        "and Keras's buffer, whose learning rate is scaled by 1 − β)": framework,
        "the step uses the old m: update m first, then step with the new m": stale,
        "this is Nesterov's look-ahead; the exercise asks for plain momentum, w ← w − α·m":
            lambda w, g, m, lr, beta: Momentum(lr=lr, beta=beta, nesterov=True).update(w, g, m, t=1, lr=lr),
        "β and 1 − β are swapped: m ← β·m + (1 − β)·g keeps most of the old average":
            lambda w, g, m, lr, beta: _momentum(w, g, m, lr, 1 - beta) if beta > 0 else _momentum(w, g, m, lr, beta),
        "sign error: step against the average gradient, w − α·m": _sign_error(_momentum),
    }


def _buffer_mistakes():
    return {
        "this is the moving-average form m ← β·m + (1 − β)·g; the buffer adds the whole gradient, u ← β·u + g":
            lambda w, g, u, lr, beta: _momentum(w, g, u, lr, beta),
        "the step uses the old u: update u first, then step with the new u":
            lambda w, g, u, lr, beta: (w - lr * u, beta * u + g),
        "sign error: step against the buffer, w − α·u": _sign_error(_buffer),
    }


def _rmsprop_mistakes():
    def variant(square=np.square, root=np.sqrt, swap=False):
        def wrong(w, g, v, lr, beta, eps):
            a = beta if swap else 1 - beta
            v = (1 - a) * v + a * square(g)
            return w - lr * g / (root(v) + eps), v

        return wrong

    return {
        "ε is inside the square root: divide by √v + ε, not √(v + ε)":
            lambda w, g, v, lr, beta, eps: _rmsprop(w, g, v, lr, beta, eps, eps_in_sqrt=True),
        "|g| where g² belongs: v averages the squared gradient, g * g": variant(square=np.abs),
        "g where g² belongs: v averages the squared gradient, g * g": variant(square=lambda g: g),
        "the square root is missing: divide by √v + ε": variant(root=lambda x: x),
        "β and 1 − β are swapped: v ← β·v + (1 − β)·g² keeps most of the old average": variant(swap=True),
        "sign error: step against the gradient, w − α·g/(√v + ε)": _sign_error(_rmsprop),
    }


def _gd_mistakes():
    return {
        "the learning rate is missing: w ← w − α·g": lambda w, g, lr: (w - g,),
        "sign error: step against the gradient, w − α·g": _sign_error(_gd),
    }


def _lr(rng):
    return float(10 ** rng.uniform(-4, -0.5))


def _beta(low, high):
    return lambda rng: float(rng.uniform(low, high))


def _eps(rng):
    return float(10 ** rng.uniform(-9, -6))


def _decay(rng):
    return float(10 ** rng.uniform(-3, -0.5))


# -- chapters 6 to 8: exercises that are not one optimizer step -----------------------------------------------
# ch. 6, state_bytes(optimizer, n_params, dtype): the memory of the optimizer's state, read from the package
def _state_bytes(optimizer, n_params, dtype):
    state = optimizer.init(np.zeros(1, dtype=dtype))
    per_param = sum(v.nbytes for v in state.values() if isinstance(v, np.ndarray))
    return (per_param * n_params,)


def _state_bytes_mistakes():
    def slots(optimizer):
        return sum(isinstance(v, np.ndarray) for v in optimizer.init(np.zeros(1)).values())

    return {
        "the dtype is ignored: every number was counted as 8 bytes (float64); use np.dtype(dtype).itemsize":
            lambda optimizer, n_params, dtype: (slots(optimizer) * 8 * n_params,),
        "bits, not bytes: itemsize is already in bytes (float32: 4), do not multiply by 8":
            lambda optimizer, n_params, dtype: (slots(optimizer) * np.dtype(dtype).itemsize * 8 * n_params,),
        "the parameters themselves were counted too: count only the arrays in the optimizer's state":
            lambda optimizer, n_params, dtype: ((slots(optimizer) + 1) * np.dtype(dtype).itemsize * n_params,),
        "one array per optimizer: count every array of the state (Adam keeps two, m and v; AMSGrad three)":
            lambda optimizer, n_params, dtype: (min(slots(optimizer), 1) * np.dtype(dtype).itemsize * n_params,),
    }


_STATE_OPTIMIZERS = ("Adam", "Lion", "Momentum", "AMSGrad", "GradientDescent", "RMSprop", "AdaGrad", "AdaMax")


def _state_bytes_cases(count, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [1000, 7e9, 1, int(rng.integers(2, 10**6)), 1e6]
    dtypes = [np.float32, np.float64, np.float16]
    combos = itertools.product(range(len(_STATE_OPTIMIZERS)), range(len(sizes)), range(len(dtypes)))
    order = sorted(combos, key=lambda c: (sum(c), c))[:count]
    return [{"optimizer": getattr(optimizers, _STATE_OPTIMIZERS[o])(), "n_params": sizes[n], "dtype": dtypes[d]}
            for o, n, d in order]


# ch. 7, p_norm_scale(grads, p, beta2): v_t ** (1/p) of eq-var-adamax-p, v_t = β2ᵖ v_(t−1) + (1 − β2ᵖ)|g_t|ᵖ.
# No optimizer of the package has a general p; tests/test_grading.py checks p = 2 against ae.Adam's v and
# large p against ae.AdaMax's u, so this equation is tied to the package.
def _p_norm_scale(grads, p, beta2):
    v, scale = 0.0, []
    for g in np.asarray(grads, dtype=float):
        v = beta2**p * v + (1 - beta2**p) * np.abs(g) ** p
        scale.append(v ** (1 / p))
    return (np.array(scale),)


def _p_norm_mistakes():
    def variant(decay=lambda b, p: b**p, power=lambda g, p: np.abs(g) ** p, root=lambda v, p: v ** (1 / p)):
        def wrong(grads, p, beta2):
            v, scale = 0.0, []
            for g in np.asarray(grads, dtype=float):
                v = decay(beta2, p) * v + (1 - decay(beta2, p)) * power(g, p)
                scale.append(root(v, p))
            return (np.array(scale),)

        return wrong

    return {
        "the decay is β2, not β2ᵖ: the p-norm version averages with β2ᵖ (eq-var-adamax-p)":
            variant(decay=lambda b, p: b),
        "the p-th root is missing: return v_t ** (1/p)": variant(root=lambda v, p: v),
        "g where |g| belongs: an odd power keeps the sign of a negative gradient": variant(power=lambda g, p: g**p),
    }


def _p_norm_cases(count, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        p = [1, 2, 3, 4, 8, 16][i % 6]
        n = 4 + i % 5
        scale = [1.0, 1e-3, 1e2][i // 6 % 3]
        out.append({"grads": rng.normal(size=n) * scale, "p": p, "beta2": float(rng.uniform(0.5, 0.99))})
    return out


# ch. 8, keras_effective_eps(t, eps_hat, beta2): the ε of Algorithm 1 that Keras's constant ε̂ amounts to at
# step t: eq-keras-eps-eff, ε̂ / √(1 − β2ᵗ). tests/test_grading.py checks it against the package:
# ae.Adam(eps=that ε) steps exactly as ae.Adam(eps=ε̂, eps_hat=True) at step t.
def _keras_eps(t, eps_hat, beta2):
    return (eps_hat / np.sqrt(1 - np.power(beta2, t)),)


def _keras_eps_mistakes():
    return {
        "multiplied by √(1 − β2ᵗ) instead of divided: eq-keras-eps-eff divides ε̂ by √(1 − β2ᵗ)":
            lambda t, eps_hat, beta2: (eps_hat * np.sqrt(1 - np.power(beta2, t)),),
        "the square root is missing: divide ε̂ by √(1 − β2ᵗ)":
            lambda t, eps_hat, beta2: (eps_hat / (1 - np.power(beta2, t)),),
        "β2 where β2ᵗ belongs: the bias correction of step t is 1 − β2ᵗ":
            lambda t, eps_hat, beta2: (eps_hat / np.sqrt(1 - beta2) + 0 * np.asarray(t),),
        "t is off by one: step t (counted from 1) uses β2ᵗ":
            lambda t, eps_hat, beta2: (eps_hat / np.sqrt(1 - np.power(beta2, np.asarray(t) + 1)),),
        "ε̂ came back unchanged: Keras's ε̂ is larger in Algorithm 1's terms while 1 − β2ᵗ is small":
            lambda t, eps_hat, beta2: (eps_hat + 0 * np.asarray(t, dtype=float),),
    }


def _keras_eps_cases(count, seed=0):
    rng = np.random.default_rng(seed)
    steps = [1, 2, 3, 10, 100, 1000, np.array([1, 10, 100]), 10**6]
    return [{"t": steps[i % len(steps)], "eps_hat": float(10 ** rng.uniform(-9, -6)),
             "beta2": float(rng.uniform(0.9, 0.9999))} for i in range(count)]


# ch. 10, cosine_with_warmup(t, warmup_steps, decay_steps, peak, final): the rate of step t (counted from 1) of a
# linear warm-up from 0 followed by a cosine decay to `final`: the package's schedule
# ae.schedules.cosine_with_warmup(warmup_steps, decay_steps, peak, final=final)(t). tests/test_grading_ch10.py
# checks it against Keras's CosineDecay with warm-up, called with t - 1.
def _cosine_warmup(t, warmup_steps, decay_steps, peak, final):
    from ..schedules import cosine_with_warmup

    return (cosine_with_warmup(warmup_steps, decay_steps, peak, final=final)(t),)


def _cosine_warmup_mistakes():
    def rate(t, warmup_steps, decay_steps, peak, final, *, shift=1, end=True, half=False, floor=True, clamp=True):
        k = t - shift  # steps taken before step t
        if k < warmup_steps:
            return (peak * k / warmup_steps,)
        p = (k - warmup_steps) / decay_steps
        p = min(p, 1.0) if clamp else p
        cos = np.cos(np.pi * p / (2 if half else 1))
        low = final if floor else 0.0
        return (low + (peak - low) * (0.5 * (1 + cos) if not half else cos),)

    def variant(**changes):
        return lambda **case: rate(**case, **changes)

    return {
        "t is off by one: step t = 1 has the rate of step count 0 (the warm-up starts at 0 on the first step)":
            variant(shift=0),
        "the decay goes on after decay_steps: the rate rises again (PyTorch's CosineAnnealingLR does); keep it "
        "at final": variant(clamp=False),
        "final is missing: the cosine should end at final, not at 0": variant(floor=False),
        "a quarter period: cos(π p / 2) ends at final too, but the cosine schedule is ½(1 + cos π p)":
            variant(half=True),
    }


def _cosine_warmup_cases(count, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        warmup, decay = [(10, 90), (1, 20), (100, 900), (5, 5)][i % 4]
        t = [1, 2, warmup, warmup + 1, warmup + 2, warmup + decay // 2, warmup + decay, warmup + decay + 1,
             warmup + decay + 7, 3][i // 4 % 10]
        out.append({"t": t, "warmup_steps": warmup, "decay_steps": decay, "peak": float(10 ** rng.uniform(-4, -1)),
                    "final": float(10 ** rng.uniform(-6, -4)) * (i % 3 != 0)})
    return out


# ch. 9, newton_schulz(x, steps): Muon's orthogonalization (eq-pre-ns), Jordan et al.'s quintic coefficients.
# The cases are matrices of large norm, so that an ε added to the norm (1e-7, as Keras does) changes nothing
# the check can see; ε's placement is not the point of the exercise.
def _newton_schulz(x, steps):
    return (optimizers.newton_schulz(np.asarray(x, dtype=float), steps, eps=0.0),)


def _newton_schulz_mistakes():
    a, b, c = optimizers.matrix.NS_COEFFICIENTS

    def variant(normalize=lambda x: x / np.linalg.norm(x), coefficients=(a, b, c), poly=None, extra=0):
        def wrong(x, steps):
            x = normalize(np.asarray(x, dtype=float))
            ca, cb, cc = coefficients
            for _ in range(steps + extra):
                gram = x @ x.T
                x = poly(x, gram) if poly else ca * x + (cb * gram + cc * gram @ gram) @ x
            return (x,)

        return wrong

    return {
        "x is not divided by its Frobenius norm first: the iteration only converges for singular values <= 1":
            variant(normalize=lambda x: x),
        "divided by the largest entry, not by the Frobenius norm ‖x‖ = √(Σ x²), which bounds every singular value":
            variant(normalize=lambda x: x / np.abs(x).max()),
        "the coefficients are swapped: X ← a X + (b A + c A²) X with (a, b, c) = (3.4445, −4.775, 2.0315)":
            variant(coefficients=(a, c, b)),
        "that is the cubic Newton–Schulz step 1.5 X − 0.5 X Xᵀ X; Muon's quintic is a X + (b A + c A²) X":
            variant(poly=lambda x, gram: 1.5 * x - 0.5 * gram @ x),
        "one step too many or too few: run exactly `steps` iterations": variant(extra=-1),
    }


def _newton_schulz_cases(count, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(2, 3), (3, 3), (4, 2), (1, 4), (5, 3), (3, 6)]
    out = []
    for i in range(count):
        x = rng.normal(size=shapes[i % len(shapes)])
        # the iteration amplifies a relative change of x's scale by up to a⁵ ≈ 500 on small singular values, so
        # the norms start at 1e4: an ε of 1e-7 added to the norm then stays below the check's tolerance
        norm = [1e4, 1e5, 1e7][i // len(shapes) % 3]
        out.append({"x": x * (norm / np.linalg.norm(x)), "steps": [5, 1, 3, 10][i % 4]})
    return out


# ch. 11, factored_v(r, c): Adafactor's rank-1 estimate of a matrix's second moment from its row means r and
# column means c, V̂ = r cᵀ / mean(r) (Shazeer & Stern 2018). The reference is the package's own function, which
# ae.Adafactor uses and tests/test_adafactor.py holds to torch.optim.Adafactor and keras.optimizers.Adafactor.
def _factored_v(r, c):
    from ..optimizers.factored import factored_v

    return (factored_v(np.asarray(r, dtype=float), np.asarray(c, dtype=float)),)


def _factored_v_mistakes():
    def outer(r, c):
        return np.expand_dims(r, -1) * np.expand_dims(c, -2)

    return {
        "not normalised: r cᵀ counts the overall scale twice; divide by mean(r)": lambda r, c: (outer(r, c),),
        "divided by sum(r), not mean(r): with row and column means, the normaliser is the mean of r":
            lambda r, c: (outer(r, c) / np.sum(r, axis=-1, keepdims=True)[..., None],),
        "the square root was taken: V̂ estimates g² itself; √V̂ is what the update divides by":
            lambda r, c: (np.sqrt(outer(r, c) / np.mean(r, axis=-1, keepdims=True)[..., None]),),
        "r and c swapped: row i of V̂ scales with r[i] (the mean of row i), column j with c[j]":
            lambda r, c: (outer(c, r) / np.mean(c, axis=-1, keepdims=True)[..., None],),
    }


def _factored_v_cases(count, seed=0):
    """Row and column means of g² for matrices of several shapes (and one stack of two) and scales."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 2), (2, 2), (4, 5), (1, 3), (3, 1), (2, 3, 4)]
    scales = [1.0, 1e-3, 1e2, 1e-8]
    out = []
    for i in range(count):
        g2 = (rng.normal(size=shapes[i % len(shapes)]) * scales[i // len(shapes) % len(scales)]) ** 2
        out.append({"r": g2.mean(axis=-1), "c": g2.mean(axis=-2)})
    return out


EXERCISES = {
    ex.name: ex
    for ex in [
        Exercise("gd_step", ("w", "g", "lr"), ("w",), _gd, _gd_mistakes(), {"lr": _lr}),
        Exercise("momentum_step", ("w", "g", "m", "lr", "beta"), ("w", "m"), _momentum, _momentum_mistakes(),
                 {"lr": _lr, "beta": _beta(0.5, 0.99)}),
        Exercise("buffer_step", ("w", "g", "u", "lr", "beta"), ("w", "u"), _buffer, _buffer_mistakes(),
                 {"lr": _lr, "beta": _beta(0.5, 0.99)}),
        Exercise("rmsprop_step", ("w", "g", "v", "lr", "beta", "eps"), ("w", "v"), _rmsprop, _rmsprop_mistakes(),
                 {"lr": _lr, "beta": _beta(0.8, 0.999), "eps": _eps}),
        Exercise("adam_step", ("w", "g", "m", "v", "t", "lr", "beta1", "beta2", "eps"), ("w", "m", "v"), _adam,
                 _adam_mistakes(_adam), {"lr": _lr, "beta1": _beta(0.5, 0.95), "beta2": _beta(0.9, 0.9999),
                                         "eps": _eps}),
        Exercise("adamw_step", ("w", "g", "m", "v", "t", "lr", "beta1", "beta2", "eps", "weight_decay"),
                 ("w", "m", "v"), _adamw, _adamw_mistakes(),
                 {"lr": _lr, "beta1": _beta(0.5, 0.95), "beta2": _beta(0.9, 0.9999), "eps": _eps,
                  "weight_decay": _decay}),
        Exercise("state_bytes", ("optimizer", "n_params", "dtype"), ("bytes",), _state_bytes,
                 _state_bytes_mistakes(), {}, generate=_state_bytes_cases, count=30,
                 about="eight optimizers, 1 to 7e9 parameters, float16/32/64"),
        Exercise("p_norm_scale", ("grads", "p", "beta2"), ("scale",), _p_norm_scale, _p_norm_mistakes(), {},
                 generate=_p_norm_cases, count=24, about="p from 1 to 16, gradients of scale 1e-3 to 1e2"),
        Exercise("keras_effective_eps", ("t", "eps_hat", "beta2"), ("eps",), _keras_eps, _keras_eps_mistakes(), {},
                 generate=_keras_eps_cases, count=16, about="t from 1 to 1e6 and an array of t"),
        Exercise("cosine_with_warmup", ("t", "warmup_steps", "decay_steps", "peak", "final"), ("lr",),
                 _cosine_warmup, _cosine_warmup_mistakes(), {}, generate=_cosine_warmup_cases, count=40,
                 about="every phase: warm-up, its last step, the decay, its end and beyond"),
        Exercise("newton_schulz", ("x", "steps"), ("o",), _newton_schulz, _newton_schulz_mistakes(), {},
                 generate=_newton_schulz_cases, count=24, about="wide, square and tall matrices, norms 1e4 to 1e7, "
                 "1 to 10 steps"),
        Exercise("factored_v", ("r", "c"), ("v_hat",), _factored_v, _factored_v_mistakes(), {},
                 generate=_factored_v_cases, count=24,
                 about="matrices 1x3 to 4x5 and a stack, g² of scale 1e-16 to 1e4"),
    ]
}
GRADED = tuple(EXERCISES)


# -- the cases --------------------------------------------------------------------------------------------
SHAPES = [(3,), (2, 3), (), (5,), (4, 1)]
SCALES = [1.0, 1e-3, 1e2, 1e-8, 1e3]
STEPS = [1, 2, 3, 10, 1000]


def _cases(ex, count, seed=0):
    """Random inputs, simplest first: a 3-vector of ordinary gradients at t = 1, then harder ones."""
    rng = np.random.default_rng(seed)
    combos = list(itertools.product(range(len(SHAPES)), range(len(SCALES)), range(len(STEPS))))
    order = sorted(combos, key=lambda c: (sum(c), c))[:count]
    for shape_i, scale_i, step_i in order:
        shape, scale, t = SHAPES[shape_i], SCALES[scale_i], STEPS[step_i]
        g = rng.normal(size=shape) * scale
        case = {"w": rng.normal(size=shape), "g": g}
        if "m" in ex.args or "u" in ex.args:  # a state that could have come from earlier gradients of this scale
            case["m" if "m" in ex.args else "u"] = rng.normal(size=shape) * scale * (t > 1) * 0.5
        if "v" in ex.args:
            case["v"] = (rng.normal(size=shape) * scale) ** 2 * (t > 1)
        if "t" in ex.args:
            case["t"] = t
        for name, sample in ex.hyper.items():
            case[name] = sample(rng)
        yield {name: case[name] for name in ex.args}


# -- the verdict, as pure functions of inputs and outputs (a grader calls these outside the student's kernel) --
def _exercise(name):
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; the exercises are {', '.join(EXERCISES)}")
    return EXERCISES[name]


def cases(name, seed=0, count=None):
    """The inputs ``check`` gives exercise ``name``: a list of dicts of keyword arguments, simplest first.

    Seeded: the same ``name``, ``seed`` and ``count`` give the same inputs. ``count`` defaults to the
    exercise's own number of cases.
    """
    ex = _exercise(name)
    count = ex.count if count is None else count
    made = ex.generate(count, seed) if ex.generate else _cases(ex, count, seed)
    return [dict(case) for case in made]


def expected(name, case):
    """The package's answer for one case of exercise ``name``: a tuple, one entry per output."""
    ex = _exercise(name)
    return ex.reference(**_copy(case))


def judge(name, inputs, returned, after=None):
    """Decide exercise ``name`` from what the student's function returned for each of ``inputs``.

    ``returned[i]`` is what the function returned for ``inputs[i]`` (or a :class:`Raised`, or the exception);
    ``after[i]``, if given, is ``inputs[i]`` as it was after the call (to catch changes in place). Returns
    a :class:`Verdict`; when it fails, its message is about the first failing case, as ``check`` shows it.
    """
    ex = _exercise(name)
    if len(returned) != len(inputs) or after is not None and len(after) != len(inputs):
        raise ValueError(f"judge({name!r}): {len(inputs)} inputs but {len(returned)} results"
                         + ("" if after is None else f" and {len(after)} inputs-after"))
    notes = set()
    for i, case in enumerate(inputs):
        message = _judge_case(ex, case, returned[i], None if after is None else after[i], notes)
        if message is not None:
            return Verdict(ex.name, False, message)
    return Verdict(ex.name, True, _success(ex, len(inputs), notes))


def _success(ex, count, notes):
    line = f"✓ {ex.name} is correct on {count} random cases ({ex.about}" + (
        ", t from 1 to 1000)." if "t" in ex.args and ex.generate is None else ").")
    if "float32" in notes:
        line += (" Computed in float32: it agrees with the float64 reference to float32's precision "
                 f"(relative {RTOL32:g}), which is accepted.")
    return line


# -- the check in the notebook ---------------------------------------------------------------------------------
def check(name, fn, cases=None, seed=0):
    """Check the student's ``fn`` for exercise ``name``: print one line and return the :class:`Verdict` if
    right, else raise :class:`CheckFailed` saying what is wrong. The verdict is also appended to ``RESULTS``.

    ``name`` is one of the names in ``GRADED`` (``gd_step`` ... ``adamw_step``, ``state_bytes``,
    ``p_norm_scale``, ``keras_effective_eps``).
    """
    if name not in EXERCISES:
        raise ValueError(f"check: unknown exercise {name!r}; the exercises are {', '.join(EXERCISES)}")
    if not callable(fn):
        raise TypeError(f"check({name!r}, fn): fn must be your function, got {type(fn).__name__}")
    ex = EXERCISES[name]
    inputs = globals()["cases"](name, seed, cases)  # the module function: the parameter shadows it
    notes = set()
    verdict = None
    for case in inputs:
        given = _copy(case)
        try:
            with np.errstate(all="ignore"):
                got = fn(**given)
        except Exception as err:  # the student's error becomes the verdict's message
            got = err
        message = _judge_case(ex, case, got, given, notes)
        if message is not None:
            verdict = Verdict(ex.name, False, message)
            break
    if verdict is None:
        verdict = Verdict(ex.name, True, _success(ex, len(inputs), notes))
    RESULTS.append(verdict)
    if not verdict.passed:
        raise CheckFailed(verdict.message, verdict) from None
    print(verdict.message)
    return verdict


def attempt(fn, *args, **kwargs):
    """Call a student's ``fn`` for an exploratory exercise; turn its failure into a message to act on.

    Returns what ``fn`` returns. A stub's NotImplementedError becomes a :class:`CheckFailed` saying the
    function is not written yet; any other error becomes a :class:`CheckFailed` naming it. The check cell
    then asserts on the result with messages of its own.
    """
    name = getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise CheckFailed(f"{name} should be your function, but it is {type(fn).__name__}.")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not written yet (it raises NotImplementedError): replace the "
                          "`raise NotImplementedError` line with your code.") from None
    except Exception as err:
        raise CheckFailed(f"{name} raised {type(err).__name__}: {err}") from err


def needs(*names, keys=()):
    """Make sure the answers an experiment's check reads exist, else fail with "not written yet".

    ``names`` are the variables the exercise cell defines (looked up where ``needs`` is called); with
    ``keys``, each of them must be a dict holding every key (the exercise fills ``predicted[alpha]`` ...).
    Returns nothing; the check cell goes on to compare the answers.
    """
    scope = sys._getframe(1).f_globals
    missing = [name for name in names if name not in scope]
    if missing:
        raise CheckFailed(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not defined: the "
                          "exercise above is not written yet (replace its `raise NotImplementedError` line with "
                          "your code and run that cell first).")
    for name in names:
        value = scope[name]
        if keys and not isinstance(value, dict):
            raise CheckFailed(f"{name} should be a dict with the keys {', '.join(map(repr, keys))}, but it is "
                              f"{type(value).__name__}.")
        absent = [k for k in keys if k not in value] if keys else []
        if absent:
            raise CheckFailed(f"{name} has no entry for {', '.join(map(repr, absent))} yet: the exercise above is "
                              f"not written yet (fill in {name}[...] for each of {', '.join(map(repr, keys))}).")


def _copy(case):
    return {k: (np.copy(x) if isinstance(x, np.ndarray) else x) for k, x in case.items()}


def _judge_case(ex, case, got, after, notes):
    """None if ``got`` is right for ``case``, else the message saying what is wrong (pure: no call of fn)."""
    call = _describe_call(ex, case)
    if isinstance(got, NotImplementedError) or isinstance(got, Raised) and got.type_name == "NotImplementedError":
        return (f"{ex.name} is not written yet (it raises NotImplementedError): replace the "
                f"`raise NotImplementedError` line with your code.\n{call}")
    if isinstance(got, (BaseException, Raised)):
        kind, text = (type(got).__name__, str(got)) if isinstance(got, BaseException) else (got.type_name,
                                                                                              got.message)
        return f"{ex.name} raised {kind}: {text}\n{call}\nIt should return {_returns(ex)}."
    if after is not None:
        changed = [k for k, x in case.items() if isinstance(x, np.ndarray)
                   and not (isinstance(after.get(k), np.ndarray) and np.array_equal(after[k], x, equal_nan=True))]
        if changed:
            return (f"{ex.name} changed its input {', '.join(changed)} in place (e.g. with -= or +=). Compute new "
                    f"arrays instead (w = w - ...), so that the caller's arrays stay as they were.\n{call}")
    try:
        got, low = _as_outputs(ex, got, call)
    except CheckFailed as err:
        return str(err)
    tol = (RTOL32, ATOL32) if low else (RTOL, ATOL)
    reference = ex.reference(**_copy(case))
    if _close(got, reference, tol):
        if low:
            notes.add("float32")
        return None
    message = [f"{ex.name} returned a wrong result."
               + (f" (Computed in float32: compared at float32's precision, relative {RTOL32:g}.)" if low else ""),
               call]
    for label, e, g in zip(ex.outputs, reference, got, strict=True):
        if np.shape(g) != np.shape(e):  # a gap needs arrays of one shape (an orthogonal factor of the wrong side)
            mark = f"   <- shape {np.shape(g)}, expected {np.shape(e)}"
        else:
            mark = "" if _close((g,), (e,), tol) else f"   <- differs by up to {_gap(e, g):.3g}"
        message.append(f"  {label}: expected {_fmt(e)}, got {_fmt(g)}{mark}")
    message.append("Diagnosis: " + _diagnose(ex, case, got, reference, tol))
    return "\n".join(message)


def _diagnose(ex, case, got, expected, tol=(RTOL, ATOL)):
    if len(ex.outputs) > 1:
        for perm in itertools.permutations(range(len(ex.outputs))):
            if perm != tuple(range(len(ex.outputs))) and _close([got[i] for i in perm], expected, tol):
                order = ", ".join(ex.outputs[perm.index(j)] for j in range(len(perm)))  # what sits where
                return (f"the outputs are in the wrong order: you returned ({order}); "
                        f"return ({', '.join(ex.outputs)}).")
    for text, wrong in ex.mistakes.items():
        try:
            with np.errstate(all="ignore"):
                candidate = wrong(**_copy(case))
        except (ZeroDivisionError, ValueError, FloatingPointError):
            continue
        if not _close(candidate, expected) and _close(got, candidate, tol):
            return text + "."
    wrong = [label for label, e, g in zip(ex.outputs, expected, got, strict=True)
             if not _close((g,), (e,), tol)]
    if wrong != [ex.outputs[0]] and ex.outputs[0] in wrong and len(wrong) > 1:
        return (f"{' and '.join(wrong[1:])} {'is' if len(wrong) == 2 else 'are'} already wrong; fix the moving "
                f"average{'s' if len(wrong) > 2 else ''} first, w follows from them.")
    if wrong == [ex.outputs[0]]:
        return (f"the state ({', '.join(ex.outputs[1:]) or 'none'}) is right but the step on w is not: "
                "check the formula for the step." if len(ex.outputs) > 1 else
                "no classic mistake matches; compare your formula with the chapter's equation term by term.")
    return f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong; compare with the chapter's equations."


def _as_outputs(ex, got, call):
    """The returned outputs as float64 arrays, and whether any came in float32 or lower precision."""
    n = len(ex.outputs)
    expected_form = _returns(ex)
    if n == 1:
        if isinstance(got, tuple) and len(got) == 1:
            got = got[0]
        if isinstance(got, (tuple, list)) or got is None:
            raise CheckFailed(f"{ex.name} should return {expected_form}, got {_kind(got)}.\n{call}")
        got = (got,)
    elif not isinstance(got, (tuple, list)) or len(got) != n:
        raise CheckFailed(f"{ex.name} should return {expected_form}, a tuple of {n} arrays; got {_kind(got)}.\n"
                          f"{call}")
    out, low = [], False
    for label, x in zip(ex.outputs, got, strict=True):
        low = low or getattr(np.asarray(x), "dtype", None) in LOW_PRECISION
        try:
            x = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise CheckFailed(f"{ex.name}: the returned {label} is {_kind(x)}, not an array of numbers.\n"
                              f"{call}") from None
        out.append(x)
    return tuple(out), low


def _close(a, b, tol=(RTOL, ATOL)):
    rtol, atol = tol
    a, b = list(a), list(b)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != y.shape or not np.all(np.isfinite(x) == np.isfinite(y)):
            return False
        if rtol != RTOL:  # low precision: the absolute slack scales with the array's largest value
            finite = np.abs(y[np.isfinite(y)])
            atol_here = atol * (float(finite.max()) if finite.size else 1.0)
        else:
            atol_here = atol
        if not np.allclose(x, y, rtol=rtol, atol=atol_here, equal_nan=True):
            return False
    return True


def _gap(expected, got):
    with np.errstate(all="ignore"):
        gap = np.abs(np.asarray(got, dtype=float) - np.asarray(expected, dtype=float))
    return float(np.nanmax(gap)) if gap.size and not np.all(np.isnan(gap)) else float("nan")


def _returns(ex):
    return ex.outputs[0] if len(ex.outputs) == 1 else f"({', '.join(ex.outputs)})"


def _kind(x):
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)}"
    return "None (did you forget `return`?)" if x is None else type(x).__name__


def _fmt(x):
    x = np.asarray(x, dtype=float)
    return np.array2string(x, precision=8, threshold=6, separator=", ") if x.ndim else f"{float(x):.8g}"


def _describe_call(ex, case):
    args = ", ".join(f"{k}={_fmt_arg(v)}" for k, v in case.items())
    return f"  input: {ex.name}({args})"


def _fmt_arg(v):
    if isinstance(v, np.ndarray):
        return _fmt(v)
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, type) and issubclass(v, np.generic):
        return f"np.{v.__name__}"
    return repr(v)


from .not_written import install as _install_not_written  # noqa: E402
from .value_judges import VALUE_EXERCISES, check_value, judge_values  # noqa: E402  (they use Verdict, CheckFailed)

_install_not_written()  # in IPython: a stub's NotImplementedError in any cell shows as one short message
