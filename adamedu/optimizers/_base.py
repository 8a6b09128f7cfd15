"""What every optimizer shares: hyperparameter checks, structures of arrays, step counting.

A concrete optimizer is a frozen dataclass of its hyperparameters that names its state
(``slots``, one array per parameter array) and writes its rule once, in ``update``, for a
single array. ``update`` uses arithmetic operators and the few functions of ``ops``
(sqrt, maximum, abs, sign, and cond for a branch on ``t``), so the same lines run on numpy
arrays here and on Keras tensors in :mod:`adamedu.keras`.

Design notes
------------
- Weight decay is an *option* of every optimizer, not a separate transform: ``weight_decay=λ``
  with PyTorch's meaning (coupled L2, λw joins the gradient) and ``decoupled_weight_decay=True``
  for the decoupled form (w ← w·(1 − lr·λ) before the rule: PyTorch's flag on Adam/NAdam/RAdam,
  and what Keras's ``weight_decay`` does on every optimizer). AdamW and Lion decay decoupled
  only. The decay is applied inside ``update`` (by ``Optimizer.decay``), so ``update`` stays the
  complete rule for one array and every engine (numpy, Keras, PyTorch, compiled) gets it by
  calling ``update``. An optax-style chain of transforms would split the rule over several
  objects that every engine would have to compose; the option keeps one call per array.
- Per-parameter variation is a method, ``for_param(name) -> Optimizer``: the optimizer to use
  for the parameter called ``name`` (its path, e.g. ``"dense0/b"``, or a Keras variable's
  path). It returns ``self`` unless ``name`` matches a pattern of
  ``exclude_from_weight_decay`` (regular expressions searched in the name, as Keras does),
  then a copy with ``weight_decay=0``. Engines call ``opt.for_param(name).update(...)``. A
  pattern that matches no parameter is an error (a typo would otherwise silently decay).
- Options of PyTorch or Keras that adamedu does not take are refused by name with the
  alternative (``refused``), never ignored.
- Clipping is not an option: it acts on all gradients together (a global norm), so it lives
  as pure functions in :mod:`adamedu.clipping`, applied to the gradients before ``step``.
"""

import dataclasses
import functools
import math
import re

import numpy as np

from .. import _tree
from .._checks import NonFiniteError, as_grad, as_param, check_finite, check_hyperparameter

__all__ = ["Optimizer", "State", "hyper", "numpy_ops", "coupled_decay", "decoupled_decay", "param_name"]

# Bytes per block of an in-place step. The rule's temporaries then stay in the L2 cache, and below the
# 96-128 KiB from which glibc's malloc gives freed memory back to the system and takes it again for
# every block (measured: 128 KiB blocks run 3-6x slower than 64 KiB ones, see book/appendix_speed.md).
BLOCK_BYTES = 1 << 16


