"""Objective functions with analytic gradients: the landscapes the chapters send optimizers across.

Every problem follows one small contract (:class:`Problem`)::

    problem.loss(x)        # a float
    problem.grad(x)        # the exact gradient of loss at x
    problem.grad(x, t)     # what an optimizer sees at step t (t = 1, 2, ...): the same, except for
                           # stochastic and online problems, whose gradient depends on t reproducibly
    problem.minimum        # the minimizer when known, else None
    problem.project(x)     # back into the domain (the identity, except for constrained problems)

``grad(x)`` without ``t`` is always the gradient of ``loss(x)``; that is what the finite-difference
tests check. Randomness is drawn from ``np.random.default_rng((seed, t))``, so step t of a run
sees the same noise or minibatch whichever optimizer is run, and every run can be repeated.
"""

# The data matrix X, the weight matrix W and Reddi et al.'s constant C keep the capitals of their equations.
# ruff: noqa: N803, N806

import math
import numbers
from functools import cached_property

import numpy as np

from ._checks import check_hyperparameter

__all__ = ["Problem", "Quadratic", "ravine", "Rosenbrock", "Saddle", "LessardRechtPackard", "Cliff", "Noisy",
           "NesterovWorstCase", "ReddiOnline", "LinearRegression", "LogisticRegression", "SoftmaxRegression"]


