"""A tiny neural network in numpy: dense layers, activations, dropout, three losses, backprop by hand.

The parameters live apart from the layers, in a nested dict of arrays such as
``{"dense0": {"W": ..., "b": ...}, "dense1": {...}}``, so that any adamedu optimizer steps
them directly::

    net = mlp([64, 128, 10], activation="relu", loss="softmax_cross_entropy", seed=0)
    opt = adamedu.Adam(lr=1e-3)
    state = opt.init(net.params)
    loss, grads = net.loss_and_grads(net.params, x_batch, y_batch)
    net.params, state = opt.step(net.params, grads, state)

Each layer has a ``forward`` that returns its output and a cache (what its backward pass
needs) and a ``backward`` that turns the gradient of the loss with respect to its output
into the gradients with respect to its input and its parameters: the chain rule, one layer
at a time (Rumelhart, Hinton & Williams 1986). The network always ends in raw scores
(logits); the loss applies the softmax or the sigmoid itself, which is both simpler to
differentiate and numerically stable.
"""

import itertools
import math
import numbers

import numpy as np

from . import _tree
from ._checks import check_finite

__all__ = [
    "Dense", "ReLU", "Tanh", "Sigmoid", "Dropout",
    "SoftmaxCrossEntropy", "BinaryCrossEntropy", "MeanSquaredError", "LOSSES",
    "Network", "mlp", "sigmoid",
]


# -- layers --------------------------------------------------------------------------------------

class Dense:
    r"""A fully connected layer, :math:`h = x W + b`, with ``W`` of shape (n_in, n_out).

    ``init="glorot"``: W uniform in ±√(6 / (n_in + n_out)) (Glorot & Bengio 2010), the Keras
    default, suited to tanh and sigmoid. ``init="he"``: W normal with standard deviation
    √(2 / n_in) (He et al. 2015), suited to ReLU. The bias starts at zero.
    """

    has_params = True

    def __init__(self, n_in, n_out, init="glorot"):
        self.n_in = _positive_int("Dense", "n_in", n_in)
        self.n_out = _positive_int("Dense", "n_out", n_out)
        if init not in ("glorot", "he"):
            raise ValueError(f"Dense: init must be 'glorot' or 'he', got {init!r}")
        self.init = init

    def init_params(self, rng, dtype):
        if self.init == "he":
            w = rng.normal(0.0, math.sqrt(2.0 / self.n_in), size=(self.n_in, self.n_out))
        else:
            limit = math.sqrt(6.0 / (self.n_in + self.n_out))
            w = rng.uniform(-limit, limit, size=(self.n_in, self.n_out))
        return {"W": w.astype(dtype), "b": np.zeros(self.n_out, dtype=dtype)}

    def forward(self, p, x, training=False, rng=None):
        return x @ p["W"] + p["b"], x

    def backward(self, p, x, dh, need_dx=True):
        # h = xW + b, so dL/dW = xᵀ·dL/dh, dL/db = Σ_batch dL/dh, dL/dx = dL/dh·Wᵀ
        grads = {"W": x.T @ dh, "b": dh.sum(axis=0)}
        return (dh @ p["W"].T if need_dx else None), grads

    def __repr__(self):
        return f"Dense({self.n_in}, {self.n_out}, init={self.init!r})"


class ReLU:
    """max(x, 0); its derivative is 1 where the output is positive and 0 elsewhere."""

    has_params = False

    def forward(self, p, x, training=False, rng=None):
        h = np.maximum(x, 0)
        return h, h

    def backward(self, p, h, dh, need_dx=True):
        return dh * (h > 0), {}

    def __repr__(self):
        return "ReLU()"


class Tanh:
    """tanh(x); its derivative is 1 − tanh(x)², read off the output."""

    has_params = False

    def forward(self, p, x, training=False, rng=None):
        h = np.tanh(x)
        return h, h

    def backward(self, p, h, dh, need_dx=True):
        return dh * (1 - h * h), {}

    def __repr__(self):
        return "Tanh()"


class Sigmoid:
    """σ(x) = 1 / (1 + e⁻ˣ); its derivative is σ(x)(1 − σ(x)), read off the output."""

    has_params = False

    def forward(self, p, x, training=False, rng=None):
        h = sigmoid(x)
        return h, h

    def backward(self, p, h, dh, need_dx=True):
        return dh * h * (1 - h), {}

    def __repr__(self):
        return "Sigmoid()"


