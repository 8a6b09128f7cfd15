r"""Learning-rate schedules: small objects, callables of the step t (counting from 1, as ``lr(t)`` is called).

Any optimizer takes one as its learning rate::

    sched = ae.schedules.warmup(100, peak=1e-3).then(ae.schedules.cosine(900, peak=1e-3))
    opt = ae.Adam(lr=sched)           # step t uses sched(t)
    sched                             # warmup(100, peak=0.001).then(cosine(900, peak=0.001))

Each schedule checks its arguments when it is made (naming the one at fault) and checks every rate
it returns: a negative or non-finite rate is refused with the schedule and the step named.
A schedule with a length (``steps``) can be followed by another, which then starts again at its own
t = 1 (``a.then(b)``, ``sequence(a, b, c)``).

Counting conventions (each tested, see tests/test_schedules.py)
-----------------------------------------------------------------
- adamedu calls ``lr(t)`` with t = 1 for the first step.
- A ``keras.optimizers.schedules.LearningRateSchedule`` is called with Keras's ``iterations``, the
  number of steps already taken: 0 for the first step. So ``s(t) == keras_schedule(t - 1)``.
- A ``torch.optim.lr_scheduler`` sets the rate of the next ``optimizer.step()`` and is stepped
  after it: the first step uses the rate the scheduler had when it was made (its count 0), so the
  rate of step t is the one after t − 1 calls of ``scheduler.step()``.

Both frameworks count from 0, so their warm-ups start at their ``start`` value on the first step
(often 0: a step that does nothing) and reach the peak on step ``steps + 1``; adamedu's ``warmup``
is written to agree with them. The step counts of the two frameworks then line up with adamedu's
as ``k = t − 1``.
"""

import math
import numbers

__all__ = ["Schedule", "constant", "warmup", "cosine", "linear_decay", "exponential", "step_decay",
           "piecewise", "inverse_sqrt", "wsd", "cosine_with_warmup", "sequence", "from_function"]


def _number(owner, name, value, allowed="finite number >= 0", check=lambda x: x >= 0):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a {allowed}, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value) or not check(value):
        raise ValueError(f"{owner}: {name} must be a {allowed}, got {value!r}")
    return value


def _count(owner, name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{owner}: {name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _fmt(x):
    return f"{x:g}" if isinstance(x, float) else repr(x)


class Schedule:
    """A learning rate as a function of the step t = 1, 2, ...; subclasses write ``rate(t)``.

    ``steps`` is the schedule's length (None: it goes on for ever), used by ``then``.
    """

    steps = None

    def __call__(self, t):
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1:
            raise ValueError(f"{self!r}: the step t must be a whole number >= 1 (the first step is t = 1), "
                             f"got {t!r}")
        lr = self.rate(int(t))
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"{self!r} would return the learning rate {lr!r} at step t = {t}; "
                             "a learning rate must be a finite number >= 0")
        return lr

    def rate(self, t):
        raise NotImplementedError

    def then(self, *others):
        """This schedule for its ``steps`` steps, then each of ``others`` in turn (each from its own t = 1)."""
        return sequence(self, *others)

    def __repr__(self):
        args = ", ".join(_fmt(a) for a in self._args())
        kwargs = ", ".join(f"{k}={_fmt(v)}" for k, v in self._kwargs().items())
        return f"{self._name()}({', '.join(x for x in (args, kwargs) if x)})"

    def _name(self):
        return type(self).__name__

    def _args(self):
        return ()

    def _kwargs(self):
        return {}

    def __eq__(self, other):
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self):
        return hash(repr(self))


class constant(Schedule):  # noqa: N801 - a schedule is written like a function: constant(1e-3)
    """The same rate at every step (for ``steps`` steps when it is followed by another schedule)."""

    def __init__(self, lr, steps=None):
        self.lr = _number("constant", "lr", lr)
        self.steps = None if steps is None else _count("constant", "steps", steps)

    def rate(self, t):
        return self.lr

    def _args(self):
        return (self.lr,)

    def _kwargs(self):
        return {} if self.steps is None else {"steps": self.steps}


class warmup(Schedule):  # noqa: N801
    r"""Linear warm-up over ``steps`` steps: from ``start`` at t = 1 towards ``peak``, reached at t = steps + 1.

    .. math:: \alpha_t = \text{start} + (\text{peak} - \text{start})\,\frac{\min(t - 1,\ \text{steps})}{\text{steps}}

    Equals Keras's ``CosineDecay(initial_learning_rate=start, warmup_target=peak, warmup_steps=steps)``
    during its warm-up and ``torch.optim.lr_scheduler.LinearLR(start_factor=start/peak,
    total_iters=steps)`` on a base rate ``peak``. After ``steps`` steps it stays at ``peak``.
    """

    def __init__(self, steps, peak, start=0.0):
        self.steps = _count("warmup", "steps", steps)
        self.peak = _number("warmup", "peak", peak)
        self.start = _number("warmup", "start", start)

    def rate(self, t):
        return self.start + (self.peak - self.start) * (min(t - 1, self.steps) / self.steps)

    def _args(self):
        return (self.steps,)

    def _kwargs(self):
        return {"peak": self.peak, **({"start": self.start} if self.start else {})}


