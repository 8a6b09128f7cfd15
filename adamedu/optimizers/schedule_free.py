"""Schedule-free AdamW (Defazio et al. 2024): no decay schedule, an average instead."""

from dataclasses import KW_ONLY, dataclass

from .. import _tree
from ._base import Optimizer, decoupled_decay, hyper, numpy_ops

__all__ = ["ScheduleFreeAdamW"]


@dataclass(frozen=True)
class ScheduleFreeAdamW(Optimizer):
    r"""Schedule-free AdamW (Defazio et al. 2024, "The Road Less Scheduled"), as Keras runs it.

    Three sequences share one step count: z takes Adam-scaled gradient steps at a constant rate, x is
    the running average of the z's, and y, a point between them, is where the gradient is taken:

    .. math::

        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2, \qquad g_t = \nabla f(y_{t-1}) \\
        z_t &= z_{t-1} - \alpha_t\, g_t / (\sqrt{v_t / (1 - \beta_2^t)} + \epsilon) \\
        x_t &= (1 - 1/t)\, x_{t-1} + (1/t)\, z_t \\
        y_t &= (1 - \beta_1)\, z_t + \beta_1\, x_t

    The parameters are y (the point the next gradient is taken at, as in Keras: the model's
    variables hold y during training). The state keeps z and v; x is not stored but recovered,
    x = (y − (1 − β₁) z)/β₁, by :meth:`averaged`, the point to evaluate (and to keep) at the end.
    z starts at the initial parameters: its slot starts at zero, as every slot does (so that every
    engine creates it alike), and step 1 sets it to w, as the authors' code creates z at the first
    step. β₁ plays momentum's role: y leans on the average x (β₁ = 0 is refused, x could not be
    recovered).

    ``warmup_steps=W`` multiplies the rate by min(t/W, 1). The averaging weight is 1/t, Keras's
    choice; the authors' PyTorch code weighs z_t by the square of the largest rate so far (α_t² during
    a rising warm-up), which differs during warm-up, and the paper's Algorithm 1 by γ_t² with
    γ_t = α_t·√(1 − β₂ᵗ), which differs early on even without one. Weight decay is decoupled, applied to
    y before the step with the un-warmed rate, as Keras does (``weight_decay=λ``; the authors' code adds
    λy to the normalized gradient instead).

    Equals ``keras.optimizers.ScheduleFreeAdamW(learning_rate=lr, beta_1, beta_2, epsilon=eps,
    warmup_steps, weight_decay)`` with its β's and ε rounded to float32 as Keras casts them (tested
    in float64, every step, z and v too), with one caveat: Keras 3.15.1 keeps ``momentum.value``
    to recover x from the old z, and on the TensorFlow backend that value is the live variable,
    read after z has moved; Keras then recovers x from the new z, which is neither the paper's
    algorithm nor what its code computes with immutable values. The tests run Keras's code with
    that read taken as a copy (its intent), and pin the shipped behaviour as a known difference.
    """

    lr: float = hyper(0.0025, "schedule")
    _: KW_ONLY
    beta1: float = hyper(0.9, "(0, 1)")  # not 0: x is recovered from y and z by dividing by beta1
    beta2: float = hyper(0.999, "[0, 1)")
    eps: float = hyper(1e-8, ">= 0")
    warmup_steps: float = hyper(0.0, ">= 0")  # a whole number, kept as a float as every hyperparameter
    weight_decay: float = hyper(0.0, ">= 0")
    exclude_from_weight_decay: tuple = hyper((), "patterns")
    maximize: bool = hyper(False, "bool")

    slots = ("z", "v")
    decoupled_weight_decay = True  # as Keras applies its weight_decay
    refused = {"decoupled_weight_decay": "ScheduleFreeAdamW's decay is decoupled (Keras's weight_decay)",
               "warmup": "ScheduleFreeAdamW calls it warmup_steps"}

    def __post_init__(self):
        super().__post_init__()
        if self.warmup_steps != int(self.warmup_steps):
            raise ValueError(f"ScheduleFreeAdamW: warmup_steps must be a whole number >= 0, got {self.warmup_steps!r}")

    def update(self, w, g, z, v, *, t, lr, ops=numpy_ops):
        beta1, beta2 = self.beta1, self.beta2
        z = ops.cond(t == 1, lambda: w, lambda: z)  # z_0 = y_0: the parameters before the first step
        g = -g if self.maximize else g
        y = decoupled_decay(w, lr, self.weight_decay)
        if self.warmup_steps > 0:
            lr = ops.cond(t < self.warmup_steps, lambda: lr * (t / self.warmup_steps), lambda: lr)
        x = (y - (1 - beta1) * z) / beta1          # the average, recovered before z moves
        v = beta2 * v + (1 - beta2) * g * g
        z = z - lr * g / (ops.sqrt(v / (1 - beta2**t)) + self.eps)
        c = 1 / t                                  # x_t is the mean of z_1, ..., z_t
        x = (1 - c) * x + c * z
        y = (1 - beta1) * z + beta1 * x
        return y, z, v

    def averaged(self, params, state):
        """x, the average of the z's: the point to evaluate, recovered from y (``params``) and z."""
        leaves = _tree.flatten(params)
        zs = [z for _, z in _tree.flatten(state["z"])]
        if len(zs) != len(leaves):
            raise ValueError("ScheduleFreeAdamW.averaged: state.z does not have the structure of params")
        if state["t"] == 0:
            return _tree.unflatten(params, [w.copy() for _, w in leaves])
        x = [(w - (1 - self.beta1) * z) / self.beta1 for (_, w), z in zip(leaves, zs, strict=True)]
        return _tree.unflatten(params, x)