class numpy_ops:  # noqa: N801 - used like a module: ops.sqrt(v)
    """The array functions an update rule may call, for numpy arrays.

    On Python numbers they return Python numbers: numpy scalars would turn float32 arrays
    into float64 ones when multiplied with them.
    """

    @staticmethod
    def sqrt(x):
        return math.sqrt(x) if isinstance(x, (int, float)) else np.sqrt(x)

    maximum = staticmethod(np.maximum)
    abs = staticmethod(np.abs)
    sign = staticmethod(np.sign)
    sum = staticmethod(np.sum)  # over the whole array: only rules that declare elementwise = False use it
    # matrix rules (Muon, Shampoo; elementwise = False)
    matmul = staticmethod(np.matmul)
    transpose = staticmethod(np.transpose)

    @staticmethod
    def inverse_root(a, p):
        """``a^(-1/p)`` of a symmetric positive definite matrix, by its eigendecomposition a = Q diag(λ) Qᵀ.

        Raises ValueError if ``a`` is singular or indefinite (its smallest eigenvalue <= 0): its
        inverse root does not exist, and a pseudo-inverse would silently drop directions.
        """
        lam, q = np.linalg.eigh(a)
        if lam.size and not lam[0] > 0:
            raise ValueError(f"the inverse root A^(-1/{p}) of a {a.shape[0]}x{a.shape[1]} matrix A needs A positive "
                             f"definite, but its smallest eigenvalue is {lam[0]:.3g} (singular): start the factor "
                             "at eps·I with eps > 0")
        return (q * lam ** (-1.0 / p)) @ q.T

    @staticmethod
    def minimum(a, b):
        return min(a, b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else np.minimum(a, b)

    @staticmethod
    def mean(x, axis=None, keepdims=False):
        """The mean over ``axis`` (all axes by default): Adafactor's row and column means (not elementwise)."""
        return np.mean(x, axis=axis, keepdims=keepdims)

    expand_dims = staticmethod(np.expand_dims)

    @staticmethod
    def cond(pred, true_fn, false_fn):
        """``true_fn()`` if ``pred`` else ``false_fn()``: only the branch taken is computed.

        A rule that branches on a value derived from ``t`` writes ``ops.cond`` instead of
        ``if``: under Keras that value is a tensor of the compiled graph (``keras.ops.cond``).
        """
        return true_fn() if pred else false_fn()


def hyper(default, allowed):
    """A hyperparameter field; ``allowed`` is one of ``">= 0"``, ``">= 1"``, ``"[0, 1)"``, ``"(0, 1)"``, ``"bool"``,
    ``"schedule"``, ``"patterns"`` (a tuple of regular expressions).

    ``"schedule"`` (the learning rate) takes a number >= 0 or a function of the step t that returns one.
    """
    return dataclasses.field(default=default, metadata={"allowed": allowed})


def coupled_decay(g, w, weight_decay):
    """L2 regularization: the gradient of ½λ‖w‖² joins g (PyTorch's ``weight_decay``)."""
    return g + weight_decay * w


def decoupled_decay(w, lr, weight_decay):
    """Decoupled decay (Loshchilov & Hutter): shrink w directly, outside the rule's scaling."""
    return w * (1 - lr * weight_decay)


def param_name(path):
    """The name of the parameter at ``path`` that ``for_param`` gets: ``('dense0', 'b')`` -> ``'dense0/b'``."""
    return "/".join(str(key) for key in path)


def _surely_finite(arrays):
    """True if the float arrays (the new w and slots of one step) hold no NaN or inf; False if they may.

    One BLAS dot product per two arrays: a NaN or an inf in x or in y makes x·y NaN or infinite
    (inf·0 is NaN), so the check costs no more passes than the step had before it checked its state.
    As in all_finite, huge finite values can overflow the sum: False then only means "look closer".
    """
    for i in range(0, len(arrays), 2):
        x = arrays[i]
        y = arrays[i + 1] if i + 1 < len(arrays) else x
        if np.size(x) != np.size(y):  # slots of another size than w (Shampoo's L and R, Adafactor's factors)
            if not (math.isfinite(float(np.vdot(x, x))) and math.isfinite(float(np.vdot(y, y)))):
                return False
        elif not math.isfinite(float(np.vdot(x, y))):
            return False
    return True


@functools.lru_cache(maxsize=256)
def _without_decay(opt):
    return dataclasses.replace(opt, weight_decay=0.0, exclude_from_weight_decay=())


class State(dict):
    """An optimizer's state: the step count ``t`` and its slots (``m``, ``v``, ...).

    A plain dict whose entries can also be read as attributes: ``state.t``, ``state.m``.
    Each slot has the structure of the parameters (one array per parameter array).
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"this state has no {name!r}; it holds {list(self)}") from None

    def __repr__(self):
        body = ",\n".join(f"  {key}={_short(value)}" for key, value in self.items())
        return f"State(\n{body},\n)"


def _short(value):
    text = np.array2string(value, precision=4, threshold=8) if isinstance(value, np.ndarray) else repr(value)
    return text.replace("\n", "\n    ")


# Keywords of torch.optim and keras.optimizers that no adamedu optimizer takes under that name, with
# what to write instead (a class adds its own in ``refused``).
_CLIP = ("clip the gradients before the step with adamedu.clipping ({}), or pass it to "
         "adamedu.keras.to_keras(opt, {}=...)")
REFUSED = {
    "learning_rate": "adamedu calls the learning rate lr",
    "epsilon": "adamedu calls it eps",
    "betas": "write beta1=..., beta2=...",
    "beta_1": "adamedu calls it beta1", "beta_2": "adamedu calls it beta2",
    "centered": "only ae.RMSprop(centered=True) centers its second moment (Graves 2013)",
    "amsgrad": "use ae.AMSGrad(...) (with weight_decay=λ, decoupled_weight_decay=True for AdamW's decay)",
    "nesterov": "only ae.Momentum has nesterov=True; ae.Nadam is Adam with Nesterov momentum",
    "momentum_decay": "only ae.Nadam has momentum_decay",
    "clipnorm": _CLIP.format("clip_by_norm(grads, max_norm)", "clipnorm"),
    "clipvalue": _CLIP.format("clip_by_value(grads, max_value)", "clipvalue"),
    "global_clipnorm": _CLIP.format("clip_by_global_norm(grads, max_norm)", "global_clipnorm"),
    **{key: "a Keras option of the training loop: pass it to adamedu.keras.to_keras(opt, ...)"
       for key in ("use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                   "gradient_accumulation_steps")},
    **{key: "a PyTorch implementation choice; adamedu has one implementation of each rule "
            "(step(inplace=True) is its fast path)"
       for key in ("foreach", "fused", "capturable", "differentiable")},
}


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """Base class. Subclasses set ``slots`` and write ``update`` for one array.

    ``scalars`` names state shared by all arrays that changes with ``t`` (Nadam's product of
    momentum coefficients); ``next_scalars`` computes it once per step.
    """

    slots = ()
    scalars = {}
    # keywords of PyTorch or Keras that this optimizer does not take, with what to write instead
    refused = {}
    # A rule that reduces over the whole array (LAMB's norms) says so: the in-place step then runs it on
    # the whole array at once instead of on cache-sized blocks, and elementwise-only engines refuse it.
    elementwise = True

    def __new__(cls, *args, **kwargs):
        allowed = [f.name for f in dataclasses.fields(cls)]
        refused = {**REFUSED, **cls.refused}
        for key in kwargs:
            if key not in allowed:
                hint = f" ({key}={kwargs[key]!r}): {refused[key]}." if key in refused else ";"
                raise TypeError(f"{cls.__name__} got an unknown keyword {key!r}{hint} "
                                f"its hyperparameters are {', '.join(allowed)}")
        return super().__new__(cls)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = check_hyperparameter(type(self).__name__, f.name, getattr(self, f.name), f.metadata["allowed"])
            object.__setattr__(self, f.name, value)

    # -- the public API -------------------------------------------------------------------
    def init(self, params):
        """The state before the first step: ``t = 0`` and zeroed slots shaped like ``params``."""
        flat = _tree.flatten(params)
        leaves = [as_param(path, w) for path, w in flat]
        self.check_exclusions([param_name(path) for path, _ in flat])
        state = State(t=0)
        for name in self.slots:
            state[name] = _tree.unflatten(params, [self.init_slot(name, w) for w in leaves])
        state.update(self.scalars)
        return state

    def step(self, params, grads, state, *, inplace=False):
        """Return ``(new_params, new_state)``.

        By default the step is pure: no input is changed, and the results are new arrays. With
        ``inplace=True`` the new values are written into the arrays of ``params`` and ``state``,
        which are returned: the fast path for large models, which allocates nothing as large as
        the parameters (the rule runs on cache-sized blocks).
        The parameters and their state must then be writeable, C-contiguous numpy arrays.

        Raises before changing anything if the inputs do not fit together or a gradient holds NaN
        or infinity. If the parameters or the state the step produces would not be finite (an
        overflow, e.g. a finite gradient of 1e308 whose square is infinite), the pure step raises
        NonFiniteError naming the parameter and the slot (``state.v['W']``) and changes nothing;
        the in-place step raises too, but the blocks it has already written by then keep their
        new values.
        """
        given_g = []
        _tree.same_structure(params, grads, leaves=given_g)
        flat_slots = self._check_state(params, state)
        leaves = _tree.flatten(params)
        paths = [path for path, _ in leaves]
        flat_w = [as_param(path, w, check=False) for path, w in leaves]  # finiteness: see _check_new
        with np.errstate(over="ignore"):  # a huge gradient is named by as_grad; numpy's warning would only add noise
            flat_g = [as_grad(path, g, w) for path, g, w in zip(paths, given_g, flat_w, strict=True)]

        t = state["t"] + 1
        lr = self.learning_rate(t)
        scalars = self.next_scalars(t, **{k: state[k] for k in self.scalars})
        if getattr(self, "exclude_from_weight_decay", ()):
            names = [param_name(path) for path in paths]
            self.check_exclusions(names)
            rule = [functools.partial(self.for_param(n).update, t=t, lr=lr, **scalars) for n in names]
        else:
            rule = functools.partial(self.update, t=t, lr=lr, **scalars)
        # An overflow shows up as a non-finite result, which _check_new refuses with a clear message;
        # numpy's own warnings about it would only add noise.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if inplace:
                given = [w for _, w in leaves]
                return self._step_inplace(rule, params, given, paths, flat_w, flat_g, flat_slots, state, t, scalars)
            return self._step_pure(rule, params, paths, flat_w, flat_g, flat_slots, t, scalars)

    def _step_pure(self, rule, params, paths, flat_w, flat_g, flat_slots, t, scalars):
        new_w, new_slots = [], [[] for _ in self.slots]
        for i, (w, g) in enumerate(zip(flat_w, flat_g, strict=True)):
            try:
                out = (rule[i] if isinstance(rule, list) else rule)(w, g, *(s[i] for s in flat_slots))
            except ValueError as err:  # a matrix rule's refusal (a singular factor): say which parameter
                raise ValueError(f"{type(self).__name__} step {t}, {_tree.leaf_name(paths[i])}: {err}") from None
            out = [np.asarray(x, dtype=w.dtype) for x in (out if flat_slots else (out,))]
            self._check_new(paths[i], w, out, t)
            new_w.append(out[0])
            for acc, x in zip(new_slots, out[1:], strict=True):
                acc.append(x)
        new_state = State(t=t)
        for s, leaves in zip(self.slots, new_slots, strict=True):
            new_state[s] = _tree.unflatten(params, leaves)
        new_state.update(scalars)
        return _tree.unflatten(params, new_w), new_state

    def _step_inplace(self, rule, params, given, paths, flat_w, flat_g, flat_slots, state, t, scalars):
        # Every array must take writes before the first is written. The leaves are checked as given: a leaf
        # that is not an ndarray (a number, a list) was copied into a new array by as_param, and writing
        # there would leave the caller's parameters unchanged.
        for i, leaf in enumerate(given):
            for x in (leaf, *(s[i] for s in flat_slots)):
                if not (isinstance(x, np.ndarray) and x.flags.writeable and x.flags.c_contiguous):
                    raise ValueError(f"{type(self).__name__}.step(inplace=True) writes into the arrays it is "
                                     f"given, so {_tree.leaf_name(paths[i])} and its state must be writeable, "
                                     "C-contiguous numpy arrays; use the pure step (inplace=False) otherwise")
        for i, (w, g) in enumerate(zip(flat_w, flat_g, strict=True)):
            rule_i = rule[i] if isinstance(rule, list) else rule
            if not self.elementwise:  # whole arrays in their own shapes (a norm, a matrix product: no blocks)
                try:
                    out = rule_i(w, g, *(s[i] for s in flat_slots))
                except ValueError as err:
                    raise ValueError(f"{type(self).__name__} step {t}, {_tree.leaf_name(paths[i])}: {err}") from None
                out = out if flat_slots else (out,)
                if not _surely_finite(out):
                    self._check_new(paths[i], w, out, t)
                for target, x in zip((w, *(s[i] for s in flat_slots)), out, strict=True):
                    target[...] = x
                continue
            w_flat, g_flat = w.reshape(-1), g.reshape(-1)  # views: writes go to the caller's arrays
            slots_flat = [s[i].reshape(-1) for s in flat_slots]
            block = max(1, BLOCK_BYTES // w.itemsize)
            for lo in range(0, w_flat.size, block):
                hi = lo + block
                out = rule_i(w_flat[lo:hi], g_flat[lo:hi], *(s[lo:hi] for s in slots_flat))
                out = out if slots_flat else (out,)
                if not _surely_finite(out):
                    self._check_new(paths[i], w_flat[lo:hi], out, t, block_of=(lo, w.shape))
                for target, x in zip((w_flat, *slots_flat), out, strict=True):
                    target[lo:hi] = x
        state["t"] = t
        state.update(scalars)
        return params, state

    def _check_new(self, path, w, out, t, block_of=None):
        """Refuse a step whose result (``out``: the new w, then the new slots) is not finite, saying
        whether the input or the step was at fault, and which parameter and which slot overflowed.

        ``block_of=(offset, shape)``: ``w`` and ``out`` are a block of the array (see check_finite).
        """
        if _surely_finite(out):
            return
        check_finite(_tree.leaf_name(path), w, "parameters", block_of)  # NaN or inf already in the given parameters
        # the state first: an infinite v makes w NaN, and the cause is the slot that overflowed
        named = list(zip(("params", *(f"state.{s}" for s in self.slots)), out, strict=False))
        for what, x in named[1:] + named[:1]:
            try:
                check_finite(_tree.leaf_name(path, what), x, "parameters" if what == "params" else "the state",
                             block_of)
            except NonFiniteError as err:
                raise NonFiniteError(f"{type(self).__name__} step {t} would overflow: {err}") from None

    def learning_rate(self, t):
        """The learning rate of step ``t``: ``lr`` itself, or ``lr(t)`` when ``lr`` is a schedule."""
        if not callable(self.lr):
            return self.lr
        try:
            lr = self.lr(t)
        except Exception as err:
            raise type(err)(f"{type(self).__name__}: lr is a schedule, and lr({t}) raised {type(err).__name__}: "
                            f"{err}. A schedule takes the step t (counting from 1) and returns the learning "
                            "rate") from err
        return check_hyperparameter(type(self).__name__, f"lr({t})", lr, ">= 0")

    # -- weight decay and per-parameter options ------------------------------------------------
    def decay(self, w, g, lr):
        """``(w, g)`` after ``maximize`` and weight decay, PyTorch's order: -g first, then the decay.

        Coupled (L2): λw joins the gradient, so the rule scales it like g. Decoupled: w shrinks
        by the factor 1 − lr·λ before the rule, outside its scaling.
        """
        if self.maximize:
            g = -g
        if self.weight_decay == 0:
            return w, g
        if self.decoupled_weight_decay:
            return decoupled_decay(w, lr, self.weight_decay), g
        return w, coupled_decay(g, w, self.weight_decay)

    def for_param(self, name):
        """The optimizer for the parameter called ``name`` (a path such as ``'dense0/b'``).

        ``self``, or a copy without weight decay when ``name`` matches a pattern of
        ``exclude_from_weight_decay`` (``re.search``, as Keras matches variable names).
        """
        patterns = getattr(self, "exclude_from_weight_decay", ())
        if patterns and any(re.search(p, name) for p in patterns):
            return _without_decay(self)
        return self

    def check_exclusions(self, names):
        """Refuse a pattern of ``exclude_from_weight_decay`` that matches none of the parameter ``names``."""
        patterns = getattr(self, "exclude_from_weight_decay", ())
        unmatched = [p for p in patterns if not any(re.search(p, n) for n in names)]
        if unmatched:
            shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
            shown = "" if names == [""] else shown
            raise ValueError(f"{type(self).__name__}: exclude_from_weight_decay pattern(s) "
                             f"{', '.join(map(repr, unmatched))} match no parameter; the parameters are named "
                             f"{shown or '(a single array has no name: use a dict of arrays)'}")

    # -- what subclasses provide -----------------------------------------------------------
    def init_slot(self, name, w):
        """The initial value of slot ``name`` for parameter array ``w``: zeros unless overridden."""
        return np.zeros_like(w)

    def slot_shape(self, name, shape):
        """The shape of slot ``name`` for a parameter of ``shape``: the same, unless the rule keeps matrices of
        another shape (Shampoo's factors L and R) or less (Adafactor's row and column factors). Engines make
        their slots with it."""
        return tuple(shape)

    def next_scalars(self, t, **scalars):
        """The shared scalar state for step ``t`` (nothing unless overridden)."""
        return {}

    def update(self, w, g, *slots, t, lr, ops=numpy_ops):
        """One step on one array: return ``w`` (and the new slots, in the order of ``slots``)."""
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------
    def _check_state(self, params, state):
        name = type(self).__name__
        if not isinstance(state, dict) or "t" not in state:
            raise TypeError(f"{name}.step: state must be the State returned by {name}.init or {name}.step, "
                            f"got {type(state).__name__}")
        keeps = ["t", *self.slots, *self.scalars]
        missing = [s for s in keeps if s not in state]
        extra = [s for s in state if s not in keeps]
        if missing or extra:
            found = ", ".join(f"{label} {names}" for label, names in (("lacks", missing), ("has", extra)) if names)
            raise ValueError(f"{name}.step: this state {found}; was it made by another optimizer? "
                             f"{name} keeps {keeps}")
        t = state["t"]
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"{name}.step: state.t must be a whole number >= 0, got {t!r}")
        flat_slots = [[] for _ in self.slots]  # the leaves of each slot, in flatten order
        for s, leaves in zip(self.slots, flat_slots, strict=True):
            shape = None if type(self).slot_shape is Optimizer.slot_shape else functools.partial(self.slot_shape, s)
            _tree.same_structure(params, state[s], names=("params", f"state.{s}"), leaves=leaves, shape=shape)
        return flat_slots
