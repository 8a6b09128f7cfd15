"""Judges for the book's *value exercises*: answers that are values the student computed, not a step function.

A value exercise is an experiment (predict a threshold, measure a loss factor, construct a gradient sequence
...). Its check cell is one line, ``check_value("tilted_threshold")``. What it judges is declared here, once,
and is the same for the student and for ``adamedu grade``:

- ``fetch``: the names of the variables the exercise cell defines (``predicted_threshold`` ...);
- ``calls``: calls of the student's functions on fixed arguments (``breaking_gradients(0.9, 0.99)``);
- ``decide(answers)``: the verdict from those values alone, ``(passed, message)``. It computes what the right
  values are with the package itself (the chapter's problem rebuilt from its constants, the runs repeated),
  and names the classic mistakes it recognises.

In the notebook, :func:`check_value` reads the variables from the caller's namespace, makes the calls, and
decides in the kernel (a friendly message or a :class:`~adamedu.course.grading.CheckFailed`). ``adamedu grade``
instead injects a probe after the check cell that sends the same variables' values and the calls' results
back *as data* (numbers, arrays, lists, dicts; never pickle), and calls :func:`judge_values` in its own,
trusted process: a submission that patches numpy, ``adamedu`` or ``check_value`` in its kernel changes only
its own kernel, not the verdict.

Adding an exercise (e.g. for chapters 7-8) is one entry of :data:`VALUE_EXERCISES` and the call
``check_value("name")`` in a graded check cell; the grader finds it by that call.
"""

import dataclasses
import sys

import numpy as np

__all__ = ["ValueExercise", "VALUE_EXERCISES", "Missing", "judge_values", "check_value", "call_label"]


@dataclasses.dataclass(frozen=True)
class Missing:
    """The value of a variable the student's notebook does not define (yet)."""

    name: str


@dataclasses.dataclass(frozen=True)
class ValueExercise:
    name: str
    fetch: tuple  # variable names
    calls: tuple  # (function name, positional args): the student's function called on these
    decide: object  # answers (label -> value) -> (passed, message)
    about: str = ""


def call_label(function, args):
    return f"{function}({', '.join(repr(a) for a in args)})"


class _Wrong(Exception):  # noqa: N818 (internal: the message is the verdict)
    """Raised inside a decide function: the message says what is wrong."""


def _number(answers, name):
    x = answers[name]
    try:
        if isinstance(x, (str, bytes)) or np.ndim(x) != 0:
            raise TypeError(name)
        value = float(np.asarray(x, dtype=float))
    except (TypeError, ValueError):
        raise _Wrong(f"{name} should be a number, but it is {type(x).__name__}: {x!r}"[:400]) from None
    if not np.isfinite(value):
        raise _Wrong(f"{name} is {value}: it should be a finite number")
    return value


def _array(answers, name, shape=None):
    x = answers[name]
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise _Wrong(f"{name} should be an array of numbers, but it is {type(x).__name__}") from None
    if shape is not None and a.shape != shape:
        raise _Wrong(f"{name} should have shape {shape}, but it has shape {a.shape}")
    return a


def _entry(answers, name, key):
    d = answers[name]
    if not isinstance(d, dict):
        raise _Wrong(f"{name} should be a dict, but it is {type(d).__name__}")
    for k, v in d.items():
        if isinstance(k, (int, float)) and not isinstance(k, bool) and float(k) == float(key):
            return v
    raise _Wrong(f"{name} has no entry for {key!r} yet: the exercise above is not written yet (fill in "
                 f"{name}[{key!r}])")


def _near(a, b, rtol):
    return bool(np.allclose(a, b, rtol=rtol, atol=0))


