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

Adding an exercise is one entry of :data:`VALUE_EXERCISES` and the call ``check_value("name")`` in a
graded check cell; the grader finds it by that call. A call's arguments may be data (numbers, arrays,
``adamedu`` optimizers, sent to the kernel in the grader's codec) or an :class:`Arg` with ``expr=True``, an
expression the kernel evaluates for an argument that is not data (chapter 8's Keras optimizers); a call with
``then`` calls what the student's function returned (a schedule) on those arguments and sends back the
values. An ``adamedu`` optimizer that a function returns comes back as its class name and hyperparameters
and is rebuilt here by this process's own ``adamedu``.
"""

import dataclasses
import sys

import numpy as np

__all__ = ["ValueExercise", "VALUE_EXERCISES", "Missing", "Arg", "judge_values", "check_value", "call_label",
           "calls_of"]


@dataclasses.dataclass(frozen=True)
class Missing:
    """The value of a variable the student's notebook does not define (yet)."""

    name: str


@dataclasses.dataclass(frozen=True)
class ValueExercise:
    name: str
    fetch: tuple  # variable names
    calls: tuple  # (function name, positional args[, then]): the student's function called on these
    decide: object  # answers (label -> value) -> (passed, message)
    about: str = ""


@dataclasses.dataclass(frozen=True, eq=False)
class Arg:
    """An argument of a call, shown in messages as ``label``: a value sent to the kernel as data (an array, an
    ``adamedu`` optimizer), or with ``expr=True`` an expression that the kernel evaluates, for an argument that
    is not data (a Keras optimizer). Either way the verdict depends only on what the student's function returns,
    judged here against values this process computes itself."""

    value: object
    label: str
    expr: bool = False


def _arg_label(a):
    return a.label if isinstance(a, Arg) else repr(a)


def call_label(function, args, then=None):
    """How messages and answers name a call: ``f(0.9, 0.99)``; with ``then``, the returned function called on
    each of those arguments: ``adamedu_lr(0.01, 10, 40)(t) for t in [1, 2]``."""
    label = f"{function}({', '.join(_arg_label(a) for a in args)})"
    if then is not None:
        label += f"({', '.join(['t'] * len(then[0]))}) for t in {[a[0] if len(a) == 1 else a for a in then]}"
    return label


def calls_of(ex):
    """``(label, function, args, then)`` for every call of value exercise ``ex`` (``then`` None: plain call)."""
    out = []
    for call in ex.calls:
        function, args, then = (*call, None) if len(call) == 2 else call
        out.append((call_label(function, args, then), function, tuple(args), then))
    return out


def resolve(a, scope):
    """An argument as the student's function receives it in the kernel: expressions evaluated in ``scope``,
    arrays copied (a function that changes its input in place must not change the next call's)."""
    if isinstance(a, Arg):
        return eval(a.value, scope) if a.expr else resolve(a.value, scope)  # noqa: S307 (our own expression)
    if isinstance(a, np.ndarray):
        return a.copy()
    return a


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


# -- chapter 7 --------------------------------------------------------------------------------------------------
G_HAND = np.array([4.0, 1.0, 1.0, -2.0])  # the hand example of ex-var-adamax
_G_HAND = Arg(G_HAND, "np.array([4.0, 1.0, 1.0, -2.0])")


def adamax_figure_gradients():
    """The gradients of chapter 7's fig-var-adamax: noisy around 1, a burst of 4 at steps 100-104."""
    grads = 1.0 + 0.5 * np.random.default_rng(2).standard_normal(300)
    grads[99:104] = 4.0
    return grads


def adamax_u(grads, beta2):
    """u_t of the package's AdaMax on one parameter fed ``grads`` (read from its state)."""
    from ..optimizers import AdaMax

    opt = AdaMax(beta2=beta2)
    w = np.zeros(1)
    state, u = opt.init(w), []
    for g in grads:
        w, state = opt.step(w, np.array([g]), state)
        u.append(state.u[0])
    return np.array(u)


def _adamax_p_norm(answers):
    from ..optimizers import Adam
    from . import grading

    lines = []
    for grads, beta2, label in [(G_HAND, 0.5, _G_HAND.label), (adamax_figure_gradients(), 0.99, "grads_ex")]:
        call = call_label("adamax_u", (Arg(None, label), beta2))
        u = _array(answers, call, shape=grads.shape)
        right = adamax_u(grads, beta2)
        if not np.allclose(u, right, rtol=1e-9, atol=1e-7):
            average, signed = np.empty(len(grads)), np.empty(len(grads))
            a = s = 0.0
            for i, g in enumerate(grads):
                a, s = beta2 * a + (1 - beta2) * abs(g), max(beta2 * s, g)
                average[i], signed[i] = a, s
            why = ("that is a moving average of |g| (the p = 1 version), not AdaMax's running maximum "
                   "u_t = max(β2·u_(t−1), |g_t|)" if np.allclose(u, average, rtol=1e-6)
                   else "g where |g| belongs: a negative gradient must count by its size" if np.allclose(
                       u, signed, rtol=1e-6, atol=1e-7)
                   else "read u from the optimizer's state (state.u) after each step of ae.AdaMax(beta2=beta2)")
            shown = np.array2string(u[:6], precision=4)
            raise _Wrong(f"{call} gave {shown}{' ...' if len(u) > 6 else ''}; AdaMax's u is "
                         f"{np.array2string(right[:6], precision=4)}: {why}.")
    lines.append("✓ adamax_u reads AdaMax's u: 4, 2, 1, 2 on the hand example, and the figure's u")
    u_hand = adamax_u(G_HAND, 0.5)
    adam = Adam(beta2=0.5**2)  # the p = 2 version is Adam with beta2**2 in Adam's place
    w, state, root_v = np.zeros(1), adam.init(np.zeros(1)), []
    for g in G_HAND:
        w, state = adam.step(w, np.array([g]), state)
        root_v.append(np.sqrt(state.v[0]))
    for p, right, meaning in [(1, np.array([2, 1.5, 1.25, 1.625]), "by hand, v_t = 0.5 v_(t−1) + 0.5 |g_t|"),
                              (2, np.array(root_v), "the square root of Adam's v with β2 = 0.25"),
                              (128, None, "within 1 % of AdaMax's u")]:
        call = call_label("p_norm_scale", (_G_HAND, p, 0.5))
        got = _array(answers, call, shape=(4,))
        ok = np.allclose(got, u_hand, rtol=0.01) if right is None else np.allclose(got, right, rtol=1e-9)
        if not ok:
            named = [why for why, wrong in grading._p_norm_mistakes().items()
                     if np.allclose(got, wrong(G_HAND, p, 0.5)[0], rtol=1e-9)]
            raise _Wrong("\n".join(lines + [f"{call} gave {np.array2string(got, precision=4)}; it should be "
                                            f"{meaning}" + ("" if right is None else
                                                            f": {np.array2string(right, precision=4)}")
                                            + (f". {named[0]}" if named else ".")]))
    return "\n".join(lines + ["✓ u by hand, by AdaMax and as the limit of the p-norm agree"])


NADAM_REACH = ((0.004, 0.95), (0.04, 0.95), (0.004, 0.99), (1.0, 0.6), (0.004, 0.5))
NADAM_PSI = ((30, 0.95), (200, 0.95), (5000, 0.7))


def _nadam_schedule(answers):
    from ..optimizers import Nadam

    t = np.arange(1, 10**6 + 1)
    lines = []
    for psi, q in NADAM_REACH:
        call = call_label("mu_reaches", (psi, q))
        got = answers[call]
        mu = Nadam(momentum_decay=psi).mu(t)
        right = int(t[np.argmax(mu >= q * 0.9)])
        if not (np.ndim(got) == 0 and isinstance(np.asarray(got).item(), (int, float)) and got == right):
            why = ""
            if isinstance(got, (int, float, np.number)) and got == right - 1:
                why = " Count the steps from t = 1 (np.argmax gives an index from 0)."
            elif (mu >= q).any() and isinstance(got, (int, float, np.number)) and got == int(t[np.argmax(mu >= q)]):
                why = " Compare μ_t with fraction · β1, not with fraction."
            raise _Wrong(f"{call} returned {got!r}; μ_t first reaches {q} · β1 at step {right}.{why}"[:600])
    lines.append(f"✓ mu_reaches finds t* on {len(NADAM_REACH)} schedules")
    for steps, q in NADAM_PSI:
        call = call_label("psi_for", (steps, q))
        psi = _number(answers, call)
        mu = float(Nadam(momentum_decay=psi).mu(steps)) if psi > 0 else float("nan")
        if not abs(mu - q * 0.9) < 1e-12:
            no_two = np.log(1 - q) / (steps * np.log(0.96))
            why = (" 0.96^(tψ) must equal 2(1 − q), not 1 − q: μ_t starts at β1/2 (eq-var-nadam-mu)."
                   if np.isclose(psi, no_two, rtol=1e-9) else "")
            raise _Wrong("\n".join(lines + [f"with ψ = {call} = {psi!r}, Nadam's μ at step {steps} is {mu:.6f}, not "
                                            f"{q} · 0.9 = {q * 0.9:.6f}.{why}"]))
    return "\n".join(lines + ["✓ your t* and ψ match Nadam's schedule"])


RADAM_CASES = ((0.9, 100), (0.99, 1000), (0.999, 3000), (0.999, 100))


def radam_prediction(beta2, steps, threshold=5.0):
    """What ρ_t says (eq-var-radam-rho, eq-var-radam-r): the first t with ρ_t > threshold, r_t there, and the first
    t from then on with r_t >= 0.9 (None within ``steps``)."""
    from ..optimizers import RAdam

    t = np.arange(1, steps + 1)
    rho, rho_inf = RAdam(beta2=beta2).rho(t)
    on = rho > threshold
    t_on, rho_on = t[on], rho[on]
    r = np.sqrt((rho_on - 4) * (rho_on - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_on))
    return int(t_on[0]), float(r[0]), int(t_on[np.argmax(r >= 0.9)]) if (r >= 0.9).any() else None


def _radam_switch(answers):
    for beta2, steps in RADAM_CASES:
        call = call_label("radam_switch", (beta2, steps))
        got = answers[call]
        if not (isinstance(got, (tuple, list)) and len(got) == 3):
            raise _Wrong(f"{call} should return (t_first, r_first, t_90); got {got!r}"[:400])
        t_first, r_first, t_90 = got
        right = radam_prediction(beta2, steps)
        if t_first != right[0]:
            why = (" That is where ρ_t first exceeds 4, the paper's threshold; adamedu and PyTorch switch at "
                   "ρ_t > 5: read the switch from the steps." if t_first == radam_prediction(beta2, steps, 4.0)[0]
                   else " Count the steps from t = 1." if t_first == right[0] - 1 else "")
            raise _Wrong(f"{call}: t_first = {t_first!r}, but ρ_t first exceeds 5 at t = {right[0]}.{why}"[:600])
        if r_first is None or not abs(float(r_first) - right[1]) < 1e-9:
            raise _Wrong(f"{call}: r_first = {r_first!r}, but r_t at t = {right[0]} is {right[1]!r}: the length of "
                         "that step over lr"[:600])
        if t_90 != right[2]:
            why = (" The momentum steps before t_first have length 1 too: search from t_first on."
                   if t_90 == 1 else "")
            raise _Wrong(f"{call}: t_90 = {t_90!r}, but r_t first reaches 0.9 at t = {right[2]} (None: not within "
                         f"{steps} steps).{why}"[:600])
    return "✓ RAdam's steps follow ρ_t"


def lion_mean_gradient():
    """Chapter 7's mean_gradient (sec-var-lion): 2000 means spread from 0.01 to 10, seed 0."""
    return 10 ** np.random.default_rng(0).uniform(-2, 1, 2000)


def rms_step(opt, mean_gradient, steps=300, seed=1, last=50, mean=False):
    """Root mean square (``mean``: mean) of |w_t − w_(t−1)| / lr over the ``last`` steps, for gradients
    mean_gradient + N(0, 1) drawn from one default_rng(seed): the measurement of chapter 7's fig-var-lion."""
    noise = np.random.default_rng(seed)
    n = len(mean_gradient)
    w = np.zeros(n)
    state, lengths = opt.init(w), []
    for _ in range(steps):
        w_new, state = opt.step(w, mean_gradient + noise.standard_normal(n), state)
        lengths.append(np.abs(w_new - w) / opt.lr)
        w = w_new
    tail = np.array(lengths[-last:])
    return float(tail.mean() if mean else np.sqrt(np.mean(tail**2)))


def _lion_calls():
    from ..optimizers import Adam, Lion

    chapter = Arg(lion_mean_gradient(), "mean_gradient")
    return (("rms_step", (Arg(Lion(lr=1e-4), "ae.Lion(lr=1e-4)"), Arg(np.zeros(500), "np.zeros(500)"))),
            ("rms_step", (Arg(Adam(lr=0.01), "ae.Adam(lr=0.01)"), chapter)),
            ("rms_step", (Arg(Adam(lr=1e-3), "ae.Adam(lr=1e-3)"), Arg(np.zeros(1000), "np.zeros(1000)"))),
            ("lion_from_adamw", (1e-3, 0.1, Arg(np.zeros(1000), "np.zeros(1000)"))),
            ("lion_from_adamw", (1e-3, 0.1, chapter)))


def _lion_from_adamw(answers):
    from ..optimizers import Adam

    calls = _lion_calls()
    for function, args in calls[:3]:
        call = call_label(function, args)
        got = _number(answers, call)
        opt, means = args[0].value, args[1].value
        right = rms_step(opt, means)
        if not abs(got - right) <= 1e-9 * right:
            mistakes = {"the mean of the step lengths, not their root mean square": rms_step(opt, means, mean=True),
                        "averaged over all the steps: take the last 50 only": rms_step(opt, means, last=300),
                        "not divided by lr: the step length is in units of lr": opt.lr * right}
            named = [why for why, value in mistakes.items() if abs(got - value) <= 1e-9 * abs(value)]
            raise _Wrong(f"{call} gave {got!r}, but the measurement gives {right!r}"
                         + (f": {named[0]}." if named else ". Draw the noise as in the statement (one "
                            "default_rng(seed), standard_normal(n) per step) from w = 0."))
    lines = ["✓ rms_step measures the chapter's step lengths"]
    for function, args in calls[3:]:
        call = call_label(function, args)
        got = answers[call]
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise _Wrong(f"{call} should return (lion_lr, lion_weight_decay); got {got!r}"[:400])
        lion_lr, lion_wd = _number({"lr": got[0]}, "lr"), _number({"wd": got[1]}, "wd")
        means = args[2].value
        adam_rms = rms_step(Adam(lr=1e-3), means)
        if not abs(lion_lr / (1e-3 * adam_rms) - 1) < 1e-6:
            why = (": that is lr / rms; Lion's steps have length lr, Adam's lr · rms, so Lion's lr is lr · rms"
                   if abs(lion_lr / (1e-3 / adam_rms) - 1) < 1e-6 else "")
            raise _Wrong("\n".join(lines + [f"{call}: lion_lr = {lion_lr:.4g}, but Lion's steps are as long as "
                                            f"Adam's (rms {1e-3 * adam_rms:.4g}) at lr = {1e-3 * adam_rms:.4g}"
                                            f"{why}."]))
        if not abs(lion_lr * lion_wd / 1e-4 - 1) < 1e-9:
            why = " The weight decay came back unchanged: scale it so that lr · weight_decay stays the same." if (
                abs(lion_wd - 0.1) < 1e-12) else ""
            raise _Wrong("\n".join(lines + [f"{call}: lr · weight_decay is {lion_lr * lion_wd:.4g} for Lion, but "
                                            f"1e-3 · 0.1 = 1e-4 for the AdamW recipe.{why}"]))
    return "\n".join(lines + ["✓ Lion's settings match the AdamW recipe's step length and decay"])


# -- chapter 8 --------------------------------------------------------------------------------------------------
KERAS_STEPS_PER_EPOCH, KERAS_TOTAL_STEPS = 34, 510  # chapter 8: ceil(1077 training images / 32), 15 epochs
WARMUP_SETTINGS = ((0.01, KERAS_STEPS_PER_EPOCH, KERAS_TOTAL_STEPS - KERAS_STEPS_PER_EPOCH, 0.0),  # the chapter's
                   (0.005, 10, 50, 0.002))  # peak, warmup_steps, decay_steps, initial


def keras_cosine(k, peak, warmup_steps, decay_steps, initial=0.0, *, clamp=True, from_zero=False, offset=True):
    """The rate of eq-keras-cosine after k steps taken: Keras's CosineDecay(initial, decay_steps,
    warmup_target=peak, warmup_steps=warmup_steps) (tests/test_value_judges.py holds it to Keras's)."""
    if k < warmup_steps:
        start = 0.0 if from_zero else initial
        return start + (peak - start) * k / warmup_steps
    done = (k - warmup_steps if offset else k) / decay_steps
    return peak / 2 * (1 + np.cos(np.pi * (min(done, 1.0) if clamp else done)))


def warmup_points(warmup_steps, decay_steps):
    W, D = warmup_steps, decay_steps
    return sorted({0, 1, W // 2, W - 1, W, W + 1, W + D // 2, W + D - 1, W + D, W + D + 7})


ADAMEDU_LR_T = lambda W, D: (1, 2, W, W + 1, W + D + 1)  # noqa: E731 (the steps t at which adamedu_lr is read)


def _warmup_calls():
    calls = []
    for setting in WARMUP_SETTINGS:
        calls += [("warmup_cosine", (k, *setting)) for k in warmup_points(*setting[1:3])]
        calls.append(("adamedu_lr", setting, tuple((t,) for t in ADAMEDU_LR_T(*setting[1:3]))))
    return tuple(calls)


def _warmup_cosine(answers):
    for peak, W, D, initial in WARMUP_SETTINGS:
        setting = (peak, W, D, initial)
        for k in warmup_points(W, D):
            call = call_label("warmup_cosine", (k, *setting))
            got = _number(answers, call)
            right = keras_cosine(k, *setting)
            if abs(got - right) > 1e-6 * peak:
                mistakes = {"the warm-up starts at initial, not at 0": dict(from_zero=True),
                            "after decay_steps the rate stays at 0: clip the fraction of the decay at 1":
                                dict(clamp=False),
                            "the decay counts its steps from the end of the warm-up, k − warmup_steps":
                                dict(offset=False)}
                named = [why for why, change in mistakes.items()
                         if abs(got - keras_cosine(k, *setting, **change)) <= 1e-9 * peak]
                phase = ("the warm-up: a straight line from initial to peak over warmup_steps steps" if k < W else
                         "the decay: peak/2 · (1 + cos(π · min(k − W, D) / D))")
                raise _Wrong(f"{call} = {got:.6g}, but Keras's CosineDecay gives {right:.6g} after {k} steps "
                             f"({phase})" + (f": {named[0]}." if named else "."))
        call = call_label("adamedu_lr", setting, tuple((t,) for t in ADAMEDU_LR_T(W, D)))
        got = answers[call]
        if not isinstance(got, (list, tuple)) or len(got) != len(ADAMEDU_LR_T(W, D)):
            raise _Wrong(f"adamedu_lr{setting} should return a function lr(t); calling it gave {got!r}"[:400])
        for t, value in zip(ADAMEDU_LR_T(W, D), got, strict=True):
            value = _number({"lr(t)": value}, "lr(t)")
            right = keras_cosine(t - 1, *setting)
            if abs(value - right) > 1e-6 * peak:
                why = (" Keras passes the steps already taken (from 0), adamedu passes t (from 1): step t gets "
                       "schedule(t − 1)." if abs(value - keras_cosine(t, *setting)) <= 1e-9 * peak else "")
                raise _Wrong(f"adamedu_lr{setting}({t}) = {value:.6g}, but Keras takes step t = {t} with "
                             f"schedule({t - 1}) = {right:.6g}.{why}")
    return "✓ warmup_cosine is Keras's CosineDecay; adamedu_lr counts t from 1"


def _half_step_calls():
    from ..optimizers import Adam

    return tuple(("half_step_gradient", (Arg(opt, label),)) for opt, label in [
        (Adam(), "ae.Adam()"), (Adam(eps=1e-7, eps_hat=True), "ae.Adam(eps=1e-7, eps_hat=True)"),
        (Adam(eps=1e-7, eps_hat=True, beta2=0.98), "ae.Adam(eps=1e-7, eps_hat=True, beta2=0.98)"),
        (Adam(lr=0.1, eps=1e-6), "ae.Adam(lr=0.1, eps=1e-6)")])


def first_step(opt, g):
    """|w_1| / lr: the optimizer's first step from w = 0 with gradient g (chapter 8's first_step)."""
    w = np.zeros(1)
    w_1, _ = opt.step(w, np.array([g]), opt.init(w))
    return abs(w_1[0]) / opt.lr


def _keras_half_step(answers):
    for function, args in _half_step_calls():
        call = call_label(function, args)
        got = _number(answers, call)
        opt = args[0].value
        # first step lr·g/(g + ε) (Algorithm 1), lr·g/(g + ε̂/√(1 − β2)) (Keras's form): half of lr at g = that ε
        right = opt.eps / np.sqrt(1 - opt.beta2) if opt.eps_hat else opt.eps
        if not (got > 0 and abs(got / right - 1) < 1e-5):
            why = (" That is where the step is half of lr · lr: first_step(opt, g) is already in units of lr, so "
                   "compare it with 0.5." if got > 0 and abs(first_step(opt, got) - 0.5 * opt.lr) < 1e-4 else
                   " That is ε̂ itself; in Algorithm 1's terms Keras's first step adds ε̂ / √(1 − β2)."
                   if opt.eps_hat and abs(got / opt.eps - 1) < 1e-5 else "")
            raise _Wrong(f"{call} = {got:.6g}, but the first step is half of lr at |g| = {right:.6g}.{why} "
                         "Bisect on log g until high / low < 1 + 1e-6.")
    return "✓ half_step_gradient finds the ε of each Adam: Algorithm 1's, Keras's at t = 1, and for β2 = 0.98"


ADAM_SETTINGS = {  # chapter 8's adam_settings: label -> ae.Adam's options
    "Algorithm 1, eps = 1e-8": {},
    "Algorithm 1, eps = 1e-7": {"eps": 1e-7},
    "Algorithm 1, eps = 1e-7 / sqrt(1 - beta2)": {"eps": 1e-7 / np.sqrt(1 - 0.999)},
    "Keras's form, eps_hat = 1e-7": {"eps": 1e-7, "eps_hat": True},
}
X0_MATCH, STEPS_MATCH = np.array([1.0, 1.0]), 30
_KERAS_PATH = ("keras_path", (Arg("__import__('keras').optimizers.Adam()", "keras.optimizers.Adam()", expr=True),
                              Arg("__import__('adamedu').Quadratic([1.0, 10.0])", "ordinary_gradients", expr=True),
                              Arg(X0_MATCH, "x0_match"), STEPS_MATCH))


def match_gaps():
    """The largest gap of each setting's path to Keras's Adam (the numpy Keras form, which the package's tests hold
    to Keras's), relative to the distance it travels, on chapter 8's small_gradients."""
    from .. import problems
    from ..loop import minimize
    from ..optimizers import Adam

    small = problems.Quadratic([1e-6, 1e-5])
    reference = minimize(small, X0_MATCH, Adam(**ADAM_SETTINGS["Keras's form, eps_hat = 1e-7"]), STEPS_MATCH).path
    travel = np.max(np.abs(reference - X0_MATCH))
    return {label: float(np.max(np.abs(minimize(small, X0_MATCH, Adam(**options), STEPS_MATCH).path - reference))
                         / travel) for label, options in ADAM_SETTINGS.items()}


def _keras_path(answers):
    from .. import problems
    from ..loop import minimize
    from ..optimizers import Adam

    call = call_label(*_KERAS_PATH)
    path = _array(answers, call)
    expected = minimize(problems.Quadratic([1.0, 10.0]), X0_MATCH, Adam(eps=1e-7, eps_hat=True), STEPS_MATCH).path
    if path.shape != expected.shape:
        why = " The first row is x0." if path.shape == (STEPS_MATCH, 2) else ""
        raise _Wrong(f"{call} returned an array of shape {path.shape}; it should be (steps + 1, len(x0)) = "
                     f"{expected.shape}.{why}")
    if not np.allclose(path, expected, atol=1e-5):
        raise _Wrong(f"{call} ends at {path[-1]}, but Keras's Adam ends at {expected[-1]} (ae.Adam(eps=1e-7, "
                     "eps_hat=True) in numpy). Does every step use the gradient at the current w?")
    gaps = match_gaps()
    measured = sorted(gaps, key=gaps.get)
    lines = ["✓ your loop trains like Keras's Adam", "largest gap to Keras's Adam, relative to its distance travelled:",
             *(f"    {label:42s} {gaps[label]:6.1%}" for label in measured)]
    order = answers[call_label("predicted_order", ())]
    if not (isinstance(order, (list, tuple)) and sorted(map(str, order)) == sorted(ADAM_SETTINGS)):
        raise _Wrong("\n".join(lines + [f"predicted_order() should return the four labels of adam_settings, each "
                                        f"once; got {order!r}"[:400]]))
    if list(order) != measured:
        why = (" You ordered them from the farthest to the closest." if list(order) == measured[::-1] else
               " Which setting takes Keras's first step exactly (eq-keras-first-step)? And how does Keras's effective "
               "ε change over the 30 steps?")
        raise _Wrong("\n".join(lines + [f"your order {list(order)} is not the measured one.{why}"]))
    return "\n".join(lines + ["✓ your prediction was right"])


def torch_sgd_path(problem, x0, lr, momentum, nesterov, steps):
    """PyTorch's SGD with momentum (buffer u ← βu + g; step lr·u, or lr·(g + βu) with Nesterov), written from
    torch/optim/sgd.py's documented update; tests/test_value_judges.py holds it to torch.optim.SGD."""
    w, u, path = np.array(x0, dtype=float), None, [np.array(x0, dtype=float)]
    for _ in range(steps):
        g = problem.grad(w)
        u = g.copy() if u is None else momentum * u + g
        w = w - lr * (g + momentum * u if nesterov else u)
        path.append(w)
    return np.array(path)


SCHEDULE_K = (0, 1, 5, 10, 11, 30, 50)


def _momentum_from_torch(answers):
    from .. import problems
    from ..loop import minimize
    from ..optimizers import Momentum

    ravine, x0 = problems.ravine(), np.array([1.5, 1.5])
    for nesterov in (False, True):
        call = call_label("momentum_from_torch", (0.01, 0.9, nesterov))
        got = answers[call]
        if not isinstance(got, Momentum):
            raise _Wrong(f"{call} should return an ae.Momentum, got {got!r}"[:400])
        ours = minimize(ravine, x0, got, 30).path
        theirs = torch_sgd_path(ravine, x0, 0.01, 0.9, nesterov, 30)
        if not np.allclose(ours, theirs, rtol=1e-9, atol=1e-12):
            hint = ""
            if np.isclose(got.lr, 0.01):
                hint = (" Your lr is PyTorch's unchanged; but ae.Momentum steps along the moving average m, which is "
                        "(1 − beta) times PyTorch's buffer u (eq-mom-lr-translation).")
            elif got.beta != 0.9 or got.nesterov != nesterov:
                hint = " Keep beta = momentum and the nesterov flag as they are."
            raise _Wrong(f"with nesterov={nesterov}, {got!r} ends at {ours[-1]}, PyTorch's SGD(lr=0.01, "
                         f"momentum=0.9) at {theirs[-1]}.{hint}"[:800])
    lines = ["✓ momentum_from_torch takes PyTorch's SGD steps, with and without Nesterov"]
    schedule = answers[call_label("schedule_for_to_keras", (0.01, 0.9, 10, 40))]
    if type(schedule).__name__ != "CosineDecay":
        raise _Wrong("\n".join(lines + [f"schedule_for_to_keras should return a Keras CosineDecay "
                                        f"(keras.optimizers.schedules), got {schedule!r}"[:400]]))
    rates = answers[call_label("schedule_for_to_keras", (0.01, 0.9, 10, 40), tuple((k,) for k in SCHEDULE_K))]
    for k, rate in zip(SCHEDULE_K, rates, strict=True):
        rate, recipe = _number({"rate": rate}, "rate"), keras_cosine(k, 0.01, 10, 40)
        if not np.isclose(rate, recipe / (1 - 0.9), rtol=1e-5, atol=1e-9):
            why = (" That is the recipe's PyTorch rate unchanged; but to_keras's learning_rate replaces the lr of the "
                   "adamedu optimizer: which lr did momentum_from_torch set for PyTorch's 0.01?"
                   if np.isclose(rate, recipe, rtol=1e-5, atol=1e-9) else "")
            raise _Wrong("\n".join(lines + [f"after {k} steps taken your schedule gives {rate:.6g}; in adamedu's "
                                            f"units the recipe's rate is {recipe / (1 - 0.9):.6g}.{why}"]))
    return "\n".join(lines + ["✓ PyTorch's SGD steps, and the schedule in adamedu's units"])


# -- chapter 9 --------------------------------------------------------------------------------------------------
NS_HAND = Arg(np.diag([3.0, 4.0]), "np.diag([3.0, 4.0])")  # ex-pre-ns's hand example: one step from diag(3, 4)


def _newton_schulz_hand(answers):
    from .. import optimizers
    from . import grading

    call = call_label("newton_schulz", (NS_HAND, 1))
    got = _array(answers, call)
    if got.shape != (2, 2):
        raise _Wrong(f"{call} returned an array of shape {got.shape}; it should have x's shape (2, 2)")
    right = optimizers.newton_schulz(NS_HAND.value, 1, eps=0.0)  # the package's iteration, ε kept out of the way
    s = np.diag(NS_HAND.value) / np.linalg.norm(NS_HAND.value)
    if not np.allclose(got, right, rtol=1e-6, atol=1e-9):
        named = [why for why, wrong in grading._newton_schulz_mistakes().items()
                 if np.allclose(got, wrong(NS_HAND.value, 1)[0], rtol=1e-6, atol=1e-9)]
        raise _Wrong(f"{call} gave {np.array2string(got, precision=4)}; after dividing by the Frobenius norm 5 the "
                     f"singular values are {s[0]:.1f} and {s[1]:.1f}, and one step maps each s to a s + b s³ + c s⁵: "
                     f"diag({right[0, 0]:.4f}, {right[1, 1]:.4f})" + (f". {named[0]}." if named else "."))
    return (f"✓ by hand: diag(3, 4) / 5 has the singular values 0.6 and 0.8; one step gives {right[0, 0]:.4f} and "
            f"{right[1, 1]:.4f}")


# -- chapter 10 -------------------------------------------------------------------------------------------------
COSINE_HAND_T = (1, 6, 11, 56, 200)  # ex-sched-cosine's hand example: warmup_steps 10, decay_steps 90, peak 1e-3
COSINE_HAND = (10, 90, 1e-3, 0.0)


def _cosine_warmup_hand(answers):
    from .. import schedules
    from . import grading

    warmup_steps, decay_steps, peak, final = COSINE_HAND
    schedule = schedules.cosine_with_warmup(warmup_steps, decay_steps, peak, final=final)
    got = {t: _number(answers, call_label("cosine_with_warmup", (t, *COSINE_HAND))) for t in COSINE_HAND_T}
    right = {t: float(schedule(t)) for t in COSINE_HAND_T}
    wrong = [t for t in COSINE_HAND_T if abs(got[t] - right[t]) > 1e-9 * peak]
    if wrong:
        case = dict(warmup_steps=warmup_steps, decay_steps=decay_steps, peak=peak, final=final)
        named = [why for why, mistake in grading._cosine_warmup_mistakes().items()
                 if all(abs(got[t] - mistake(t=t, **case)[0]) <= 1e-9 * peak for t in COSINE_HAND_T)]
        meaning = {1: "nothing learned yet", 6: "half-way up", 11: "the peak, at step warmup_steps + 1",
                   56: "half-way down", 200: "after the end"}
        t = wrong[0]
        shown = ", ".join(f"{got[k]:.6g}" for k in COSINE_HAND_T)
        raise _Wrong(f"for t = {', '.join(map(str, COSINE_HAND_T))} you gave {shown}; by hand: "
                     f"{', '.join(f'{right[k]:.6g}' for k in COSINE_HAND_T)}. At t = {t} ({meaning[t]}) the rate is "
                     f"{right[t]:.6g}, not {got[t]:.6g}" + (f": {named[0]}." if named else "."))
    return "✓ by hand: 0, 5e-4, 1e-3, 5e-4 and 0 at steps 1, 6, 11, 56 and 200"


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
        ValueExercise("adamax_p_norm", (), (("adamax_u", (_G_HAND, 0.5)),
                                            ("adamax_u", (Arg(adamax_figure_gradients(), "grads_ex"), 0.99)),
                                            *(("p_norm_scale", (_G_HAND, p, 0.5)) for p in (1, 2, 128))),
                      _adamax_p_norm),
        ValueExercise("nadam_schedule", (), (*(("mu_reaches", c) for c in NADAM_REACH),
                                             *(("psi_for", c) for c in NADAM_PSI)), _nadam_schedule),
        ValueExercise("radam_switch", (), tuple(("radam_switch", c) for c in RADAM_CASES), _radam_switch),
        ValueExercise("lion_from_adamw", (), _lion_calls(), _lion_from_adamw),
        ValueExercise("warmup_cosine", (), _warmup_calls(), _warmup_cosine),
        ValueExercise("keras_half_step", (), _half_step_calls(), _keras_half_step),
        ValueExercise("keras_path", (), (_KERAS_PATH, ("predicted_order", ())), _keras_path),
        ValueExercise("momentum_from_torch", (), (("momentum_from_torch", (0.01, 0.9, False)),
                                                  ("momentum_from_torch", (0.01, 0.9, True)),
                                                  ("schedule_for_to_keras", (0.01, 0.9, 10, 40)),
                                                  ("schedule_for_to_keras", (0.01, 0.9, 10, 40),
                                                   tuple((k,) for k in SCHEDULE_K))), _momentum_from_torch),
        ValueExercise("newton_schulz_hand", (), (("newton_schulz", (NS_HAND, 1)),), _newton_schulz_hand),
        ValueExercise("cosine_warmup_hand", (), tuple(("cosine_with_warmup", (t, *COSINE_HAND)) for t in COSINE_HAND_T),
                      _cosine_warmup_hand),
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
        verb = "is" if len(stubs) == 1 else "are"
        return Verdict(name, False, f"{', '.join(stubs)} {verb} not written yet (it raises NotImplementedError): "
                                    "replace the `raise NotImplementedError` line with your code.")
    for k, v in answers.items():
        if isinstance(v, Raised):
            return Verdict(name, False, f"{k} raised {v.type_name}: {v.message}")
    absent = [k for k in (*ex.fetch, *(label for label, *_ in calls_of(ex))) if k not in answers]
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
    for label, function, args, then in calls_of(ex):
        fn = scope.get(function)
        if fn is None:
            answers[label] = Missing(function)
        elif not callable(fn):
            answers[label] = Raised("TypeError", f"{function} should be your function, but it is "
                                                 f"{type(fn).__name__}")
        else:
            try:
                value = fn(*(resolve(a, scope) for a in args))
                if then is not None:
                    value = [np.asarray(value(*(resolve(a, scope) for a in targs))) for targs in then]
                answers[label] = value
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
