r"""Newton's step, the ideal that the diagonal preconditioners of the book approximate.

On a quadratic f(w) = ½ (w − c)ᵀ H (w − c) the gradient is g = H (w − c), so

    w − H⁻¹ g = c:

one step lands on the critical point, whatever the condition number of H. For any twice differentiable f,
with H the Hessian at w, the step jumps to the critical point of the local quadratic model
f(w) + gᵀd + ½ dᵀHd (Nocedal & Wright 2006, section 3.3). In the eigenvector coordinates of H, with
curvatures hᵢ, it is gradient descent with its own learning rate 1/hᵢ for each direction.

With a negative curvature hᵢ the step moves *towards* a saddle point along that direction. The
saddle-free variant of Dauphin et al. (2014) divides by |H| = V |Λ| Vᵀ instead (V the eigenvectors,
Λ the eigenvalues of the symmetric H): the same step length per direction, always downhill.
"""

import numpy as np

__all__ = ["newton_step"]


def newton_step(w, g, hessian, *, saddle_free=False):
    r"""One Newton step: w − H⁻¹ g, or w − |H|⁻¹ g with ``saddle_free=True``.

    ``w`` and ``g`` are 1-D arrays of length n (the point and the gradient there), ``hessian`` the
    symmetric n × n Hessian H at ``w``. The step is computed with ``np.linalg.solve``, never by
    forming H⁻¹. ``saddle_free=True`` replaces H by |H| = V |Λ| Vᵀ from its eigendecomposition
    H = V Λ Vᵀ (Dauphin et al. 2014), which keeps the size of the step along each eigenvector and
    turns it downhill where the curvature is negative.

    Returns a new array; nothing it is given changes. Refuses (naming the argument, its value and what
    is allowed): non-real, non-finite or wrongly shaped input, a Hessian that is not symmetric (beyond rounding), a
    singular Hessian (a zero curvature: the quadratic model has no critical point, and the step would
    be infinite).
    """
    w = _array("w", w)
    g = _array("g", g)
    hessian = _array("hessian", hessian)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"newton_step: w must be a non-empty 1-D array, got shape {w.shape}")
    n = w.size
    if g.shape != w.shape:
        raise ValueError(f"newton_step: g must have the shape of w, {w.shape}, got shape {g.shape}")
    if hessian.shape != (n, n):
        raise ValueError(f"newton_step: hessian must have shape {(n, n)} (one row and column per entry of w), "
                         f"got shape {hessian.shape}")
    scale = max(1.0, float(np.abs(hessian).max()))
    asymmetry = float(np.abs(hessian - hessian.T).max())
    if asymmetry > 1e-8 * scale:  # rounding (a Hessian from finite differences) passes, a wrong matrix does not
        raise ValueError(f"newton_step: hessian must be symmetric, but it differs from its transpose by up to "
                         f"{asymmetry:.3g}; allowed: a symmetric matrix (a Hessian is)")
    hessian = (hessian + hessian.T) / 2  # the symmetric part: eigh reads one triangle only
    if saddle_free not in (True, False):
        raise TypeError(f"newton_step: saddle_free must be True or False, got {saddle_free!r}")
    curvatures, vectors = np.linalg.eigh(hessian)
    smallest = float(np.abs(curvatures).min())
    if smallest <= 1e-12 * float(np.abs(curvatures).max()):
        raise ValueError(f"newton_step: hessian is singular (its eigenvalues are {_show(curvatures)}, the smallest "
                         f"in size {smallest:.3g}); allowed: an invertible matrix, no curvature 0")
    if saddle_free:
        hessian = (vectors * np.abs(curvatures)) @ vectors.T  # |H| = V |Λ| Vᵀ
    return w - np.linalg.solve(hessian, g)


def _array(name, a):
    """``a`` as a float64 array, or a TypeError / ValueError naming ``name`` and its value."""
    if np.iscomplexobj(a):
        raise TypeError(f"newton_step: {name} must hold real numbers, got complex values; allowed: real arrays")
    try:
        out = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"newton_step: {name} must be an array of real numbers, got {a!r}: {err}") from None
    if not np.all(np.isfinite(out)):
        bad = out[~np.isfinite(out)].flat[0]
        raise ValueError(f"newton_step: {name} must be finite, but it holds {bad!r}; allowed: finite real numbers")
    return out


def _show(values):
    return "[" + ", ".join(f"{v:.3g}" for v in values[:6]) + (", ..." if values.size > 6 else "") + "]"