class Problem:
    """The contract of an objective: ``loss``, ``grad``, ``minimum``, ``project``, ``bounds``.

    Subclasses set ``name`` (a title for plots), ``shape`` (the shape of a point x, ``(dim,)``
    for most) and write ``_loss`` and ``_grad`` for a point already checked.
    """

    name = "problem"
    shape = (2,)
    minimum = None
    bounds = None  # one (min, max) per coordinate of a 1-D or 2-D problem: a good window for a plot

    @property
    def dim(self):
        """The number of parameters."""
        return math.prod(self.shape)

    def loss(self, x):
        """The objective at x, a float."""
        return float(self._loss(self.check_point(x)))

    def grad(self, x, t=None):
        """The gradient at x; ``t`` (the 1-based step) matters only to stochastic and online problems."""
        x = self.check_point(x)
        if t is not None:
            check_step(type(self).__name__, t)
        return self._grad(x, t)

    def loss_at(self, x, t):
        """The loss a learner is charged at step t (online problems); the loss itself for the others."""
        return self.loss(x)

    def project(self, x):
        """The nearest point of the domain; every point is in it unless a subclass says otherwise."""
        return x

    def check_point(self, x, name="x"):
        """``x`` as a floating-point array of this problem's shape, or a ValueError saying what is wrong."""
        owner = type(self).__name__
        try:
            x = np.asarray(x)
        except Exception as err:  # ragged lists and the like
            raise TypeError(f"{owner}: {name} must be an array of shape {self.shape}, got {type(x).__name__}: "
                            f"{err}") from None
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)) or x.dtype == bool:
            raise TypeError(f"{owner}: {name} must hold real numbers, got dtype {x.dtype}")
        if x.shape != self.shape:
            raise ValueError(f"{owner}: {name} must have shape {self.shape}, got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        return x

    def __repr__(self):
        return f"<{type(self).__name__}: {self.name}>"

    def _loss(self, x):
        raise NotImplementedError

    def _grad(self, x, t):
        raise NotImplementedError


# -- quadratics ------------------------------------------------------------------------------------------


class Quadratic(Problem):
    r"""f(w) = ½ (w − c)ᵀ A (w − c), with A = R diag(h) Rᵀ: curvature hᵢ along the i-th rotated axis.

    ``h`` are the curvatures (the eigenvalues of the Hessian A), all > 0. ``angle`` (radians)
    rotates the first two coordinates: the axis of curvature ``h[0]`` points at ``angle``
    counterclockwise from the first coordinate axis, the axis of ``h[1]`` perpendicular to it;
    further coordinates are not rotated. ``c`` is the minimizer (zeros by default).

    With ``angle=0`` this is the separable quadratic ½ Σᵢ hᵢ (wᵢ − cᵢ)². Gradient descent with
    step α multiplies the distance to c along axis i by 1 − α hᵢ each step, so it converges iff
    α < 2/L, L = max h; ``condition_number`` = max h / min h sets how slowly the flattest axis follows.
    """

    def __init__(self, h, angle=0.0, c=None):
        h = _vector("Quadratic", "h", h)
        if not np.all(h > 0):
            bad = h[~(h > 0)][0]
            raise ValueError(f"Quadratic: every curvature in h must be > 0, got {bad!r} in h = {h.tolist()}")
        dim = h.size
        angle = _real("Quadratic", "angle", angle)
        if angle != 0 and dim < 2:
            raise ValueError(f"Quadratic: angle rotates the first two coordinates, but h has {dim} entry; "
                             f"got angle={angle!r}, allowed: 0 for one dimension")
        c = np.zeros(dim) if c is None else _vector("Quadratic", "c", c)
        if c.shape != h.shape:
            raise ValueError(f"Quadratic: c must have one entry per curvature ({dim}), got shape {c.shape}")
        self.curvatures, self.angle, self.c = h, angle, c
        self.shape = (dim,)
        self.rotation = np.eye(dim)
        if dim >= 2:
            cos, sin = math.cos(angle), math.sin(angle)
            self.rotation[:2, :2] = [[cos, -sin], [sin, cos]]  # columns: the principal axes
        self.hessian = self.rotation @ np.diag(h) @ self.rotation.T
        self.minimum = c.copy()
        self.name = self._title()
        if dim == 2:
            r = 2.0 * max(1.0, float(np.max(np.abs(c))))
            self.bounds = ((c[0] - r, c[0] + r), (c[1] - r, c[1] + r))

    @property
    def L(self):  # noqa: N802 - the smoothness constant is called L in every text
        """The largest curvature: the Lipschitz constant of the gradient."""
        return float(self.curvatures.max())

    @property
    def mu(self):
        """The smallest curvature: the strong-convexity constant."""
        return float(self.curvatures.min())

    @property
    def condition_number(self):
        """L / mu: how much more the steepest direction curves than the flattest."""
        return self.L / self.mu

    def _loss(self, x):
        d = x - self.c
        return 0.5 * d @ self.hessian @ d

    def _grad(self, x, t):
        return self.hessian @ (x - self.c)

    def _title(self):
        h = self.curvatures
        if h.size == 2 and self.angle == 0 and not self.c.any():
            terms = [f"{'' if a == 1 else f'{a:g}'}{v}²" for a, v in zip(h / 2, "xy", strict=True)]
            return " + ".join(terms)
        shown = ", ".join(f"{v:g}" for v in h[:4]) + (", ..." if h.size > 4 else "")
        rotated = f", rotated {math.degrees(self.angle):g}°" if self.angle else ""
        return f"quadratic, curvatures ({shown}){rotated}"


def ravine():
    """x² + 10y², the running example of the book: curvatures 2 and 20, so L = 20 and condition number 10.

    Gradient descent converges for lr < 2/L = 0.1 and diverges above it.
    """
    return Quadratic([2.0, 20.0])


class Rosenbrock(Problem):
    """Rosenbrock's banana valley (Rosenbrock 1960): f(x, y) = (a − x)² + b (y − x²)², minimum at (a, a²).

    The valley floor y = x² is easy to reach and hard to follow: its curvature across (≈ 2b(1 + 4x²))
    dwarfs the one along it.
    """

    def __init__(self, a=1.0, b=100.0):
        self.a = _real("Rosenbrock", "a", a)
        self.b = _real("Rosenbrock", "b", b, above=0)
        self.minimum = np.array([self.a, self.a**2])
        self.name = f"Rosenbrock (a={self.a:g}, b={self.b:g})"
        s = max(1.0, abs(self.a))
        self.bounds = ((-2.0 * s, 2.0 * s), (-1.0 * s * s, 3.0 * s * s))

    def _loss(self, p):
        x, y = p
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def _grad(self, p, t):
        x, y = p
        r = y - x**2
        return np.array([-2 * (self.a - x) - 4 * self.b * x * r, 2 * self.b * r])


class Saddle(Problem):
    """f(x, y) = x² − y²: a saddle point at the origin and no minimum (the loss falls without bound along y)."""

    name = "saddle x² − y²"
    bounds = ((-2.0, 2.0), (-2.0, 2.0))

    def _loss(self, p):
        return p[0] ** 2 - p[1] ** 2

    def _grad(self, p, t):
        return np.array([2 * p[0], -2 * p[1]])


class LessardRechtPackard(Problem):
    r"""A strongly convex function on which the heavy ball with its quadratic-optimal tuning never converges.

    Lessard, Recht & Packard (2016, section 4.6) give the one-dimensional, piecewise quadratic function

        f(x) = 25/2 x²               for x < 1,
               1/2 x² + 24 x − 12    for 1 ≤ x < 2,
               25/2 x² − 24 x + 36   for x ≥ 2,

    continuous with a continuous gradient (25x, x + 24, 25x − 24 on the three pieces), whose curvature is
    25 or 1: it is μ-strongly convex and L-smooth with μ = 1, L = 25 (κ = 25), minimum 0 at x = 0. Polyak's
    heavy ball with the parameters that are optimal for quadratics with these μ and L, a step
    4/(√L + √μ)² = 1/9 and momentum ((√κ − 1)/(√κ + 1))² = 4/9, falls from some starts (for example
    x₀ = 3.3) into a cycle of period 3 instead of converging; Nesterov's method, which is guaranteed for
    every such function, converges.
    """

    shape = (1,)
    bounds = ((-3.0, 4.0),)
    L, mu, condition_number = 25.0, 1.0, 25.0  # noqa: N815 - the smoothness constant is called L in every text
    name = "Lessard, Recht & Packard's piecewise quadratic (μ = 1, L = 25)"

    def __init__(self):
        self.minimum = np.zeros(1)

    def _loss(self, p):
        x = p[0]
        if x < 1:
            return 12.5 * x * x
        if x < 2:
            return 0.5 * x * x + 24 * x - 12
        return 12.5 * x * x - 24 * x + 36

    def _grad(self, p, t):
        x = p[0]
        if x < 1:
            return np.array([25 * x])
        if x < 2:
            return np.array([x + 24])
        return np.array([25 * x - 24])


class NesterovWorstCase(Problem):
    r"""Nesterov's worst function for first-order methods (Nesterov 2004, section 2.1.2, Theorem 2.1.7).

        f(x) = L/4 · (½ [x₁² + Σᵢ₌₁^{p−1} (xᵢ − xᵢ₊₁)² + x_p²] − x₁),   x ∈ ℝⁿ, n ≥ p,

    a convex quadratic with a tridiagonal Hessian (L/4)·tridiag(−1, 2, −1) on the first p coordinates, whose
    eigenvalues lie in (0, L): it is L-smooth. Its minimizer has x*ᵢ = 1 − i/(p + 1) for i ≤ p (0 beyond), and
    f* = −L/8 · (1 − 1/(p + 1)). The gradient at a point whose coordinates beyond the k-th vanish has
    nonzero entries in at most the first k + 1 coordinates, so a method whose iterates lie in x₀ plus the
    span of the gradients it has seen, started at 0, has x_k zero beyond coordinate k; with p = 2k + 1 this
    gives Nesterov's lower bound f(x_k) − f* ≥ 3L‖x₀ − x*‖² / (32 (k + 1)²).
    """

    def __init__(self, p, n=None, L=1.0):  # noqa: N803 - the smoothness constant is called L in every text
        if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 1:
            raise ValueError(f"NesterovWorstCase: p must be a whole number >= 1, got {p!r}")
        n = p if n is None else n
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < p:
            raise ValueError(f"NesterovWorstCase: n must be a whole number >= p = {p}, got {n!r}")
        self.p, self.L, self.shape = int(p), _real("NesterovWorstCase", "L", L, above=0), (int(n),)
        a = 2 * np.eye(p) - np.eye(p, k=1) - np.eye(p, k=-1)
        self.hessian = np.zeros((n, n))
        self.hessian[:p, :p] = self.L / 4 * a
        self.minimum = np.zeros(n)
        self.minimum[:p] = 1 - np.arange(1, p + 1) / (p + 1)
        self.f_star = -self.L / 8 * (1 - 1 / (p + 1))
        self.name = f"Nesterov's worst function (p = {p}, n = {n}, L = {self.L:g})"

    def _loss(self, x):
        return 0.5 * x @ self.hessian @ x - self.L / 4 * x[0]

    def _grad(self, x, t):
        g = self.hessian @ x
        g[0] -= self.L / 4
        return g


class Cliff(Problem):
    r"""A well with a plateau around it and a cliff beside it (Goodfellow et al. 2016, section 8.2.4).

        f(x) = x² / (1 + x²) + H σ(s (x − b)),    σ(z) = 1 / (1 + e^−z),

    one-dimensional. The first term is a well of depth 1 around the minimum x ≈ 0 whose walls flatten into a
    plateau at the loss 1 (its slope 2x / (1 + x²)² falls like 2/x³ far out; its curvature is at most 2 at
    the bottom, so gradient descent is stable there for lr < 1). The second is a cliff: for x > b the loss
    sits higher by ``height`` H, and it rises over a width of about 4/s (``steepness`` s) around ``edge`` b,
    where the slope reaches H s/4 and the curvature about 0.1 H s². A learning rate that is safe on the
    well and the plateau is far too large on the face of the cliff; one step there throws the iterate far
    out onto the plateau (Pascanu et al. 2013, who show such walls in recurrent networks and clip the
    gradient's norm as the remedy).

    The cliff's tail moves the minimum off 0 by about H s e^(−s b) / 2 (2·10⁻⁹ with the defaults);
    ``minimum`` is the exact minimizer, found by bisection on the gradient.
    """

    shape = (1,)
    name = "cliff"

    def __init__(self, height=8.0, steepness=12.0, edge=2.0):
        self.height = _real("Cliff", "height", height, above=0)
        self.steepness = _real("Cliff", "steepness", steepness, above=0)
        self.edge = _real("Cliff", "edge", edge, above=0)
        self.name = f"cliff (height {self.height:g}, steepness {self.steepness:g}, at x = {self.edge:g})"
        self.bounds = ((-6.0 * self.edge, 2.5 * self.edge),)
        # The gradient is < 0 at -1 (the cliff's tail there is far smaller than the well's slope, 0.5) and > 0 at
        # b/2; in between the well's slope is increasing and the tail tiny, so there is one root.
        lo, hi = -1.0, self.edge / 2
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if self._grad(np.array([mid]), None)[0] < 0 else (lo, mid)
            if hi - lo <= 1e-15 * max(1.0, abs(mid)):
                break
        self.minimum = np.array([(lo + hi) / 2])

    def _loss(self, p):
        x = p[0]
        return x * x / (1 + x * x) + self.height * _sigmoid(self.steepness * (x - self.edge))

    def _grad(self, p, t):
        x = p[0]
        s = _sigmoid(self.steepness * (x - self.edge))
        return np.array([2 * x / (1 + x * x) ** 2 + self.height * self.steepness * s * (1 - s)])


# -- stochastic and online problems -------------------------------------------------------------------------


class Noisy(Problem):
    """``problem`` seen through noisy gradients: grad(x, t) = ∇f(x) + σ·ξₜ, ξₜ ~ N(0, I).

    ξₜ is drawn from ``np.random.default_rng((seed, t))``: the same at step t of every run, so
    optimizers can be compared on the same noise. ``loss`` and ``grad(x)`` (no t) are the clean ones.
    """

    def __init__(self, problem, sigma, seed=0):
        if not isinstance(problem, Problem):
            raise TypeError(f"Noisy: problem must be a Problem (e.g. adamedu.ravine()), got {type(problem).__name__}")
        self.problem = problem
        self.sigma = check_hyperparameter("Noisy", "sigma", sigma, ">= 0")
        self.seed = _seed("Noisy", seed)
        self.shape, self.minimum, self.bounds = problem.shape, problem.minimum, problem.bounds
        self.name = f"{problem.name}, noisy gradient (σ = {self.sigma:g})"

    def loss(self, x):
        return self.problem.loss(x)

    def grad(self, x, t=None):
        g = self.problem.grad(x, t)
        if t is None or self.sigma == 0:
            return g
        return g + self.sigma * np.random.default_rng((self.seed, t)).standard_normal(self.shape)

    def loss_at(self, x, t):
        return self.problem.loss_at(x, t)

    def project(self, x):
        return self.problem.project(x)


class ReddiOnline(Problem):
    """The online problem on which Adam fails to converge (Reddi, Kale & Kumar 2018, Theorem 1).

    On x ∈ [−1, 1], step t charges fₜ(x) = C·x when t mod 3 = 1 and −x otherwise, C > 2.
    Over a period of three steps the losses add up to (C − 2)·x, so the best fixed point is
    x = −1. ``loss`` is the average over a period, (C − 2)/3 · x; ``loss_at(x, t)`` is fₜ(x);
    ``grad(x, t)`` is fₜ'(x). With β1 = 0, β2 = 1/(1 + C²) and lr α/√t, Adam goes to x = +1:
    the rare large gradient C is damped by the √v it inflates, the frequent −1's are not.
    """

    shape = (1,)
    bounds = ((-1.0, 1.0),)

    def __init__(self, C=3.0):
        self.C = C = _real("ReddiOnline", "C", C, above=2)  # C > 2 makes x = -1 the best point
        self.minimum = np.array([-1.0])
        self.name = f"Reddi et al.'s online problem (C = {C:g})"

    def _slope(self, t):
        return self.C if t % 3 == 1 else -1.0

    def _loss(self, x):
        return (self.C - 2) / 3 * x[0]

    def _grad(self, x, t):
        if t is None:
            return np.array([(self.C - 2) / 3])
        return np.array([self._slope(t)])

    def loss_at(self, x, t):
        x = self.check_point(x)
        return float(self._slope(check_step("ReddiOnline", t)) * x[0])

    def project(self, x):
        return np.clip(x, -1.0, 1.0)


# -- models fitted to data -------------------------------------------------------------------------------


class _DataProblem(Problem):
    """Shared by the regressions: the data, the optional minibatches, the optional L2 penalty.

    With ``batch_size`` set, ``grad(w, t)`` is the gradient on the minibatch of step t:
    ``batch_size`` rows drawn without replacement by ``np.random.default_rng((seed, t))``.
    ``grad(w)`` (no t) and ``loss(w)`` always use all the data.
    """

    def __init__(self, X, y, l2=0.0, batch_size=None, seed=0):
        owner = type(self).__name__
        self.X = _matrix(owner, X)
        n = self.X.shape[0]
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"{owner}: y must be a 1-D array with one entry per row of X ({n}), "
                             f"got shape {y.shape}")
        self.y = self._check_targets(y)
        self.l2 = check_hyperparameter(owner, "l2", l2, ">= 0")
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                    or not 1 <= batch_size <= n:
                raise ValueError(f"{owner}: batch_size must be None (full batch) or a whole number from 1 to "
                                 f"the number of rows ({n}), got {batch_size!r}")
            batch_size = int(batch_size)
        self.batch_size = batch_size
        self.seed = _seed(owner, seed)

    @property
    def n(self):
        """The number of examples."""
        return self.X.shape[0]

    def batch(self, t):
        """The row indices of the minibatch of step t (all rows when ``batch_size`` is None)."""
        check_step(type(self).__name__, t)
        if self.batch_size is None:
            return np.arange(self.n)
        return np.random.default_rng((self.seed, t)).choice(self.n, size=self.batch_size, replace=False)

    def grad(self, w, t=None, batch=None):
        """The gradient at w: on all the data, on the minibatch of step t, or on the rows ``batch``."""
        w = self.check_point(w, "w")
        if batch is None:
            batch = slice(None) if t is None else self.batch(t)
        else:
            batch = np.asarray(batch)
            if batch.ndim != 1 or batch.size == 0 or not np.issubdtype(batch.dtype, np.integer) \
                    or batch.min() < -self.n or batch.max() >= self.n:
                raise ValueError(f"{type(self).__name__}: batch must be a non-empty 1-D array of row indices "
                                 f"in [0, {self.n}), got {batch!r}")
        return self._grad_on(w, self.X[batch], self.y[batch]) + self.l2 * w

    def loss(self, w):
        w = self.check_point(w, "w")
        return float(self._loss_on(w, self.X, self.y) + 0.5 * self.l2 * np.sum(w * w))

    def _check_targets(self, y):
        return _as_float(type(self).__name__, "y", y)

    def _data(self, X, y):
        """The training data when X and y are None, else X and y checked as the constructor checks them."""
        if X is None and y is None:
            return self.X, self.y
        owner = type(self).__name__
        if X is None or y is None:
            raise ValueError(f"{owner}: give both X and y (other data), or neither (the training data)")
        X, y = _matrix(owner, X), np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"{owner}: y must have one entry per row of X ({X.shape[0]}), got shape {y.shape}")
        return X, y


