"""Parameters as one array or a (nested) dict / list / tuple of arrays.

Optimizers work leaf by leaf. This module flattens a structure into its leaves,
remembers where each leaf came from (so that an error can say ``params['b']``),
and rebuilds the same structure from new leaves.
"""

import numpy as np

__all__ = ["flatten", "unflatten", "same_structure", "leaf_name"]


def flatten(tree, path=()):
    """Return ``[(path, leaf), ...]`` in a fixed order (dict keys in insertion order)."""
    if isinstance(tree, dict):
        return [item for key, sub in tree.items() for item in flatten(sub, path + (key,))]
    if isinstance(tree, (list, tuple)):
        return [item for i, sub in enumerate(tree) for item in flatten(sub, path + (i,))]
    return [(path, tree)]


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


def same_structure(a, b, path=(), names=("params", "grads")):
    """Raise ValueError naming the first place where ``a`` and ``b`` differ in structure or shape."""
    where = leaf_name(path, names[1])
    if isinstance(a, dict):
        if not isinstance(b, dict):
            raise ValueError(f"{where} must be a dict like {leaf_name(path, names[0])}, got {type(b).__name__}")
        if list(a) != list(b):
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
            same_structure(a[key], b[key], path + (key,), names)
    elif isinstance(a, (list, tuple)):
        if type(a) is not type(b):
            raise ValueError(f"{where} must be a {type(a).__name__} like {leaf_name(path, names[0])}, "
                             f"got {type(b).__name__}")
        if len(a) != len(b):
            raise ValueError(f"{where} must have {len(a)} entries like {leaf_name(path, names[0])}, got {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same_structure(x, y, path + (i,), names)
    else:
        if isinstance(b, (dict, list, tuple)):
            raise ValueError(f"{where} must be an array like {leaf_name(path, names[0])}, "
                             f"got a {type(b).__name__}")
        if np.shape(a) != np.shape(b):
            raise ValueError(f"{where} has shape {np.shape(b)}, but {leaf_name(path, names[0])} has shape "
                             f"{np.shape(a)}; they must match")
