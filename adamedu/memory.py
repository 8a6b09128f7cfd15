"""What an optimizer's state costs in memory, and 8-bit blockwise states (Dettmers et al. 2022).

- :func:`state_nbytes` measures a state; :func:`adam_state_bytes` counts what mixed-precision training
  with Adam keeps per parameter (Micikevicius et al. 2018; Rajbhandari et al. 2020's 16 bytes).
- :func:`quantize_blockwise` / :func:`dequantize_blockwise` store an array as one byte per number plus
  one float32 scale (the block's largest magnitude) per block of ``block`` numbers, with a linear code
  or a dynamic one (dense near 0, spanning seven decades, after Dettmers et al.'s dynamic data type).
- :class:`EightBitState` wraps an optimizer so that its slots are kept in that form between steps.
"""

import dataclasses

import numpy as np

from . import _tree
from ._checks import check_hyperparameter

__all__ = ["state_nbytes", "adam_state_bytes", "dynamic_code", "linear_code", "quantize_blockwise",
           "dequantize_blockwise", "Quantized", "EightBitState"]


def state_nbytes(state):
    """The bytes held by the arrays of ``state`` (an optimizer's State, or any dict/list of arrays)."""
    if isinstance(state, Quantized):
        return state.codes.nbytes + state.absmax.nbytes
    if isinstance(state, dict):
        return sum(state_nbytes(x) for x in state.values())
    if isinstance(state, (list, tuple)):
        return sum(state_nbytes(x) for x in state)
    return state.nbytes if isinstance(state, np.ndarray) else 0


def adam_state_bytes(n_params, *, param_bytes=4, state_bytes=4, slots=2, master_bytes=0, grad_bytes=None):
    """Bytes that training with Adam keeps for ``n_params`` parameters: the weights, their gradients,
    ``slots`` optimizer slots (Adam: m and v) of ``state_bytes`` each, and a ``master_bytes`` copy of the
    weights (mixed precision keeps fp32 master weights beside fp16 ones).

    ``adam_state_bytes(n, param_bytes=2, master_bytes=4)`` is mixed precision's 2 + 2 + 4 + 4 + 4 = 16 bytes
    per parameter (Rajbhandari et al. 2020). ``grad_bytes`` defaults to ``param_bytes``. Activations are
    not counted: they depend on the batch, not on the optimizer.
    """
    n = check_hyperparameter("adam_state_bytes", "n_params", n_params, ">= 0")
    sizes = {"param_bytes": param_bytes, "state_bytes": state_bytes, "slots": slots, "master_bytes": master_bytes,
             "grad_bytes": param_bytes if grad_bytes is None else grad_bytes}
    sizes = {k: check_hyperparameter("adam_state_bytes", k, v, ">= 0") for k, v in sizes.items()}
    per_param = (sizes["param_bytes"] + sizes["grad_bytes"] + sizes["master_bytes"]
                 + sizes["slots"] * sizes["state_bytes"])
    return int(round(n * per_param))


def linear_code(signed=True):
    """256 (or 255, signed) evenly spaced values in [-1, 1] (or [0, 1])."""
    return np.linspace(-1.0, 1.0, 255) if signed else np.linspace(0.0, 1.0, 256)


def dynamic_code(signed=True):
    """255 values in [-1, 1] (256 in [0, 1]) dense near 0: for each decade 10⁻⁶ … 10⁰, evenly spaced
    fractions of it, more of them in the larger decades; plus 0 and 1.

    The idea of Dettmers et al.'s dynamic (tree) data type: relative precision roughly even over seven
    orders of magnitude, which a linear code lacks (it rounds every number below 1/510 of the block's
    largest to 0, which for Adam's v means a division by ε).
    """
    values = [0.0, 1.0]
    for i in range(7):
        k = 2 ** (i + 1) if not signed else 2 ** i if i < 6 else 63  # signed: 255 values with 0 and ±1
        edges = np.linspace(0.1, 1.0, k + 1)
        middles = (edges[:-1] + edges[1:]) / 2 * 10.0 ** (i - 6)
        values += list(middles) + ([-x for x in middles] if signed else [])
    if signed:
        values.append(-1.0)
    code = np.unique(np.array(values))
    return code


_CODES = {"dynamic": dynamic_code, "linear": linear_code}


