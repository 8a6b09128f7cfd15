"""Checks for the book's code exercises: accept any correct implementation, name the mistake in a wrong one.

::

    from adamedu.grading import check
    check("adam_step", adam_step)   # prints one line if right; raises AssertionError saying what is wrong

``check`` calls the student's function on many random inputs (shapes, scales from 1e-8 to 1e3, steps t
from 1 to 1000) and compares it with the package's own update rule. When they disagree, the message
shows the smallest failing input, what was expected and what came back, and, where the result matches
one of the classic mistakes (no bias correction, ε inside the square root, |g| or g where g² belongs,
t counted from 0, a sign error, outputs in the wrong order, inputs changed in place ...), says which.
"""

import dataclasses
import itertools

import numpy as np

from ..optimizers import Adam, AdamW, GradientDescent, Momentum, RMSprop

__all__ = ["check", "attempt", "EXERCISES"]

RTOL, ATOL = 1e-6, 1e-12  # float64 inputs: a correct rule written any sensible way agrees far closer


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One code exercise: its signature, the right answer (from the package) and the known wrong ones."""

    name: str
    args: tuple  # the argument names, in order
    outputs: tuple  # the names of what the function returns, in order
    reference: object  # **case -> tuple of outputs, computed by the package
    mistakes: dict  # diagnosis text -> (**case -> tuple of outputs)
    hyper: dict  # hyperparameter name -> sampler(rng)

    @property
    def signature(self):
        returns = self.outputs[0] if len(self.outputs) == 1 else f"({', '.join(self.outputs)})"
        return f"{self.name}({', '.join(self.args)}) -> {returns}"


# -- the right answers: the package's rules -----------------------------------------------------------
def _gd(w, g, lr):
    return (GradientDescent(lr=lr).update(w, g, t=1, lr=lr),)


def _momentum(w, g, m, lr, beta):
    return Momentum(lr=lr, beta=beta).update(w, g, m, t=1, lr=lr)


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


EXERCISES = {
    ex.name: ex
    for ex in [
        Exercise("gd_step", ("w", "g", "lr"), ("w",), _gd, _gd_mistakes(), {"lr": _lr}),
        Exercise("momentum_step", ("w", "g", "m", "lr", "beta"), ("w", "m"), _momentum, _momentum_mistakes(),
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
    ]
}


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
        if "m" in ex.args:  # a state that could have come from earlier gradients of this scale
            case["m"] = rng.normal(size=shape) * scale * (t > 1) * 0.5
        if "v" in ex.args:
            case["v"] = (rng.normal(size=shape) * scale) ** 2 * (t > 1)
        if "t" in ex.args:
            case["t"] = t
        for name, sample in ex.hyper.items():
            case[name] = sample(rng)
        yield {name: case[name] for name in ex.args}


# -- the check -----------------------------------------------------------------------------------------------
def check(name, fn, cases=40, seed=0):
    """Check the student's ``fn`` for exercise ``name``; print one line if right, else raise AssertionError.

    ``name`` is one of ``gd_step``, ``momentum_step``, ``rmsprop_step``, ``adam_step``, ``adamw_step``.
    """
    if name not in EXERCISES:
        raise ValueError(f"check: unknown exercise {name!r}; the exercises are {', '.join(EXERCISES)}")
    if not callable(fn):
        raise TypeError(f"check({name!r}, fn): fn must be your function, got {type(fn).__name__}")
    ex = EXERCISES[name]
    for case in _cases(ex, cases, seed):
        _check_case(ex, fn, case)
    print(f"✓ {ex.name} is correct on {cases} random cases (shapes, scales 1e-8 to 1e3"
          + (", t from 1 to 1000)." if "t" in ex.args else")."))


def attempt(fn, *args, **kwargs):
    """Call a student's ``fn`` for an exploratory exercise; turn its failure into a message to act on.

    Returns what ``fn`` returns. A stub's NotImplementedError becomes an AssertionError saying the
    function is not written yet; any other error becomes an AssertionError naming it. The check cell
    then asserts on the result with messages of its own.
    """
    name = getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise AssertionError(f"{name} is not written yet (it raises NotImplementedError): replace the "
                             "`raise NotImplementedError` line with your code.") from None
    except Exception as err:
        raise AssertionError(f"{name} raised {type(err).__name__}: {err}") from err


def _check_case(ex, fn, case):
    given = {k: (np.copy(x) if isinstance(x, np.ndarray) else x) for k, x in case.items()}
    call = _describe_call(ex, case)
    try:
        with np.errstate(all="ignore"):
            got = fn(**given)
    except NotImplementedError:
        raise AssertionError(f"{ex.name} is not written yet (it raises NotImplementedError): replace the "
                             f"`raise NotImplementedError` line with your code.\n{call}") from None
    except Exception as err:
        raise AssertionError(f"{ex.name} raised {type(err).__name__}: {err}\n{call}\n"
                             f"It should return {_returns(ex)}.") from err
    changed = [k for k, x in case.items() if isinstance(x, np.ndarray) and not np.array_equal(given[k], x)]
    if changed:
        raise AssertionError(f"{ex.name} changed its input {', '.join(changed)} in place (e.g. with -= or +=). "
                             f"Compute new arrays instead (w = w - ...), so that the caller's arrays stay as they "
                             f"were.\n{call}")
    got = _as_outputs(ex, got, call)
    expected = ex.reference(**case)
    if _close(got, expected):
        return
    message = [f"{ex.name} returned a wrong result.", call]
    for label, e, g in zip(ex.outputs, expected, got, strict=True):
        mark = "" if _close((g,), (e,)) else f"   <- differs by up to {_gap(e, g):.3g}"
        message.append(f"  {label}: expected {_fmt(e)}, got {_fmt(g)}{mark}")
    message.append("Diagnosis: " + _diagnose(ex, case, got, expected))
    raise AssertionError("\n".join(message))


def _diagnose(ex, case, got, expected):
    if len(ex.outputs) > 1:
        for perm in itertools.permutations(range(len(ex.outputs))):
            if perm != tuple(range(len(ex.outputs))) and _close([got[i] for i in perm], expected):
                order = ", ".join(ex.outputs[perm.index(j)] for j in range(len(perm)))  # what sits where
                return (f"the outputs are in the wrong order: you returned ({order}); "
                        f"return ({', '.join(ex.outputs)}).")
    for text, wrong in ex.mistakes.items():
        try:
            with np.errstate(all="ignore"):
                candidate = wrong(**{k: (np.copy(x) if isinstance(x, np.ndarray) else x) for k, x in case.items()})
        except (ZeroDivisionError, ValueError, FloatingPointError):
            continue
        if not _close(candidate, expected) and _close(got, candidate):
            return text + "."
    wrong = [label for label, e, g in zip(ex.outputs, expected, got, strict=True) if not _close((g,), (e,))]
    if wrong != [ex.outputs[0]] and ex.outputs[0] in wrong and len(wrong) > 1:
        return (f"{' and '.join(wrong[1:])} {'is' if len(wrong) == 2 else 'are'} already wrong; fix the moving "
                f"average{'s' if len(wrong) > 2 else ''} first, w follows from them.")
    if wrong == [ex.outputs[0]]:
        return (f"the state ({', '.join(ex.outputs[1:]) or 'none'}) is right but the step on w is not: "
                "check the formula for the step." if len(ex.outputs) > 1 else
                "no classic mistake matches; compare your formula with the chapter's equation term by term.")
    return f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong; compare with the chapter's equations."


def _as_outputs(ex, got, call):
    n = len(ex.outputs)
    expected_form = _returns(ex)
    if n == 1:
        if isinstance(got, tuple) and len(got) == 1:
            got = got[0]
        if isinstance(got, (tuple, list)) or got is None:
            raise AssertionError(f"{ex.name} should return {expected_form}, got {_kind(got)}.\n{call}")
        got = (got,)
    elif not isinstance(got, (tuple, list)) or len(got) != n:
        raise AssertionError(f"{ex.name} should return {expected_form}, a tuple of {n} arrays; got {_kind(got)}.\n"
                             f"{call}")
    out = []
    for label, x in zip(ex.outputs, got, strict=True):
        try:
            x = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise AssertionError(f"{ex.name}: the returned {label} is {_kind(x)}, not an array of numbers.\n"
                                 f"{call}") from None
        out.append(x)
    return tuple(out)


def _close(a, b):
    a, b = list(a), list(b)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != y.shape or not np.all(np.isfinite(x) == np.isfinite(y)):
            return False
        if not np.allclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True):
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
    args = ", ".join(f"{k}={_fmt(v)}" if isinstance(v, np.ndarray) else f"{k}={v!r}" if isinstance(v, int)
                     else f"{k}={v:.6g}" for k, v in case.items())
    return f"  input: {ex.name}({args})"
