"""adamedu: the optimizers of neural-network training, from gradient descent to Adam and beyond.

Every optimizer has one API::

    opt = adamedu.Adam(lr=1e-3)
    state = opt.init(params)                        # params: an array, or a dict / list / tuple of arrays
    params, state = opt.step(params, grads, state)  # pure: returns new values, changes no input
"""

from . import schedules
from ._checks import NonFiniteError
from .clipping import clip_by_global_norm, clip_by_norm, clip_by_value, global_norm
from .datasets import wilson_classification, wilson_features
from .loop import Trace, minimize, race
from .memory import EightBitState, adam_state_bytes, dequantize_blockwise, quantize_blockwise, state_nbytes
from .newton import newton_step
from .nn import Dense, Dropout, Network, ReLU, Sigmoid, Tanh, mlp
from .optimizers import (
    AdaBelief,
    Adadelta,
    Adafactor,
    AdaGrad,
    Adam,
    AdaMax,
    AdamW,
    AMSGrad,
    FullMatrixAdaGrad,
    GradientDescent,
    Lamb,
    Lion,
    Momentum,
    Muon,
    Nadam,
    Optimizer,
    Partition,
    RAdam,
    RMSprop,
    Rprop,
    ScheduleFreeAdamW,
    Shampoo,
    State,
    Yogi,
    muon_with_adamw,
    newton_schulz,
)
from .problems import (
    Cliff,
    LinearRegression,
    LogisticRegression,
    NesterovWorstCase,
    Noisy,
    Problem,
    Quadratic,
    ReddiOnline,
    Rosenbrock,
    Saddle,
    SoftmaxRegression,
    ravine,
)
from .training import Divergence, History, evaluate, fit, predict, predict_classes

__version__ = "0.1.0"


def __getattr__(name):
    # adamedu.compiled is imported on first use, so that `import adamedu` never imports numba
    if name == "compiled":
        from .engines.compiled import compiled

        return compiled
    raise AttributeError(f"module 'adamedu' has no attribute {name!r}")

__all__ = [
    "GradientDescent", "Momentum", "AdaGrad", "RMSprop", "Adam", "AdamW", "AMSGrad", "AdaMax", "Nadam",
    "RAdam", "Lion", "Optimizer", "State", "NonFiniteError",
    # gradient clipping, applied to the gradients before a step
    "global_norm", "clip_by_global_norm", "clip_by_norm", "clip_by_value",
    # the family's ancestors (Rprop, Adadelta) and later members (Yogi, AdaBelief, LAMB)
    "Rprop", "Adadelta", "Yogi", "AdaBelief", "Lamb",
    # learning-rate schedules (adamedu.schedules) and schedule-free AdamW
    "schedules", "ScheduleFreeAdamW",
    # beyond the diagonal: matrix preconditioners, and several optimizers for one model
    "FullMatrixAdaGrad", "Shampoo", "Muon", "newton_schulz", "Partition", "muon_with_adamw",
    # memory at scale: Adafactor's factored second moment, 8-bit blockwise states, what a state costs
    "Adafactor", "EightBitState", "quantize_blockwise", "dequantize_blockwise", "state_nbytes", "adam_state_bytes",
    # the compiled engine (needs numba: pip install numba, or the fast extra)
    "compiled",
    # objective functions with analytic gradients, and the loop that runs an optimizer on them
    "Problem", "Quadratic", "ravine", "Rosenbrock", "Saddle", "Noisy", "ReddiOnline", "LinearRegression",
    "LogisticRegression", "SoftmaxRegression", "minimize", "race", "Trace",
    # a cliff (chapter 1) and Nesterov's worst function for first-order methods (chapter 2)
    "Cliff", "NesterovWorstCase",
    # Newton's step (and its saddle-free variant), the ideal the preconditioners approximate
    "newton_step",
    # a small numpy network and its training loop
    "Network", "mlp", "Dense", "ReLU", "Tanh", "Sigmoid", "Dropout",
    "fit", "evaluate", "predict", "predict_classes", "History", "Divergence",
    # Wilson et al.'s constructed classification (the limits chapter)
    "wilson_classification", "wilson_features",
]