class LinearRegression(_DataProblem):
    r"""Least squares: f(w) = ½·mean((Xw − y)²) (+ ½·l2·‖w‖²); ∇f(w) = Xᵀ(Xw − y)/n (+ l2·w).

    The ½ makes the Hessian XᵀX/n, whose largest eigenvalue ``L`` bounds the step (lr < 2/L).
    A bias is a column of ones in X, added by the caller. ``minimum`` is the least-squares
    solution (the minimum-norm one when X is rank deficient), or the ridge solution when l2 > 0.
    """

    def __init__(self, X, y, l2=0.0, batch_size=None, seed=0):
        super().__init__(X, y, l2, batch_size, seed)
        self.shape = (self.X.shape[1],)
        self.name = f"linear regression (n = {self.n}, d = {self.X.shape[1]})"

    @cached_property
    def minimum(self):
        if self.l2 == 0:
            return np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        return np.linalg.solve(self.hessian, self.X.T @ self.y / self.n)

    @cached_property
    def hessian(self):
        """XᵀX/n + l2·I, the same at every w."""
        return self.X.T @ self.X / self.n + self.l2 * np.eye(self.X.shape[1])

    @property
    def L(self):  # noqa: N802 - the smoothness constant
        """The largest eigenvalue of the Hessian: gradient descent needs lr < 2/L."""
        return float(np.linalg.eigvalsh(self.hessian)[-1])

    def _loss_on(self, w, X, y):
        r = X @ w - y
        return 0.5 * np.mean(r * r)

    def _grad_on(self, w, X, y):
        return X.T @ (X @ w - y) / X.shape[0]


