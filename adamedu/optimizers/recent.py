"""Three later members of Adam's family: Yogi, AdaBelief and LAMB."""

from dataclasses import KW_ONLY, dataclass

import numpy as np

from ._base import Optimizer, hyper, numpy_ops
from .adam import adam_step, moments

__all__ = ["Yogi", "AdaBelief", "Lamb"]


@dataclass(frozen=True)
class Yogi(Optimizer):
    r"""Yogi (Zaheer et al. 2018): Adam whose v moves towards g² by an additive step, not a fraction of v.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= v_{t-1} - (1 - \beta_2)\, \operatorname{sign}(v_{t-1} - g_t^2)\, g_t^2 \\
        w_t &= w_{t-1} - \alpha\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    Adam's v moves by (1 − β₂)(g² − v): after a quiet stretch a large gradient can change v by a
    lot, and a small v can shrink fast (the effective step α/√v grows fast). Yogi's v moves by at
    most (1 − β₂)·g² in either direction, and only towards g². The defaults (α = 0.01, ε = 1e-3,
    v starting at ``initial_accumulator`` = 1e-6, Adam's bias corrections) are those of optax's
    ``yogi``; ``bias_correction=False`` drops the corrections.
    """

    lr: float = hyper(0.01, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "[0, 1)")
    beta2: float = hyper(0.999, "[0, 1)")
    eps: float = hyper(1e-3, ">= 0")
    initial_accumulator: float = hyper(1e-6, ">= 0")
    bias_correction: bool = hyper(True, "bool")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("m", "v")

    def init_slot(self, name, w):
        return np.full_like(w, self.initial_accumulator) if name == "v" else np.zeros_like(w)

    def update(self, w, g, m, v, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        m = self.beta1 * m + (1 - self.beta1) * g
        g2 = g * g
        v = v - (1 - self.beta2) * ops.sign(v - g2) * g2  # towards g², by at most (1 − β2)·g²
        w = adam_step(w, m, v, t=t, lr=lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                      bias_correction=self.bias_correction, ops=ops)
        return w, m, v


@dataclass(frozen=True)
class AdaBelief(Optimizer):
    r"""AdaBelief (Zhuang et al. 2020, Algorithm 2): Adam scaled by how far g strays from its prediction m.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        s_t &= \beta_2 s_{t-1} + (1 - \beta_2)\, (g_t - m_t)^2 + \epsilon \\
        w_t &= w_{t-1} - \alpha\, \hat m_t / (\sqrt{\hat s_t} + \epsilon)

    Adam divides by the root of the mean of g²; AdaBelief by the root of the variance of g around its
    moving average m. When the gradient agrees with m (a steady slope), s is small and the step is
    large; when it keeps surprising (noise, a ravine's walls), s is large and the step small. ε is
    added twice, as in the paper: inside s at every step, and to its root. ``eps=1e-16`` is the
    authors' recommended default.
    """

    lr: float = hyper(0.001, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "[0, 1)")
    beta2: float = hyper(0.999, "[0, 1)")
    eps: float = hyper(1e-16, ">= 0")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("m", "s")

    def update(self, w, g, m, s, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        m = self.beta1 * m + (1 - self.beta1) * g
        surprise = g - m
        s = self.beta2 * s + (1 - self.beta2) * surprise * surprise + self.eps
        w = adam_step(w, m, s, t=t, lr=lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps, ops=ops)
        return w, m, s


@dataclass(frozen=True)
class Lamb(Optimizer):
    r"""LAMB (You et al. 2020): Adam's direction, rescaled per array to a step proportional to the array's norm.

    .. math::

        u_t &= \hat m_t / (\sqrt{\hat v_t} + \epsilon) + \lambda\, w_{t-1} \\
        w_t &= w_{t-1} - \alpha\, \frac{\lVert w_{t-1} \rVert}{\lVert u_t \rVert}\, u_t

    (m and v as in Adam; the trust ratio ‖w‖/‖u‖ is taken as 1 when either norm is 0). Each array
    (a layer's weights, its biases) then moves by α times its own norm, whatever the scale of its
    gradients: the point of LAMB is large-batch training, where one learning rate must suit layers
    whose gradients differ by orders of magnitude. Not elementwise: the norms need the whole array.
    ε = 1e-6 is the paper's; ``Lamb(eps=1e-7)`` (with ``weight_decay=0``, the default) equals
    ``keras.optimizers.Lamb()``, whose weight decay is its base class's decoupled one instead.
    """

    lr: float = hyper(0.001, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "[0, 1)")
    beta2: float = hyper(0.999, "[0, 1)")
    eps: float = hyper(1e-6, ">= 0")
    weight_decay: float = hyper(0.0, ">= 0")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("m", "v")
    elementwise = False
    decoupled_weight_decay = False  # neither: λw joins the step inside the trust ratio, as in the paper
    refused = {"decoupled_weight_decay": "LAMB's decay λw is part of its update u, inside the trust ratio "
                                         "(You et al. 2020): set weight_decay=λ"}

    def update(self, w, g, m, v, *, t, lr, ops=numpy_ops):
        if self.maximize:
            g = -g
        m, v = moments(g, m, v, self.beta1, self.beta2)
        u = (m / (1 - self.beta1**t)) / (ops.sqrt(v / (1 - self.beta2**t)) + self.eps) + self.weight_decay * w
        w_norm, u_norm = ops.sqrt(ops.sum(w * w)), ops.sqrt(ops.sum(u * u))
        one = w_norm * 0 + 1  # 1 in the norms' own type, so that both branches agree inside a compiled graph
        ratio = ops.cond(w_norm > 0, lambda: ops.cond(u_norm > 0, lambda: w_norm / u_norm, lambda: one),
                         lambda: one)
        return w - lr * ratio * u, m, v
