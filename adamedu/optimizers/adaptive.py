"""One learning rate per parameter: AdaGrad and RMSprop."""

from dataclasses import KW_ONLY, dataclass

import numpy as np

from ._base import Optimizer, hyper, numpy_ops

__all__ = ["AdaGrad", "RMSprop"]


def scaled(g, s, eps, eps_in_sqrt, ops):
    """g / (√s + ε), or g / √(s + ε) as Keras writes it."""
    return g / ops.sqrt(s + eps) if eps_in_sqrt else g / (ops.sqrt(s) + eps)


@dataclass(frozen=True)
class AdaGrad(Optimizer):
    r"""AdaGrad (Duchi, Hazan & Singer 2011): divide by the root of the summed squared gradients.

    .. math::

        G_t &= G_{t-1} + g_t^2 \\
        w_t &= w_{t-1} - \alpha_t\, g_t / (\sqrt{G_t} + \epsilon)
        \qquad\text{(or } / \sqrt{G_t + \epsilon}\text{ with } \texttt{eps\_in\_sqrt=True)}

    ``G`` starts at ``initial_accumulator``; αₜ = α / (1 + (t − 1)·``lr_decay``) (PyTorch's
    ``lr_decay``). The defaults equal ``torch.optim.Adagrad()``;
    ``AdaGrad(lr=0.001, eps=1e-7, initial_accumulator=0.1, eps_in_sqrt=True)`` equals
    ``keras.optimizers.Adagrad()`` (whose default learning rate is 0.001, ours and torch's 0.01).
    """

    lr: float = hyper(0.01, "schedule")
    _: KW_ONLY
    eps: float = hyper(1e-10, ">= 0")
    initial_accumulator: float = hyper(0.0, ">= 0")
    eps_in_sqrt: bool = hyper(False, "bool")
    lr_decay: float = hyper(0.0, ">= 0")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    refused = {"initial_accumulator_value": "AdaGrad calls it initial_accumulator"}

    slots = ("G",)

    def init_slot(self, name, w):
        return np.full_like(w, self.initial_accumulator)

    def update(self, w, g, G, *, t, lr, ops=numpy_ops):  # noqa: N803 - G as in the paper
        w, g = self.decay(w, g, lr)
        lr = lr / (1 + (t - 1) * self.lr_decay)
        G = G + g * g  # noqa: N806
        return w - lr * scaled(g, G, self.eps, self.eps_in_sqrt, ops), G


@dataclass(frozen=True)
class RMSprop(Optimizer):
    r"""RMSprop (Tieleman & Hinton 2012): divide by the root of a moving average of g².

    .. math::

        v_t &= \beta\, v_{t-1} + (1 - \beta)\, g_t^2 \\
        w_t &= w_{t-1} - \alpha\, g_t / (\sqrt{v_t} + \epsilon)
        \qquad\text{(or } / \sqrt{v_t + \epsilon}\text{ with } \texttt{eps\_in\_sqrt=True)}

    ``centered=True`` (Graves 2013) divides by the root of the variance v − ḡ², where ḡ (the slot
    ``g_avg``) is the moving average of g. ``momentum=μ`` steps along a buffer
    b ← μb + g/(√v + ε) (PyTorch's form: w ← w − α b; Keras keeps α·b, the same for a constant α).

    ``RMSprop(beta=b)`` equals ``torch.optim.RMSprop(alpha=b)``, with ``centered`` and ``momentum``
    too; ``RMSprop(eps=1e-7, eps_in_sqrt=True)`` equals ``keras.optimizers.RMSprop()``.
    """

    lr: float = hyper(0.001, "schedule")
    _: KW_ONLY
    beta: float = hyper(0.9, "[0, 1)")
    eps: float = hyper(1e-8, ">= 0")
    eps_in_sqrt: bool = hyper(False, "bool")
    centered: bool = hyper(False, "bool")
    momentum: float = hyper(0.0, "[0, 1)")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    refused = {"alpha": "RMSprop calls torch's alpha beta", "rho": "RMSprop calls Keras's rho beta"}

    slots = ("v",)  # the class's: an instance adds g_avg if centered, then b if momentum > 0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "slots", ("v",) + ("g_avg",) * self.centered + ("b",) * (self.momentum > 0))

    def update(self, w, g, *slots, t, lr, ops=numpy_ops):
        state = dict(zip(self.slots, slots, strict=True))
        w, g = self.decay(w, g, lr)
        beta = self.beta
        v = state["v"] = beta * state["v"] + (1 - beta) * g * g
        if self.centered:  # the variance of g rather than its second moment
            g_avg = state["g_avg"] = beta * state["g_avg"] + (1 - beta) * g
            v = v - g_avg * g_avg
        step = scaled(g, v, self.eps, self.eps_in_sqrt, ops)
        if self.momentum > 0:
            step = state["b"] = self.momentum * state["b"] + step
        return (w - lr * step, *state.values())