class Dropout:
    """Inverted dropout (Srivastava et al. 2014): in training, zero each unit with probability ``p``
    and scale the kept ones by 1 / (1 − p), so that the expected output equals the input and
    evaluation needs no rescaling; at evaluation, the identity.
    """

    has_params = False

    def __init__(self, p):
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise ValueError(f"Dropout: p (the probability of dropping a unit) must be a number in [0, 1), got {p!r}")
        self.p = float(p)

    def forward(self, p, x, training=False, rng=None):
        if not training or self.p == 0:
            return x, None
        if rng is None:
            raise TypeError("Dropout in training needs a random generator: pass rng=np.random.default_rng(seed)")
        keep = rng.random(x.shape, dtype=x.dtype) >= self.p
        mask = keep * x.dtype.type(1 / (1 - self.p))  # the kept units, already scaled
        return x * mask, mask

    def backward(self, p, mask, dh, need_dx=True):
        return (dh if mask is None else dh * mask), {}

    def __repr__(self):
        return f"Dropout({self.p})"


def sigmoid(z):
    """σ(z) = exp(−log(1 + e⁻ᶻ)): no overflow for large |z|, and accurate where σ(z) is tiny."""
    return np.exp(-np.logaddexp(0, -z))


# -- losses ------------------------------------------------------------------------------------------
# Each loss takes the network's raw output z (the logits) and the targets y, and returns the mean
# loss over the batch and dL/dz. Folding the softmax or the sigmoid into the loss gives the famous
# simple gradient (probabilities − targets) / n and avoids log(0).

class SoftmaxCrossEntropy:
    r"""Mean over the batch of −log softmax(z)_y, for integer class labels y in [0, n_classes).

    .. math:: L = \frac1n \sum_i \Big(\log \sum_k e^{z_{ik}} - z_{i y_i}\Big), \qquad
              \frac{\partial L}{\partial z} = \frac1n(\operatorname{softmax}(z) - \operatorname{onehot}(y))
    """

    name = "softmax_cross_entropy"
    classification = True

    def value_and_grad(self, z, y):
        n = z.shape[0]
        shifted = z - z.max(axis=1, keepdims=True)  # exp of numbers <= 0 cannot overflow
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = float(np.log(sum_exp).sum() - shifted[rows, y].sum()) / n
        dz = exp / sum_exp
        dz[rows, y] -= 1
        return loss, dz / dz.dtype.type(n)

    def output(self, z):
        """Class probabilities."""
        exp = np.exp(z - z.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def correct(self, z, y):
        return z.argmax(axis=1) == y

    def check_targets(self, y, n_out, dtype, name="y"):
        y = np.asarray(y)
        if y.ndim != 1:
            hint = "; for one-hot rows pass y.argmax(axis=1)" if y.ndim == 2 else ""
            raise ValueError(f"{name} must hold one integer class label per sample, shape (n,), "
                             f"got shape {y.shape}{hint}")
        if y.size and not np.issubdtype(y.dtype, np.integer):
            if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y) & (y == np.round(y))):
                raise TypeError(f"{name} must hold integer class labels 0..{n_out - 1}, got dtype {y.dtype}")
        y = y.astype(np.intp, copy=False)
        bad = (y < 0) | (y >= n_out)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name}[{i}] = {y[i]} is not a class label: the network has {n_out} outputs, "
                             f"so labels must be integers in [0, {n_out - 1}]")
        return y


class BinaryCrossEntropy:
    r"""Mean of −[y log σ(z) + (1 − y) log(1 − σ(z))], targets y in [0, 1], computed from the logits z.

    The stable form (the one TensorFlow uses) never takes the log of a rounded-off 0:

    .. math:: L = \frac1N \sum \big(\max(z, 0) - z y + \log(1 + e^{-|z|})\big), \qquad
              \frac{\partial L}{\partial z} = \frac1N(\sigma(z) - y)

    with N the number of entries (samples × outputs).
    """

    name = "binary_cross_entropy"
    classification = True

    def value_and_grad(self, z, y):
        loss = float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
        return loss, (sigmoid(z) - y) / z.dtype.type(z.size)

    def output(self, z):
        """Probabilities of the class 1."""
        return sigmoid(z)

    def correct(self, z, y):
        return (z > 0) == (y >= 0.5)  # σ(z) > 1/2 exactly when z > 0

    def check_targets(self, y, n_out, dtype, name="y"):
        y = _float_targets(y, n_out, dtype, name)
        bad = (y < 0) | (y > 1)
        if bad.any():
            i = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), y.shape))
            raise ValueError(f"{name}[{', '.join(map(str, i))}] = {y[i]:g}: binary cross-entropy targets must lie "
                             f"in [0, 1]")
        return y


