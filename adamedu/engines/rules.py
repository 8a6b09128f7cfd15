"""The check every bridge makes on the optimizer it is given (``to_keras``, ``to_torch``)."""

from .. import optimizers as _optimizers

__all__ = ["check_rule"]


def check_rule(optimizer, bridge, example, hint=None):
    """Refuse anything but an instance of a concrete adamedu optimizer.

    ``bridge`` names the caller in the message (``"to_torch"``), ``example`` shows a correct call
    (``"to_torch(ae.Adam(), model.parameters())"``); ``hint(optimizer)`` may add a word on what was given
    instead (the bridge's own framework's optimizer, say).
    """
    Optimizer = _optimizers.Optimizer  # noqa: N806 - a class
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        raise TypeError(f"{bridge} needs an optimizer instance, got the class {optimizer.__name__}: "
                        f"write {example.replace('ae.Adam()', f'ae.{optimizer.__name__}(...)')}")
    if not isinstance(optimizer, Optimizer):
        extra = hint(optimizer) if hint else ""
        raise TypeError(f"{bridge} needs an adamedu optimizer such as ae.Adam(), got {optimizer!r:.80} "
                        f"({type(optimizer).__name__}){extra}")
    if type(optimizer).update is Optimizer.update:
        raise TypeError(f"{bridge}: {type(optimizer).__name__} has no update rule; pass a concrete optimizer "
                        "such as ae.Adam()")
