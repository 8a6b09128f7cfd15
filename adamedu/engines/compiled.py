"""The compiled engine: an optimizer's own ``update``, traced once and run as one fused numba loop.

``adamedu.compiled(opt)`` returns an optimizer with the ``init`` / ``step`` API of ``opt`` whose step runs
a kernel generated from ``opt.update``. Nothing is re-typed: the rule's own lines run, with symbolic
operands in place of the arrays and a tracing ``ops`` namespace. Python evaluates everything that does not
touch an array there and then (β₁ᵗ, RAdam's ρₜ and its ``ops.cond``, Nadam's μₜ: the *scalar part*, computed
exactly as the numpy step computes it); what touches an array is recorded as a graph (the *elementwise
part*). The trace runs once per rule and dtypes: later steps get the scalar part from a recorded *scalar plan*
(:mod:`adamedu.engines.scalar_plan`), a small Python function with guards on the branches of t. The graph
becomes one loop over the elements, on numba's threads above a size cut-off: each element of w, g and the
slots is loaded once, the rule is computed in registers in the arrays' dtype (every scalar cast as numpy
casts a Python float, NEP 50), and the results are stored once; the loop has no branch, so LLVM vectorizes
it. The numpy step makes about 14 passes over memory for Adam (each operator reads and writes a whole
block); the kernel makes 7 (read w, g, m, v; write w, m, v) plus one for the finiteness check of the gradient.

The scalar values are the kernel's arguments, not part of its code, so ``Adam(lr=0.1)`` and ``Adam()`` share
one kernel; a setting that changes the rule's shape (``eps_hat=True``, RAdam's two branches) gets its own.
Each kernel is written to a module file named by a hash of its source in a cache directory, and compiled
with ``cache=True``: a new process loads it from disk, and a changed rule (a new source) never meets an old
kernel.

Results are bit for bit those of the numpy step (pure and in-place), and validation is the same: bad input
is refused before anything changes. One difference in the in-place step: an *overflow* (a finite step whose
result is not) and a NaN or infinity already in the parameters are found inside the kernel, element by
element. The elements whose new w is finite are written (w and slots); those whose new w is not keep their old
values; ``t`` does not advance; and NonFiniteError names the first bad index, as numpy's step does. The blocked
numpy in-place step instead writes the blocks of 64 KiB before the one that holds the first bad element, and
nothing from there on. Either way the parameters hold no NaN or infinity that the step made. (Making the two
the same would cost the kernel a second pass over memory.) The pure step changes nothing.

float16 (and any dtype other than float32 and float64) runs on the numpy step, and so does a step on fewer
than ``compile_from`` elements in all (none by default: see ``COMPILE_FROM``; the same results either way).
"""

import hashlib
import importlib.util
import numbers
import os
import sys
import tempfile
import threading
import time

import numpy as np

from .. import _tree
from .._checks import as_grad, as_param
from ..optimizers._base import Optimizer, State, numpy_ops, param_name
from .scalar_plan import Recorder, Scalar

__all__ = ["compiled", "CompiledOptimizer", "TraceError", "tracing_ops", "trace", "kernel_source"]

COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Arrays with fewer elements run on one thread: below this, waking numba's threads costs more than they save.
# Measured on 2 cores, float32 Adam, the vectorized kernel alone, best of 21 alternated rounds (the machine was
# shared): 2e4 elements 9.2 µs on one thread, 8.1 µs on two; 3e4: 13.5 and 10.1 µs; 1e5: 45 and 26 µs.
# The threads run only while a core is free (see _cores_free): on a busy machine they wait for milliseconds.
PARALLEL_FROM = 1 << 15
# Steps on fewer elements in all than this run on the numpy step (the same results bit for bit). None do by
# default: since the scalar plan replaced the per-step trace, the compiled step is the faster one at every size
# measured, down to 10 elements (Adam, float32: 14 µs a step on 1e3 elements, the numpy step 23 µs).
COMPILE_FROM = 0