# -- chapter 1 --------------------------------------------------------------------------------------------------
def _tilted_threshold(answers):
    from .. import problems

    tilted = problems.Quadratic([2.0, 50.0], angle=-np.pi / 4)  # the chapter's tilted bowl
    mu, L = np.linalg.eigvalsh(tilted.hessian)
    threshold, factor = 2 / L, ((L - mu) / (L + mu)) ** 2
    pt, mt = _number(answers, "predicted_threshold"), _number(answers, "measured_threshold")
    pf, mf = _number(answers, "predicted_factor"), _number(answers, "measured_factor")
    lines = [f"threshold:   predicted {pt:.5f}, measured {mt:.5f}",
             f"loss factor: predicted {pf:.6f}, measured {mf:.6f}"]
    diag = np.diag(tilted.hessian)
    if not _near(pt, threshold, 1e-6):
        if any(_near(pt, 2 / d, 1e-6) for d in diag):
            why = ("2 / (a diagonal entry of the Hessian): the threshold is 2/L with L the Hessian's largest "
                   "eigenvalue; tilting the bowl mixes the axes")
        elif _near(pt, 1 / L, 1e-6):
            why = "1/L: gradient descent diverges above 2/L, not 1/L"
        else:
            why = "the threshold is 2/L, with L the largest eigenvalue of the Hessian"
        raise _Wrong("\n".join(lines + [f"predicted_threshold is wrong: {why}."]))
    if abs(mt - threshold) > 1e-3:
        raise _Wrong("\n".join(lines + ["measured_threshold is far from the threshold: does the bisection keep "
                                        "a converging and a diverging learning rate and stop when they are "
                                        "within 1e-6?"]))
    if not _near(pf, factor, 1e-6):
        why = ("that is the factor of the distance; the loss falls by its square"
               if _near(pf, np.sqrt(factor), 1e-6) else "with α = 2/(L + μ) the loss falls by ((L − μ)/(L + μ))²")
        raise _Wrong("\n".join(lines + [f"predicted_factor is wrong: {why}."]))
    if abs(mf - factor) > 1e-4:
        raise _Wrong("\n".join(lines + ["measured_factor disagrees with the prediction: measure it on a run with "
                                        "the best learning rate 2/(L + μ), per step, late in the run."]))
    return "\n".join(lines + ["✓ the experiment confirms the predictions"])


def _chapter1_data():
    """The chapter's least-squares data (the cell that defines X, y in chapter 1, rebuilt from its seed)."""
    rng = np.random.default_rng(0)
    n = 100
    x = rng.uniform(-1, 1, size=n)
    y = 3 * x + rng.normal(0, 0.5, size=n)
    return np.column_stack([x, np.ones(n)]), y


def _noise_floor(answers):
    from .. import problems

    X, y = _chapter1_data()
    problem = problems.LinearRegression(X, y, batch_size=1, seed=1)
    w_star = problems.LinearRegression(X, y).minimum
    noise1 = np.mean([np.sum(problem.grad(w_star, t) ** 2) for t in range(1, 2001)])
    lines, ok = [], True
    for alpha in (0.1, 0.025):
        p, m = _number({"p": _entry(answers, "predicted", alpha)}, "p"), _number(
            {"m": _entry(answers, "measured", alpha)}, "m")
        lines.append(f"α = {alpha:<5}: noise floor predicted {p:.2e}, measured {m:.2e}")
        right = alpha * noise1 / 4
        if not _near(p, right, 1e-6):
            why = ("α·E|g|²/2 counts the loss twice: the floor is α·E|g|²/4" if _near(p, 2 * right, 1e-6)
                   else "the floor is α·E|g|²/4, with E|g|² the mean squared gradient at w* for b = 1 (noise[1])")
            raise _Wrong("\n".join(lines + [f"predicted[{alpha}] is wrong: {why}."]))
        ok = ok and 0.75 < m / p < 1.33
        if not ok:
            raise _Wrong("\n".join(lines + [f"α = {alpha}: the measured floor is far from the prediction: average "
                                            "f − f* over a long run (5000 steps) started at w*."]))
    return "\n".join(lines + ["✓ the floor is proportional to the learning rate, as predicted"])


