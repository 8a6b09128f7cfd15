"""The scalar part of a traced rule, recorded once and replayed each step as a small Python function.

The compiled engine needs, every step, the scalars the rule computes from ``t``, ``lr`` and the
hyperparameters (β₁ᵗ, 1 − β₂ᵗ, RAdam's ρₜ...): the kernel's arguments. Running the whole trace again for
them cost about 27 µs per step for Adam (a Python object per operation), more than the kernel itself on
1e5 parameters. So the tracer runs the rule once more with ``t``, ``lr`` and the optimizer's own scalars
(Nadam's μ product) as :class:`Scalar` symbols: each carries its value at this step *and* records the
operation that made it. The record becomes the source of a function ``plan(t, lr, *scalars)`` that repeats
exactly those operations, on the same Python or numpy types in the same order, so its results are the
trace's bit for bit (Python's and numpy's float arithmetic is deterministic).

Control flow on a scalar (``ops.cond(rho_t > 5, ...)``, ``min(t, k)``) becomes a *guard*: the plan checks
that the predicate comes out as it did when recorded and otherwise returns ``None``, and the engine traces
again (RAdam gets one plan per branch). What the plan cannot repeat makes the recording fail
(:class:`ReplayError`), and the engine keeps tracing every step: a scalar turned into a Python number
(``float(t)``, ``math.sqrt(t)``, ``range(t)``), a scalar meeting a numpy array, an unknown operation.
The same idea runs PyTorch's ``torch.compile``: TorchDynamo records a graph with guards, and "if any of those
guards fail, the graph will be recaptured and recompiled" (docs/source/dynamo/deep-dive.rst, PyTorch 2.0).

What a plan assumes: the rule's scalars are functions of ``t``, ``lr``, the optimizer's (frozen) fields and
its scalar state, as for every adamedu rule (a Keras graph or a compiled PyTorch step assumes the same). A
value read from elsewhere (a global that changes) is baked into the plan as a number; the engine compares each
new plan with a full trace on its first two replays, which catches such a rule if the value changes then.
"""

import numbers
import operator

import numpy as np

__all__ = ["ReplayError", "Recorder", "Scalar"]


class ReplayError(Exception):
    """The rule did something with a scalar that a replay cannot repeat; the engine traces every step."""


class Recorder:
    """The lines of one recording: each makes ``v<k>`` from earlier ones and from literals ``K[j]``."""

    def __init__(self):
        self.lines = []
        self.literals = []
        self.count = 0

    def leaf(self, name, value):
        sym = Scalar(self, self.count, value)
        self.lines.append(f"v{self.count} = {name}")
        self.count += 1
        return sym

    def operand(self, x):
        if isinstance(x, Scalar):
            if x.recorder is not self:
                raise ReplayError("a scalar of another trace")
            return f"v{x.index}"
        self.literals.append(x)
        return f"K[{len(self.literals) - 1}]"

    def record(self, expression, value):
        if isinstance(value, np.ndarray) or not isinstance(value, (numbers.Number, np.generic)):
            raise ReplayError(f"a scalar became {type(value).__name__}")
        sym = Scalar(self, self.count, value)
        self.lines.append(f"v{self.count} = {expression}")
        self.count += 1
        return sym

    def call(self, fn, *args):
        """``fn(*args)`` now, recorded as a call of the same function (an ops function on a scalar)."""
        return self.record(f"{self.operand(fn)}({', '.join(self.operand(x) for x in args)})",
                           fn(*(_value(x) for x in args)))

    def guard(self, sym, outcome):
        self.lines.append(f"if bool(v{sym.index}) is not {outcome}:\n        return None")

    def function(self, names, outputs):
        """``plan(*names)``: the recorded lines, then the values of ``outputs`` (scalars or literals) as floats."""
        returned = ", ".join(f"float({self.operand(x)})" for x in outputs)
        body = "\n    ".join(self.lines) or "pass"
        source = f"def plan({', '.join(names)}):\n    {body}\n    return ({returned}{',' if outputs else ''})\n"
        scope = {"K": tuple(self.literals), "np": np}
        exec(compile(source, "<adamedu scalar plan>", "exec"), scope)
        plan = scope["plan"]
        plan.source = source
        return plan


def _escaping(what):
    def method(self, *args):
        raise ReplayError(f"the rule calls {what} on a scalar of t, lr or the optimizer's scalars")

    return method


def _binary(symbol):
    op = _OPS[symbol]

    def forward(self, other):
        if not _is_number(other):
            return NotImplemented
        return self.recorder.record(f"{self.recorder.operand(self)} {symbol} {self.recorder.operand(other)}",
                                    op(self.value, _value(other)))

    def reflected(self, other):
        if not _is_number(other):
            return NotImplemented
        return self.recorder.record(f"{self.recorder.operand(other)} {symbol} {self.recorder.operand(self)}",
                                    op(_value(other), self.value))

    return forward, reflected


_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
        "%": operator.mod, "**": operator.pow, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


def _is_number(x):
    return isinstance(x, Scalar) or (isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, np.ndarray))


def _value(x):
    return x.value if isinstance(x, Scalar) else x


class Scalar:
    """A scalar of the step (t, lr, ...) during a recording: its value now, and how it was made."""

    __slots__ = ("recorder", "index", "value")
    __array_priority__ = 1001  # numpy scalars defer to it: np.float64(2) * s calls s.__rmul__

    def __init__(self, recorder, index, value):
        self.recorder, self.index, self.value = recorder, index, value

    __add__, __radd__ = _binary("+")
    __sub__, __rsub__ = _binary("-")
    __mul__, __rmul__ = _binary("*")
    __truediv__, __rtruediv__ = _binary("/")
    __floordiv__, __rfloordiv__ = _binary("//")
    __mod__, __rmod__ = _binary("%")
    __pow__, __rpow__ = _binary("**")
    __lt__, __gt__ = _binary("<")[0], _binary(">")[0]
    __le__, __ge__ = _binary("<=")[0], _binary(">=")[0]
    __eq__, __ne__ = _binary("==")[0], _binary("!=")[0]
    __hash__ = None

    def __neg__(self):
        return self.recorder.record(f"-{self.recorder.operand(self)}", -self.value)

    def __pos__(self):
        return self.recorder.record(f"+{self.recorder.operand(self)}", +self.value)

    def __abs__(self):
        return self.recorder.record(f"abs({self.recorder.operand(self)})", abs(self.value))

    def __bool__(self):
        outcome = bool(self.value)
        self.recorder.guard(self, outcome)
        return outcome

    __float__ = _escaping("float()")
    __int__ = _escaping("int()")
    __index__ = _escaping("an index (range, a slice)")
    __complex__ = _escaping("complex()")
    __round__ = _escaping("round()")
    __trunc__ = __floor__ = __ceil__ = _escaping("math.trunc/floor/ceil")
    __format__ = _escaping("format()")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """numpy's functions on scalars (``np.sqrt(1 - beta2**t)`` via ``ops.sqrt``) are recorded as calls."""
        if method != "__call__" or kwargs or not all(_is_number(x) for x in inputs):
            return NotImplemented
        if not hasattr(np, ufunc.__name__) or getattr(np, ufunc.__name__) is not ufunc:
            raise ReplayError(f"numpy's {ufunc.__name__}")
        args = ", ".join(self.recorder.operand(x) for x in inputs)
        return self.recorder.record(f"np.{ufunc.__name__}({args})", ufunc(*(_value(x) for x in inputs)))

    def __repr__(self):
        return f"Scalar(v{self.index}={self.value!r})"
