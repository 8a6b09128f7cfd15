r"""Measuring stability: Adam's preconditioner and the preconditioned sharpness, from gradients alone.

Adam divides each coordinate of its step by :math:`\sqrt{\hat v_t} + \epsilon`. Around a point, its steps
behave as gradient descent with momentum on the loss seen through the diagonal preconditioner
:math:`P = \operatorname{diag}(\sqrt{\hat v_t} + \epsilon)`, so the curvature that decides stability is the
largest eigenvalue of :math:`P^{-1} H`, the *preconditioned sharpness* (Cohen et al. 2022). These functions
measure it with nothing but a gradient function: Hessian-vector products by central differences of gradients,
and power iteration on the symmetric matrix :math:`P^{-1/2} H P^{-1/2}`, which has the eigenvalues of
:math:`P^{-1} H`.
"""

import numpy as np

__all__ = ["adam_preconditioner", "hessian_vector_product", "preconditioned_sharpness"]


def adam_preconditioner(opt, state):
    """The diagonal of P = √v̂ + ε of an Adam-like optimizer's state, as one flat array (bias-corrected v).

    ``opt`` needs ``beta2`` and ``eps`` and ``state`` a slot ``v`` (Adam, AdamW, AMSGrad's v, Nadam, RAdam).
    """
    if state["t"] < 1:
        raise ValueError("adam_preconditioner: the state has taken no step yet (state.t = 0), so v̂ is undefined")
    v = np.concatenate([np.ravel(x) for x in _leaves(state["v"])])
    return np.sqrt(v / (1 - opt.beta2 ** state["t"])) + opt.eps


def hessian_vector_product(grad, w, direction, h=1e-4):
    """H·direction at ``w``, by central differences of ``grad`` (a function of a flat vector): error O(h²)."""
    return (grad(w + h * direction) - grad(w - h * direction)) / (2 * h)


def preconditioned_sharpness(grad, w, p, iters=20, h=1e-4, seed=0):
    """The largest eigenvalue of P⁻¹H at ``w``, P = diag(``p``), by ``iters`` steps of power iteration.

    ``grad`` maps a flat parameter vector to the flat gradient. Each iteration costs two gradients.
    Returns the Rayleigh quotient of the last iterate (a lower bound that converges to λ_max when the
    largest eigenvalue is also the largest in magnitude, as it is near a minimum).
    """
    w, p = np.asarray(w, dtype=float), np.asarray(p, dtype=float)
    if p.shape != w.shape or not np.all(p > 0):
        raise ValueError(f"preconditioned_sharpness: p must be positive and shaped like w {w.shape}, "
                         f"got shape {p.shape}" + ("" if p.shape != w.shape else " with entries <= 0"))
    scale = 1 / np.sqrt(p)
    u = np.random.default_rng(seed).standard_normal(w.size)
    u /= np.linalg.norm(u)
    sharpness = 0.0
    for _ in range(iters):
        z = scale * hessian_vector_product(grad, w, scale * u, h)  # P^-1/2 H P^-1/2 u
        sharpness = float(u @ z)  # Rayleigh quotient
        u = z / np.linalg.norm(z)
    return sharpness


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    if isinstance(tree, (list, tuple)):
        return [leaf for value in tree for leaf in _leaves(value)]
    return [tree]