class cosine(Schedule):  # noqa: N801
    r"""Cosine decay over ``steps`` steps from ``peak`` (at t = 1) to ``final`` (from t = steps + 1 on).

    .. math:: \alpha_t = \text{final} + (\text{peak} - \text{final})\,
              \tfrac12\bigl(1 + \cos(\pi \min(t - 1, \text{steps}) / \text{steps})\bigr)

    (Loshchilov & Hutter 2017, without restarts.) Equals Keras's ``CosineDecay(peak, steps,
    alpha=final/peak)`` and PyTorch's ``CosineAnnealingLR(T_max=steps, eta_min=final)`` up to its
    end (PyTorch's then rises again; this one stays at ``final``, as Keras's does).
    """

    def __init__(self, steps, peak, final=0.0):
        self.steps = _count("cosine", "steps", steps)
        self.peak = _number("cosine", "peak", peak)
        self.final = _number("cosine", "final", final)

    def rate(self, t):
        progress = min(t - 1, self.steps) / self.steps
        return self.final + (self.peak - self.final) * 0.5 * (1 + math.cos(math.pi * progress))

    def _args(self):
        return (self.steps,)

    def _kwargs(self):
        return {"peak": self.peak, **({"final": self.final} if self.final else {})}


class linear_decay(Schedule):  # noqa: N801
    r"""A straight line from ``peak`` (at t = 1) to ``final`` (from t = steps + 1 on).

    .. math:: \alpha_t = \text{peak} + (\text{final} - \text{peak})\,\min(t - 1, \text{steps}) / \text{steps}

    Equals Keras's ``PolynomialDecay(peak, steps, end_learning_rate=final, power=1)`` and PyTorch's
    ``LinearLR(start_factor=1, end_factor=final/peak, total_iters=steps)``.
    """

    def __init__(self, steps, peak, final=0.0):
        self.steps = _count("linear_decay", "steps", steps)
        self.peak = _number("linear_decay", "peak", peak)
        self.final = _number("linear_decay", "final", final)

    def rate(self, t):
        return self.peak + (self.final - self.peak) * (min(t - 1, self.steps) / self.steps)

    def _args(self):
        return (self.steps,)

    def _kwargs(self):
        return {"peak": self.peak, **({"final": self.final} if self.final else {})}


class exponential(Schedule):  # noqa: N801
    r"""``peak · rate^((t − 1)/every)``: the rate falls by the factor ``rate`` every ``every`` steps, smoothly.

    Equals Keras's ``ExponentialDecay(peak, decay_steps=every, decay_rate=rate)`` and (every = 1)
    PyTorch's ``ExponentialLR(gamma=rate)``.
    """

    def __init__(self, peak, rate, every=1):
        self.peak = _number("exponential", "peak", peak)
        self.factor = _number("exponential", "rate", rate, "number in (0, 1]", lambda x: 0 < x <= 1)
        self.every = _count("exponential", "every", every)

    def rate(self, t):
        return self.peak * self.factor ** ((t - 1) / self.every)

    def _args(self):
        return (self.peak,)

    def _kwargs(self):
        return {"rate": self.factor, **({"every": self.every} if self.every != 1 else {})}


class step_decay(Schedule):  # noqa: N801
    r"""``peak · factor^⌊(t − 1)/every⌋``: the rate drops by ``factor`` after every ``every`` steps.

    Equals PyTorch's ``StepLR(step_size=every, gamma=factor)`` and Keras's
    ``ExponentialDecay(peak, every, factor, staircase=True)``.
    """

    def __init__(self, peak, every, factor=0.1):
        self.peak = _number("step_decay", "peak", peak)
        self.every = _count("step_decay", "every", every)
        self.factor = _number("step_decay", "factor", factor, "number in (0, 1]", lambda x: 0 < x <= 1)

    def rate(self, t):
        return self.peak * self.factor ** ((t - 1) // self.every)

    def _args(self):
        return (self.peak,)

    def _kwargs(self):
        return {"every": self.every, "factor": self.factor}


class piecewise(Schedule):  # noqa: N801
    r"""``values[0]`` for t ≤ boundaries[0], ``values[1]`` for t ≤ boundaries[1], ..., ``values[-1]`` after.

    A boundary is the last step of its piece. PyTorch's ``MultiStepLR(milestones=boundaries)`` changes
    the rate at the same steps; Keras's ``PiecewiseConstantDecay`` compares its 0-based step count
    with ``s <= boundary``, so its boundaries are these minus 1.
    """

    def __init__(self, boundaries, values):
        boundaries, values = list(boundaries), list(values)
        for i, b in enumerate(boundaries):
            _count("piecewise", f"boundaries[{i}]", b)
        if any(b >= c for b, c in zip(boundaries, boundaries[1:], strict=False)):
            raise ValueError(f"piecewise: boundaries must increase, got {boundaries!r}")
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"piecewise: values must hold one rate more than boundaries ({len(boundaries) + 1}), "
                             f"got {len(values)}: {values!r}")
        self.boundaries = [int(b) for b in boundaries]
        self.values = [_number("piecewise", f"values[{i}]", v) for i, v in enumerate(values)]

    def rate(self, t):
        for b, v in zip(self.boundaries, self.values, strict=False):
            if t <= b:
                return v
        return self.values[-1]

    def _args(self):
        return (self.boundaries, self.values)