class MeanSquaredError:
    r"""Mean over all entries of (z − y)²; its gradient is 2(z − y)/N."""

    name = "mse"
    classification = False

    def value_and_grad(self, z, y):
        r = z - y
        return float(np.mean(r * r)), r * z.dtype.type(2 / r.size)

    def output(self, z):
        return z

    def check_targets(self, y, n_out, dtype, name="y"):
        return _float_targets(y, n_out, dtype, name)


LOSSES = {cls.name: cls for cls in (SoftmaxCrossEntropy, BinaryCrossEntropy, MeanSquaredError)}


def _float_targets(y, n_out, dtype, name):
    """Targets as a finite 2-D float array (n, n_out); a 1-D y is accepted for one output."""
    y = np.asarray(y)
    if not (np.issubdtype(y.dtype, np.floating) or np.issubdtype(y.dtype, np.integer)
            or np.issubdtype(y.dtype, np.bool_)):
        raise TypeError(f"{name} must hold numbers, got dtype {y.dtype}")
    if y.ndim == 1 and n_out == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != n_out:
        allowed = "(n,) or (n, 1)" if n_out == 1 else f"(n, {n_out})"
        raise ValueError(f"{name} has shape {y.shape}; the network has {n_out} output(s), so {name} must have "
                         f"shape {allowed}")
    check_finite(name, y, "targets")
    return y.astype(dtype, copy=False)  # float64 targets would silently turn float32 gradients into float64


# -- the network -------------------------------------------------------------------------------------

class Network:
    """A stack of layers and a loss; its parameters are ``net.params``, a dict of arrays.

    ``Network([Dense(64, 128, init="he"), ReLU(), Dropout(0.2), Dense(128, 10)],
    loss="softmax_cross_entropy", seed=0)``. The dense layers are named ``dense0``, ``dense1``, ...
    in order, and ``params["dense0"]`` holds their ``W`` and ``b``. ``dtype`` is float32 (fast,
    what Keras uses) or float64 (for gradient checks).

    The methods ``forward``, ``backprop`` and ``loss_and_grads`` take the parameters as an argument
    and change nothing, so an optimizer can try any parameters it likes.
    """

    def __init__(self, layers, loss="softmax_cross_entropy", seed=0, dtype=np.float32):
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if not all(hasattr(layer, attr) for attr in ("has_params", "forward", "backward")):
                raise TypeError(f"layers[{i}] = {layer!r} is not a layer (Dense, ReLU, Tanh, Sigmoid or Dropout)")
        self.dtype = _float_dtype(dtype)
        self.loss = _make_loss(loss)
        dense = [layer for layer in self.layers if layer.has_params]
        if not dense:
            raise ValueError("layers must contain at least one Dense layer")
        for a, b in itertools.pairwise(dense):
            if a.n_out != b.n_in:
                raise ValueError(f"{a!r} is followed by {b!r}: the second must take {a.n_out} inputs, "
                                 f"not {b.n_in}")
        if isinstance(self.layers[-1], Sigmoid) and self.loss.name == "binary_cross_entropy":
            raise ValueError("the last layer is a Sigmoid, but binary_cross_entropy applies the sigmoid itself "
                             "(stably, to the logits): remove the final Sigmoid()")
        # names[i] is the key of layer i in params: dense0, dense1, ...; None for layers without parameters
        count = iter(range(len(dense)))
        self.names = [f"dense{next(count)}" if layer.has_params else None for layer in self.layers]
        self._first_dense = self.names.index("dense0")  # backprop stops here: nothing below it learns
        self.n_inputs, self.n_outputs = dense[0].n_in, dense[-1].n_out
        self.seed = seed
        self.params = self.init_params(seed)

    def init_params(self, seed=0):
        """Fresh parameters drawn with ``np.random.default_rng(seed)``."""
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        rng = np.random.default_rng(seed)
        return {name: layer.init_params(rng, self.dtype)
                for name, layer in zip(self.names, self.layers, strict=True) if name is not None}

    # -- the three passes -------------------------------------------------------------------------
    def forward(self, params, x, training=False, rng=None):
        """The network's raw output (logits) for the rows of ``x``; dropout acts only if ``training``."""
        self._check_params(params)
        h = self.check_inputs(x)
        for name, layer in zip(self.names, self.layers, strict=True):
            h, _ = layer.forward(params.get(name), h, training, rng)
        return h

    def loss_and_grads(self, params, x, y, rng=None):
        """The mean loss on the batch ``(x, y)`` and its gradient, a dict shaped like ``params``.

        Training mode: a network with dropout needs ``rng``, which draws the masks.
        """
        self._check_params(params)
        x, y = self.check_inputs(x), self.loss.check_targets(y, self.n_outputs, self.dtype)
        _check_lengths(x, y)
        loss, grads, _ = self.backprop(params, x, y, rng)
        return loss, grads

    def backprop(self, params, x, y, rng=None):
        """Backpropagation: forward, keeping each layer's cache; then back, layer by layer.

        Returns ``(loss, grads, z)`` with ``z`` the logits. Expects checked inputs
        (see ``loss_and_grads``, which checks them).
        """
        h, caches = x, []
        for name, layer in zip(self.names, self.layers, strict=True):
            h, cache = layer.forward(params.get(name), h, True, rng)
            caches.append(cache)
        loss, dh = self.loss.value_and_grad(h, y)
        grads = {}
        for i in reversed(range(self._first_dense, len(self.layers))):  # layers below it have no parameters
            name = self.names[i]
            dh, g = self.layers[i].backward(params.get(name), caches[i], dh, need_dx=i > self._first_dense)
            if name is not None:
                grads[name] = g
        return loss, {name: grads[name] for name in params}, h  # the key order of params

    def output(self, params, x):
        """What the network predicts: class probabilities, probabilities of class 1, or values (MSE)."""
        return self.loss.output(self.forward(params, x))

    # -- checks -----------------------------------------------------------------------------------
    def check_inputs(self, x, name="x"):
        """``x`` as a finite 2-D array of the network's dtype with ``n_inputs`` columns, or a clear error."""
        x = np.asarray(x)
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"{name} has shape {x.shape}; the network takes {self.n_inputs} inputs, so {name} "
                             f"must have shape (n_samples, {self.n_inputs})")
        x = x.astype(self.dtype, copy=False)
        check_finite(name, x, "inputs")
        return x

    def _check_params(self, params):
        if params is self.params:
            return
        _tree.same_structure(self.params, params, names=("net.params", "params"))

    def __repr__(self):
        layers = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Network([\n{layers},\n], loss={self.loss.name!r}, dtype={np.dtype(self.dtype).name})"

    def summary(self):
        """One line per layer with the parameter count, and the total."""
        lines, total = [], 0
        for name, layer in zip(self.names, self.layers, strict=True):
            count = sum(w.size for w in self.params[name].values()) if name else 0
            total += count
            lines.append(f"{name or '':8s}{layer!r:36s}{count:>8d}")
        lines.append(f"{'':8s}{'parameters':36s}{total:>8d}")
        return "\n".join(lines)