class LogisticRegression(_DataProblem):
    r"""Binary logistic regression, labels 0/1: f(w) = mean(log(1 + e^z) − y·z), z = Xw (+ ½·l2·‖w‖²).

    That is the mean cross-entropy of σ(z); ∇f(w) = Xᵀ(σ(Xw) − y)/n (+ l2·w). Computed with
    ``logaddexp`` so that no z overflows. A bias is a column of ones in X, added by the caller.
    """

    def __init__(self, X, y, l2=0.0, batch_size=None, seed=0):
        super().__init__(X, y, l2, batch_size, seed)
        self.shape = (self.X.shape[1],)
        self.name = f"logistic regression (n = {self.n}, d = {self.X.shape[1]})"

    def _check_targets(self, y):
        if not np.all((y == 0) | (y == 1)):
            bad = y[~((y == 0) | (y == 1))][0]
            raise ValueError(f"LogisticRegression: y must hold the labels 0 and 1 only, got {bad!r}")
        return y.astype(np.float64)

    def predict_proba(self, w, X=None):
        """σ(Xw), the probability of label 1 (on the training data unless X is given)."""
        X = self.X if X is None else _matrix("LogisticRegression", X)
        return _sigmoid(X @ self.check_point(w, "w"))

    def accuracy(self, w, X=None, y=None):
        """The fraction of examples whose label is the more probable one (training data by default)."""
        X, y = self._data(X, y)
        return float(np.mean((self.predict_proba(w, X) > 0.5) == (y == 1)))

    def _loss_on(self, w, X, y):
        z = X @ w
        return np.mean(np.logaddexp(0.0, z) - y * z)

    def _grad_on(self, w, X, y):
        return X.T @ (_sigmoid(X @ w) - y) / X.shape[0]