class TraceError(TypeError):
    """A rule the tracer cannot take (a Python ``if`` on an array, a numpy function called directly...)."""


# -- the symbols ----------------------------------------------------------------------------------------------

class _Trace:
    """The graph one call of ``update`` records: its nodes in the order made, and the scalars it met."""

    def __init__(self):
        self.nodes = []
        self.consts = []
        self.sources = []  # per scalar argument: the number, or the Scalar of a recording that made it
        self.key = []  # (op, operand indices, dtype character) per node: what the kernel is made from

    def node(self, op, args, dtype):
        sym = Symbol(self, op, args, dtype, len(self.nodes))
        self.nodes.append(sym)
        self.key.append((op, args if op in ("in", "const") else tuple([a.index for a in args]), dtype.char))
        return sym

    def lift(self, x, like):
        """``x`` as an operand next to the symbol ``like``: a symbol, or a scalar argument of the kernel."""
        if type(x) is float or type(x) is int:  # the common case first
            self.consts.append(float(x))
            self.sources.append(x)
            return self.node("const", (len(self.consts) - 1,), like.dtype)
        if isinstance(x, Symbol):
            return x
        source = x
        if isinstance(x, Scalar):  # a value computed from t, lr...: the plan recomputes it each step
            x = x.value
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
            if isinstance(x, np.ndarray):
                raise TraceError(f"the rule combines an array ({x.shape}, {x.dtype}) with a parameter array; the "
                                 "compiled engine takes rules of the parameter, its gradient, its slots and scalars")
            raise TraceError(f"the rule combines {x!r} ({type(x).__name__}) with an array; only real numbers can")
        # NEP 50: a Python number takes the dtype of the array it meets; a numpy scalar keeps its own
        dtype = np.asarray(x).dtype if isinstance(x, (np.floating, np.integer)) else like.dtype
        self.consts.append(float(x))
        self.sources.append(source)
        return self.node("const", (len(self.consts) - 1,), np.dtype(dtype))


def _binary(op):
    def forward(self, other):
        other = self.trace.lift(other, self)
        return self.trace.node(op, (self, other), _result_dtype(op, self, other))

    def reflected(self, other):
        other = self.trace.lift(other, self)
        return self.trace.node(op, (other, self), _result_dtype(op, other, self))

    return forward, reflected


def _result_dtype(op, a, b):
    if op in _COMPARISONS:
        return np.dtype(bool)
    pair = (a.dtype, b.dtype)
    if pair not in _PROMOTED:  # np.result_type costs microseconds, and the trace runs every step
        _PROMOTED[pair] = np.result_type(_arith(a.dtype), _arith(b.dtype))
    return _PROMOTED[pair]


_PROMOTED = {}


def _arith(dtype):
    return np.dtype(np.float64) if dtype.kind == "b" else dtype


_COMPARISONS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_OPERATORS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", **_COMPARISONS}


class Symbol:
    """An array operand of a traced rule: arithmetic on it records a node instead of computing."""

    __slots__ = ("trace", "op", "args", "dtype", "index")
    __array_priority__ = 1000

    def __init__(self, trace, op, args, dtype, index):
        self.trace, self.op, self.args, self.dtype, self.index = trace, op, args, dtype, index

    __add__, __radd__ = _binary("add")
    __sub__, __rsub__ = _binary("sub")
    __mul__, __rmul__ = _binary("mul")
    __truediv__, __rtruediv__ = _binary("div")
    __pow__, __rpow__ = _binary("pow")
    __lt__, __gt__ = _binary("lt")[0], _binary("gt")[0]
    __le__, __ge__ = _binary("le")[0], _binary("ge")[0]

    def __neg__(self):
        return self.trace.node("neg", (self,), self.dtype)

    def __pos__(self):
        return self

    def __bool__(self):
        raise TraceError("the rule branches with a Python `if` (or and/or/not) on a value computed from an array; "
                         "the compiled engine cannot trace that. Branch on scalars (functions of t, lr and the "
                         "hyperparameters) with ops.cond(pred, true_fn, false_fn), which the engines can follow")

    def __float__(self):
        raise TraceError("the rule turns an array into a Python number (float(...)); the compiled engine cannot "
                         "trace that. Use ops functions on the array instead")

    __int__ = __index__ = __float__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise TraceError(f"the rule calls numpy's {ufunc.__name__} directly; call it through the ops namespace "
                         f"(e.g. ops.sqrt), so that every engine can run the rule")

    def __array_function__(self, func, types, args, kwargs):
        raise TraceError(f"the rule calls numpy's {func.__name__} directly; call it through the ops namespace "
                         f"(e.g. ops.maximum), so that every engine can run the rule")

    def __repr__(self):
        return f"Symbol({self.op}, {self.dtype})"


