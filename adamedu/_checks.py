"""Checks on user input that raise at once, name the culprit and change nothing."""

import math
import numbers

import numpy as np

from ._tree import leaf_name


class NonFiniteError(FloatingPointError, ValueError):
    """A gradient, or the parameters an update would produce, hold NaN or infinity.

    Raised before anything is changed. The loops of :mod:`adamedu` catch it and report the
    step at which the run diverged.
    """


# The ranges a hyperparameter may take, by the name used in ``hyper(default, allowed)``.
RANGES = {
    ">= 0": (lambda x: x >= 0, "a finite number >= 0"),
    "schedule": (lambda x: x >= 0, "a finite number >= 0 or a schedule (a function of the step t)"),
    "[0, 1)": (lambda x: 0 <= x < 1, "a number in [0, 1)"),
}


def check_hyperparameter(owner, name, value, allowed):
    """Return ``value`` as a Python float (or bool), or raise naming ``owner``, ``name`` and ``allowed``."""
    if allowed == "schedule" and callable(value):
        return value  # a learning-rate schedule t -> lr, checked each time it is called
    if allowed == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{owner}: {name} must be True or False, got {value!r} ({type(value).__name__})")
        return bool(value)
    in_range, description = RANGES[allowed]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be {description}, got {value!r} ({type(value).__name__})")
    value = float(value)  # a Python float keeps float32 arrays in float32 (NEP 50)
    if not math.isfinite(value) or not in_range(value):
        raise ValueError(f"{owner}: {name} must be {description}, got {value!r}")
    return value


def as_param(path, w, root="params", check=True):
    """The leaf ``w`` as a floating-point array; refuse integers, non-numbers and (if ``check``) non-finite values."""
    where = leaf_name(path, root)
    try:
        w = np.asarray(w)
    except Exception as err:  # ragged lists and the like
        raise TypeError(f"{where} must be a floating-point array, got {type(w).__name__}: {err}") from None
    if not np.issubdtype(w.dtype, np.floating):
        hint = " (use e.g. np.array(..., dtype=float))" if np.issubdtype(w.dtype, np.integer) else ""
        raise TypeError(f"{where} has dtype {w.dtype}; parameters must be floating-point arrays "
                        f"(float16, float32 or float64){hint}")
    if check:
        check_finite(where, w, "parameters")
    return w


def as_grad(path, g, w, root="grads"):
    """The leaf ``g`` as an array of the dtype of its parameter ``w``; refuse NaN and infinity."""
    where = leaf_name(path, root)
    try:
        g = np.asarray(g)
    except Exception as err:
        raise TypeError(f"{where} must be a numeric array, got {type(g).__name__}: {err}") from None
    if not (np.issubdtype(g.dtype, np.floating) or np.issubdtype(g.dtype, np.integer)):
        raise TypeError(f"{where} has dtype {g.dtype}; gradients must be real numbers")
    check_finite(where, g, "gradients")
    if g.dtype != w.dtype:
        with np.errstate(over="ignore"):
            cast = g.astype(w.dtype)
        if not np.isfinite(cast).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(cast))[0])
            raise NonFiniteError(f"{where} holds {g[index]!r} at index {index}, too large for the {w.dtype} "
                                 f"parameters (largest {w.dtype}: {np.finfo(w.dtype).max:.4g})")
        g = cast
    return g


def check_finite(where, x, what):
    """Raise NonFiniteError with the first bad index when ``x`` holds NaN or infinity."""
    # np.sum is one fast pass; NaN and inf survive it. Only when it is not finite (or
    # overflowed) do we pay for the exact search.
    if math.isfinite(float(np.sum(x, dtype=np.float64))):
        return
    bad = ~np.isfinite(x)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where_in = f" at index {index}" if x.ndim else ""
        raise NonFiniteError(f"{where} holds {x[index]}{where_in} ({int(bad.sum())} non-finite value(s)); "
                             f"{what} must be finite")
