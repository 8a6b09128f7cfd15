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
        w_t &= w_{t-1} - \alpha\, g_t / (\sqrt{G_t} + \epsilon)
        \qquad\text{(or } / \sqrt{G_t + \epsilon}\text{ with } \texttt{eps\_in\_sqrt=True)}

    ``G`` starts at ``initial_accumulator``. The defaults equal ``torch.optim.Adagrad()``;
    ``AdaGrad(eps=1e-7, initial_accumulator=0.1, eps_in_sqrt=True)`` equals ``keras.optimizers.Adagrad()``.
    """

    lr: float = hyper(0.01, "schedule")
    _: KW_ONLY
    eps: float = hyper(1e-10, ">= 0")
    initial_accumulator: float = hyper(0.0, ">= 0")
    eps_in_sqrt: bool = hyper(False, "bool")

    slots = ("G",)

    def init_slot(self, name, w):
        return np.full_like(w, self.initial_accumulator)

    def update(self, w, g, G, *, t, lr, ops=numpy_ops):  # noqa: N803 - G as in the paper
        G = G + g * g  # noqa: N806
        return w - lr * scaled(g, G, self.eps, self.eps_in_sqrt, ops), G


@dataclass(frozen=True)
class RMSprop(Optimizer):
    r"""RMSprop (Tieleman & Hinton 2012): divide by the root of a moving average of g².

    .. math::

        v_t &= \beta\, v_{t-1} + (1 - \beta)\, g_t^2 \\
        w_t &= w_{t-1} - \alpha\, g_t / (\sqrt{v_t} + \epsilon)
        \qquad\text{(or } / \sqrt{v_t + \epsilon}\text{ with } \texttt{eps\_in\_sqrt=True)}

    ``RMSprop(beta=b)`` equals ``torch.optim.RMSprop(alpha=b)``;
    ``RMSprop(eps=1e-7, eps_in_sqrt=True)`` equals ``keras.optimizers.RMSprop()``.
    """

    lr: float = hyper(0.001, "schedule")
    _: KW_ONLY
    beta: float = hyper(0.9, "[0, 1)")
    eps: float = hyper(1e-8, ">= 0")
    eps_in_sqrt: bool = hyper(False, "bool")

    slots = ("v",)

    def update(self, w, g, v, *, t, lr, ops=numpy_ops):
        v = self.beta * v + (1 - self.beta) * g * g
        return w - lr * scaled(g, v, self.eps, self.eps_in_sqrt, ops), v
