# ruff: noqa: N803, N806 - matrices keep the capital names of the papers (G, H, L, R, A)
"""Beyond the diagonal: rules that precondition a parameter as a matrix (full-matrix AdaGrad, Shampoo, Muon).

Adam's v rescales each coordinate on its own: a diagonal preconditioner. The rules here multiply the
gradient by matrices built from past gradients, so they can follow a valley that runs along no axis.
None of them is elementwise (``elementwise = False``): the in-place step runs them on whole arrays,
and the compiled engine, which fuses elementwise loops, refuses them. Besides arithmetic they call
``ops.matmul``, ``ops.transpose`` and ``ops.inverse_root`` (a symmetric matrix's inverse p-th root by
its eigendecomposition).
"""

import math
from dataclasses import KW_ONLY, dataclass

import numpy as np

from .._tree import flatten
from ._base import Optimizer, hyper, numpy_ops, param_name

__all__ = ["FullMatrixAdaGrad", "Shampoo", "Muon", "newton_schulz", "full_matrix_adagrad_step", "shampoo_step",
           "NS_COEFFICIENTS"]

# Jordan et al. (2024): the quintic whose slope at 0 is as large as possible while 5 steps still bring
# every singular value in [0.02, 1] (of a matrix of Frobenius norm <= 1) into roughly [0.7, 1.2].
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def full_matrix_adagrad_step(w, g, H, *, lr, ops=numpy_ops):
    r"""Full-matrix AdaGrad (Duchi et al. 2011) on one array, seen as one vector of its n numbers.

    .. math::

        H_t = H_{t-1} + g_t g_t^\top, \qquad w_t = w_{t-1} - \alpha\, H_t^{-1/2} g_t

    ``H`` is n×n. Its inverse square root whitens the gradients: whatever the rotation of the
    problem, the step sees the same geometry. The price is n² numbers of state and an n³
    eigendecomposition per step, which is why nobody runs it on a network.
    """
    flat = g.reshape(-1, 1)
    H = H + ops.matmul(flat, ops.transpose(flat))
    step = ops.matmul(ops.inverse_root(H, 2), flat)
    return w - lr * step.reshape(w.shape), H


def shampoo_step(w, g, L, R, *, lr, ops=numpy_ops):
    r"""One step of Shampoo (Gupta, Koren & Singer 2018, Algorithm 1) on an m×n matrix.

    .. math::

        L_t = L_{t-1} + G_t G_t^\top, \quad R_t = R_{t-1} + G_t^\top G_t, \quad
        W_{t+1} = W_t - \eta\, L_t^{-1/4}\, G_t\, R_t^{-1/4}

    L (m×m) collects the gradients' row covariances, R (n×n) their column covariances. Their
    Kronecker product approximates full-matrix AdaGrad's mn×mn matrix, and the two fourth roots
    together play the part of its inverse square root.
    """
    L = L + ops.matmul(g, ops.transpose(g))
    R = R + ops.matmul(ops.transpose(g), g)
    step = ops.matmul(ops.matmul(ops.inverse_root(L, 4), g), ops.inverse_root(R, 4))
    return w - lr * step, L, R


def newton_schulz(x, steps=5, coefficients=NS_COEFFICIENTS, eps=1e-7, eps_in_max=True, ops=numpy_ops):
    r"""An approximation of the orthogonal factor U Vᵀ of x = U S Vᵀ (Jordan et al. 2024), by matrix products.

    x is first divided by its Frobenius norm, which bounds its singular values by 1. Each step maps
    X to a X + (b A + c A²) X with A = X Xᵀ: on the singular values, the odd polynomial
    s ↦ a s + b s³ + c s⁵, which pushes every one of them from (0, 1] towards 1 while U and V stay.
    A wide matrix is iterated as given, a tall one transposed, so that A is the smaller Gram matrix.
    ``eps`` keeps a zero matrix at zero: ``eps_in_max=True`` divides by max(‖x‖, ε) (PyTorch),
    ``False`` by ‖x‖ + ε (Keras).
    """
    a, b, c = coefficients
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = ops.transpose(x)
    norm = ops.sqrt(ops.sum(x * x))
    x = x / ops.maximum(norm, eps) if eps_in_max else x / (norm + eps)
    for _ in range(steps):
        A = ops.matmul(x, ops.transpose(x))
        x = a * x + ops.matmul(b * A + c * ops.matmul(A, A), x)
    return ops.transpose(x) if tall else x


