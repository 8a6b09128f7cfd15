"""Training a :class:`~adamedu.nn.Network` with an adamedu optimizer: ``fit``, ``evaluate``, ``predict``.

``fit`` is the loop every deep-learning library runs: for each epoch, shuffle the samples,
cut them into minibatches, and for each minibatch compute the loss and its gradient by
backpropagation and let the optimizer take one step. It records a per-epoch ``History``
(as Keras does) and stops cleanly if the optimizer refuses a step because the run diverged.
"""

import dataclasses
import math
import numbers
import typing

import numpy as np

from ._checks import NonFiniteError
from .nn import _check_lengths

__all__ = ["fit", "evaluate", "predict", "predict_classes", "History", "Divergence"]


class Divergence(typing.NamedTuple):
    """Where a run stopped: during ``epoch`` (counted from 1), at optimizer step ``step`` (from 1)."""

    epoch: int
    step: int
    reason: str


@dataclasses.dataclass
class History:
    """What ``fit`` records, one entry per completed epoch.

    ``loss`` and ``accuracy`` are averages over the epoch's minibatches, measured while training
    (with dropout active, on parameters that change from batch to batch), as Keras reports them;
    ``val_loss`` and ``val_accuracy`` are measured on the validation data after the epoch.
    Lists that do not apply stay empty (no accuracy for MSE, no val_* without validation data).
    ``batch_loss`` holds the loss of every minibatch, the noisy curve of stochastic optimization.
    ``diverged_at`` is a :class:`Divergence` if the optimizer refused a step, else None.
    ``state`` is the optimizer's final state: pass it back to ``fit`` to continue training.
    """

    loss: list = dataclasses.field(default_factory=list)
    accuracy: list = dataclasses.field(default_factory=list)
    val_loss: list = dataclasses.field(default_factory=list)
    val_accuracy: list = dataclasses.field(default_factory=list)
    batch_loss: list = dataclasses.field(default_factory=list)
    diverged_at: Divergence | None = None
    state: dict | None = dataclasses.field(default=None, repr=False)

    @property
    def epochs(self):
        """The number of completed epochs."""
        return len(self.loss)

    @property
    def diverged(self):
        return self.diverged_at is not None


def fit(net, x, y, optimizer, epochs, batch_size=32, shuffle=True, seed=0, validation_split=0.0,
        validation_data=None, verbose=False, state=None):
    """Train ``net`` in place (``net.params`` is replaced after every step); return a :class:`History`.

    - ``optimizer``: any adamedu optimizer; ``state`` continues from an earlier ``history.state``.
    - ``batch_size``: samples per step; the last batch of an epoch may be smaller.
    - ``shuffle``, ``seed``: a new order of the samples each epoch, and the dropout masks, both drawn
      from ``seed`` (two independent streams), so the same seed gives the same numbers.
    - ``validation_split``: the fraction of samples held out, taken from the end of ``x`` and ``y``
      before shuffling, as Keras does; or ``validation_data=(x_val, y_val)``.
    """
    x, y = net.check_inputs(x), net.loss.check_targets(y, net.n_outputs, net.dtype)
    _check_lengths(x, y)
    epochs = _whole("epochs", epochs, 0)
    batch_size = _whole("batch_size", batch_size, 1)
    seed = _whole("seed", seed, 0)
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "step")):
        raise TypeError(f"optimizer must be an adamedu optimizer (with init and step), got {optimizer!r}")
    x, y, x_val, y_val = _split(net, x, y, validation_split, validation_data)
    if len(x) == 0:
        raise ValueError("x holds no samples to train on")

    shuffle_rng, dropout_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    history = History()
    params = net.params
    state = optimizer.init(params) if state is None else state
    classification = net.loss.classification
    n = len(x)
    for epoch in range(1, epochs + 1):
        if shuffle:
            order = shuffle_rng.permutation(n)
            xs, ys = x[order], y[order]  # one copy per epoch; the batches below are views of it
        else:
            xs, ys = x, y
        loss_sum = correct = 0.0
        for start in range(0, n, batch_size):
            xb, yb = xs[start:start + batch_size], ys[start:start + batch_size]
            try:
                with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported, not warned about
                    loss, grads, z = net.backprop(params, xb, yb, dropout_rng)
                    if not math.isfinite(loss):
                        raise NonFiniteError(f"the loss is {loss}")
                    params, state = optimizer.step(params, grads, state)
            except NonFiniteError as err:
                history.diverged_at = Divergence(epoch, int(state["t"]) + 1, str(err))
                break
            net.params = params
            history.batch_loss.append(loss)
            loss_sum += loss * len(xb)
            if classification:
                correct += int(np.count_nonzero(net.loss.correct(z, yb))) * len(yb) / yb.size  # per sample
        if history.diverged_at is not None:
            if verbose:
                print(f"epoch {epoch}/{epochs}: diverged at step {history.diverged_at.step}: "
                      f"{history.diverged_at.reason}")
            break
        history.loss.append(loss_sum / n)
        if classification:
            history.accuracy.append(correct / n)
        if x_val is not None:
            scores = _evaluate(net, x_val, y_val)
            history.val_loss.append(scores["loss"])
            if classification:
                history.val_accuracy.append(scores["accuracy"])
        if verbose:
            print(f"epoch {epoch}/{epochs}: " + "  ".join(
                f"{key} {values[-1]:.4f}" for key, values in (("loss", history.loss), ("accuracy", history.accuracy),
                                                               ("val_loss", history.val_loss),
                                                               ("val_accuracy", history.val_accuracy)) if values))
    history.state = state
    return history


