r"""Gradient clipping: pure functions on a structure of gradients (an array, or a dict / list / tuple of arrays).

Clip the gradients, then step::

    grads = ae.clip_by_global_norm(grads, max_norm=1.0)
    params, state = opt.step(params, grads, state)

Each function returns new arrays and changes nothing it is given. They equal PyTorch's and
Keras's clipping (tested against both), with these differences between the two frameworks:

- ``clip_by_global_norm(g, c)`` scales every array by min(1, c / ‖g‖), ‖g‖ the 2-norm of all the
  gradients together: Keras's ``global_clipnorm=c`` (no ε). ``torch.nn.utils.clip_grad_norm_``
  divides by ‖g‖ + 10⁻⁶ instead, so its clipped norm is a hair below c, and it already scales
  (by a factor just below 1) a norm in (c − 10⁻⁶, c]: pass ``eps=1e-6`` for PyTorch's numbers.
- ``clip_by_norm(g, c)`` clips each array to norm c on its own: Keras's ``clipnorm=c``.
  PyTorch has no such option; calling ``clip_grad_norm_(p, c)`` on each parameter ``p`` is it,
  again with ``eps=1e-6``.
- ``clip_by_value(g, c)`` clips every coordinate to [−c, c]: Keras's ``clipvalue=c`` and
  ``torch.nn.utils.clip_grad_value_(params, c)`` agree exactly.
- Keras takes at most one of its three options and clips inside ``apply_gradients``, before its
  weight decay; PyTorch clips wherever the training loop calls it (between ``backward`` and
  ``step``), as here. PyTorch also offers other norms (``norm_type``); these functions use the 2-norm.

A gradient holding NaN or infinity is refused (NonFiniteError naming it): Keras would turn every
gradient into NaN, PyTorch would pass the NaN on.
"""

import math

import numpy as np

from . import _tree
from ._checks import NonFiniteError, all_finite, check_finite, check_hyperparameter

__all__ = ["global_norm", "clip_by_global_norm", "clip_by_norm", "clip_by_value"]


def _leaves(grads, caller):
    """The leaves of ``grads`` as floating-point arrays, refusing NaN and infinity."""
    leaves = []
    for path, g in _tree.flatten(grads):
        g = np.asarray(g)
        if not np.issubdtype(g.dtype, np.floating):
            raise TypeError(f"{caller}: {_tree.leaf_name(path, 'grads')} has dtype {g.dtype}; "
                            "gradients must be floating-point arrays")
        with np.errstate(over="ignore"):
            if not all_finite(g):
                check_finite(_tree.leaf_name(path, "grads"), g, "gradients")
        leaves.append(g)
    return leaves


def _norm(g):
    """The 2-norm of one array, in float64, without overflow for huge finite gradients."""
    g = g.astype(np.float64, copy=False)
    with np.errstate(over="ignore"):
        squares = float(np.vdot(g, g))
    if math.isfinite(squares):
        return math.sqrt(squares)
    big = float(np.abs(g).max())  # squares overflow: scale first (the gradients that explode most)
    return big * math.sqrt(float(np.vdot(g / big, g / big)))


def _scale(norm, max_norm, eps):
    """min(1, c / (‖g‖ + ε)); 1 for a zero gradient."""
    if norm + eps == 0:
        return 1.0
    return min(1.0, max_norm / (norm + eps))


def _check_max(caller, name, value):
    value = check_hyperparameter(caller, name, value, ">= 0")
    if value == 0:
        raise ValueError(f"{caller}: {name} must be a finite number > 0, got {value!r} "
                         "(to skip clipping, do not call it)")
    return value


def global_norm(grads):
    """‖g‖: the 2-norm of all the gradients together, √(Σ over arrays of Σ g²)."""
    norms = [_norm(g) for g in _leaves(grads, "global_norm")]
    big = max(norms, default=0.0)
    if big == 0:
        return 0.0
    norm = big * math.sqrt(sum((n / big) ** 2 for n in norms))  # scaled: no overflow below float64's max
    if not math.isfinite(norm):
        raise NonFiniteError(f"global_norm: the gradients' norm is larger than float64 can hold ({norm})")
    return norm


def clip_by_global_norm(grads, max_norm, *, eps=0.0):
    """Scale all gradients by one factor, min(1, max_norm / (‖g‖ + eps)), so that ‖g‖ <= max_norm.

    ``eps=0`` is Keras's ``global_clipnorm``; ``eps=1e-6`` is ``torch.nn.utils.clip_grad_norm_``.
    The direction of the whole gradient is kept.
    """
    max_norm = _check_max("clip_by_global_norm", "max_norm", max_norm)
    eps = check_hyperparameter("clip_by_global_norm", "eps", eps, ">= 0")
    leaves = _leaves(grads, "clip_by_global_norm")
    scale = _scale(global_norm(grads), max_norm, eps)
    return _tree.unflatten(grads, [g * np.asarray(scale, dtype=g.dtype) for g in leaves])


def clip_by_norm(grads, max_norm, *, eps=0.0):
    """Scale each array on its own by min(1, max_norm / (‖gᵢ‖ + eps)): Keras's ``clipnorm``.

    The direction of each array's gradient is kept, that of the whole is not.
    """
    max_norm = _check_max("clip_by_norm", "max_norm", max_norm)
    eps = check_hyperparameter("clip_by_norm", "eps", eps, ">= 0")
    leaves = _leaves(grads, "clip_by_norm")
    return _tree.unflatten(grads, [g * np.asarray(_scale(_norm(g), max_norm, eps), dtype=g.dtype) for g in leaves])


def clip_by_value(grads, max_value):
    """Clip every coordinate to [−max_value, max_value]: Keras's ``clipvalue``, torch's ``clip_grad_value_``.

    Unlike the norms, this changes the gradient's direction.
    """
    max_value = _check_max("clip_by_value", "max_value", max_value)
    leaves = _leaves(grads, "clip_by_value")
    return _tree.unflatten(grads, [np.clip(g, -max_value, max_value) for g in leaves])
