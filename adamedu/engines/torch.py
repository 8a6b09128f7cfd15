"""The bridge to PyTorch: train a ``torch.nn`` model with any adamedu optimizer.

::

    import adamedu as ae
    from adamedu.torch import to_torch

    opt = to_torch(ae.Adam(lr=1e-3), model.parameters())
    for x, y in batches:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

``to_torch`` returns a ``torch.optim.Optimizer`` whose ``step`` calls the adamedu optimizer's own
``update``, the lines the numpy ``step`` runs, with torch tensors for ``w``, ``g`` and the slots and
with ``ops`` bound to :class:`torch_ops`. The rule is written once and runs in three engines. The
new values are written into the parameters (and the slots) in place, under ``torch.no_grad()``.

What it keeps from ``torch.optim``: parameter groups, each with its own hyperparameters (any field of
the adamedu optimizer, ``lr``, ``beta1``, ``eps``, ... under adamedu's names, and ``maximize``);
``param_group["lr"]`` as the learning rate, so ``torch.optim.lr_scheduler`` works; ``add_param_group``,
``zero_grad``, ``step(closure)``, ``state_dict()`` / ``load_state_dict()``; parameters passed as
``model.named_parameters()`` keep their names (an optimizer's ``for_param(name)``, where it has one,
then picks the rule for each parameter, e.g. no weight decay on biases; an exclusion from weight decay
is refused when the parameters have no names or a pattern matches none). ``maximize`` is torch's
keyword: it sets the optimizer's own ``maximize`` where it has one, else the bridge negates ``g``.
``foreach``, ``fused``, ``capturable`` and ``differentiable`` are refused: the rule runs one tensor at
a time, as torch's reference ``_single_tensor_*`` loops do. Beyond one process it works as any torch
optimizer does: with ``DistributedDataParallel``, and as ``ZeroRedundancyOptimizer(params,
optimizer_class=TorchOptimizer, optimizer=ae.Adam())`` (tested in one process).

What differs from the numpy ``step`` (each point is tested in tests/test_torch_bridge.py):

- A parameter whose ``.grad`` is ``None`` is skipped, as ``torch.optim`` skips it: its state is not
  made or advanced. So the step count ``t`` lives in each parameter's state (``state[p]["t"]``), and so
  does a shared scalar such as Nadam's ``mu_product`` (as ``torch.optim.NAdam`` keeps it); the numpy
  ``step`` steps every array and keeps one ``t``.
- adamedu's checks are not made inside the step, as ``torch.optim`` makes none: a NaN or infinite
  gradient is not refused and spreads into the parameters, and an overflow of the state (a finite g
  whose g² is infinite) is not refused either. (Checking would cost a pass over every tensor and, on
  a GPU, a synchronisation per tensor.) What torch checks itself (shapes and dtypes of gradients) it
  checks.
- Arithmetic is in each tensor's dtype: float32 parameters get float32 slots and float32 arithmetic.
  ``t``, ``lr``, factors such as ``1 - beta2**t`` and the scalar state are Python floats, as in the
  numpy ``step`` and in ``torch.optim``: float64 tensors follow the numpy step to the last few bits.
- The learning rate is the group's ``lr``; an adamedu schedule (a Python function of ``t``) is
  refused, in favour of ``torch.optim.lr_scheduler``.
- The state keeps adamedu's names (``t``, ``m``, ``v``, ...), not torch's (``step``, ``exp_avg``): a
  state dict of ``torch.optim.Adam`` does not load into ``to_torch(ae.Adam())`` (it is refused).
- Sparse gradients (``nn.Embedding(sparse=True)``) are refused: the rules are written for dense arrays.
"""

import dataclasses
import functools
import math
import numbers

import numpy as np

from .._checks import check_hyperparameter
from ..optimizers._base import BLOCK_BYTES
from .rules import check_rule

try:
    import torch
except ImportError as err:
    raise ImportError("adamedu.torch needs PyTorch, which is not installed: pip install torch "
                      "(a CPU-only build is enough; see the README, \"Use it in PyTorch\")") from err

__all__ = ["to_torch", "TorchOptimizer", "torch_ops", "TORCH_OPTIONS"]

