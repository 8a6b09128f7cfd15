"""Gradient descent and momentum."""

from dataclasses import KW_ONLY, dataclass

from ._base import Optimizer, hyper, numpy_ops

__all__ = ["GradientDescent", "Momentum"]

DAMPENING = ("Momentum keeps the moving average m ← βm + (1−β)g; torch's SGD(lr, momentum=β, dampening=0) is "
             "Momentum(lr/(1−β), beta=β). torch's other dampenings (which skip the dampening at the first "
             "step) have no adamedu equivalent")


@dataclass(frozen=True)
class GradientDescent(Optimizer):
    r"""Gradient descent: step against the gradient.

    .. math::  w_t = w_{t-1} - \alpha\, g_t

    Cauchy (1847). With minibatch gradients this is stochastic gradient descent; it equals
    ``torch.optim.SGD(lr=lr)`` and ``keras.optimizers.SGD(learning_rate=lr)``.
    ``weight_decay`` and ``maximize`` are described in :meth:`Optimizer.decay`.
    """

    lr: float = hyper(0.01, "schedule")
    _: KW_ONLY
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    refused = {"momentum": "use ae.Momentum(lr, beta=...) (torch's SGD(lr·(1−β), momentum=β))",
               "dampening": DAMPENING, "nesterov": "use ae.Momentum(lr, beta=..., nesterov=True)"}

    def update(self, w, g, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)  # weight decay and maximize (see Optimizer.decay)
        return w - lr * g


@dataclass(frozen=True)
class Momentum(Optimizer):
    r"""Gradient descent on a moving average of the gradients (Polyak 1964; Nesterov 1983).

    .. math::

        m_t &= \beta\, m_{t-1} + (1 - \beta)\, g_t \\
        w_t &= w_{t-1} - \alpha\, m_t
        \qquad\text{or, with } \texttt{nesterov=True}:\quad
        w_t = w_{t-1} - \alpha\,\bigl(\beta\, m_t + (1 - \beta)\, g_t\bigr)

    This is the moving-average form, whose ``m`` is the one Adam keeps. PyTorch and Keras
    keep ``u = m / (1 - β)`` instead (``u ← βu + g``): ``Momentum(lr, beta)`` equals
    ``torch.optim.SGD(lr * (1 - beta), momentum=beta)`` and
    ``keras.optimizers.SGD(lr * (1 - beta), momentum=beta)``. Coupled ``weight_decay=λ`` equals
    torch's ``weight_decay=λ``; Keras's (decoupled) ``weight_decay=λ`` is
    ``decoupled_weight_decay=True, weight_decay=λ·(1−β)`` here (Keras's learning rate is ours times 1−β).
    """

    lr: float = hyper(0.01, "schedule")
    _: KW_ONLY
    beta: float = hyper(0.9, "[0, 1)")
    nesterov: bool = hyper(False, "bool")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    refused = {"momentum": "Momentum's coefficient is beta (torch's SGD(lr·(1−β), momentum=β) is "
                           "Momentum(lr, beta=β))",
               "dampening": DAMPENING}

    slots = ("m",)

    def update(self, w, g, m, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        beta = self.beta
        m = beta * m + (1 - beta) * g
        if self.nesterov:  # look ahead: use the average the next step will see
            return w - lr * (beta * m + (1 - beta) * g), m
        return w - lr * m, m