def _unary(name, on_numbers):
    def op(x):
        if isinstance(x, Symbol):
            return x.trace.node(name, (x,), x.dtype)
        if isinstance(x, Scalar):  # the plan calls numpy_ops' function on the value, as the numpy step does
            return x.recorder.call(on_numbers, x)
        return on_numbers(x)

    return staticmethod(op)


class tracing_ops:  # noqa: N801 - used like a module, as numpy_ops
    """The ops of :data:`numpy_ops` for a traced rule: on symbols they record, on numbers they compute."""

    sqrt = _unary("sqrt", numpy_ops.sqrt)
    abs = _unary("abs", numpy_ops.abs)
    sign = _unary("sign", numpy_ops.sign)

    @staticmethod
    def maximum(a, b):
        if isinstance(a, Symbol) or isinstance(b, Symbol):
            like = a if isinstance(a, Symbol) else b
            a, b = like.trace.lift(a, like), like.trace.lift(b, like)
            return like.trace.node("maximum", (a, b), _result_dtype("maximum", a, b))
        for x in (a, b):
            if isinstance(x, Scalar):
                return x.recorder.call(numpy_ops.maximum, a, b)
        return numpy_ops.maximum(a, b)

    @staticmethod
    def cond(pred, true_fn, false_fn):
        if isinstance(pred, Symbol):
            raise TraceError("ops.cond got a predicate computed from an array; ops.cond branches on scalars "
                             "(functions of t, lr and the hyperparameters), one branch for the whole step")
        return numpy_ops.cond(pred, true_fn, false_fn)


def trace(opt, dtypes, t, lr, scalars):
    """Run ``opt.update`` on symbols of the given dtypes (w, g, then the slots) at step ``t``.

    Returns ``(key, outputs, consts)``: a hashable description of the elementwise graph (what a kernel is
    made from), the output symbols (w, then the slots) and the scalar arguments the kernel takes this step.
    """
    key, out, tr = _run(opt, dtypes, t, lr, scalars)
    return key, out, tr.consts


def _run(opt, dtypes, t, lr, scalars):
    tr = _Trace()
    inputs = [tr.node("in", (k,), np.dtype(dtype)) for k, dtype in enumerate(dtypes)]
    try:
        out = opt.update(*inputs, t=t, lr=lr, ops=tracing_ops, **scalars)
    except AttributeError as err:
        if "tracing_ops" not in str(err):
            raise
        raise TraceError(f"{type(opt).__name__}.update uses an ops function the compiled engine does not know "
                         f"({err}); it knows sqrt, abs, sign, maximum and cond") from None
    out = list(out) if opt.slots else [out]
    if len(out) != len(dtypes) - 1:
        raise TraceError(f"{type(opt).__name__}.update returned {len(out)} values; expected w and one per slot "
                         f"{opt.slots}")
    # an output that is a plain number (a slot reset to 0, say) becomes a constant of the kernel
    out = [x if isinstance(x, Symbol) else tr.lift(x, inputs[k]) for k, x in enumerate(out)]
    key = (tuple(d.char for d in dtypes), tuple(tr.key), tuple(s.index for s in out))
    return key, out, tr


