"""Variants of Adam: AdaMax, Nadam, RAdam and Lion."""

from dataclasses import KW_ONLY, dataclass

from ._base import Optimizer, hyper, numpy_ops

__all__ = ["AdaMax", "Nadam", "RAdam", "Lion"]


@dataclass(frozen=True)
class AdaMax(Optimizer):
    r"""AdaMax (Kingma & Ba 2015, Section 7.1): Adam with the ∞-norm in place of the 2-norm.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        u_t &= \max(\beta_2 u_{t-1},\ |g_t| + \epsilon) \\
        w_t &= w_{t-1} - \frac{\alpha}{1 - \beta_1^t}\, m_t / u_t

    ``u`` needs no bias correction; ε keeps it away from zero. Equals ``torch.optim.Adamax()``.
    Keras adds ε outside the maximum, uₜ = max(β2 uₜ₋₁, |gₜ|) and a step m/(uₜ + ε):
    ``AdaMax(lr=0.001, eps=1e-7, eps_in_max=False)`` equals ``keras.optimizers.Adamax()``.
    """

    lr: float = hyper(0.002, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "[0, 1)")
    beta2: float = hyper(0.999, "[0, 1)")
    eps: float = hyper(1e-8, ">= 0")
    eps_in_max: bool = hyper(True, "bool")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("m", "u")

    def update(self, w, g, m, u, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        m = self.beta1 * m + (1 - self.beta1) * g
        if self.eps_in_max:  # PyTorch and the paper's Algorithm 2 (plus ε)
            u = ops.maximum(self.beta2 * u, ops.abs(g) + self.eps)
            return w - lr / (1 - self.beta1**t) * m / u, m, u
        u = ops.maximum(self.beta2 * u, ops.abs(g))  # Keras: ε added to u in the step only
        return w - lr / (1 - self.beta1**t) * m / (u + self.eps), m, u


@dataclass(frozen=True)
class Nadam(Optimizer):
    r"""Nadam (Dozat 2016): Adam with Nesterov's look-ahead and a warming momentum schedule.

    .. math::

        \mu_t &= \beta_1 \bigl(1 - \tfrac12\, 0.96^{t\psi}\bigr), \qquad
        \textstyle\prod_t = \prod_{i \le t} \mu_i \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        w_t &= w_{t-1} - \alpha \Bigl(\frac{1 - \mu_t}{1 - \prod_t}\, g_t
              + \frac{\mu_{t+1}}{1 - \prod_t \mu_{t+1}}\, m_t\Bigr) \Big/
              \Bigl(\sqrt{v_t / (1 - \beta_2^t)} + \epsilon\Bigr)

    ψ is ``momentum_decay``. The product of the μ's is kept in the state as ``mu_product``.
    Equals ``torch.optim.NAdam(momentum_decay=ψ)``, with ``weight_decay`` and
    ``decoupled_weight_decay`` too. Keras's Nadam uses μₜ = β1(1 − ½·0.96ᵗ), that is ψ = 1:
    ``Nadam(lr=0.001, eps=1e-7, momentum_decay=1.0)`` equals ``keras.optimizers.Nadam()``.
    """

    lr: float = hyper(0.002, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "[0, 1)")
    beta2: float = hyper(0.999, "[0, 1)")
    eps: float = hyper(1e-8, ">= 0")
    momentum_decay: float = hyper(0.004, ">= 0")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("m", "v")
    scalars = {"mu_product": 1.0}

    def mu(self, t):
        """The momentum coefficient of step t: it warms up from β1/2 towards β1."""
        return self.beta1 * (1 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def next_scalars(self, t, mu_product):
        return {"mu_product": mu_product * self.mu(t)}

    def update(self, w, g, m, v, *, t, lr, mu_product, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        beta1, beta2 = self.beta1, self.beta2
        mu, mu_next = self.mu(t), self.mu(t + 1)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        denom = ops.sqrt(v / (1 - beta2**t)) + self.eps
        w = w - lr * (1 - mu) / (1 - mu_product) * g / denom  # the gradient, now
        w = w - lr * mu_next / (1 - mu_product * mu_next) * m / denom  # the momentum, one step ahead
        return w, m, v


@dataclass(frozen=True)
class RAdam(Optimizer):
    r"""RAdam (Liu et al. 2020): Adam with its adaptive step switched off while it is unreliable.

    .. math::

        \rho_\infty = \frac{2}{1 - \beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}, \qquad
        r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}

    While ρₜ ≤ 5 the variance of the adaptive learning rate is unbounded, and the step is
    momentum SGD, w ← w − α m̂ₜ. After that it is w ← w − α rₜ m̂ₜ √(1−β2ᵗ) / (√vₜ + ε).
    Equals ``torch.optim.RAdam`` (which adds ε to √vₜ as here; the paper has no ε), with
    ``weight_decay`` and ``decoupled_weight_decay`` too. Keras has no RAdam.
    """

    lr: float = hyper(0.001, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "[0, 1)")
    beta2: float = hyper(0.999, "[0, 1)")
    eps: float = hyper(1e-8, ">= 0")
    weight_decay: float = hyper(0.0, ">= 0")
    decoupled_weight_decay: bool = hyper(False, "bool")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("m", "v")

    def rho(self, t):
        """ρₜ, the length of the simple moving average that v approximates after t steps."""
        rho_inf = 2 / (1 - self.beta2) - 1
        return rho_inf - 2 * t * self.beta2**t / (1 - self.beta2**t), rho_inf

    def update(self, w, g, m, v, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)
        beta1, beta2 = self.beta1, self.beta2
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        rho_t, rho_inf = self.rho(t)

        def rectified():
            r_t = ops.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            return w - lr * r_t * m_hat * ops.sqrt(1 - beta2**t) / (ops.sqrt(v) + self.eps)

        def momentum():  # too few steps for a trustworthy v: plain momentum
            return w - lr * m_hat

        # ops.cond rather than `if`: under Keras rho_t is a tensor. Only the branch taken runs,
        # so r_t is never computed while it is not real (rho_t <= 4).
        return ops.cond(rho_t > 5, rectified, momentum), m, v


@dataclass(frozen=True)
class Lion(Optimizer):
    r"""Lion (Chen et al. 2023): the sign of an interpolated momentum, found by program search.

    .. math::

        c_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        w_t &= w_{t-1} - \alpha\,\bigl(\operatorname{sign}(c_t) + \lambda w_{t-1}\bigr) \\
        m_t &= \beta_2 m_{t-1} + (1 - \beta_2)\, g_t

    Every coordinate moves by exactly α (plus decay); the decay λ is decoupled, as in the paper
    and in Keras. ``Lion(lr=1e-3)`` equals ``keras.optimizers.Lion()`` (Keras's default learning rate
    is 1e-3, ours the paper's suggestion 1e-4). PyTorch has no Lion.
    """

    lr: float = hyper(1e-4, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "[0, 1)")
    beta2: float = hyper(0.99, "[0, 1)")
    weight_decay: float = hyper(0.0, ">= 0")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    decoupled_weight_decay = True  # always, as in the paper
    refused = {"decoupled_weight_decay": "Lion's decay is always decoupled (w ← w·(1 − lr·λ) − lr·sign(c))",
               "eps": "Lion divides by nothing, so it has no eps"}

    slots = ("m",)

    def update(self, w, g, m, *, t, lr, ops=numpy_ops):
        w, g = self.decay(w, g, lr)  # w·(1 − lr·λ), and maximize
        c = self.beta1 * m + (1 - self.beta1) * g
        w = w - lr * ops.sign(c)
        m = self.beta2 * m + (1 - self.beta2) * g
        return w, m
