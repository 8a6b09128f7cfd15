"""Checks on user input that raise at once, name the culprit and change nothing."""

import math
import numbers
import re

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
    "(0, 1)": (lambda x: 0 < x < 1, "a number in (0, 1)"),
    ">= 1": (lambda x: x >= 1, "a finite number >= 1"),
    "> 0": (lambda x: x > 0, "a finite number > 0"),
    "<= 0": (lambda x: x <= 0, "a finite number <= 0"),
}


def check_hyperparameter(owner, name, value, allowed):
    """Return ``value`` as a Python float (or bool), or raise naming ``owner``, ``name`` and ``allowed``."""
    if allowed == "schedule" and callable(value):
        return value  # a learning-rate schedule t -> lr, checked each time it is called
    if allowed == "patterns":
        return check_patterns(owner, name, value)
    if allowed == "whole >= 1":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{owner}: {name} must be a whole number >= 1, got {value!r}")
        return int(value)
    if allowed.startswith("one of "):
        choices = allowed[len("one of "):].split("|")
        if value not in choices:
            raise ValueError(f"{owner}: {name} must be one of {choices}, got {value!r}")
        return value
    if allowed == "3 numbers":
        if (not isinstance(value, (tuple, list)) or len(value) != 3
                or not all(isinstance(x, numbers.Real) and math.isfinite(x) for x in value)):
            raise ValueError(f"{owner}: {name} must be a tuple of three finite numbers (a, b, c), got {value!r}")
        return tuple(float(x) for x in value)
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


def check_patterns(owner, name, value):
    """A tuple of regular expressions (parameter names to exclude), or raise naming ``owner`` and ``name``."""
    allowed = "a tuple of parameter names or regular expressions, e.g. ('bias',)"
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        hint = f"; write ({value!r},) for one name" if isinstance(value, str) else ""
        raise TypeError(f"{owner}: {name} must be {allowed}, got {value!r} ({type(value).__name__}){hint}")
    for pattern in value:
        if not isinstance(pattern, str) or not pattern:
            raise TypeError(f"{owner}: {name} must be {allowed}, got the entry {pattern!r} in {value!r}")
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValueError(f"{owner}: {name}={value!r} holds {pattern!r}, which is not a regular expression "
                             f"({err}); it must be {allowed}") from None
    return tuple(value)


def as_param(path, w, root="params", check=True):
    """The leaf ``w`` as a floating-point array; refuse integers, non-numbers and (if ``check``) non-finite values."""
    # Runs on every leaf of every optimizer step: the leaf's name is only spelled out for an error message.
    try:
        w = np.asarray(w)
    except Exception as err:  # ragged lists and the like
        raise TypeError(f"{leaf_name(path, root)} must be a floating-point array, got {type(w).__name__}: "
                        f"{err}") from None
    if w.dtype.kind != "f" and not np.issubdtype(w.dtype, np.floating):  # kind "f": the common case, at no cost
        hint = " (use e.g. np.array(..., dtype=float))" if np.issubdtype(w.dtype, np.integer) else ""
        raise TypeError(f"{leaf_name(path, root)} has dtype {w.dtype}; parameters must be floating-point arrays "
                        f"(float16, float32 or float64){hint}")
    if check:
        check_finite(leaf_name(path, root), w, "parameters")
    return w


def as_grad(path, g, w, root="grads"):
    """The leaf ``g`` as an array of the dtype of its parameter ``w``; refuse NaN and infinity.

    Runs on every step: call it under ``np.errstate(over="ignore")`` (see all_finite).
    """
    try:
        g = np.asarray(g)
    except Exception as err:
        raise TypeError(f"{leaf_name(path, root)} must be a numeric array, got {type(g).__name__}: {err}") from None
    # the dtype of w is a floating one (as_param): only a gradient of another dtype needs looking at
    if g.dtype != w.dtype and not (np.issubdtype(g.dtype, np.floating) or np.issubdtype(g.dtype, np.integer)):
        raise TypeError(f"{leaf_name(path, root)} has dtype {g.dtype}; gradients must be real numbers")
    if not all_finite(g):
        check_finite(leaf_name(path, root), g, "gradients")
    if g.dtype != w.dtype:
        where = leaf_name(path, root)
        with np.errstate(over="ignore"):
            cast = g.astype(w.dtype)
        if not np.isfinite(cast).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(cast))[0])
            raise NonFiniteError(f"{where} holds {g[index]!r} at index {index}, too large for the {w.dtype} "
                                 f"parameters (largest {w.dtype}: {np.finfo(w.dtype).max:.4g})")
        g = cast
    return g


def all_finite(x):
    """True if the array ``x`` surely holds no NaN or infinity; False if it may (then search with check_finite).

    It runs on every gradient and every new parameter of every step, so it is one pass, the fastest
    numpy has: the dot product of ``x`` with itself (BLAS), which NaN and infinity survive. Large
    finite values can overflow it too, which is why False only means "look closer"; numpy warns about
    such an overflow, so callers that may see huge values call it under ``np.errstate(over="ignore")``.
    """
    x = x if type(x) is np.ndarray else np.asarray(x)
    if x.dtype.kind != "f":
        return True  # integers and booleans cannot be NaN or infinite
    return math.isfinite(float(np.vdot(x, x)))  # vdot: the dot product of the arrays flattened


def check_finite(where, x, what, block_of=None):
    """Raise NonFiniteError with the first bad index when ``x`` holds NaN or infinity.

    ``block_of=(offset, shape)`` says that ``x`` is a block of an array of that shape, flattened,
    starting at flat index ``offset``: the index reported is then the one in that array.
    """
    # Only when the fast check fails (a NaN, an inf, or an overflow) do we pay for the exact search.
    with np.errstate(over="ignore"):
        if all_finite(x):
            return
    bad = ~np.isfinite(x)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        value = x[index]
        ndim = x.ndim
        if block_of is not None:
            offset, shape = block_of
            index, ndim = tuple(int(i) for i in np.unravel_index(offset + int(np.ravel_multi_index(index, x.shape)),
                                                                 shape)), len(shape)
        where_in = f" at index {index}" if ndim else ""
        raise NonFiniteError(f"{where} holds {value}{where_in} ({int(bad.sum())} non-finite value(s)); "
                             f"{what} must be finite")