def record_plan(opt, dtypes, t, lr, scalars):
    """Trace ``opt.update`` with t, lr and ``scalars`` as recording :class:`Scalar` symbols.

    Returns ``(key, consts, plan)``: the graph and scalar arguments as :func:`trace` finds them, and
    ``plan(t, lr, *scalars.values())``, which returns the scalar arguments of a later step (or ``None``
    when a guard fails: a branch on t goes the other way). Raises :class:`ReplayError` if the rule's scalar
    part cannot be replayed (see :mod:`adamedu.engines.scalar_plan`).
    """
    rec = Recorder()
    names = ["t", "lr", *(f"s{k}" for k in range(len(scalars)))]
    leaves = [rec.leaf(name, value) for name, value in zip(names, (t, lr, *scalars.values()), strict=True)]
    symbolic = dict(zip(scalars, leaves[2:], strict=True))
    key, _, tr = _run(opt, dtypes, leaves[0], leaves[1], symbolic)
    return key, tr.consts, rec.function(names, tr.sources)


# -- the kernel's source --------------------------------------------------------------------------------------

def kernel_source(key):
    """The Python source of the module that holds the kernels of a traced graph ``key``.

    It defines ``serial(n, a0, a1, ..., c0, c1, ...)`` (one loop) and ``parallel(n, slices, a0, ...)`` (the
    serial loop on ``slices`` slices, run by numba's threads). ``a0`` is w, ``a1`` g, then the slots, all flat;
    ``c0, ...`` the scalars. Each stores the new w and slots where all of them are finite, and returns whether
    any element is not.
    """
    chars, nodes, outputs = key
    dtypes = [np.dtype(c).name for c in chars]
    nodes = [(op, args, np.dtype(c).name) for op, args, c in nodes]
    n_arrays = len(dtypes)
    n_consts = sum(1 for op, _, _ in nodes if op == "const")
    live = set()
    stack = list(outputs)
    while stack:
        i = stack.pop()
        if i not in live:
            live.add(i)
            stack.extend(nodes[i][1] if nodes[i][0] not in ("in", "const") else ())

    def cast(i, dtype):  # node i as a value of dtype (numpy casts an operand to the result dtype first)
        return f"x{i}" if nodes[i][2] == dtype else f"np.{dtype}(x{i})"

    pre, body = [], []
    for i, (op, args, dtype) in enumerate(nodes):
        if i not in live and op != "in":
            continue
        if op == "in":  # every array is loaded (once): the old values are kept where the new w is not finite
            body.append(f"x{i} = a{args[0]}[i]")
        elif op == "const":
            pre.append(f"x{i} = np.{dtype}(c{args[0]})")  # cast once, outside the loop
        elif op in _OPERATORS:
            a, b = args
            common = np.result_type(_arith(np.dtype(nodes[a][2])), _arith(np.dtype(nodes[b][2]))).name
            body.append(f"x{i} = {cast(a, common)} {_OPERATORS[op]} {cast(b, common)}")
        elif op == "neg":
            body.append(f"x{i} = -x{args[0]}")
        elif op == "sqrt":
            body.append(f"x{i} = np.sqrt(x{args[0]})")
        elif op == "abs":
            body.append(f"x{i} = abs(x{args[0]})")
        elif op == "sign":  # numpy's sign: +1, -1, 0 for ±0, NaN for NaN
            a = f"x{args[0]}"
            body.append(f"x{i} = one_{dtype} if {a} > 0 else (-one_{dtype} if {a} < 0 else "
                        f"(zero_{dtype} if {a} == 0 else {a}))")
        elif op == "maximum":  # numpy's maximum: the first if it is >= or NaN, else the second
            a, b = (cast(j, dtype) for j in args)
            body.append(f"x{i} = {a} if ({a} >= {b} or {a} != {a}) else {b}")
        else:
            raise AssertionError(op)
    stores = []
    for k, i in enumerate(outputs):
        stores.append(cast(i, dtypes[k if k == 0 else k + 1]))
    body.append(f"new0 = {stores[0]}")
    finite = ["(new0 - new0)"]  # x - x is 0 for a finite x and NaN for NaN and infinity
    changed = [k for k in range(2, len(stores) + 1) if outputs[k - 1] != k]  # a slot returned unchanged: no store
    for k in changed:
        body.append(f"new{k} = {stores[k - 1]}")
        finite.append(f"(new{k} - new{k})")  # the state must stay finite too (an overflowing v)
    # The test is arithmetic (a sum of x - x, exact: 0 or NaN) and the flag an integer "or": written as
    # `a and b` and `bad |= not ok` on booleans, the branches kept LLVM from vectorizing the loop (it ran
    # one element at a time, 6x slower). A count (bad += ...) would vectorize too, but an "or" cannot overflow.
    body.append(f"ok = ({' + '.join(finite)}) == 0")
    body.append("bad |= np.int32(not ok)")
    body.append("a0[i] = new0 if ok else x0")
    for k in changed:
        body.append(f"a{k}[i] = new{k} if ok else x{k}")
    pre += [f"one_{d} = np.{d}(1.0)\n    zero_{d} = np.{d}(0.0)" for d in sorted({"float32", "float64"})]

    arrays = ", ".join(f"a{k}" for k in range(n_arrays))
    scalars = "".join(f", c{j}" for j in range(n_consts))
    lines = ["# Generated by adamedu.engines.compiled from a traced update rule; named by the hash of this text.",
             "import numpy as np", "from numba import njit, prange", ""]
    lines += ["@njit(cache=True, nogil=True, error_model='numpy')", f"def serial(n, {arrays}{scalars}):"]
    lines += [f"    {line}" for line in pre]
    lines += ["    bad = np.int32(0)", "    for i in range(n):"]
    lines += [f"        {line}" for line in body]
    lines += ["    return bad != 0", "", ""]
    # The threads run the serial loop on one slice each (``slices``: numba's number of threads): a reduction
    # in a prange loop over the elements would be a sum, which vectorizes worse; more slices than threads
    # only add the cost of handing them out (measured: 16 slices took twice as long as 2 at 1e5 elements).
    sliced = ", ".join(f"a{k}[lo:hi]" for k in range(n_arrays))
    lines += ["@njit(parallel=True, cache=True, nogil=True, error_model='numpy')",
              f"def parallel(n, slices, {arrays}{scalars}):",
              "    size = (n + slices - 1) // slices",
              "    bad = 0",
              "    for c in prange(slices):",
              "        lo = c * size",
              "        hi = min(lo + size, n)",
              "        if lo < hi:",
              f"            bad += serial(hi - lo, {sliced}{scalars})",
              "    return bad > 0", "", ""]
    return "\n".join(lines).rstrip() + "\n"