# -- chapter 2 --------------------------------------------------------------------------------------------------
def _momentum_rate(answers):
    from .. import problems
    from ..loop import minimize
    from ..optimizers import Momentum

    ravine, x0 = problems.ravine(), [1.5, 1.5]
    lines = []
    for beta in (0.9, 0.95, 0.99):
        p = _number({"p": _entry(answers, "predicted_factor", beta)}, "p")
        m = _number({"m": _entry(answers, "measured_factor", beta)}, "m")
        lines.append(f"β = {beta:<4}: loss factor predicted {p:.4f}, measured {m:.4f}")
        if not _near(p, beta, 1e-6):
            why = ("√β is the factor of the distance |z|; the loss falls by |z|² = β" if _near(p, np.sqrt(beta), 1e-6)
                   else "with complex roots |z|² = β: the loss falls by β per step")
            raise _Wrong("\n".join(lines + [f"predicted_factor[{beta}] is wrong: {why}."]))
        losses = minimize(ravine, x0, Momentum(lr=0.1, beta=beta), 1500).losses
        true = (losses[1500] / losses[500]) ** (1 / 1000)
        if abs(m - true) > 2e-3:
            raise _Wrong("\n".join(lines + [f"measured_factor[{beta}] is not what the run gives ({true:.4f}): "
                                            "measure (loss at 1500 / loss at 500) ** (1/1000) with α = 0.1."]))
    return "\n".join(lines + ["✓ the loss shrinks by β per step, as predicted"])


# -- chapter 4 --------------------------------------------------------------------------------------------------
def adam_step_sizes(beta1, beta2, grads):
    """|step| / lr of bias-corrected Adam (lr 1, eps 0) on one parameter fed ``grads`` (the chapter's
    step_sizes, with the package's Adam)."""
    from ..optimizers import Adam

    opt = Adam(lr=1.0, beta1=beta1, beta2=beta2, eps=0.0)
    w = np.zeros(1)
    state = opt.init(w)
    sizes = np.empty(len(grads))
    with np.errstate(all="ignore"):
        for i, g in enumerate(grads):
            w_new, state = opt.step(w, np.array([g]), state)
            sizes[i] = abs(w_new[0] - w[0])
            w = w_new
    return sizes


def _breaking_gradients(answers):
    lines = []
    for b1, b2, target in [(0.9, 0.99, 2.0), (0.9, 0.999, 4.0)]:
        label = call_label("breaking_gradients", (b1, b2))
        grads = _array(answers, label)
        if grads.ndim != 1 or not 0 < grads.size <= 20_000:
            raise _Wrong(f"{label}: return a 1-D array of at most 20 000 gradients, got shape {grads.shape}")
        if not (np.all(np.isfinite(grads)) and np.all(grads != 0)):
            raise _Wrong(f"{label}: every gradient must be finite and not exactly 0 (with eps = 0, a zero gives 0/0)")
        longest = float(np.nanmax(adam_step_sizes(b1, b2, grads)))
        paper = max(1.0, (1 - b1) / np.sqrt(1 - b2))
        bound = (1 - b1) / np.sqrt((1 - b2) * (1 - b1**2 / b2))
        lines.append(f"beta2 = {b2}: longest step {longest:.3f} lr (paper's figure {paper:.2f}, true bound "
                     f"{bound:.3f})")
        if not longest > target:
            hint = (" A single spike is not enough: let the gradient grow by beta2/beta1 per step after a quiet "
                    "stretch, so that v lags behind m.") if longest <= paper + 1e-3 else ""
            raise _Wrong("\n".join(lines + [f"with beta2 = {b2} the longest step should pass {target} lr.{hint}"]))
    return "\n".join(lines + ["✓ your gradients break Kingma & Ba's figure"])


def _eps_scale(answers):
    from .. import problems
    from ..loop import minimize
    from ..optimizers import Adam

    x0, steps = np.array([1.5, 1.5]), 550
    tiny = problems.Quadratic([2e-10, 2e-9])
    g1 = tiny.grad(x0)
    first = 0.2 * np.abs(g1) / (np.abs(g1) + 1e-8)
    default = minimize(tiny, x0, Adam(lr=0.2, eps=1e-8), steps).path
    on_f = minimize(problems.ravine(), x0, Adam(lr=0.2, eps=1e-8), steps).path
    predicted = _array(answers, "predicted_first_step", shape=(2,))
    default_path = _array(answers, "default_path", shape=default.shape)
    scaled_path = _array(answers, "scaled_path", shape=default.shape)
    measured_first = np.abs(default_path[1] - default_path[0])
    lines = [f"first step: predicted {predicted}, measured {measured_first}"]
    if not _near(predicted, first, 1e-6):
        why = ("α is the step when ε is negligible; here |g| is comparable to ε, so the step is α·|g|/(|g| + ε)"
               if _near(predicted, 0.2, 1e-6) else "at t = 1, m̂ = g and √v̂ = |g|: the step is α·|g|/(|g| + ε)")
        raise _Wrong("\n".join(lines + [f"predicted_first_step is wrong: {why}."]))
    if not np.allclose(default_path, default, rtol=1e-6, atol=1e-12):
        raise _Wrong("\n".join(lines + ["default_path is not Adam's path on c·f with ε = 1e-8, lr 0.2, 550 steps "
                                        "from x0 (is your adam_step right?)"]))
    gap = float(np.abs(scaled_path - on_f).max())
    lines.append(f"ε scaled with c: the paths on c·f and on f differ by at most {gap:.1e}")
    if not gap < 1e-9:
        why = (" It is the default-ε path: scale ε by c = 1e-10 too." if np.allclose(scaled_path, default) else "")
        raise _Wrong("\n".join(lines + ["with ε scaled by c the paths should agree." + why]))
    return "\n".join(lines + ["✓ ε must scale with the gradients"])