class SoftmaxRegression(_DataProblem):
    r"""Multiclass logistic regression: weights W of shape (d, k), f(W) = mean(logsumexp(XW) − (XW)[i, yᵢ]).

    The mean cross-entropy of softmax(XW) (+ ½·l2·‖W‖²); ∇f(W) = Xᵀ(softmax(XW) − Y)/n (+ l2·W),
    Y the one-hot labels. ``y`` holds integer labels 0 … k−1; ``n_classes`` defaults to max(y) + 1.
    A bias is a column of ones in X, added by the caller.
    """

    def __init__(self, X, y, l2=0.0, batch_size=None, seed=0, n_classes=None):
        self._n_classes = n_classes
        super().__init__(X, y, l2, batch_size, seed)
        self.shape = (self.X.shape[1], self.n_classes)
        self.name = f"softmax regression (n = {self.n}, d = {self.X.shape[1]}, {self.n_classes} classes)"

    def _check_targets(self, y):
        if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)) or y.dtype == bool \
                or not np.all(y == np.round(y)) or y.min() < 0:
            raise ValueError(f"SoftmaxRegression: y must hold whole-number class labels >= 0, got {y[:5]!r} ...")
        y = y.astype(np.int64)
        k = self._n_classes
        if k is None:
            k = int(y.max()) + 1
        elif isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 2 or k <= y.max():
            raise ValueError(f"SoftmaxRegression: n_classes must be a whole number >= 2 and > every label "
                             f"(max label {int(y.max())}), got {k!r}")
        self.n_classes = int(k)
        return y

    def predict_proba(self, W, X=None):
        """softmax(XW), one row of class probabilities per example (training data unless X is given)."""
        X = self.X if X is None else _matrix("SoftmaxRegression", X)
        return _softmax(X @ self.check_point(W, "W"))

    def accuracy(self, W, X=None, y=None):
        """The fraction of examples whose most probable class is their label (training data by default)."""
        X, y = self._data(X, y)
        return float(np.mean(np.argmax(self.predict_proba(W, X), axis=1) == y))

    def _loss_on(self, W, X, y):
        z = X @ W
        z_max = z.max(axis=1, keepdims=True)  # log Σ exp z = max z + log Σ exp(z − max z): no overflow
        log_sum_exp = z_max[:, 0] + np.log(np.exp(z - z_max).sum(axis=1))
        return np.mean(log_sum_exp - z[np.arange(len(y)), y])

    def _grad_on(self, W, X, y):
        p = _softmax(X @ W)
        p[np.arange(len(y)), y] -= 1.0  # softmax minus one-hot
        return X.T @ p / X.shape[0]