@dataclasses.dataclass(frozen=True)
class Quantized:
    """An array stored as uint8 indices into ``code`` and a float32 ``absmax`` per block of ``block`` numbers."""

    codes: np.ndarray
    absmax: np.ndarray
    code: np.ndarray
    shape: tuple
    dtype: np.dtype
    block: int


def quantize_blockwise(x, *, block=256, code="dynamic"):
    """``x`` as a :class:`Quantized`: each block of ``block`` numbers (of the flattened array) is divided by
    its largest magnitude and each number replaced by the index of the nearest value of ``code``
    ("dynamic" or "linear"; signed if ``x`` has a negative number)."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"quantize_blockwise: x must be a floating-point array, got dtype {x.dtype}")
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"quantize_blockwise: block must be a whole number >= 1, got {block!r}")
    if code not in _CODES:
        raise ValueError(f"quantize_blockwise: code must be one of {sorted(_CODES)}, got {code!r}")
    if not np.all(np.isfinite(x)):
        raise ValueError("quantize_blockwise: x holds NaN or infinity, which no block scale can represent")
    values = _CODES[code](signed=bool(np.any(x < 0)))
    flat = x.reshape(-1).astype(np.float64)
    padded = np.zeros(-(-flat.size // block) * block)
    padded[:flat.size] = flat
    blocks = padded.reshape(-1, block)
    absmax = np.abs(blocks).max(axis=1).astype(np.float32)
    scale = np.where(absmax > 0, absmax, 1.0).astype(np.float64)[:, None]
    normed = blocks / scale
    middles = (values[:-1] + values[1:]) / 2  # nearest value: the index of the interval between midpoints
    codes = np.searchsorted(middles, normed).astype(np.uint8)
    return Quantized(codes.reshape(-1)[:flat.size].copy(), absmax, values, x.shape, x.dtype, block)


def dequantize_blockwise(q):
    """The array that a :class:`Quantized` stands for (each number the nearest code value × its block's absmax)."""
    n = int(np.prod(q.shape))
    padded = np.zeros(q.absmax.size * q.block, dtype=np.uint8)
    padded[:n] = q.codes
    values = q.code[padded].reshape(-1, q.block) * q.absmax.astype(np.float64)[:, None]
    return values.reshape(-1)[:n].reshape(q.shape).astype(q.dtype)


class EightBitState:
    """``optimizer`` with its slots stored 8-bit between steps: ``init`` and ``step`` as every optimizer's.

    Each step dequantizes the slots, runs the optimizer's own ``step`` in full precision, and quantizes the
    new slots (blockwise, one float32 scale per ``block`` numbers): what bitsandbytes does inside its fused
    kernel, here in numpy to measure what the rounding does to training (not to save time: this step is
    slower than the optimizer's). The state then holds ``t`` and one :class:`Quantized` per slot array,
    about 1 + 4/``block`` bytes per number instead of 4 or 8 (``state_nbytes`` counts them).
    """

    def __init__(self, optimizer, *, block=256, code="dynamic"):
        from .optimizers import Optimizer

        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"EightBitState: optimizer must be an adamedu optimizer such as ae.Adam(), "
                            f"got {optimizer!r:.80}")
        if optimizer.scalars:
            raise ValueError(f"EightBitState: {type(optimizer).__name__} keeps shared scalar state "
                             f"{list(optimizer.scalars)}, which this wrapper does not carry")
        quantize_blockwise(np.zeros(1), block=block, code=code)  # refuses a bad block or code by name
        self.optimizer, self.block, self.code = optimizer, block, code

    def __repr__(self):
        return f"EightBitState({self.optimizer!r}, block={self.block}, code={self.code!r})"

    def _pack(self, params, state):
        packed = {"t": state["t"]}
        for name in self.optimizer.slots:
            leaves = [quantize_blockwise(x, block=self.block, code=self.code)
                      for _, x in _tree.flatten(state[name])]
            packed[name] = _tree.unflatten(params, leaves)
        return packed

    def init(self, params):
        return self._pack(params, self.optimizer.init(params))

    def unpack(self, params, state):
        """The optimizer's own State that ``state`` stands for (the slots dequantized)."""
        from .optimizers import State

        full = State(t=state["t"])
        for name in self.optimizer.slots:
            leaves = [dequantize_blockwise(q) for _, q in _tree.flatten(state[name])]
            full[name] = _tree.unflatten(params, leaves)
        return full

    def step(self, params, grads, state):
        params, full = self.optimizer.step(params, grads, self.unpack(params, state))
        return params, self._pack(params, full)