class _MatrixRule(Optimizer):
    """Shared by the rules here: whole arrays, and a parameter of a shape the rule cannot take refused by name."""

    elementwise = False
    ndims = (2,)  # the numbers of dimensions a parameter may have
    refuse_hint = ""

    def init(self, params):
        for path, w in flatten(params):
            ndim = np.ndim(w)
            if ndim not in self.ndims:
                name = param_name(path) or "the parameter"
                raise ValueError(f"{type(self).__name__} takes parameters with {' or '.join(map(str, self.ndims))} "
                                 f"dimension(s), but {name!r} has shape {np.shape(w)}{self.refuse_hint}")
        return super().init(params)


@dataclass(frozen=True)
class FullMatrixAdaGrad(_MatrixRule):
    r"""Full-matrix AdaGrad (Duchi, Hazan & Singer 2011): each parameter array as one vector, preconditioned by
    the inverse square root of the sum of its gradients' outer products (see :func:`full_matrix_adagrad_step`).

    ``H`` starts at ε·I so that its root exists from the first step (as Shampoo's factors do; Duchi et al.
    add δI to the root instead, (δI + G_t^{1/2})⁻¹ g_t, which differs only while the sum is small). For
    teaching on small problems: an array of n numbers keeps n² of state.
    """

    lr: float = hyper(0.1, "schedule")
    _: KW_ONLY
    eps: float = hyper(1e-4, "> 0")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("H",)
    ndims = (0, 1, 2, 3, 4)

    def slot_shape(self, name, shape):
        n = math.prod(shape)
        return (n, n)

    def init_slot(self, name, w):
        return self.eps * np.eye(w.size, dtype=w.dtype)

    def update(self, w, g, H, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        return full_matrix_adagrad_step(w, g, H, lr=lr, ops=ops)


@dataclass(frozen=True)
class Shampoo(_MatrixRule):
    r"""Shampoo (Gupta, Koren & Singer 2018): a matrix preconditioned on both sides (see :func:`shampoo_step`).

    For an m×n matrix the state is L (m×m) and R (n×n), both starting at ε·I (Algorithm 1). A vector
    is a tensor of order 1, for which the paper's Algorithm 2 keeps one factor and takes its −1/2 root:
    full-matrix AdaGrad (its L is n×n, its R is empty, shape (0, 0)). Parameters of other orders are
    refused. ``eps`` must be > 0: the first G Gᵀ has rank 1, and a singular factor has no inverse root.
    """

    lr: float = hyper(0.1, "schedule")
    _: KW_ONLY
    eps: float = hyper(1e-4, "> 0")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("L", "R")
    ndims = (1, 2)
    refuse_hint = " (Algorithm 1 of Gupta et al. 2018 is for matrices, Algorithm 2's order-1 case for vectors)"

    def slot_shape(self, name, shape):
        if len(shape) == 1:
            return (shape[0], shape[0]) if name == "L" else (0, 0)
        side = shape[0] if name == "L" else shape[-1]
        return (side, side)

    def init_slot(self, name, w):
        n = self.slot_shape(name, w.shape)[0]
        return self.eps * np.eye(n, dtype=w.dtype)

    def update(self, w, g, L, R, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        if len(w.shape) == 1:  # order 1: one factor, its −1/2 root (Algorithm 2 with k = 1)
            w, L = full_matrix_adagrad_step(w, g, L, lr=lr, ops=ops)
            return w, L, R
        return shampoo_step(w, g, L, R, lr=lr, ops=ops)


MUON_HINT = (": Muon orthogonalizes matrices only (Jordan et al. 2024). Give the other parameters (biases, "
             "scales, embeddings, the output layer) to AdamW: ae.muon_with_adamw(ae.Muon(...), ae.AdamW(...)), "
             "or ae.Partition for any split")


@dataclass(frozen=True)
class Muon(_MatrixRule):
    r"""Muon (Jordan et al. 2024): momentum, orthogonalized by Newton–Schulz iterations, for matrix parameters.

    .. math::

        m_t &= \beta m_{t-1} + (1 - \beta) g_t \\
        u_t &= (1 - \beta) g_t + \beta m_t \quad\text{(Nesterov; } u_t = m_t \text{ without)} \\
        W_t &= W_{t-1} - \alpha\, s(m, n)\, \mathrm{NS}_5(u_t)

    NS₅ (:func:`newton_schulz`) replaces the singular values of u by numbers near 1: every direction the
    momentum points to moves by about the same amount, however small its gradient was. ``adjust_lr``
    chooses the factor s(m, n) for an m×n matrix: ``"original"`` √max(1, m/n) (Jordan's; PyTorch's
    default; written for PyTorch's outputs × inputs layout, while adamedu's and Keras's layers store
    inputs × outputs, so there it favours the other side), ``"match_rms_adamw"`` rms_rate·√max(m, n)
    (Liu et al. 2025: an update of AdamW's typical size, so AdamW's learning rate and decay carry
    over), ``"none"`` 1. Weight decay is decoupled
    (w ← w·(1 − αλ), with α unadjusted), as in both frameworks.

    Only matrices: a parameter of another shape is refused by name (:data:`MUON_HINT`); combine with
    AdamW through :func:`muon_with_adamw`.

    Equivalences (float64, Newton–Schulz in the parameters' dtype):
    ``Muon(lr, weight_decay=λ)`` = ``torch.optim.Muon(lr, weight_decay=λ)`` (torch runs Newton–Schulz in
    bfloat16, so equal to bfloat16's precision; exactly without that cast), ``adjust_lr_fn`` mapped to
    ``adjust_lr``. ``Muon(lr, weight_decay=0.004, average=False, eps_in_max=False,
    adjust_lr="match_rms_adamw")`` = ``keras.optimizers.Muon(lr)`` on 2-D variables (Keras's ``rms_rate``
    is ours; its ``rms_rate=None`` is ``adjust_lr="none"``). ``average=False`` keeps Keras's sum
    m ← βm + g and Nesterov u = g + βm: the same direction after normalisation, a state 1/(1 − β) larger.
    """

    lr: float = hyper(0.02, "schedule")
    _: KW_ONLY
    beta: float = hyper(0.95, "[0, 1)")
    nesterov: bool = hyper(True, "bool")
    average: bool = hyper(True, "bool")
    ns_steps: int = hyper(5, "whole >= 1")
    ns_coefficients: tuple = hyper(NS_COEFFICIENTS, "3 numbers")
    eps: float = hyper(1e-7, ">= 0")
    eps_in_max: bool = hyper(True, "bool")
    adjust_lr: str = hyper("original", "one of original|match_rms_adamw|none")
    rms_rate: float = hyper(0.2, ">= 0")
    weight_decay: float = hyper(0.0, ">= 0")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("m",)
    decoupled_weight_decay = True  # always, as in PyTorch and Keras
    refuse_hint = MUON_HINT
    refused = {
        "decoupled_weight_decay": "Muon's decay is always decoupled (w ← w·(1 − lr·λ)), as in PyTorch and Keras",
        "momentum": "adamedu calls Muon's momentum beta",
        "adjust_lr_fn": "adamedu calls it adjust_lr ('original', 'match_rms_adamw' or 'none')",
    }

    def lr_scale(self, shape):
        """The factor s(m, n) by which the learning rate of an m×n matrix is multiplied."""
        rows, cols = shape[0], shape[1]
        if self.adjust_lr == "original":
            return math.sqrt(max(1.0, rows / cols))
        if self.adjust_lr == "match_rms_adamw":
            return self.rms_rate * math.sqrt(max(rows, cols))
        return 1.0

    def update(self, w, g, m, *, t, lr, ops=numpy_ops):
        if len(w.shape) != 2:
            raise ValueError(f"Muon got a parameter of shape {tuple(w.shape)}{MUON_HINT}")
        w, g = self.decay(w, g, lr)
        beta = self.beta
        if self.average:  # m is an average of gradients, as in PyTorch (and ae.Momentum)
            m = beta * m + (1 - beta) * g
            u = (1 - beta) * g + beta * m if self.nesterov else m
        else:  # m is a sum, as in Keras
            m = beta * m + g
            u = g + beta * m if self.nesterov else m
        o = newton_schulz(u, self.ns_steps, self.ns_coefficients, self.eps, self.eps_in_max, ops=ops)
        return w - lr * self.lr_scale(w.shape) * o, m
