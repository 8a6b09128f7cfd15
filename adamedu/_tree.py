"""Parameters as one array or a (nested) dict / list / tuple of arrays.

Optimizers work leaf by leaf. This module flattens a structure into its leaves,
remembers where each leaf came from (so that an error can say ``params['b']``),
and rebuilds the same structure from new leaves.
"""

import numpy as np

__all__ = ["flatten", "unflatten", "same_structure", "leaf_name"]


def flatten(tree, path=()):
    """Return ``[(path, leaf), ...]`` in a fixed order (dict keys in insertion order)."""
    found = []
    _collect(tree, path, found)
    return found


def _collect(tree, path, found):
    """Append the ``(path, leaf)`` pairs of ``tree`` to ``found`` (one list for all: this runs on every step)."""
    if isinstance(tree, dict):
        for key, sub in tree.items():
            _collect(sub, path + (key,), found)
    elif isinstance(tree, (list, tuple)):
        for i, sub in enumerate(tree):
            _collect(sub, path + (i,), found)
    else:
        found.append((path, tree))


def unflatten(like, leaves):
    """Rebuild the structure of ``like`` with ``leaves`` (an iterator or a list) in flatten order."""
    leaves = iter(leaves)

    def build(node):
        if isinstance(node, dict):
            return {key: build(sub) for key, sub in node.items()}
        if isinstance(node, (list, tuple)):
            rebuilt = [build(sub) for sub in node]
            return rebuilt if isinstance(node, list) else type(node)(rebuilt)
        return next(leaves)

    return build(like)


def leaf_name(path, root="params"):
    """``('layer1', 'b')`` -> ``params['layer1']['b']``; ``()`` -> ``params``."""
    return root + "".join(f"[{key!r}]" for key in path)


def same_structure(a, b, path=(), names=("params", "grads"), leaves=None, shape=None):
    """Raise ValueError naming the first place where ``a`` and ``b`` differ in structure or shape.

    ``shape``: a function from a leaf's shape in ``a`` to the shape its leaf in
    ``b`` must have (the same if None; Shampoo's factors and Adafactor's are of other shapes).

    If ``leaves`` is a list, the leaves of ``b`` are appended to it in flatten order (one walk instead of two).
    """
    # Runs on every optimizer step: the names of the places are only spelled out for an error message.
    if isinstance(a, dict):
        if not isinstance(b, dict):
            raise ValueError(f"{leaf_name(path, names[1])} must be a dict like {leaf_name(path, names[0])}, "
                             f"got {type(b).__name__}")
        if list(a) != list(b):
            where = leaf_name(path, names[1])
            missing = [k for k in a if k not in b]
            extra = [k for k in b if k not in a]
            detail = []
            if missing:
                detail.append(f"missing keys {missing}")
            if extra:
                detail.append(f"unexpected keys {extra}")
            if not detail:
                detail.append(f"keys in order {list(b)} instead of {list(a)}")
            raise ValueError(f"{where} must have the keys of {leaf_name(path, names[0])} {list(a)}: "
                             + ", ".join(detail))
        for key in a:
            same_structure(a[key], b[key], path + (key,), names, leaves, shape)
    elif isinstance(a, (list, tuple)):
        if type(a) is not type(b):
            raise ValueError(f"{leaf_name(path, names[1])} must be a {type(a).__name__} like "
                             f"{leaf_name(path, names[0])}, got {type(b).__name__}")
        if len(a) != len(b):
            raise ValueError(f"{leaf_name(path, names[1])} must have {len(a)} entries like "
                             f"{leaf_name(path, names[0])}, got {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same_structure(x, y, path + (i,), names, leaves, shape)
    else:
        if isinstance(b, (dict, list, tuple)):
            raise ValueError(f"{leaf_name(path, names[1])} must be an array like {leaf_name(path, names[0])}, "
                             f"got a {type(b).__name__}")
        expected = np.shape(a) if shape is None else shape(np.shape(a))
        if np.shape(b) != expected:
            if shape is None:
                raise ValueError(f"{leaf_name(path, names[1])} has shape {np.shape(b)}, but "
                                 f"{leaf_name(path, names[0])} has shape {np.shape(a)}; they must match")
            raise ValueError(f"{leaf_name(path, names[1])} has shape {np.shape(b)}, but for "
                             f"{leaf_name(path, names[0])} of shape {np.shape(a)} it must have shape {expected}")
        if leaves is not None:
            leaves.append(b)

