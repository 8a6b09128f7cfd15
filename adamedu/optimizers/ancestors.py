"""Two ancestors of RMSprop and Adam: Rprop (signs only) and Adadelta (units that match)."""

from dataclasses import KW_ONLY, dataclass

import numpy as np

from ._base import Optimizer, hyper, numpy_ops

__all__ = ["Rprop", "Adadelta"]


@dataclass(frozen=True)
class Rprop(Optimizer):
    r"""Rprop (Riedmiller & Braun 1993): move by a step size of its own per coordinate, in the sign's direction.

    .. math::

        s_t &= \operatorname{clip}\bigl(s_{t-1} \cdot \eta(g_t g_{t-1}),\ s_{\min},\ s_{\max}\bigr), \qquad
        \eta(x) = \begin{cases} \eta^+ & x > 0 \\ \eta^- & x < 0 \\ 1 & x = 0 \end{cases} \\
        w_t &= w_{t-1} - \operatorname{sign}(g_t)\, s_t

    The size of the gradient never enters, only its sign and whether the sign changed: a coordinate
    whose gradient keeps its sign speeds up by η⁺, one whose gradient flips slows down by η⁻ and, as in
    the iRprop⁻ variant that PyTorch implements, skips that step (its remembered gradient is set to 0, so
    the next step neither speeds up nor slows down, and there is no step back). ``lr`` is the initial
    step size s₀. Made for full batches: with noisy minibatch gradients the signs flip at random
    (RMSprop was the fix).
    The defaults equal ``torch.optim.Rprop()``.
    """

    lr: float = hyper(0.01, ">= 0")
    _: KW_ONLY
    eta_minus: float = hyper(0.5, "[0, 1)")
    eta_plus: float = hyper(1.2, ">= 1")
    step_min: float = hyper(1e-6, ">= 0")
    step_max: float = hyper(50.0, ">= 0")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("prev", "step_size")
    refused = {"etas": "Rprop takes torch's etas as eta_minus and eta_plus",
               "step_sizes": "Rprop takes torch's step_sizes as step_min and step_max"}

    def __post_init__(self):
        super().__post_init__()
        if self.step_min > self.step_max:
            raise ValueError(f"Rprop: step_min must be <= step_max, got step_min={self.step_min!r} > "
                             f"step_max={self.step_max!r}")

    def init_slot(self, name, w):
        return np.full_like(w, self.lr) if name == "step_size" else np.zeros_like(w)

    def update(self, w, g, prev, step_size, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        s = ops.sign(g * prev)  # +1: same sign as last step, -1: flipped, 0: either is zero
        same, flipped = (s + ops.abs(s)) / 2, (ops.abs(s) - s) / 2  # each exactly 0 or 1
        factor = same * self.eta_plus + flipped * self.eta_minus + (1 - ops.abs(s))
        step_size = ops.maximum(step_size * factor, self.step_min)
        step_size = -ops.maximum(-step_size, -self.step_max)  # min(., step_max) from the ops we have
        g = g * (1 - flipped)  # after a flip: no step now, and no sign to compare with next time
        return w - ops.sign(g) * step_size, g, step_size


@dataclass(frozen=True)
class Adadelta(Optimizer):
    r"""Adadelta (Zeiler 2012): RMSprop whose step carries the units of the parameters.

    .. math::

        v_t &= \rho\, v_{t-1} + (1 - \rho)\, g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &= \rho\, u_{t-1} + (1 - \rho)\, \Delta_t^2 \\
        w_t &= w_{t-1} - \alpha\, \Delta_t

    RMSprop divides g by an RMS of g, so its step has the units of α; Adadelta multiplies by an RMS of
    its own past steps ``u`` instead, so the step has the units of w and the paper needs no learning
    rate (α = 1). ε starts it off: with u = 0 the first step is √ε · g/√((1 − ρ) g² + ε), about
    √(ε/(1 − ρ)) · g/|g| when (1 − ρ) g² ≫ ε (3.2·10⁻³ with torch's defaults), whatever the size of g.
    The defaults equal ``torch.optim.Adadelta()``; ``Adadelta(lr=0.001, rho=0.95, eps=1e-7)`` equals
    ``keras.optimizers.Adadelta()``.
    """

    lr: float = hyper(1.0, "schedule")
    _: KW_ONLY
    rho: float = hyper(0.9, "[0, 1)")
    eps: float = hyper(1e-6, ">= 0")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("v", "u")

    def update(self, w, g, v, u, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        v = self.rho * v + (1 - self.rho) * g * g
        delta = ops.sqrt(u + self.eps) / ops.sqrt(v + self.eps) * g
        u = self.rho * u + (1 - self.rho) * delta * delta
        return w - lr * delta, v, u
