"""Run an optimizer on a problem and keep what happened: the path, the losses, and where it blew up.

::

    trace = minimize(ravine(), [1.5, 1.5], GradientDescent(lr=0.05), steps=200)
    trace.path        # (steps + 1, 2): x0, then every iterate
    trace.losses      # (steps + 1,)
    trace.diverged_at # None, or the step that was refused

A step that would produce NaN or infinity (the optimizer raises :class:`NonFiniteError`), or a
loss that is no longer finite, ends the run: the trace keeps every finite iterate before it and
records the step. numpy's overflow warnings are silenced while the run goes on, since the
divergence is reported once, in the trace.
"""

import dataclasses
import math
import numbers

import numpy as np

from ._checks import NonFiniteError

__all__ = ["Trace", "minimize", "race", "describe"]


@dataclasses.dataclass(repr=False)
class Trace:
    """The record of one run of :func:`minimize`.

    ``path[k]`` is the iterate after k steps (``path[0]`` = x0), ``losses[k]`` its loss.
    ``diverged_at`` is None, or the step k that was refused (then ``path`` ends at step k − 1);
    ``message`` says why.
    """

    path: np.ndarray
    losses: np.ndarray
    diverged_at: int | None
    optimizer: object
    problem: object
    message: str | None = None
    name: str | None = None  # a label of the caller's choosing, for legends

    @property
    def final(self):
        """The last iterate."""
        return self.path[-1]

    @property
    def final_loss(self):
        """The loss of the last iterate."""
        return float(self.losses[-1])

    @property
    def steps_taken(self):
        """How many steps were taken (fewer than asked when the run diverged)."""
        return len(self.path) - 1

    @property
    def diverged(self):
        return self.diverged_at is not None

    @property
    def label(self):
        """The name given to the run, else the optimizer and its settings: ``GradientDescent(lr=0.05)``."""
        return self.name if self.name is not None else describe(self.optimizer)

    @property
    def regret(self):
        r"""Cumulative regret Rₜ = Σ_{s ≤ t} fₛ(xₛ) − fₛ(x*), t = 1 … steps_taken (Zinkevich 2003).

        xₛ = ``path[s − 1]`` is the point the learner holds when fₛ is revealed; x* is the problem's
        ``minimum`` (for an online problem: the best fixed point in hindsight).
        """
        x_star = self.problem.minimum
        if x_star is None:
            raise ValueError(f"regret needs the problem's minimum, and {self.problem.name!r} has none")
        loss_at = self.problem.loss_at
        charged = [loss_at(x, t) - loss_at(x_star, t) for t, x in enumerate(self.path[:-1], start=1)]
        return np.cumsum(charged)

    @property
    def average_regret(self):
        """Rₜ / t for t = 1 … steps_taken: it goes to 0 when the learner converges to the best point."""
        return self.regret / np.arange(1, self.steps_taken + 1)

    def __repr__(self):
        outcome = (f"diverged at step {self.diverged_at}" if self.diverged
                   else f"{self.steps_taken} steps, final loss {self.final_loss:.4g}")
        return f"Trace({self.label} on {self.problem.name}: {outcome})"


def minimize(problem, x0, optimizer, steps, *, max_loss=math.inf, label=None):
    """Take ``steps`` steps of ``optimizer`` on ``problem`` from ``x0``; return a :class:`Trace`.

    Step k (k = 1, 2, ...) asks for the gradient ``problem.grad(x, k)`` (so a stochastic problem
    draws the noise of step k), calls ``optimizer.step`` and projects the result into the
    problem's domain. The run stops early, with ``diverged_at = k``, when the step is refused
    (NaN or infinity) or the new loss is not finite or exceeds ``max_loss``. An integer ``x0``
    is converted to float64; a float32 ``x0`` stays float32. ``label`` names the run in legends
    (by default the optimizer and its settings).
    """
    for what, value in (("problem", problem), ("optimizer", optimizer)):
        if isinstance(value, type):  # minimize(ravine(), x0, Adam, ...): the class, not an instance
            raise TypeError(f"minimize: {what} must be an instance, e.g. {value.__name__}(...), "
                            f"got the type {value.__name__} itself")
    for method in ("loss", "grad", "project", "check_point"):
        if not callable(getattr(problem, method, None)):
            raise TypeError(f"minimize: problem must be an adamedu problem (with loss, grad, project), "
                            f"got {type(problem).__name__}")
    if not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "step", None))):
        raise TypeError(f"minimize: optimizer must have init and step (e.g. adamedu.Adam()), "
                        f"got {type(optimizer).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"minimize: steps must be a whole number >= 0, got {steps!r}")
    if isinstance(max_loss, bool) or not isinstance(max_loss, numbers.Real) or math.isnan(max_loss):
        raise ValueError(f"minimize: max_loss must be a number (math.inf for no limit), got {max_loss!r}")
    x = np.array(problem.check_point(x0, "x0"))  # a copy: the caller's x0 stays as it is
    if not np.all(np.isfinite(x)):
        raise ValueError(f"minimize: x0 must be finite, got {x0!r}")

    path, losses, diverged_at, message = [x], [], None, None
    with np.errstate(all="ignore"):  # an overflow is reported once, as diverged_at, not as warnings
        loss = problem.loss(x)
        if not math.isfinite(loss):
            raise ValueError(f"minimize: the loss at x0 must be finite, got {loss}")
        losses.append(loss)
        state = optimizer.init(x)
        for k in range(1, steps + 1):
            try:
                x_new, state = optimizer.step(x, problem.grad(x, k), state)
            except NonFiniteError as err:
                diverged_at, message = k, str(err)
                break
            x_new = problem.project(x_new)
            loss = problem.loss(x_new)
            if not math.isfinite(loss) or loss > max_loss:
                limit = "" if math.isinf(max_loss) else f" (max_loss = {max_loss:g})"
                diverged_at, message = k, f"the loss after step {k} is {loss:g}{limit}"
                break
            x = x_new
            path.append(x)
            losses.append(loss)
    return Trace(np.array(path), np.array(losses), diverged_at, optimizer, problem, message, label)


def race(problem, x0, optimizers, steps, **kwargs):
    """Run each optimizer from the same ``x0``; return ``{label: Trace}`` in the given order.

    ``optimizers`` is a list (labelled by :func:`describe`; repeats get " (2)", " (3)" ...) or a
    dict ``{label: optimizer}``. Keyword arguments go to :func:`minimize`.
    """
    if isinstance(optimizers, dict):
        pairs = list(optimizers.items())
    else:
        pairs, seen = [], {}
        for opt in optimizers:
            label = describe(opt)
            seen[label] = seen.get(label, 0) + 1
            pairs.append((label if seen[label] == 1 else f"{label} ({seen[label]})", opt))
    return {label: minimize(problem, x0, opt, steps, label=label, **kwargs) for label, opt in pairs}


def describe(optimizer):
    """``Adam(lr=0.1, beta1=0)``: the class, its learning rate and every hyperparameter not at its default."""
    if not dataclasses.is_dataclass(optimizer):
        return type(optimizer).__name__
    parts = []
    for field in dataclasses.fields(optimizer):
        value = getattr(optimizer, field.name)
        if field.name == "lr" or value != field.default:
            parts.append(f"{field.name}={_short(value)}")
    return f"{type(optimizer).__name__}({', '.join(parts)})"


def _short(value):
    if callable(value):
        name = getattr(value, "__name__", "")
        return name if name and name != "<lambda>" else "schedule"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)