def default_cache_dir():
    """``$ADAMEDU_CACHE_DIR``, else ``$XDG_CACHE_HOME/adamedu/kernels`` (``~/.cache/adamedu/kernels``)."""
    if os.environ.get("ADAMEDU_CACHE_DIR"):
        return os.environ["ADAMEDU_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "adamedu", "kernels")


_modules = {}  # path of a kernel module -> the module, for every CompiledOptimizer in this process
_lock = threading.Lock()


def load_kernels(source, cache_dir):
    """The module of ``source``, written once to ``cache_dir/adamedu_k_<hash>.py`` and imported."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    name = f"adamedu_k_{digest}"
    path = os.path.join(cache_dir, name + ".py")
    with _lock:
        if path in _modules:
            return _modules[path]
        os.makedirs(cache_dir, exist_ok=True)
        if not os.path.exists(path):  # written whole, then renamed: another process never reads half a file
            fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(source)
            os.replace(tmp, path)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _modules[path] = module
        return module


# -- the optimizer ----------------------------------------------------------------------------------------------

class CompiledOptimizer:
    """``opt`` with the same ``init`` and ``step``, whose step runs a numba kernel traced from ``opt.update``.

    Made by :func:`compiled`. ``opt`` is kept as ``.optimizer``; hyperparameters read through it
    (``compiled(Adam()).beta1``).
    """

    def __init__(self, opt, cache_dir=None, parallel_from=PARALLEL_FROM, compile_from=COMPILE_FROM, threads="auto"):
        self.optimizer = opt
        self.cache_dir = cache_dir or default_cache_dir()
        self.parallel_from = parallel_from
        self.compile_from = compile_from
        if threads not in ("auto", True, False):
            raise ValueError(f"compiled: threads must be 'auto', True or False, got {threads!r}")
        self.threads = threads
        import numba  # here, not at the top: adamedu.engines.compiled imports without numba (its tracer)

        self._num_threads = numba.get_num_threads  # numba's threads now (numba.set_num_threads may change it)
        self._kernels = {}  # traced graph -> its module
        self._plans = {}  # (rule, dtypes, types of t, lr and the scalars) -> its _PlanEntry

    def __getattr__(self, name):
        if name == "optimizer":
            raise AttributeError(name)
        return getattr(self.optimizer, name)

    def __repr__(self):
        return f"compiled({self.optimizer!r})"

    def init(self, params):
        return self.optimizer.init(params)

    def step(self, params, grads, state, *, inplace=False):
        """``opt.step`` (same arguments, same results bit for bit), run as one fused loop per array.

        The pure step copies the parameters and slots and runs the kernel on the copies. Refuses bad input
        before changing anything, as ``opt.step``; on an overflow see the module's docstring.
        """
        opt = self.optimizer
        given_g = []
        _tree.same_structure(params, grads, leaves=given_g)
        flat_slots = opt._check_state(params, state)
        leaves = _tree.flatten(params)
        paths = [path for path, _ in leaves]
        flat_w = [as_param(path, w, check=False) for path, w in leaves]
        with np.errstate(over="ignore"):
            flat_g = [as_grad(path, g, w) for path, g, w in zip(paths, given_g, flat_w, strict=True)]
        arrays = [[w, g, *(s[i] for s in flat_slots)] for i, (w, g) in enumerate(zip(flat_w, flat_g, strict=True))]
        if ((self.compile_from and sum(w.size for w in flat_w) < self.compile_from)
                or not all(x.dtype in COMPILED_DTYPES for a in arrays for x in a)):
            return opt.step(params, grads, state, inplace=inplace)  # small, or float16: numpy's step
        if inplace:
            for i, (path, leaf) in enumerate(leaves):
                for x in (leaf, *(s[i] for s in flat_slots)):
                    flags = x.flags if isinstance(x, np.ndarray) else None  # one flags object per array, not two
                    if not (flags is not None and flags.writeable and flags.c_contiguous):
                        raise ValueError(f"{type(opt).__name__}.step(inplace=True) writes into the arrays it is "
                                         f"given, so {_tree.leaf_name(path)} and its state must be writeable, "
                                         "C-contiguous numpy arrays; use the pure step (inplace=False) otherwise")
        t = state["t"] + 1
        lr = opt.learning_rate(t)
        scalars = opt.next_scalars(t, **{k: state[k] for k in opt.scalars})
        if getattr(opt, "exclude_from_weight_decay", ()):
            opt.check_exclusions([param_name(path) for path in paths])
        rules = _per_param(opt, paths)
        traced = {}  # (rule, dtypes) -> its trace this step: arrays that share both share one trace
        for i, a in enumerate(arrays):
            if not inplace:  # run on copies: the pure step changes nothing, whatever happens
                a[0] = np.array(a[0], order="C", copy=True)
                a[2:] = [np.array(s, order="C", copy=True) for s in a[2:]]
            rule, dtypes = rules[i], tuple(x.dtype for x in a)
            if (id(rule), dtypes) not in traced:
                traced[id(rule), dtypes] = self._graph(rule, dtypes, t, lr, scalars)
            key, consts = traced[id(rule), dtypes]
            kernels = self._kernels.get(key)
            if kernels is None:
                kernels = self._kernels[key] = load_kernels(kernel_source(key), self.cache_dir)
            flat = [x if x.ndim == 1 and x.flags.c_contiguous else np.ascontiguousarray(x).reshape(-1) for x in a]
            n = flat[0].size
            threads = self.threads and n >= self.parallel_from and (self.threads is True or _cores_free())
            if threads:
                bad = kernels.parallel(n, self._num_threads(), *flat, *consts)
            else:
                bad = kernels.serial(n, *flat, *consts)
            if bad:
                self._refuse(rule, paths[i], a, t, lr, scalars)
        if inplace:
            state["t"] = t
            state.update(scalars)
            return params, state
        new_state = State(t=t)
        for k, s in enumerate(opt.slots):
            new_state[s] = _tree.unflatten(params, [a[2 + k] for a in arrays])
        new_state.update(scalars)
        return _tree.unflatten(params, [a[0] for a in arrays]), new_state

    def _graph(self, rule, dtypes, t, lr, scalars):
        """The traced graph of ``rule`` on arrays of ``dtypes`` and the kernel's scalar arguments at step ``t``.

        The rule is traced once; later steps replay its scalar plan (see :mod:`adamedu.engines.scalar_plan`),
        the first ``PLAN_CHECKS`` replays checked against a full trace. A rule whose plan escapes, or
        disagrees with the trace, is traced every step (the results are the same, the step slower).
        """
        values = tuple(scalars.values())
        where = (id(rule), dtypes, type(t), type(lr), *map(type, values))
        entry = self._plans.get(where)
        if entry is None:
            if len(self._plans) >= MAX_ENTRIES:  # a for_param that makes a new rule object every step
                self._plans.clear()
            entry = self._plans[where] = _PlanEntry(rule)
        for recorded in entry.plans or ():
            key, plan, checks = recorded
            try:
                consts = plan(t, lr, *values)
            except Exception:  # noqa: BLE001 - the trace below raises it again, or does better
                consts = None
            if consts is not None:
                if checks <= 0:
                    return key, consts
                recorded[2] -= 1
                traced, _, traced_consts = trace(rule, dtypes, t, lr, scalars)
                if traced == key and traced_consts == list(consts):
                    return key, consts
                entry.plans = None  # the plan missed something the rule does: trace every step from now on
                return traced, traced_consts
        key, _, consts = trace(rule, dtypes, t, lr, scalars)
        if entry.plans is not None and len(entry.plans) < PLANS:
            try:
                recorded, recorded_consts, plan = record_plan(rule, dtypes, t, lr, scalars)
            except Exception:  # noqa: BLE001 - ReplayError, or anything the replay could not repeat: trace each step
                entry.plans = None
            else:
                if recorded == key and recorded_consts == consts:
                    entry.plans.append([key, plan, PLAN_CHECKS])
                else:
                    entry.plans = None
        return key, consts

    def _refuse(self, rule, path, a, t, lr, scalars):
        """Raise the error numpy's step raises for this array: the input was not finite, or the step overflowed."""
        # Where the new values are not finite the kernel kept the old ones: those elements are as they were given,
        # so the numpy rule, run again on them, finds what the numpy step finds, and the rule names it.
        with np.errstate(all="ignore"):
            out = rule.update(*a, t=t, lr=lr, ops=numpy_ops, **scalars)
        out = [np.asarray(x, dtype=a[0].dtype) for x in (out if rule.slots else (out,))]
        rule._check_new(path, a[0], out, t)
        raise AssertionError("the compiled kernel found a non-finite value that the numpy rule does not produce")


# A rule's scalar plans (one per way its branches on t go, RAdam's two say) are checked against a full trace
# on their first PLAN_CHECKS replays; a rule with more than PLANS of them is traced every step.
PLAN_CHECKS = 2
PLANS = 8
MAX_ENTRIES = 1024  # rules (with their dtypes) whose plans one CompiledOptimizer keeps


class _PlanEntry:
    """The scalar plans of one rule (kept here, so that its id is not reused while the entry lives)."""

    __slots__ = ("rule", "plans")

    def __init__(self, rule):
        self.rule, self.plans = rule, []  # plans: [graph, plan, checks still to make]; None: trace every step


_load = [-1.0, False]  # when the load average was last read, and whether a core was free then


def _cores_free():
    """Whether the machine has a core to spare (1-minute load average below the number of cores), read once a second.

    numba's threads meet at a barrier after each loop: on a machine whose cores are all busy, each of them waits
    for a time slice, and two threads took 30 ms where one took 0.6 ms (1e6 float32 Adam, 2 cores, load 11-17).
    """
    now = time.monotonic()
    if now - _load[0] > 1.0:
        try:
            _load[:] = [now, os.getloadavg()[0] < (os.cpu_count() or 1)]
        except OSError:  # no load average on this system
            _load[:] = [now, True]
    return _load[1]


def _per_param(opt, paths):
    """The optimizer of each parameter array: ``opt.for_param(name)`` where the optimizer has it."""
    for_param = getattr(opt, "for_param", None)
    if for_param is None or (type(opt).for_param is Optimizer.for_param
                             and not getattr(opt, "exclude_from_weight_decay", ())):
        return [opt] * len(paths)  # Optimizer.for_param would return opt for every name
    return [for_param(param_name(path)) for path in paths]


def compiled(opt, *, cache_dir=None, parallel_from=PARALLEL_FROM, compile_from=COMPILE_FROM, threads="auto"):
    """``opt`` run by a compiled kernel: one fused loop over the elements, multi-threaded for large arrays.

    Needs numba (``pip install numba``, or the ``fast`` extra). The rule is ``opt.update`` itself, traced (see the
    module's docstring); ``step(..., inplace=True)`` is the fast path. Kernels are cached in ``cache_dir``
    (default: see :func:`default_cache_dir`). Arrays of ``parallel_from`` elements or more use numba's threads
    (``threads="auto"``: only while the machine has a core to spare; ``True``: always; ``False``: never);
    a step on fewer than ``compile_from`` elements in all runs on ``opt.step`` (default 0: none; same results).

    Results equal ``opt.step``'s bit for bit, and bad input is refused before anything changes. If an in-place
    step overflows (or finds NaN in the parameters), the elements whose new value is finite are written and
    the others keep their old values; ``t`` does not advance and NonFiniteError is raised (the numpy step
    writes whole blocks before the bad one instead). Rules must branch with ``ops.cond``, never ``if``.

    >>> import numpy as np, adamedu as ae
    >>> opt = ae.compiled(ae.Adam(lr=1e-3))
    >>> w = np.zeros(4, np.float32); state = opt.init(w)
    >>> w, state = opt.step(w, np.ones(4, np.float32), state, inplace=True)
    """
    try:
        import numba  # noqa: F401 - only to fail early and clearly
    except ImportError:
        raise ImportError("adamedu.compiled needs numba: pip install numba (or pip install -e \".[fast]\" in adamedu's "
                          "folder)") from None
    if not callable(getattr(opt, "update", None)) or not hasattr(opt, "slots"):
        raise TypeError(f"compiled() takes an adamedu optimizer, got {opt!r}")
    if not getattr(opt, "elementwise", True):
        raise ValueError(f"compiled(): {type(opt).__name__}'s rule is not elementwise (it reduces over whole "
                         "arrays), and the compiled engine fuses elementwise rules only; use its own step")
    return CompiledOptimizer(opt, cache_dir=cache_dir, parallel_from=parallel_from, compile_from=compile_from,
                             threads=threads)