def mlp(sizes, activation="relu", dropout=0.0, loss="softmax_cross_entropy", seed=0, dtype=np.float32,
        init=None):
    """A multilayer perceptron: ``mlp([64, 128, 10])`` is Dense(64, 128), ReLU, Dense(128, 10).

    ``activation`` (``"relu"``, ``"tanh"`` or ``"sigmoid"``) follows every hidden layer, then
    ``Dropout(dropout)`` if ``dropout > 0``. ``init`` defaults to He for ReLU, Glorot otherwise.
    """
    activations = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}
    if activation not in activations:
        raise ValueError(f"activation must be one of {sorted(activations)}, got {activation!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list the input width and at least one layer width, got {sizes!r}")
    init = init or ("he" if activation == "relu" else "glorot")
    layers = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(Dense(n_in, n_out, init=init))
        if i < len(sizes) - 2:
            layers.append(activations[activation]())
            if dropout:
                layers.append(Dropout(dropout))
    return Network(layers, loss=loss, seed=seed, dtype=dtype)


# -- helpers -----------------------------------------------------------------------------------------

def _make_loss(loss):
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
        return LOSSES[loss]()
    if all(hasattr(loss, attr) for attr in ("value_and_grad", "output", "check_targets")):
        return loss
    raise TypeError(f"loss must be one of {sorted(LOSSES)} or a loss object, got {loss!r}")


def _float_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _positive_int(owner, name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: {name} must be a whole number >= 1, got {value!r}")
    return int(value)


def _check_lengths(x, y, names=("x", "y")):
    if len(x) != len(y):
        raise ValueError(f"{names[0]} has {len(x)} rows but {names[1]} has {len(y)}; they must have one row "
                         f"per sample each")