def evaluate(net, x, y):
    """``{"loss": ..., "accuracy": ...}`` of ``net.params`` on ``(x, y)``, in evaluation mode (no dropout).

    ``accuracy`` only for classification losses.
    """
    x, y = net.check_inputs(x), net.loss.check_targets(y, net.n_outputs, net.dtype)
    _check_lengths(x, y)
    if len(x) == 0:
        raise ValueError("x holds no samples to evaluate on")
    return _evaluate(net, x, y)


def predict(net, x):
    """The network's predictions for the rows of ``x``: class probabilities (softmax cross-entropy),
    probabilities of class 1 (binary cross-entropy) or values (MSE)."""
    return net.output(net.params, x)


def predict_classes(net, x):
    """The predicted class of each row: the most probable one, or 1 where σ(z) > 1/2 (binary).

    Shape (n,) like the labels, except for binary cross-entropy with several outputs: (n, outputs).
    """
    if not net.loss.classification:
        raise ValueError(f"predict_classes needs a classification loss; this network's loss is {net.loss.name!r}")
    z = net.forward(net.params, x)
    if net.loss.name == "softmax_cross_entropy":
        return z.argmax(axis=1)
    classes = (z > 0).astype(np.intp)
    return classes[:, 0] if net.n_outputs == 1 else classes


def _evaluate(net, x, y):
    with np.errstate(over="ignore", invalid="ignore"):
        z = x
        for name, layer in zip(net.names, net.layers, strict=True):
            z, _ = layer.forward(net.params.get(name), z, False, None)
        loss, _ = net.loss.value_and_grad(z, y)
    scores = {"loss": loss}
    if net.loss.classification:
        scores["accuracy"] = float(np.mean(net.loss.correct(z, y)))
    return scores


def _split(net, x, y, validation_split, validation_data):
    """``(x, y, x_val, y_val)``; the validation pair is None when there is none."""
    if isinstance(validation_split, (bool, np.bool_)) or not isinstance(validation_split, numbers.Real) \
            or not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be a number in [0, 1), got {validation_split!r}")
    if validation_data is not None:
        if validation_split:
            raise ValueError(f"give validation_split ({validation_split!r}) or validation_data, not both")
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val)")
        x_val = net.check_inputs(validation_data[0], "validation_data[0]")
        y_val = net.loss.check_targets(validation_data[1], net.n_outputs, net.dtype, "validation_data[1]")
        _check_lengths(x_val, y_val, ("validation_data[0]", "validation_data[1]"))
        if len(x_val) == 0:
            raise ValueError("validation_data holds no samples")
        return x, y, x_val, y_val
    if not validation_split:
        return x, y, None, None
    split_at = int(len(x) * (1 - validation_split))  # Keras's rule
    if split_at == 0 or split_at == len(x):
        raise ValueError(f"validation_split={validation_split!r} of {len(x)} samples leaves "
                         f"{split_at} for training and {len(x) - split_at} for validation; both need at least one")
    return x[:split_at], y[:split_at], x[split_at:], y[split_at:]


def _whole(name, value, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)
