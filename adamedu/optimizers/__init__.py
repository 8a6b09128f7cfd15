"""The optimizers, each a frozen dataclass of hyperparameters with ``init`` and ``step``."""

from ._base import Optimizer, State
from .adam import Adam, AdamW, AMSGrad
from .adaptive import AdaGrad, RMSprop
from .ancestors import Adadelta, Rprop
from .factored import Adafactor
from .matrix import FullMatrixAdaGrad, Muon, Shampoo, newton_schulz
from .partition import Partition, muon_with_adamw
from .recent import AdaBelief, Lamb, Yogi
from .schedule_free import ScheduleFreeAdamW
from .sgd import GradientDescent, Momentum
from .variants import AdaMax, Lion, Nadam, RAdam

__all__ = ["Optimizer", "State", "GradientDescent", "Momentum", "AdaGrad", "RMSprop", "Adam", "AdamW",
           "AMSGrad", "AdaMax", "Nadam", "RAdam", "Lion", "Rprop", "Adadelta", "Yogi", "AdaBelief", "Lamb",
           "ScheduleFreeAdamW",
           # beyond the diagonal (chapter 9)
           "FullMatrixAdaGrad", "Shampoo", "Muon", "newton_schulz", "Partition", "muon_with_adamw",
           # memory at scale (chapter 11)
           "Adafactor"]
