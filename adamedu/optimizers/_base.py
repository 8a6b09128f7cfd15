"""What every optimizer shares: hyperparameter checks, structures of arrays, step counting.

A concrete optimizer is a frozen dataclass of its hyperparameters that names its state
(``slots``, one array per parameter array) and writes its rule once, in ``update``, for a
single array. ``update`` uses arithmetic operators and the few functions of ``ops``
(sqrt, maximum, abs, sign, and cond for a branch on ``t``), so the same lines run on numpy
arrays here and on Keras tensors in :mod:`adamedu.keras`.
"""

import dataclasses
import math

import numpy as np

from .. import _tree
from .._checks import NonFiniteError, as_grad, as_param, check_finite, check_hyperparameter

__all__ = ["Optimizer", "State", "hyper", "numpy_ops"]


class numpy_ops:  # noqa: N801 - used like a module: ops.sqrt(v)
    """The array functions an update rule may call, for numpy arrays.

    On Python numbers they return Python numbers: numpy scalars would turn float32 arrays
    into float64 ones when multiplied with them.
    """

    @staticmethod
    def sqrt(x):
        return math.sqrt(x) if isinstance(x, (int, float)) else np.sqrt(x)

    maximum = staticmethod(np.maximum)
    abs = staticmethod(np.abs)
    sign = staticmethod(np.sign)

    @staticmethod
    def cond(pred, true_fn, false_fn):
        """``true_fn()`` if ``pred`` else ``false_fn()``: only the branch taken is computed.

        A rule that branches on a value derived from ``t`` writes ``ops.cond`` instead of
        ``if``: under Keras that value is a tensor of the compiled graph (``keras.ops.cond``).
        """
        return true_fn() if pred else false_fn()


def hyper(default, allowed):
    """A hyperparameter field; ``allowed`` is one of ``">= 0"``, ``"[0, 1)"``, ``"bool"``, ``"schedule"``.

    ``"schedule"`` (the learning rate) takes a number >= 0 or a function of the step t that returns one.
    """
    return dataclasses.field(default=default, metadata={"allowed": allowed})


class State(dict):
    """An optimizer's state: the step count ``t`` and its slots (``m``, ``v``, ...).

    A plain dict whose entries can also be read as attributes: ``state.t``, ``state.m``.
    Each slot has the structure of the parameters (one array per parameter array).
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"this state has no {name!r}; it holds {list(self)}") from None

    def __repr__(self):
        body = ",\n".join(f"  {key}={_short(value)}" for key, value in self.items())
        return f"State(\n{body},\n)"


def _short(value):
    text = np.array2string(value, precision=4, threshold=8) if isinstance(value, np.ndarray) else repr(value)
    return text.replace("\n", "\n    ")


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """Base class. Subclasses set ``slots`` and write ``update`` for one array.

    ``scalars`` names state shared by all arrays that changes with ``t`` (Nadam's product of
    momentum coefficients); ``next_scalars`` computes it once per step.
    """

    slots = ()
    scalars = {}

    def __new__(cls, *args, **kwargs):
        allowed = [f.name for f in dataclasses.fields(cls)]
        for key in kwargs:
            if key not in allowed:
                raise TypeError(f"{cls.__name__} got an unknown keyword {key!r}; "
                                f"its hyperparameters are {', '.join(allowed)}")
        return super().__new__(cls)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = check_hyperparameter(type(self).__name__, f.name, getattr(self, f.name), f.metadata["allowed"])
            object.__setattr__(self, f.name, value)

    # -- the public API -------------------------------------------------------------------
    def init(self, params):
        """The state before the first step: ``t = 0`` and zeroed slots shaped like ``params``."""
        leaves = [as_param(path, w) for path, w in _tree.flatten(params)]
        state = State(t=0)
        for name in self.slots:
            state[name] = _tree.unflatten(params, [self.init_slot(name, w) for w in leaves])
        state.update(self.scalars)
        return state

    def step(self, params, grads, state):
        """Return ``(new_params, new_state)``; no input is changed.

        Raises before changing anything if the inputs do not fit together, or if a gradient
        (or the parameters the step would produce) holds NaN or infinity.
        """
        name = type(self).__name__
        _tree.same_structure(params, grads)
        self._check_state(params, state)
        flat_w = [as_param(path, w) for path, w in _tree.flatten(params)]
        flat_g = [as_grad(path, g, w) for (path, g), w in zip(_tree.flatten(grads), flat_w)]
        flat_slots = [[leaf for _, leaf in _tree.flatten(state[s])] for s in self.slots]

        t = state["t"] + 1
        lr = self.learning_rate(t)
        scalars = self.next_scalars(t, **{k: state[k] for k in self.scalars})
        new_w, new_slots = [], [[] for _ in self.slots]
        for i, (w, g) in enumerate(zip(flat_w, flat_g)):
            out = self.update(w, g, *(s[i] for s in flat_slots), t=t, lr=lr, **scalars)
            out = [np.asarray(x, dtype=w.dtype) for x in (out if self.slots else (out,))]
            new_w.append(out[0])
            for acc, x in zip(new_slots, out[1:]):
                acc.append(x)
        for (path, _), w in zip(_tree.flatten(params), new_w):
            try:
                check_finite(_tree.leaf_name(path), w, "parameters")
            except NonFiniteError as err:
                raise NonFiniteError(f"{name} step {t} would overflow: {err}") from None

        new_state = State(t=t)
        for s, leaves in zip(self.slots, new_slots):
            new_state[s] = _tree.unflatten(params, leaves)
        new_state.update(scalars)
        return _tree.unflatten(params, new_w), new_state

    def learning_rate(self, t):
        """The learning rate of step ``t``: ``lr`` itself, or ``lr(t)`` when ``lr`` is a schedule."""
        if not callable(self.lr):
            return self.lr
        return check_hyperparameter(type(self).__name__, f"lr({t})", self.lr(t), ">= 0")

    # -- what subclasses provide -----------------------------------------------------------
    def init_slot(self, name, w):
        """The initial value of slot ``name`` for parameter array ``w``: zeros unless overridden."""
        return np.zeros_like(w)

    def next_scalars(self, t, **scalars):
        """The shared scalar state for step ``t`` (nothing unless overridden)."""
        return {}

    def update(self, w, g, *slots, t, lr, ops=numpy_ops):
        """One step on one array: return ``w`` (and the new slots, in the order of ``slots``)."""
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------
    def _check_state(self, params, state):
        name = type(self).__name__
        if not isinstance(state, dict) or "t" not in state:
            raise TypeError(f"{name}.step: state must be the State returned by {name}.init or {name}.step, "
                            f"got {type(state).__name__}")
        missing = [s for s in (*self.slots, *self.scalars) if s not in state]
        if missing:
            raise ValueError(f"{name}.step: state lacks {missing}; was it made by another optimizer? "
                             f"{name} keeps {['t', *self.slots, *self.scalars]}")
        t = state["t"]
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"{name}.step: state.t must be a whole number >= 0, got {t!r}")
        for s in self.slots:
            _tree.same_structure(params, state[s], names=("params", f"state.{s}"))