# -- chapter 5 --------------------------------------------------------------------------------------------------
ADAMW_H, ADAMW_C = np.array([1.0, 100.0, 0.01, 1.0]), np.array([0.5, 2.0, -3.0, -0.2])  # chapter 5's problem


def _adamw_equilibrium(answers):
    from .. import problems
    from ..loop import minimize
    from ..optimizers import AdamW

    problem = problems.Quadratic(ADAMW_H, c=ADAMW_C)
    lines = []
    for lam in (0.25, 4.0):
        p = _array({"p": _entry(answers, "predicted", lam)}, "p", shape=(4,))
        m = _array({"m": _entry(answers, "measured", lam)}, "m", shape=(4,))
        box = np.clip(ADAMW_C, -1 / lam, 1 / lam)
        lines.append(f"λ = {lam:g}: your prediction {np.round(p, 4)}, measured {np.round(m, 4)}")
        if not _near(p, box, 1e-6):
            ridge = ADAMW_H * ADAMW_C / (ADAMW_H + lam)
            why = ("that is the ridge solution h·c/(h + λ), where Adam + L2 settles; AdamW's steps have about the "
                   "size α, so it settles where the decay balances them: clip(c, ±1/λ)" if _near(p, ridge, 1e-6)
                   else "AdamW settles at clip(c, −1/λ, 1/λ)")
            raise _Wrong("\n".join(lines + [f"predicted[{lam:g}] is wrong: {why}."]))
        true = minimize(problem, np.zeros(4), AdamW(lr=0.01, weight_decay=lam), 20_000).path[-2000:].mean(axis=0)
        if np.abs(m - true).max() > 0.02:
            raise _Wrong("\n".join(lines + [f"measured[{lam:g}] is not where AdamW (lr 0.01, 20 000 steps from 0) "
                                            f"settles, {np.round(true, 4)}: average the last 2000 iterates."]))
    return "\n".join(lines + ["✓ AdamW settles where you predicted"])


# -- chapter 6 --------------------------------------------------------------------------------------------------
def drift(C, beta2):
    """Adam's drift per period on Reddi et al.'s problem (chapter 6's drift_steps, summed)."""
    norm = 1 + beta2 + beta2**2
    v_cycle = np.array([C**2 + beta2 + beta2**2, 1 + beta2 * C**2 + beta2**2, 1 + beta2 + beta2**2 * C**2]) / norm
    return float((np.array([-C, 1.0, 1.0]) / np.sqrt(v_cycle)).sum())


def _smallest_beta2(answers):
    label = call_label("smallest_beta2", (5.0,))
    found = answers[label]
    if np.ndim(found) != 0 or not isinstance(np.asarray(found).item(), (int, float)) or not 0 < float(found) < 1:
        raise _Wrong(f"smallest_beta2(5.0) should return one number between 0 and 1, got {found!r}"[:400])
    found = float(found)
    axis = np.linspace(0.001, 0.999, 999)
    root = axis[np.argmax(np.array([drift(5.0, b) for b in axis]) < 0)]
    lines = [f"smallest beta2 from your runs:            {found:.3f}",
             f"where the drift D(5, beta2) changes sign: {root:.3f}",
             f"Reddi et al.'s choice 1 / (1 + C^2):      {1 / 26:.3f}"]
    if abs(found - root) >= 0.03:
        why = (" That is Reddi et al.'s choice, not the boundary your runs should find." if abs(found - 1 / 26) < 0.005
               else "")
        raise _Wrong("\n".join(lines + [f"your boundary {found:.3f} is far from the drift formula's {root:.3f}.{why} "
                                        "Does each run use beta1 = 0, lr = schedule, x_0 = 0 and `steps` steps, and "
                                        "does it count as converged when the mean of x over the last tenth is "
                                        "negative?"]))
    return "\n".join(lines + ["✓ your experiment finds the boundary the drift formula predicts"])