# -- helpers ------------------------------------------------------------------------------------------------


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))  # 1 / (1 + e^-z), without overflow for large |z|


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))  # shifting by the row maximum keeps exp from overflowing
    return e / e.sum(axis=1, keepdims=True)


def check_step(owner, t):
    """``t`` as an int >= 1 (the 1-based step number), or a ValueError."""
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1:
        raise ValueError(f"{owner}: t is the step number, a whole number >= 1, got {t!r}")
    return int(t)


def _real(owner, name, value, above=None):
    """``value`` as a float, finite and (when ``above`` is given) greater than ``above``."""
    allowed = "a finite real number" + ("" if above is None else f" > {above:g}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be {allowed}, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value) or (above is not None and not value > above):
        raise ValueError(f"{owner}: {name} must be {allowed}, got {value!r}")
    return float(value)


def _seed(owner, seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{owner}: seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def _finite(owner, name, a):
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{owner}: {name} must be finite, but it holds {a[~np.isfinite(a)].flat[0]!r}")
    return a


def _as_float(owner, name, a):
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{owner}: {name} must be an array of real numbers, got {type(a).__name__}: {err}") from None
    return _finite(owner, name, a)


def _vector(owner, name, a):
    a = _as_float(owner, name, a)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{owner}: {name} must be a non-empty 1-D array, got shape {a.shape}")
    return a


def _matrix(owner, X):
    X = _as_float(owner, "X", X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{owner}: X must be a 2-D array (examples x features) with at least one row and column, "
                         f"got shape {X.shape}")
    return X
