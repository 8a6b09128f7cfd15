"""Several optimizers for one model: each parameter to the optimizer its label names (Muon with AdamW)."""

import numpy as np

from .. import _tree
from ._base import State, param_name

__all__ = ["Partition", "muon_with_adamw"]


class Partition:
    """Each parameter to one of several optimizers, chosen by ``label(name, shape)``.

    ``Partition({"muon": ae.Muon(), "adamw": ae.AdamW()}, label)`` has the optimizer API: ``init``
    returns a State with ``t`` and one sub-state per optimizer (over the parameters it got, keyed by
    their names, e.g. ``'dense0/W'``), ``step`` steps each optimizer on its own parameters. optax calls
    the same idea ``multi_transform``; PyTorch users write two optimizers by hand.
    """

    def __init__(self, optimizers, label):
        if not isinstance(optimizers, dict) or not optimizers:
            raise TypeError(f"Partition: optimizers must be a non-empty dict of label -> optimizer, got {optimizers!r}")
        for key, opt in optimizers.items():
            if not (hasattr(opt, "init") and hasattr(opt, "step")):
                raise TypeError(f"Partition: optimizers[{key!r}] must be an adamedu optimizer, got {opt!r}")
        if not callable(label):
            raise TypeError(f"Partition: label must be a function (name, shape) -> label, got {label!r}")
        self.optimizers = dict(optimizers)
        self.label = label

    def __repr__(self):
        return f"Partition({self.optimizers!r}, label={getattr(self.label, '__name__', self.label)})"

    def _groups(self, params):
        """``[(path, key), ...]`` in flatten order: which optimizer each parameter goes to."""
        groups = []
        for path, w in _tree.flatten(params):
            name = param_name(path)
            key = self.label(name, np.shape(w))
            if key not in self.optimizers:
                raise ValueError(f"Partition: label({name!r}, {np.shape(w)}) returned {key!r}, which names no "
                                 f"optimizer; the optimizers are {list(self.optimizers)}")
            groups.append((path, key))
        return groups

    def init(self, params):
        groups = self._groups(params)
        leaves = dict(_tree.flatten(params))
        state = State(t=0)
        for key, opt in self.optimizers.items():
            state[key] = opt.init({param_name(p): leaves[p] for p, k in groups if k == key})
        return state

    def step(self, params, grads, state, *, inplace=False):
        keeps = ["t", *self.optimizers]
        if not isinstance(state, dict) or sorted(state) != sorted(keeps):
            found = list(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"Partition.step: state must be the State of Partition.init, with the keys {keeps}; "
                             f"got {found}")
        _tree.same_structure(params, grads)
        groups = self._groups(params)
        w, g = dict(_tree.flatten(params)), dict(_tree.flatten(grads))
        new_w, new_state = {}, State(t=state["t"] + 1)
        for key, opt in self.optimizers.items():
            paths = [p for p, k in groups if k == key]
            sub_w, sub_state = opt.step({param_name(p): w[p] for p in paths}, {param_name(p): g[p] for p in paths},
                                        state[key], inplace=inplace)
            new_state[key] = sub_state
            new_w.update({p: sub_w[param_name(p)] for p in paths})
        return _tree.unflatten(params, [new_w[p] for p, _ in groups]), new_state


def muon_with_adamw(muon=None, adamw=None, exclude=()):
    """Muon for the matrices, AdamW for everything else (biases, scales) and for the names matching a
    regular expression of ``exclude`` (e.g. the output layer, as Jordan et al. advise)."""
    import re

    from .adam import AdamW
    from .matrix import Muon

    def label(name, shape):
        if len(shape) == 2 and not any(re.search(p, name) for p in exclude):
            return "muon"
        return "adamw"

    return Partition({"muon": muon if muon is not None else Muon(),
                      "adamw": adamw if adamw is not None else AdamW()}, label)