def _predicted_error(answers):
    from .. import problems
    from ..datasets import wilson_classification
    from ..loop import minimize
    from ..optimizers import Adam

    (X, y), (X_test, y_test) = wilson_classification(n=40, n_test=200, p=0.55, seed=1)  # the chapter's draw
    w = minimize(problems.LinearRegression(X, y), np.zeros(X.shape[1]), Adam(lr=0.01), 300).final
    error = float(np.mean(np.sign(X_test @ w) != y_test))
    predicted, adam_error = _number(answers, "predicted_error"), _number(answers, "adam_error")
    w_ex = _array(answers, "w_ex", shape=w.shape)
    lines = [f"b = sum of the training labels = {y.sum():g}",
             f"predicted test error {predicted:.3f}, Adam's test error {adam_error:.3f}"]
    s = np.sign(X.T @ y)
    if np.abs(w_ex - s / 4).max() >= 1e-4:
        raise _Wrong("\n".join(lines + [
            "Adam from w_0 = 0 should end at s/4 with s = sign(X^T y) (eq-lim-xs), but w_ex is "
            f"{np.abs(w_ex - s / 4).max():.2g} away from it: did you start from zeros and run 300 steps with "
            "lr 0.01?"]))
    if abs(adam_error - error) > 1e-12:
        raise _Wrong("\n".join(lines + [f"adam_error is not the test error of w_ex ({error:.3f})."]))
    if abs(predicted - error) > 1e-12:
        why = (" That is the share of the other label: s/4 gives every test point the label of b's sign."
               if abs(predicted - (1 - error)) < 1e-12 else "")
        raise _Wrong("\n".join(lines + [f"your prediction {predicted:.3f} is not Adam's test error {error:.3f}.{why} "
                                        "Which label does s/4 give every test point (eq-lim-test), and how many "
                                        "points of this test set have the other label?"]))
    return "\n".join(lines + ["✓ you predicted Adam's test error before running it"])


ROTATIONS = (0, 10, 20, 45, 90, 135, 180)


def adam_rotated_loss(degrees, steps=300):
    """Adam's (lr 0.05) loss after ``steps`` on chapter 6's ravine (curvatures 1, 100) rotated by ``degrees``."""
    from .. import problems
    from ..loop import minimize
    from ..optimizers import Adam

    quadratic = problems.Quadratic(h=(1.0, 100.0), angle=np.deg2rad(degrees))
    return minimize(quadratic, quadratic.rotation @ np.array([1.5, 0.5]), Adam(lr=0.05), steps).final_loss


def _adam_final_loss(answers):
    lines = []
    for degrees in ROTATIONS:
        got = _number(answers, call_label("adam_final_loss", (degrees,)))
        right = adam_rotated_loss(degrees)
        lines.append(f"{degrees:4d}°   Adam's loss after 300 steps {got:.2e}")
        if not np.isclose(got, right, rtol=1e-6):
            raise _Wrong("\n".join(lines + [f"at {degrees}° your loss {got:.3e} should be {right:.3e}: the ravine with "
                                            "curvatures 1 and 100 rotated by `degrees`, started at the rotated u0 = "
                                            "(1.5, 0.5), Adam with lr 0.05, 300 steps?"]))
    return "\n".join(lines + ["✓ your runs reproduce the chapter's and show which rotations Adam does not notice"])


