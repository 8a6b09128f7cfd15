"""Gradient descent and momentum."""

from dataclasses import KW_ONLY, dataclass

from ._base import Optimizer, hyper, numpy_ops

__all__ = ["GradientDescent", "Momentum"]


@dataclass(frozen=True)
class GradientDescent(Optimizer):
    r"""Gradient descent: step against the gradient.

    .. math::  w_t = w_{t-1} - \alpha\, g_t

    Cauchy (1847). With minibatch gradients this is stochastic gradient descent; it equals
    ``torch.optim.SGD(lr)`` and ``keras.optimizers.SGD(lr)``.
    """

    lr: float = hyper(0.01, "schedule")

    def update(self, w, g, *, t, lr, ops=numpy_ops):
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
    ``keras.optimizers.SGD(lr * (1 - beta), momentum=beta)``.
    """

    lr: float = hyper(0.01, "schedule")
    _: KW_ONLY
    beta: float = hyper(0.9, "[0, 1)")
    nesterov: bool = hyper(False, "bool")

    slots = ("m",)

    def update(self, w, g, m, *, t, lr, ops=numpy_ops):
        beta = self.beta
        m = beta * m + (1 - beta) * g
        if self.nesterov:  # look ahead: use the average the next step will see
            return w - lr * (beta * m + (1 - beta) * g), m
        return w - lr * m, m