# torch.optim's keywords that make sense here: maximize. The others name fast paths this bridge lacks.
TORCH_OPTIONS = ("maximize",)
REFUSED_OPTIONS = {
    "foreach": "the rule runs one tensor at a time (torch's plain _single_tensor_* loop)",
    "fused": "the rule runs one tensor at a time (torch's plain _single_tensor_* loop)",
    "capturable": "the step reads t and lr as Python numbers, which a captured CUDA graph cannot update",
    "differentiable": "the step runs under torch.no_grad() and writes in place",
}
# Keys a parameter group may carry besides hyperparameters: torch's own, and lr schedulers' bookkeeping.
GROUP_BOOKKEEPING = ("params", "param_names", "name", "initial_lr")
# torch.optim's names for adamedu's hyperparameters, to say what to write instead.
TORCH_NAMES = {"betas": "beta1 and beta2", "alpha": "beta (RMSprop)", "momentum": "beta (Momentum)",
               "initial_accumulator_value": "initial_accumulator", "weight_decay": "an optimizer with "
               "weight_decay, e.g. ae.AdamW(weight_decay=...)", "amsgrad": "ae.AMSGrad()"}
# numpy dtypes for a slot's initial value; a dtype numpy lacks (bfloat16) is made in float32 and cast.
NUMPY_DTYPES = {torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64}