VALUE_EXERCISES = {
    ex.name: ex
    for ex in [
        ValueExercise("tilted_threshold", ("predicted_threshold", "measured_threshold", "predicted_factor",
                                           "measured_factor"), (), _tilted_threshold),
        ValueExercise("noise_floor", ("predicted", "measured"), (), _noise_floor),
        ValueExercise("momentum_rate", ("predicted_factor", "measured_factor"), (), _momentum_rate),
        ValueExercise("breaking_gradients", (), (("breaking_gradients", (0.9, 0.99)),
                                                 ("breaking_gradients", (0.9, 0.999))), _breaking_gradients),
        ValueExercise("eps_scale", ("predicted_first_step", "default_path", "scaled_path"), (), _eps_scale),
        ValueExercise("adamw_equilibrium", ("predicted", "measured"), (), _adamw_equilibrium),
        ValueExercise("smallest_beta2", (), (("smallest_beta2", (5.0,)),), _smallest_beta2),
        ValueExercise("predicted_error", ("predicted_error", "w_ex", "adam_error"), (), _predicted_error),
        ValueExercise("adam_final_loss", (), tuple(("adam_final_loss", (d,)) for d in ROTATIONS), _adam_final_loss),
    ]
}


def judge_values(name, answers):
    """The :class:`~adamedu.course.grading.Verdict` of value exercise ``name`` from ``answers``: label -> value,
    a :class:`Missing` (variable not defined) or a :class:`~adamedu.course.grading.Raised` (a call raised).
    Pure: it reads the answers and runs the package, never the student's code."""
    from .grading import Raised, Verdict

    ex = VALUE_EXERCISES[name]
    missing = list(dict.fromkeys(v.name for v in answers.values() if isinstance(v, Missing)))
    if missing:
        return Verdict(name, False, f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not defined: the "
                                    "exercise above is not written yet (replace its `raise NotImplementedError` line "
                                    "with your code and run that cell first).")
    stubs = list(dict.fromkeys(k.split("(")[0] for k, v in answers.items()
                               if isinstance(v, Raised) and v.type_name == "NotImplementedError"))
    if stubs:
        return Verdict(name, False, f"{', '.join(stubs)} is not written yet (it raises NotImplementedError): "
                                    "replace the `raise NotImplementedError` line with your code.")
    for k, v in answers.items():
        if isinstance(v, Raised):
            return Verdict(name, False, f"{k} raised {v.type_name}: {v.message}")
    absent = [k for k in (*ex.fetch, *(call_label(f, a) for f, a in ex.calls)) if k not in answers]
    if absent:
        return Verdict(name, False, f"no answer for {', '.join(absent)}")
    try:
        with np.errstate(all="ignore"):
            return Verdict(name, True, ex.decide(answers))
    except _Wrong as err:
        return Verdict(name, False, str(err))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        return Verdict(name, False, f"the answers are not in the form the exercise asks for ({type(err).__name__}: "
                                    f"{err})"[:600])


def collect(name, scope):
    """The answers of value exercise ``name`` read from a namespace (the kernel's globals)."""
    from .grading import Raised

    ex = VALUE_EXERCISES[name]
    answers = {k: scope[k] if k in scope else Missing(k) for k in ex.fetch}
    for function, args in ex.calls:
        label, fn = call_label(function, args), scope.get(function)
        if fn is None:
            answers[label] = Missing(function)
        elif not callable(fn):
            answers[label] = Raised("TypeError", f"{function} should be your function, but it is "
                                                 f"{type(fn).__name__}")
        else:
            try:
                answers[label] = fn(*args)
            except NotImplementedError:
                answers[label] = Raised("NotImplementedError")
            except Exception as err:
                answers[label] = Raised(type(err).__name__, str(err))
    return answers


def check_value(name):
    """The check cell of value exercise ``name``: read its answers where it is called, judge them, print the
    verdict's message if right, else raise :class:`~adamedu.course.grading.CheckFailed` with it."""
    from .grading import RESULTS, CheckFailed

    if name not in VALUE_EXERCISES:
        raise ValueError(f"check_value: unknown exercise {name!r}; the value exercises are "
                         f"{', '.join(VALUE_EXERCISES)}")
    verdict = judge_values(name, collect(name, sys._getframe(1).f_globals))
    RESULTS.append(verdict)
    if not verdict.passed:
        raise CheckFailed(verdict.message, verdict) from None
    print(verdict.message)
    return verdict
