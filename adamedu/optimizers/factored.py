"""Adafactor: Adam's second moment at a fraction of its memory, by factoring it for matrices."""

from dataclasses import KW_ONLY, dataclass

import numpy as np

from ._base import Optimizer, hyper, numpy_ops

__all__ = ["Adafactor", "factored_v"]


def factored_v(r, c, eps1=0.0, ops=numpy_ops):
    r"""The rank-1 estimate of a matrix's second moment from its row means ``r`` and column means ``c``.

    .. math:: \hat V = \frac{r\, c^\top}{\operatorname{mean}(r)}

    (Shazeer & Stern 2018, eq. 8 with means in place of sums, which gives the same V̂). For a matrix of
    n × m numbers it keeps n + m. ``eps1`` > 0 clamps the mean of r from below (PyTorch's guard).
    Parameters with more than two axes are factored over their last two, so r, c are stacks of vectors.
    """
    r_mean = ops.mean(r, axis=-1, keepdims=True)
    if eps1:
        r_mean = ops.maximum(r_mean, eps1)
    return ops.expand_dims(r / r_mean, -1) * ops.expand_dims(c, -2)


@dataclass(frozen=True)
class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern 2018, Algorithms 4 and 5, without momentum).

    .. math::

        \hat\beta_{2t} &= 1 - t^{\tau} \qquad (\tau = \texttt{beta2\_decay} = -0.8) \\
        \rho_t &= \min(\texttt{lr},\, 1/\sqrt t), \qquad
            \alpha_t = \max(\epsilon_2, \operatorname{RMS}(w_{t-1}))\, \rho_t \\
        r_t &= \hat\beta_{2t}\, r_{t-1} + (1 - \hat\beta_{2t})\, \operatorname{mean}_{\text{cols}}(g_t^2 + \epsilon_1)\\
        c_t &= \hat\beta_{2t}\, c_{t-1} + (1 - \hat\beta_{2t})\, \operatorname{mean}_{\text{rows}}(g_t^2 + \epsilon_1)\\
        \hat V_t &= r_t c_t^\top / \operatorname{mean}(r_t) \qquad
            \text{(a vector keeps } v_t = \hat\beta_{2t} v_{t-1} + (1 - \hat\beta_{2t})(g_t^2 + \epsilon_1)\text{)} \\
        u_t &= g_t / \sqrt{\hat V_t}, \qquad \hat u_t = u_t / \max(1, \operatorname{RMS}(u_t) / d) \\
        w_t &= w_{t-1} - \alpha_t\, \hat u_t

    Three ideas, each a saving or a safeguard. The second moment of an n × m matrix is kept as its row
    and column means (n + m numbers instead of n·m). β̂₂ grows towards 1 with t, so early steps average
    over few gradients (no bias correction is needed: at t = 1, β̂₂ = 0). The step is relative: α scales
    with the parameter's own RMS, and the update u is clipped to RMS d, so no learning rate needs tuning
    (``lr`` only caps ρₜ; the paper's cap is 0.01). ``relative_step=False`` takes α = lr instead.

    The slots: ``r`` and ``c`` (for parameters of two or more axes, factored over the last two) and ``v``
    (for scalars and vectors); the unused ones are empty arrays, so the state's nbytes is its real size.

    Two reference implementations differ in where ε₁ goes, and each is this class with a setting:

    - the paper and ``keras.optimizers.Adafactor(learning_rate=lr)`` (no weight decay): ``eps1=1e-30``
      added to g² (the defaults here, with Keras's ``epsilon_1``, ``epsilon_2``, ``clip_threshold``;
      Keras's ``relative_step`` changes nothing for a constant rate: ρ = min(lr, 1/√t) either way);
    - ``torch.optim.Adafactor(lr, eps=(ε₁, ε₂), d, weight_decay=λ)``: ``eps1_clamp=True`` with
      ``eps1=ε₁`` (torch's ``None`` means the dtype's machine epsilon), ``clip_threshold=d``,
      ``weight_decay=λ``, ``decoupled_weight_decay=True``: g² is left alone, mean(r) is clamped at ε₁ and
      V̂ at ε₁², and w shrinks by the factor 1 − lr·λ (lr, not ρₜ) after α is taken from the unshrunk w.
    """

    lr: float = hyper(0.01, "schedule")
    _: KW_ONLY
    beta2_decay: float = hyper(-0.8, "<= 0")
    eps1: float = hyper(1e-30, ">= 0")
    eps2: float = hyper(1e-3, ">= 0")
    clip_threshold: float = hyper(1.0, ">= 1")
    relative_step: bool = hyper(True, "bool")
    eps1_clamp: bool = hyper(False, "bool")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("r", "c", "v")
    elementwise = False
    refused = {
        "beta1": "Adafactor here keeps no first moment (the paper's default, and torch's and Keras's)",
        "beta_2_decay": "adamedu calls it beta2_decay", "epsilon_1": "adamedu calls it eps1",
        "epsilon_2": "adamedu calls it eps2", "d": "adamedu calls it clip_threshold",
        "eps": "write eps1=..., eps2=... (torch's eps=(None, 1e-3) is eps1=machine epsilon, eps2=1e-3)",
    }

    def slot_shape(self, name, shape):
        shape = tuple(shape)
        factored = len(shape) >= 2
        if name == "r":
            return shape[:-1] if factored else (0,)
        if name == "c":
            return shape[:-2] + shape[-1:] if factored else (0,)
        return (0,) if factored else shape

    def init_slot(self, name, w):
        return np.zeros(self.slot_shape(name, w.shape), dtype=w.dtype)

    def update(self, w, g, r, c, v, *, t, lr, ops=numpy_ops):
        if self.relative_step:
            rho = ops.minimum(lr, 1 / ops.sqrt(t))
            alpha = ops.maximum(self.eps2, ops.sqrt(ops.mean(w * w))) * rho  # from w before any decay
        else:
            alpha = lr
        w, g = self.decay(w, g, lr)
        beta2_t = 1 - t**self.beta2_decay
        g2 = g * g if self.eps1_clamp else g * g + self.eps1
        if len(w.shape) >= 2:
            r = beta2_t * r + (1 - beta2_t) * ops.mean(g2, axis=-1)
            c = beta2_t * c + (1 - beta2_t) * ops.mean(g2, axis=-2)
            v_hat = factored_v(r, c, self.eps1 if self.eps1_clamp else 0.0, ops=ops)
        else:
            v = beta2_t * v + (1 - beta2_t) * g2
            v_hat = v
        if self.eps1_clamp:
            v_hat = ops.maximum(v_hat, self.eps1 * self.eps1)
        u = g / ops.sqrt(v_hat)
        u = u / ops.maximum(1.0, ops.sqrt(ops.mean(u * u)) / self.clip_threshold)
        return w - alpha * u, r, c, v