class torch_ops:  # noqa: N801 - used like a module, as numpy_ops is
    """The array functions of an update rule (see ``adamedu.optimizers._base.numpy_ops``), for torch tensors.

    On Python numbers (``1 - beta2**t``, RAdam's ρₜ) they return Python numbers, as numpy_ops does.
    """

    @staticmethod
    def sqrt(x):
        return math.sqrt(x) if isinstance(x, numbers.Real) else torch.sqrt(x)

    @staticmethod
    def maximum(a, b):
        a_number, b_number = isinstance(a, numbers.Real), isinstance(b, numbers.Real)
        if a_number and b_number:
            return float(np.maximum(a, b))  # NaN wins, as in torch.maximum
        if a_number or b_number:  # a tensor and a number: the number takes the tensor's dtype
            a, b = (torch.as_tensor(x, dtype=(b if a_number else a).dtype) if isinstance(x, numbers.Real) else x
                    for x in (a, b))
        return torch.maximum(a, b)

    @staticmethod
    def abs(x):
        return abs(x) if isinstance(x, numbers.Real) else torch.abs(x)

    @staticmethod
    def sign(x):
        return float(np.sign(x)) if isinstance(x, numbers.Real) else torch.sign(x)

    @staticmethod
    def sum(x):
        """The sum over the whole tensor (non-elementwise rules only: LAMB's norms)."""
        return torch.sum(x)

    @staticmethod
    def minimum(a, b):
        if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
            return min(a, b)
        return -torch_ops.maximum(-a, -b)

    @staticmethod
    def mean(x, axis=None, keepdims=False):
        """The mean over ``axis`` (all axes by default): Adafactor's row and column means."""
        return torch.mean(x) if axis is None else torch.mean(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def expand_dims(x, axis):
        return torch.unsqueeze(x, axis)

    @staticmethod
    def cond(pred, true_fn, false_fn):
        """``true_fn()`` if ``pred`` else ``false_fn()``; eager PyTorch branches in Python."""
        return true_fn() if pred else false_fn()

    matmul = staticmethod(torch.matmul)  # matrix rules (Muon's Newton–Schulz)

    @staticmethod
    def transpose(x):
        return x.T


def to_torch(optimizer, params, **options):
    """A ``torch.optim.Optimizer`` that runs ``optimizer``'s update rule on ``params``.

    ``optimizer`` is an adamedu optimizer instance, e.g. ``ae.Adam(lr=1e-3)``; its hyperparameters are
    the defaults of every parameter group. ``params`` is what torch's optimizers take:
    ``model.parameters()``, ``model.named_parameters()``, or a list of dicts (parameter groups) whose
    other keys override hyperparameters by adamedu's names, e.g.
    ``[{"params": body, "lr": 1e-3}, {"params": head, "lr": 1e-2, "beta1": 0.8}]``.
    ``options``: ``maximize=True`` steps up the gradient (as torch's optimizers do).
    """
    return TorchOptimizer(params, optimizer, **options)


class TorchOptimizer(torch.optim.Optimizer):
    """A torch optimizer running an adamedu update rule; make one with :func:`to_torch`.

    The parameters come first, as in every ``torch.optim`` class, so that tools which build an optimizer
    from a class (``ZeroRedundancyOptimizer(params, optimizer_class=TorchOptimizer, optimizer=ae.Adam())``)
    can build this one. ``rule`` is the adamedu optimizer. ``state[p]`` holds parameter ``p``'s step count
    ``t``, its slots (``m``, ``v``, ... as tensors like ``p``) and the rule's scalar state (Python floats).
    """

    def __init__(self, params, optimizer, **options):
        check_rule(optimizer, "to_torch", "to_torch(ae.Adam(), model.parameters())", _torch_hint)
        for key, value in options.items():
            if key in REFUSED_OPTIONS:
                refuse_option(key, value, "to_torch")
            elif key not in TORCH_OPTIONS:
                hint = f" (for torch's {key!r} write {TORCH_NAMES[key]})" if key in TORCH_NAMES else ""
                raise TypeError(f"to_torch got an unknown keyword {key!r}{hint}; it takes "
                                f"{', '.join(TORCH_OPTIONS)}. Hyperparameters belong to the adamedu optimizer, "
                                f"{describe(optimizer)}, or to a parameter group")
        maximize = check_hyperparameter("to_torch", "maximize",
                                        options.get("maximize", getattr(optimizer, "maximize", False)), "bool")
        if callable(optimizer.lr):
            raise ValueError(f"to_torch: {type(optimizer).__name__}(lr={optimizer.lr!r}) is a Python function "
                             "of t; in PyTorch the learning rate is param_group['lr'], which a "
                             "torch.optim.lr_scheduler changes: pass a number and use e.g. "
                             "torch.optim.lr_scheduler.LambdaLR(opt, lambda step: factor(step)) (its step "
                             "counts from 0; adamedu's t from 1)")
        self.rule = optimizer
        defaults = {name: getattr(optimizer, name) for name in hyperparameters(optimizer)}
        defaults["maximize"] = maximize
        super().__init__(params, defaults)
        self._check_exclusions()
        self._built = True

    # -- parameter groups ---------------------------------------------------------------------------
    def add_param_group(self, param_group):
        if isinstance(param_group, dict):
            where = f"param_groups[{len(self.param_groups)}]"
            for key, value in param_group.items():
                self._check_group_key(where, key, value)
            self._group_rule({**self.defaults, **param_group}, where)  # the values: checked before any change
            params = param_group.get("params")
            if isinstance(params, torch.Tensor):
                params = [params]
            elif params is not None and not isinstance(params, set):
                params = list(params)  # an iterator, such as model.parameters(), is read once
                param_group = {**param_group, "params": params}
            for j, p in enumerate(params or ()):
                p = p[1] if isinstance(p, tuple) and len(p) == 2 else p
                if isinstance(p, torch.Tensor) and not p.is_floating_point():
                    raise TypeError(f"to_torch: {where}['params'][{j}] has dtype {p.dtype}; adamedu's rules "
                                    "are for real floating-point tensors (float16, bfloat16, float32, float64)")
        super().add_param_group(param_group)
        if getattr(self, "_built", False):  # during __init__, the groups are checked together at its end
            try:
                self._check_exclusions()
            except ValueError:
                self.param_groups.pop()  # refused: nothing added
                raise

    def _check_exclusions(self):
        """Exclusion from weight decay (``exclude_from_weight_decay``, where the optimizer has it) goes by
        parameter name: refuse it when a group's parameters have no names, or a pattern matches no name."""
        names = [name for group in self.param_groups for name in group.get("param_names", ())]
        for i, group in enumerate(self.param_groups):
            where = f"param_groups[{i}]"
            rule = self._group_rule(group, where)
            if not getattr(rule, "exclude_from_weight_decay", ()):
                continue
            if not group.get("param_names"):
                raise ValueError(f"to_torch: {where}: {type(rule).__name__}(exclude_from_weight_decay="
                                 f"{rule.exclude_from_weight_decay!r}) picks parameters by name, and these have "
                                 "none: pass model.named_parameters() (or (name, tensor) pairs), not "
                                 "model.parameters()")
            check = getattr(rule, "check_exclusions", None)
            if check is not None:
                try:
                    check(names)
                except ValueError as err:
                    raise ValueError(f"to_torch: {where}: {err}") from None

    def _check_group_key(self, where, key, value):
        if key in REFUSED_OPTIONS:
            refuse_option(key, value, f"to_torch: {where}")
        elif key == "optimizer":  # ZeroRedundancyOptimizer copies its keywords, ours included, into each group
            if value != self.rule:
                raise ValueError(f"to_torch: {where}['optimizer'] is {value!r}, not this bridge's {self.rule!r}; "
                                 "a group changes hyperparameters by name (e.g. 'lr', 'beta1'), not the rule")
        elif key not in self.defaults and key not in GROUP_BOOKKEEPING:
            hint = f"; for torch's {key!r} write {TORCH_NAMES[key]}" if key in TORCH_NAMES else ""
            raise TypeError(f"to_torch: {where} has an unknown key {key!r}{hint}. A group takes 'params' and "
                            f"{', '.join(map(repr, self.defaults))}")

    def _group_rule(self, group, where):
        """The adamedu optimizer of a group: the bridge's with the group's hyperparameters (checked)."""
        names = hyperparameters(self.rule)
        key = tuple((type(group[name]), group[name]) for name in dict.fromkeys((*names, "maximize")))
        cache = self.__dict__.setdefault("_rules", {})
        try:
            return cache[key]
        except (KeyError, TypeError):  # not seen yet, or unhashable (refused just below)
            pass
        try:
            check_hyperparameter(type(self.rule).__name__, "maximize", group["maximize"], "bool")
            rule = dataclasses.replace(self.rule, **{name: group[name] for name in names})
        except (TypeError, ValueError) as err:
            raise type(err)(f"to_torch: {where}: {err}") from None
        if callable(rule.lr):
            raise ValueError(f"to_torch: {where}: lr must be a number >= 0, got the function {rule.lr!r}; "
                             "use a torch.optim.lr_scheduler")
        if len(cache) > 64:  # a scheduler changes lr every step: keep only recent rules
            cache.clear()
        try:
            cache[key] = rule
        except TypeError:  # a hyperparameter that is a list: build the rule each step
            pass
        return rule

    def _param_rules(self, i, group, group_rule):
        """The rule of each parameter of group ``i``: the optimizer's ``for_param(name)`` where it has one
        and the parameters have names (``model.named_parameters()``), else the group's rule."""
        names = group.get("param_names")
        for_param = getattr(group_rule, "for_param", None)
        if for_param is None or not names:
            return [group_rule] * len(group["params"])
        cache = self.__dict__.setdefault("_param_rule_lists", {})
        cached = cache.get(i)
        if cached is not None and cached[0] is group_rule and cached[1] == names:
            return cached[2]
        rules = [for_param(name) for name in names]
        cache[i] = (group_rule, list(names), rules)
        return rules

    # -- the step -------------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure=None):
        """One step of the rule on every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for p, g, rule in self._work():  # every check is made before the first parameter changes
            self._update(p, g, rule)
        return loss

    def _work(self):
        """``(parameter, gradient, rule)`` for each parameter with a gradient; refuse what cannot run."""
        work = []
        for i, group in enumerate(self.param_groups):
            rules = self._param_rules(i, group, self._group_rule(group, f"param_groups[{i}]"))
            for j, (p, rule) in enumerate(zip(group["params"], rules, strict=True)):
                if p.grad is None:
                    continue  # as torch.optim: no gradient, no step
                if p.grad.is_sparse:
                    names = group.get("param_names")
                    where = repr(names[j]) if names else f"param_groups[{i}]['params'][{j}]"
                    raise RuntimeError(f"to_torch: the gradient of {where} is sparse (nn.Embedding(sparse=True)?); "
                                       "adamedu's rules are written for dense tensors: use sparse=False, or "
                                       "torch.optim.SparseAdam for that parameter")
                work.append((p, -p.grad if group["maximize"] and self.negates else p.grad, rule))
        return work

    @property
    def negates(self):
        """Whether the bridge negates g for ``maximize``: an optimizer with its own ``maximize`` does it
        inside its rule (the group's value reaches it as a hyperparameter)."""
        return "maximize" not in hyperparameters(self.rule)

    def _update(self, p, g, rule):
        state = self.state[p]
        if not state:  # the parameter's first step
            state["t"] = 0
            for name in rule.slots:
                state[name] = initial_slot(rule, name, p)
            state.update(rule.scalars)
        t = state["t"] + 1
        scalars = rule.next_scalars(t, **{name: state[name] for name in rule.scalars})
        arrays = [p, g, *(state[name] for name in rule.slots)]
        step = functools.partial(rule.update, t=t, lr=rule.learning_rate(t), ops=torch_ops, **scalars)
        for block in blocks(arrays, rule):
            out = step(*block)
            for target, value in zip((block[0], *block[2:]), out if rule.slots else (out,), strict=True):
                target.copy_(value)
        state["t"] = t
        state.update(scalars)

    # -- saving and loading -----------------------------------------------------------------------------
    def load_state_dict(self, state_dict):
        """torch's ``load_state_dict``, after checking that the state is this rule's (else nothing changes)."""
        self._check_loaded(state_dict)
        super().load_state_dict(state_dict)

    def _check_loaded(self, state_dict):
        name = describe(self.rule)
        groups = state_dict.get("param_groups", []) if isinstance(state_dict, dict) else []
        keeps = ["t", *self.rule.slots, *self.rule.scalars]
        saved_ids = [k for group in groups for k in group.get("params", [])]
        params = [p for group in self.param_groups for p in group["params"]]
        for index, state in state_dict.get("state", {}).items() if isinstance(state_dict, dict) else ():
            if sorted(state) != sorted(keeps):
                raise ValueError(f"to_torch: load_state_dict: the state of parameter {index} holds {sorted(state)}, "
                                 f"but {name} keeps {keeps}; was it saved by another optimizer?")
            if index in saved_ids and saved_ids.index(index) < len(params):
                p = params[saved_ids.index(index)]
                for slot in self.rule.slots:
                    expected = self.rule.slot_shape(slot, tuple(p.shape))
                    if tuple(state[slot].shape) != expected:
                        raise ValueError(f"to_torch: load_state_dict: slot {slot!r} of parameter {index} has shape "
                                         f"{tuple(state[slot].shape)}, but the parameter's shape "
                                         f"{tuple(p.shape)} needs {expected}")
        for i, group in enumerate(groups):
            missing = [key for key in self.defaults if key not in group]
            if missing:
                raise ValueError(f"to_torch: load_state_dict: param_groups[{i}] lacks {missing}; was it saved by "
                                 f"another optimizer? This one runs {name}")
            self._group_rule(group, f"load_state_dict: param_groups[{i}]")

    def __getstate__(self):  # pickling (torch.save of the optimizer itself, deepcopy) keeps the rule
        return {**super().__getstate__(), "rule": self.rule, "_built": True}

    def __repr__(self):
        return f"to_torch({self.rule!r}) " + super().__repr__()[len(type(self).__name__) + 1:]


@functools.cache
def field_names(cls):
    return tuple(f.name for f in dataclasses.fields(cls))


def blocks(arrays, rule):
    """``arrays`` (parameter, gradient, slots) whole, or, for a large CPU tensor and an elementwise rule,
    as matching blocks of BLOCK_BYTES of the flattened tensors, each a view.

    A rule allocates a new tensor for every operation. On the CPU, one as large as a big parameter comes
    from the system and is given back each time (glibc's malloc above 128 KiB), touching fresh pages
    every step: measured 15-30 ms per step of Adam on 200,704 float32 numbers, against under 1 ms in
    blocks of 64 KiB (the numpy engine's in-place step blocks for the same reason, see BLOCK_BYTES).
    On a GPU, torch's caching allocator reuses memory, and one kernel per operation is what is wanted.
    """
    p = arrays[0]
    size = max(1, BLOCK_BYTES // p.element_size())
    if (p.device.type != "cpu" or p.numel() <= size or not getattr(rule, "elementwise", True)
            or not all(x.is_contiguous() and x.shape == p.shape for x in arrays)):
        return [arrays]
    flat = [x.view(-1) for x in arrays]
    return [[x[lo:lo + size] for x in flat] for lo in range(0, p.numel(), size)]


def hyperparameters(optimizer):
    """The names of an adamedu optimizer's hyperparameters (its dataclass fields)."""
    return field_names(type(optimizer))


def describe(optimizer):
    return f"{type(optimizer).__name__}({', '.join(hyperparameters(optimizer))})"


def initial_slot(rule, name, p):
    """Slot ``name`` of parameter ``p`` before its first step: the rule's ``init_slot``, as a tensor like ``p``."""
    like = np.zeros(tuple(p.shape), dtype=NUMPY_DTYPES.get(p.dtype, np.float32))
    value = torch.from_numpy(np.ascontiguousarray(rule.init_slot(name, like)))
    if tuple(value.shape) != tuple(p.shape):  # a slot smaller than its parameter (Adafactor's factors)
        return torch.zeros(tuple(value.shape), dtype=p.dtype, device=p.device).copy_(value)
    return torch.empty_like(p, memory_format=torch.preserve_format).copy_(value)


def refuse_option(key, value, where):
    """foreach / fused / capturable / differentiable: False (or None, torch's "choose for me") is what runs."""
    if value is None or value is False:
        return
    raise ValueError(f"{where}: {key}={value!r} is not available: {REFUSED_OPTIONS[key]}. Leave {key} unset "
                     "(or False)")


def _torch_hint(optimizer):
    if isinstance(optimizer, torch.optim.Optimizer):
        return " (it is already a torch optimizer)"
    if isinstance(optimizer, torch.Tensor) or hasattr(optimizer, "__next__"):
        return " (the parameters come second: to_torch(ae.Adam(), model.parameters()))"
    return ""
