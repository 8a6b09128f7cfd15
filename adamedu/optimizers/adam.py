"""Adam and its two closest relatives, AdamW and AMSGrad."""

from dataclasses import KW_ONLY, dataclass

from ._base import Optimizer, decoupled_decay, hyper, numpy_ops

__all__ = ["Adam", "AdamW", "AMSGrad"]

AMSGRAD = "use ae.AMSGrad(...), the same optimizer with its own slot v_max"


def moments(g, m, v, beta1, beta2):
    """The two moving averages: of the gradient (m) and of its square (v)."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return m, v


def adam_step(w, m, v, *, t, lr, beta1, beta2, eps, bias_correction=True, eps_hat=False, ops=numpy_ops):
    r"""Move ``w`` by ``lr`` · m̂ / (√v̂ + ε): Algorithm 1 of Kingma & Ba (2015).

    ``eps_hat=True`` folds the bias corrections into the step size (the paper's efficient
    form, as Keras computes it): lr · √(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε̂), with ε̂ = ``eps``, a
    constant. That is the plain form with an ε of ε̂/√(1−β2ᵗ) at step t: larger than ε̂ early on
    (about 31.6 ε̂ at t = 1 with β2 = 0.999), and ε̂ itself once β2ᵗ is negligible.
    """
    if not bias_correction:
        return w - lr * m / (ops.sqrt(v) + eps)
    if eps_hat:
        lr_t = lr * ops.sqrt(1 - beta2**t) / (1 - beta1**t)
        return w - lr_t * m / (ops.sqrt(v) + eps)
    m_hat = m / (1 - beta1**t)  # undo the pull towards the zeros m and v start from
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (ops.sqrt(v_hat) + eps)


@dataclass(frozen=True)
class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015): momentum on the gradient, RMSprop's scale per coordinate.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad \hat v_t = v_t / (1 - \beta_2^t) \\
        w_t &= w_{t-1} - \alpha\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    ``bias_correction=False`` drops the two divisions; ``eps_hat=True`` uses the paper's
    efficient form (ε added to √v rather than to √v̂). The defaults equal ``torch.optim.Adam()``;
    ``Adam(eps=1e-7, eps_hat=True)`` equals ``keras.optimizers.Adam()`` (up to Keras's float32
    rounding of β1 and β2 in the bias corrections). ``weight_decay=λ`` is PyTorch's coupled L2;
    with ``decoupled_weight_decay=True`` it is torch's ``Adam(decoupled_weight_decay=True)``, which
    is AdamW.
    """

    lr: float = hyper(0.001, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "[0, 1)")
    beta2: float = hyper(0.999, "[0, 1)")
    eps: float = hyper(1e-8, ">= 0")
    bias_correction: bool = hyper(True, "bool")
    eps_hat: bool = hyper(False, "bool")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    refused = {"amsgrad": AMSGRAD, "betas": "Adam takes beta1 and beta2", "epsilon": "Adam calls it eps"}

    slots = ("m", "v")

    def update(self, w, g, m, v, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)  # weight_decay and maximize (see Optimizer.decay)
        m, v = moments(g, m, v, self.beta1, self.beta2)
        w = adam_step(w, m, v, t=t, lr=lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                      bias_correction=self.bias_correction, eps_hat=self.eps_hat, ops=ops)
        return w, m, v


@dataclass(frozen=True)
class AdamW(Optimizer):
    r"""AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay.

    .. math::  w \leftarrow w\,(1 - \alpha\lambda), \quad\text{then Adam's step}

    The decay shrinks the weights directly instead of entering the gradient, so it is not
    divided by √v̂. Equals ``torch.optim.AdamW(weight_decay=λ)`` (both default to λ = 0.01); with
    ``eps=1e-7, eps_hat=True``, ``keras.optimizers.AdamW(weight_decay=λ)`` (whose default λ is 0.004).
    """

    lr: float = hyper(0.001, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "[0, 1)")
    beta2: float = hyper(0.999, "[0, 1)")
    eps: float = hyper(1e-8, ">= 0")
    weight_decay: float = hyper(0.01, ">= 0")
    eps_hat: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    decoupled_weight_decay = True  # always: that is AdamW
    refused = {"amsgrad": "use ae.AMSGrad(weight_decay=λ, decoupled_weight_decay=True)",
               "decoupled_weight_decay": "AdamW's decay is always decoupled; for L2 decay use "
                                         "ae.Adam(weight_decay=λ)",
               "betas": "AdamW takes beta1 and beta2", "epsilon": "AdamW calls it eps"}

    slots = ("m", "v")

    def update(self, w, g, m, v, *, t, lr, ops=numpy_ops):
        g = -g if self.maximize else g
        w = decoupled_decay(w, lr, self.weight_decay)  # w·(1 − lr·λ): not scaled by 1/√v̂
        m, v = moments(g, m, v, self.beta1, self.beta2)
        w = adam_step(w, m, v, t=t, lr=lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                      eps_hat=self.eps_hat, ops=ops)
        return w, m, v


@dataclass(frozen=True)
class AMSGrad(Optimizer):
    r"""AMSGrad (Reddi, Kale & Kumar 2018): Adam that never lets the scale ``v`` shrink.

    .. math::  v^{\max}_t = \max(v^{\max}_{t-1}, v_t), \quad\text{then Adam's step with } v^{\max}_t

    The running maximum makes the effective step size non-increasing, which restores the
    convergence guarantee Adam lacks. Equals ``torch.optim.Adam(amsgrad=True)`` (and, with
    ``weight_decay=λ, decoupled_weight_decay=True``, ``torch.optim.AdamW(weight_decay=λ, amsgrad=True)``);
    with ``eps=1e-7, eps_hat=True``, ``keras.optimizers.Adam(amsgrad=True)``.
    """

    lr: float = hyper(0.001, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "[0, 1)")
    beta2: float = hyper(0.999, "[0, 1)")
    eps: float = hyper(1e-8, ">= 0")
    eps_hat: bool = hyper(False, "bool")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    refused = {"amsgrad": "AMSGrad is Adam with amsgrad=True already"}

    slots = ("m", "v", "v_max")

    def update(self, w, g, m, v, v_max, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        m, v = moments(g, m, v, self.beta1, self.beta2)
        v_max = ops.maximum(v_max, v)
        w = adam_step(w, m, v_max, t=t, lr=lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                      eps_hat=self.eps_hat, ops=ops)
        return w, m, v, v_max