class inverse_sqrt(Schedule):  # noqa: N801
    r"""``peak · √(timescale / (timescale + t − 1))``: the rate falls as 1/√t, starting at ``peak``.

    The decay of the Transformer's schedule after its warm-up (Vaswani et al. 2017), here with an
    offset so that t = 1 has the rate ``peak``. PyTorch and Keras have no class for it; it equals
    PyTorch's ``LambdaLR(lambda k: (timescale / (timescale + k)) ** 0.5)``.
    """

    def __init__(self, peak, timescale=1):
        self.peak = _number("inverse_sqrt", "peak", peak)
        self.timescale = _number("inverse_sqrt", "timescale", timescale, "finite number > 0", lambda x: x > 0)

    def rate(self, t):
        return self.peak * math.sqrt(self.timescale / (self.timescale + t - 1))

    def _args(self):
        return (self.peak,)

    def _kwargs(self):
        return {"timescale": self.timescale}


class sequence(Schedule):  # noqa: N801
    """Schedules one after another: each runs its own ``steps`` steps from its own t = 1; the last goes on.

    ``a.then(b)`` is ``sequence(a, b)``. PyTorch's ``SequentialLR(schedulers, milestones)`` does the
    same with milestones at the cumulative lengths.
    """

    def __init__(self, *schedules):
        if not schedules:
            raise ValueError("sequence: give at least one schedule")
        parts = []
        for i, s in enumerate(schedules):
            if not isinstance(s, Schedule):
                raise TypeError(f"sequence: schedule {i} must be an adamedu schedule (wrap a function with "
                                f"ae.schedules.from_function), got {s!r}")
            parts.extend(s.parts if isinstance(s, sequence) else [s])
        for i, s in enumerate(parts[:-1]):
            if s.steps is None:
                raise ValueError(f"sequence: {s!r} (part {i}) has no length, so nothing can follow it; "
                                 "give it steps=...")
        self.parts = parts
        last = parts[-1].steps
        self.steps = None if last is None else sum(s.steps for s in parts)

    def rate(self, t):
        for s in self.parts[:-1]:
            if t <= s.steps:
                return s.rate(t)
            t -= s.steps
        return self.parts[-1].rate(t)

    def __repr__(self):
        first, *rest = self.parts
        return repr(first) if not rest else f"{first!r}.then({', '.join(repr(s) for s in rest)})"


class from_function(Schedule):  # noqa: N801
    """Any function of t as a schedule (its rates checked at every call; ``steps`` optional)."""

    def __init__(self, fn, steps=None, name=None):
        if not callable(fn):
            raise TypeError(f"from_function: fn must be a function of the step t, got {fn!r}")
        self.fn = fn
        self.steps = None if steps is None else _count("from_function", "steps", steps)
        self.name = name or getattr(fn, "__name__", "fn")

    def rate(self, t):
        return float(self.fn(t))

    def __repr__(self):
        return f"from_function({self.name}" + ("" if self.steps is None else f", steps={self.steps}") + ")"


def cosine_with_warmup(warmup_steps, decay_steps, peak, start=0.0, final=0.0):
    """Linear warm-up from ``start`` to ``peak``, then cosine decay to ``final``.

    Equals Keras's ``CosineDecay(initial_learning_rate=start, decay_steps=decay_steps,
    alpha=final/peak, warmup_target=peak, warmup_steps=warmup_steps)`` at t − 1.
    """
    return warmup(warmup_steps, peak, start).then(cosine(decay_steps, peak, final))


def wsd(warmup_steps, stable_steps, decay_steps, peak, final=0.0):
    """Warmup-stable-decay: a linear warm-up, a long stretch at ``peak``, then a linear decay to ``final``.

    (Hu et al. 2024; Hägele et al. 2024.) Unlike cosine, the decay is a short last phase (typically
    10-20 % of the steps), so a run can be continued from the end of the stable phase and decayed at
    any length.
    """
    return warmup(warmup_steps, peak).then(constant(peak, steps=stable_steps),
                                           linear_decay(decay_steps, peak, final))
