"""First and second steps of every optimizer, worked out by hand from the papers' equations.

Each expected number is written as the arithmetic of the equation with explicit numbers, so a
reader can redo it on paper; nothing is computed by calling adamedu. Hyperparameters are
chosen so that the numbers come out round (β2 = 0.96 makes √(1−β2) = 0.2, for instance).
The second half checks what every optimizer shares: dtypes, structures, the printed state,
learning-rate schedules and fresh memory.
"""

import math

import numpy as np
import pytest
from optimizer_support import ALL_OPTIMIZERS, STATE_KEYS, leaves, optimizer_id, run, slot_shape

import adamedu as ae


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-15)


# -- gradient descent and momentum ---------------------------------------------------------------

def test_gradient_descent_two_steps():
    # w ← w − lr·g (Cauchy 1847), lr = 0.1
    (w1, s1), (w2, s2) = run(ae.GradientDescent(lr=0.1), [1.0, -2.0], [[2.0, -4.0], [1.0, 0.5]])
    close(w1, [1 - 0.1 * 2, -2 + 0.1 * 4])  # [0.8, -1.6]
    close(w2, [0.8 - 0.1 * 1, -1.6 - 0.1 * 0.5])  # [0.7, -1.65]
    assert (s1.t, s2.t) == (1, 2)
    assert sorted(s2) == ["t"]


def test_momentum_two_steps():
    # m ← βm + (1−β)g; w ← w − lr·m, with lr = 0.1, β = 0.9
    (w1, s1), (w2, s2) = run(ae.Momentum(lr=0.1, beta=0.9), [1.0], [[2.0], [-1.0]])
    close(s1.m, [0.1 * 2])  # m1 = 0.2
    close(w1, [1 - 0.1 * 0.2])  # w1 = 0.98
    close(s2.m, [0.9 * 0.2 + 0.1 * -1])  # m2 = 0.18 − 0.1 = 0.08
    close(w2, [0.98 - 0.1 * 0.08])  # w2 = 0.972
    assert (s1.t, s2.t) == (1, 2)


def test_momentum_nesterov_two_steps():
    # The same m, but the step looks ahead: w ← w − lr·(βm + (1−β)g)
    (w1, s1), (w2, s2) = run(ae.Momentum(lr=0.1, beta=0.9, nesterov=True), [1.0], [[2.0], [-1.0]])
    close(s1.m, [0.2])
    close(w1, [1 - 0.1 * (0.9 * 0.2 + 0.1 * 2)])  # 1 − 0.1·0.38 = 0.962
    close(s2.m, [0.08])
    close(w2, [0.962 - 0.1 * (0.9 * 0.08 + 0.1 * -1)])  # 0.962 − 0.1·(−0.028) = 0.9648
    assert s2.t == 2


# -- AdaGrad and RMSprop ------------------------------------------------------------------------

def test_adagrad_two_steps_eps_outside_the_root():
    # G ← G + g²; w ← w − lr·g/(√G + ε) (Duchi et al. 2011), lr = 0.1, ε = 7 (large, to be seen)
    (w1, s1), (w2, s2) = run(ae.AdaGrad(lr=0.1, eps=7.0), [1.0], [[3.0], [4.0]])
    close(s1.G, [9.0])  # G1 = 0 + 3² = 9
    close(w1, [1 - 0.1 * 3 / (3 + 7)])  # 0.97
    close(s2.G, [25.0])  # G2 = 9 + 4² = 25
    close(w2, [0.97 - 0.1 * 4 / (5 + 7)])  # 0.97 − 0.0333… = 0.93666…
    assert (s1.t, s2.t) == (1, 2)


def test_adagrad_two_steps_eps_inside_the_root():
    # Keras's placement: w ← w − lr·g/√(G + ε); same lr and ε as above
    (w1, s1), (w2, s2) = run(ae.AdaGrad(lr=0.1, eps=7.0, eps_in_sqrt=True), [1.0], [[3.0], [3.0]])
    close(s1.G, [9.0])
    close(w1, [1 - 0.1 * 3 / 4])  # √(9 + 7) = 4 → 0.925
    close(s2.G, [18.0])  # 9 + 9
    close(w2, [0.925 - 0.1 * 3 / 5])  # √(18 + 7) = 5 → 0.865


def test_adagrad_initial_accumulator():
    # G starts at initial_accumulator = 7, so G1 = 7 + 3² = 16 and √G1 = 4 (ε = 0)
    opt = ae.AdaGrad(lr=0.1, eps=0.0, initial_accumulator=7.0)
    close(opt.init(np.array([1.0, 2.0])).G, [7.0, 7.0])
    ((w1, s1),) = run(opt, [1.0], [[3.0]])
    close(s1.G, [16.0])
    close(w1, [1 - 0.1 * 3 / 4])  # 0.925


def test_rmsprop_two_steps_eps_outside_the_root():
    # v ← βv + (1−β)g²; w ← w − lr·g/(√v + ε) (Tieleman & Hinton 2012), lr = 0.1, β = 0.75, ε = 3
    (w1, s1), (w2, s2) = run(ae.RMSprop(lr=0.1, beta=0.75, eps=3.0), [1.0], [[2.0], [-1.0]])
    close(s1.v, [0.25 * 4])  # v1 = 1
    close(w1, [1 - 0.1 * 2 / (1 + 3)])  # 0.95
    close(s2.v, [0.75 * 1 + 0.25 * 1])  # v2 = 1
    close(w2, [0.95 - 0.1 * -1 / (1 + 3)])  # 0.975
    assert (s1.t, s2.t) == (1, 2)


def test_rmsprop_two_steps_eps_inside_the_root():
    # Same inputs, w ← w − lr·g/√(v + ε): √(1 + 3) = 2
    (w1, s1), (w2, s2) = run(ae.RMSprop(lr=0.1, beta=0.75, eps=3.0, eps_in_sqrt=True), [1.0], [[2.0], [-1.0]])
    close(w1, [1 - 0.1 * 2 / 2])  # 0.9
    close(w2, [0.9 - 0.1 * -1 / 2])  # 0.95
    close(s2.v, [1.0])


# -- Adam, AdamW, AMSGrad -------------------------------------------------------------------------
# Kingma & Ba (2015), Algorithm 1, with lr = 0.1, β1 = 0.5, β2 = 0.96, ε = 0.5 and gradients 5, then −5:
#   m1 = 0.5·5 = 2.5          v1 = 0.04·25 = 1           m̂1 = 2.5/0.5 = 5        v̂1 = 1/0.04 = 25
#   m2 = 1.25 − 2.5 = −1.25   v2 = 0.96 + 1 = 1.96      m̂2 = −1.25/0.75 = −5/3  v̂2 = 1.96/0.0784 = 25
# A second coordinate has gradient 0 twice: m = v = 0, and ε keeps it still.

def test_adam_two_steps():
    (w1, s1), (w2, s2) = run(ae.Adam(lr=0.1, beta1=0.5, beta2=0.96, eps=0.5), [1.0, 3.0], [[5.0, 0.0], [-5.0, 0.0]])
    close(s1.m, [2.5, 0.0])
    close(s1.v, [1.0, 0.0])
    close(w1, [1 - 0.1 * 5 / (5 + 0.5), 3.0])  # 0.90909…
    close(s2.m, [-1.25, 0.0])
    close(s2.v, [1.96, 0.0])
    close(w2, [0.9090909090909091 - 0.1 * (-5 / 3) / (5 + 0.5), 3.0])  # 0.93939…
    assert (s1.t, s2.t) == (1, 2)


def test_adam_eps_hat_two_steps():
    # The paper's efficient form: lr_t = lr·√(1−β2ᵗ)/(1−β1ᵗ); w ← w − lr_t·m/(√v + ε̂)
    #   lr_1 = 0.1·√0.04/0.5 = 0.04        lr_2 = 0.1·√(1 − 0.9216)/0.75 = 0.1·0.28/0.75 = 0.037333…
    opt = ae.Adam(lr=0.1, beta1=0.5, beta2=0.96, eps=0.5, eps_hat=True)
    (w1, s1), (w2, s2) = run(opt, [1.0], [[5.0], [-5.0]])
    close(w1, [1 - 0.04 * 2.5 / (1 + 0.5)])  # 0.93333…
    close(w2, [0.9333333333333333 - (0.1 * 0.28 / 0.75) * -1.25 / (1.4 + 0.5)])  # √1.96 = 1.4 → 0.95789…
    close(s2.m, [-1.25])
    close(s2.v, [1.96])


def test_adam_without_bias_correction_two_steps():
    # w ← w − lr·m/(√v + ε), no division by 1 − βᵗ
    opt = ae.Adam(lr=0.1, beta1=0.5, beta2=0.96, eps=0.5, bias_correction=False)
    (w1, s1), (w2, s2) = run(opt, [1.0], [[5.0], [-5.0]])
    close(w1, [1 - 0.1 * 2.5 / (1 + 0.5)])  # 0.83333…
    close(w2, [0.8333333333333334 - 0.1 * -1.25 / (1.4 + 0.5)])  # 0.89912…
    close(s2.m, [-1.25])
    close(s2.v, [1.96])


def test_adamw_two_steps():
    # Loshchilov & Hutter (2019): w ← w·(1 − lr·λ), then Adam's step; λ = 0.5 so the factor is 0.95
    opt = ae.AdamW(lr=0.1, beta1=0.5, beta2=0.96, eps=0.5, weight_decay=0.5)
    (w1, s1), (w2, s2) = run(opt, [1.0], [[5.0], [-5.0]])
    close(w1, [1 * 0.95 - 0.1 * 5 / 5.5])  # 0.95 − 0.090909… = 0.859090…
    close(w2, [0.8590909090909091 * 0.95 - 0.1 * (-5 / 3) / 5.5])  # 0.816136… + 0.030303… = 0.846439…
    close(s1.m, [2.5])
    close(s2.v, [1.96])
    assert s2.t == 2


def test_amsgrad_two_steps_uses_the_running_maximum():
    # Reddi et al. (2018): v_max ← max(v_max, v). A big gradient, then 0, makes v shrink but not v_max:
    #   v1 = 0.04·25 = 1, v_max1 = 1;  v2 = 0.96·1 + 0 = 0.96, v_max2 = max(1, 0.96) = 1
    #   m̂2 = 1.25/0.75 = 5/3;  v̂_max2 = 1/(1 − 0.96²) = 1/0.0784, √ = 1/0.28 = 3.5714…
    opt = ae.AMSGrad(lr=0.1, beta1=0.5, beta2=0.96, eps=0.5)
    (w1, s1), (w2, s2) = run(opt, [1.0], [[5.0], [0.0]])
    close(s1.v_max, [1.0])
    close(w1, [1 - 0.1 * 5 / 5.5])  # as Adam: 0.90909…
    close(s2.m, [1.25])
    close(s2.v, [0.96])
    close(s2.v_max, [1.0])
    close(w2, [0.9090909090909091 - 0.1 * (5 / 3) / (1 / 0.28 + 0.5)])  # 0.86815…
    # Adam itself would divide by √(0.96/0.0784) + 0.5 and land elsewhere (0.86741…)
    assert abs(w2[0] - 0.8674166479269158) > 1e-4


# -- AdaMax, Nadam, RAdam, Lion ----------------------------------------------------------------------

def test_adamax_two_steps():
    # Kingma & Ba (2015) §7.1: u ← max(β2·u, |g| + ε); w ← w − lr/(1−β1ᵗ)·m/u
    # lr = 0.1, β1 = 0.5, β2 = 0.75, ε = 0.5; two coordinates, gradients [2, 2] then [1, 3]
    opt = ae.AdaMax(lr=0.1, beta1=0.5, beta2=0.75, eps=0.5)
    (w1, s1), (w2, s2) = run(opt, [1.0, 1.0], [[2.0, 2.0], [1.0, 3.0]])
    close(s1.m, [1.0, 1.0])  # 0.5·2
    close(s1.u, [2.5, 2.5])  # max(0, 2 + 0.5)
    close(w1, [1 - 0.1 / 0.5 * 1 / 2.5] * 2)  # 0.92
    close(s2.m, [0.5 + 0.5, 0.5 + 1.5])  # [1, 2]
    close(s2.u, [0.75 * 2.5, 3 + 0.5])  # [max(1.875, 1.5), max(1.875, 3.5)] = [1.875, 3.5]
    close(w2, [0.92 - 0.1 / 0.75 * 1 / 1.875, 0.92 - 0.1 / 0.75 * 2 / 3.5])  # [0.84888…, 0.84380…]
    assert s2.t == 2


def test_nadam_two_steps():
    # Dozat (2016) as in torch.optim.NAdam: μ_t = β1·(1 − ½·0.96^(tψ)), Π_t = μ_1⋯μ_t,
    #   w ← w − lr·(1−μ_t)/(1−Π_t)·g/d − lr·μ_{t+1}/(1 − Π_t·μ_{t+1})·m/d,  d = √(v/(1−β2ᵗ)) + ε
    # ψ is chosen so that 0.96^ψ = ½: μ1 = 0.8·(1 − ¼) = 0.6, μ2 = 0.8·(1 − ⅛) = 0.7, μ3 = 0.8·(1 − 1/16) = 0.75
    # lr = 0.1, β1 = 0.8, β2 = 0.96, ε = 0.5, gradients 5 then −5:
    #   m1 = 0.2·5 = 1, v1 = 1, d1 = √25 + 0.5 = 5.5;   m2 = 0.8 − 1 = −0.2, v2 = 1.96, d2 = √25 + 0.5 = 5.5
    psi = math.log(0.5) / math.log(0.96)
    opt = ae.Nadam(lr=0.1, beta1=0.8, beta2=0.96, eps=0.5, momentum_decay=psi)
    (w1, s1), (w2, s2) = run(opt, [1.0], [[5.0], [-5.0]])
    close(s1.m, [1.0])
    close(s1.v, [1.0])
    close(s1.mu_product, 0.6)
    close(w1, [1 - 0.1 * (1 - 0.6) / (1 - 0.6) * 5 / 5.5 - 0.1 * 0.7 / (1 - 0.6 * 0.7) * 1 / 5.5])  # 0.88714…
    close(s2.m, [-0.2])
    close(s2.v, [1.96])
    close(s2.mu_product, 0.6 * 0.7)
    close(w2, [0.8871473354231975 - 0.1 * (1 - 0.7) / (1 - 0.42) * -5 / 5.5
               - 0.1 * 0.75 / (1 - 0.42 * 0.75) * -0.2 / 5.5])  # 0.93815…
    assert s2.t == 2


def test_nadam_initial_state():
    state = ae.Nadam().init(np.zeros(2))
    assert state.t == 0
    assert state.mu_product == 1.0  # the empty product


def test_radam_first_steps_are_momentum_sgd():
    # Liu et al. (2020): ρ∞ = 2/(1−β2) − 1 = 2/0.001 − 1 = 1999 (default β2 = 0.999)
    #   ρ1 = 1999 − 2·1·0.999/0.001 = 1 ≤ 5;  ρ2 = 1999 − 4·0.998001/0.001999 = 1.9995 ≤ 5
    # so both steps are w ← w − lr·m̂. lr = 0.1, β1 = 0.5, gradients 2 then 4:
    #   m1 = 1, m̂1 = 2;  m2 = 0.5 + 2 = 2.5, m̂2 = 2.5/0.75 = 10/3
    (w1, s1), (w2, s2) = run(ae.RAdam(lr=0.1, beta1=0.5), [1.0], [[2.0], [4.0]])
    close(w1, [1 - 0.1 * 2])  # 0.8
    close(w2, [0.8 - 0.1 * 10 / 3])  # 0.46666…
    close(s1.m, [1.0])
    close(s1.v, [0.001 * 4])  # 0.004
    close(s2.m, [2.5])
    close(s2.v, [0.999 * 0.004 + 0.001 * 16])  # 0.019996
    assert s2.t == 2


@pytest.mark.parametrize(
    "beta2, rho_5, rho_6",
    [
        # β2 = 0.9: ρ∞ = 2/0.1 − 1 = 19; 0.9⁵ = 0.59049, 0.9⁶ = 0.531441
        #   ρ5 = 19 − 10·0.59049/0.40951 = 4.5806 ≤ 5;  ρ6 = 19 − 12·0.531441/0.468559 = 5.3896 > 5
        (0.9, 19 - 10 * 0.59049 / 0.40951, 19 - 12 * 0.531441 / 0.468559),
        # β2 = 0.999 (default): ρ∞ = 1999; ρ5 = 4.9960 ≤ 5, ρ6 = 5.9942 > 5
        (0.999, 1999 - 10 * 0.999**5 / (1 - 0.999**5), 1999 - 12 * 0.999**6 / (1 - 0.999**6)),
    ],
    ids=["beta2=0.9", "beta2=0.999"],
)
def test_radam_switches_to_the_rectified_step_at_t6(beta2, rho_5, rho_6):
    # ρ1 = 1 and ρ2 = (1 + 3β2)/(1 + β2) < 2 for every β2, and ρ_t < t: the rectified branch can start at
    # t = 6 at the earliest. With a constant gradient g and ε = 0, m̂_t = g and √v_t = √(1−β2ᵗ)·|g|, so
    # steps 1–5 are lr·g each and step 6 is lr·r6·sign(g), r6 = √((ρ6−4)(ρ6−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρ6)).
    assert rho_5 <= 5 < rho_6
    rho_inf = 2 / (1 - beta2) - 1
    r6 = math.sqrt((rho_6 - 4) * (rho_6 - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_6))
    # β2 = 0.9: r6 = √(1.3896·3.3896·19 / (15·17·5.3896)) = 0.25518
    opt = ae.RAdam(lr=0.1, beta1=0.5, beta2=beta2, eps=0.0)
    steps = run(opt, [1.0], [[2.0]] * 6)
    ws = [1.0] + [float(w[0]) for w, _ in steps]
    for t in range(1, 6):
        np.testing.assert_allclose(ws[t - 1] - ws[t], 0.1 * 2, rtol=1e-9)  # ρ_t ≤ 5: step lr·m̂ = 0.2
    np.testing.assert_allclose(ws[5] - ws[6], 0.1 * r6, rtol=1e-9)
    assert steps[-1][1].t == 6


# Chen et al. (2023): c = β1·m + (1−β1)·g; w ← w − lr·(sign(c) + λw); m ← β2·m + (1−β2)·g
# lr = 0.1, β1 = 0.9, β2 = 0.99. Four coordinates:
#   g1 = [2, −3, 0, 2]: c1 = 0.1·g1 → sign [1, −1, 0, 1];  m1 = 0.01·g1 = [0.02, −0.03, 0, 0.02]
#   g2 = [−0.1, −1, 4, −1]: c2 = 0.9·m1 + 0.1·g2 = [0.018 − 0.01, −0.027 − 0.1, 0.4, 0.018 − 0.1]
#                                              = [0.008, −0.127, 0.4, −0.082] → sign [1, −1, 1, −1]
#   m2 = 0.99·m1 + 0.01·g2 = [0.0198 − 0.001, −0.0297 − 0.01, 0.04, 0.0198 − 0.01] = [0.0188, −0.0397, 0.04, 0.0098]
# In coordinate 0 the momentum outweighs the gradient; in coordinate 3 the step follows c while m
# (the β2 average) has the other sign: the two betas do different jobs.
LION_W0 = [1.0, -1.0, 0.5, 1.0]
LION_GRADS = [[2.0, -3.0, 0.0, 2.0], [-0.1, -1.0, 4.0, -1.0]]


def test_lion_two_steps():
    (w1, s1), (w2, s2) = run(ae.Lion(lr=0.1), LION_W0, LION_GRADS)
    close(w1, [0.9, -0.9, 0.5, 0.9])
    close(s1.m, [0.02, -0.03, 0.0, 0.02])
    close(w2, [0.9 - 0.1, -0.9 + 0.1, 0.5 - 0.1, 0.9 + 0.1])  # [0.8, −0.8, 0.4, 1.0]
    close(s2.m, [0.0188, -0.0397, 0.04, 0.0098])
    assert (s1.t, s2.t) == (1, 2)


def test_lion_with_weight_decay_two_steps():
    # Same run with λ = 0.5: w ← w·(1 − 0.1·0.5) − 0.1·sign(c) = 0.95·w − 0.1·sign(c)
    opt = ae.Lion(lr=0.1, weight_decay=0.5)
    (w1, s1), (w2, s2) = run(opt, LION_W0, LION_GRADS)
    close(w1, [0.95 - 0.1, -0.95 + 0.1, 0.475, 0.95 - 0.1])  # [0.85, −0.85, 0.475, 0.85]
    close(w2, [0.85 * 0.95 - 0.1, -0.85 * 0.95 + 0.1, 0.475 * 0.95 - 0.1, 0.85 * 0.95 + 0.1])
    # = [0.7075, −0.7075, 0.35125, 0.9075]
    close(s2.m, [0.0188, -0.0397, 0.04, 0.0098])  # the decay does not touch m


# -- what every optimizer shares --------------------------------------------------------------------

def small_params(dtype):
    return {"w": np.array([[0.5, -1.0], [2.0, 0.25]], dtype=dtype), "b": np.array([0.1, -0.3], dtype=dtype)}


def small_grads(dtype, scale=1.0):
    return {"w": np.array([[0.3, -0.2], [0.05, 1.5]], dtype=dtype) * scale,
            "b": np.array([-0.7, 0.4], dtype=dtype) * scale}


@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
def test_init_state_has_t_zero_and_the_documented_slots(cls):
    params = small_params(np.float64)
    state = cls().init(params)
    assert isinstance(state, ae.State)
    assert list(state) == STATE_KEYS[cls]
    assert state.t == 0
    for name in STATE_KEYS[cls][1:]:
        if name == "mu_product":
            continue
        assert list(state[name]) == ["w", "b"]
        for leaf, w in zip(leaves(state[name]), leaves(params), strict=True):
            assert leaf.shape == slot_shape(cls, name, w.shape)
            if (cls, name) == (ae.Rprop, "step_size"):  # each coordinate's step size starts at lr
                assert np.all(leaf == cls().lr)
            elif (cls, name) == (ae.Yogi, "v"):  # v starts at initial_accumulator, 1e-6 by default
                assert np.all(leaf == 1e-6)
            elif not (cls is ae.AdaGrad and name == "G"):  # G starts at initial_accumulator (0 by default)
                assert not leaf.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
def test_dtype_is_kept_in_params_and_every_state_slot(cls, dtype):
    opt = cls(lr=0.01)
    params = small_params(dtype)
    state = opt.init(params)
    for grads in (small_grads(dtype), small_grads(np.float64, 0.5), small_grads(dtype, 2.0)):
        params, state = opt.step(params, grads, state)  # float64 gradients do not promote float32 params
        for leaf in leaves(params) + [leaf for key in STATE_KEYS[cls][1:] for leaf in leaves(state[key])]:
            if isinstance(leaf, np.ndarray):
                assert leaf.dtype == dtype
    assert state.t == 3


def as_container(kind, a, b, c):
    return {
        "dict": lambda: {"a": a, "b": b, "c": c},
        "list": lambda: [a, b, c],
        "tuple": lambda: (a, b, c),
        "nested dict": lambda: {"layer1": {"w": a, "b": b}, "layer2": {"w": c}},
        "list in dict": lambda: {"layers": [a, b], "head": c},
    }[kind]()


@pytest.mark.parametrize("kind", ["dict", "list", "tuple", "nested dict", "list in dict"])
@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
def test_structures_are_kept(cls, kind):
    a, b, c = np.array([1.0, -2.0]), np.array([[0.5]]), np.array(3.0)
    params = as_container(kind, a, b, c)
    grads = as_container(kind, 0.1 * a + 0.2, 0.3 * b - 1.0, 0.5 * c)
    opt = cls(lr=0.01)
    state = opt.init(params)
    for _ in range(2):
        params, state = opt.step(params, grads, state)
        slots = [k for k in STATE_KEYS[cls][1:] if k != "mu_product"]
        for name, tree in [("params", params)] + [(k, state[k]) for k in slots]:
            expected = as_container(kind, a, b, c)
            assert type(tree) is type(expected)
            if isinstance(expected, dict):
                assert list(tree) == list(expected)
            shapes = [(2,), (1, 1), ()]
            if name != "params":  # a slot is shaped like its parameter, except Adafactor's factors
                shapes = [slot_shape(cls, name, shape) for shape in shapes]
            assert [np.shape(x) for x in leaves(tree)] == shapes
            assert all(isinstance(x, np.ndarray) for x in leaves(tree))


@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
def test_single_array_params(cls):
    opt = cls(lr=0.01)
    w = np.array([1.0, -2.0, 3.0])
    w1, state = opt.step(w, np.array([0.5, 0.5, -0.5]), opt.init(w))
    assert isinstance(w1, np.ndarray) and w1.shape == (3,)
    for key in STATE_KEYS[cls][1:]:
        if key != "mu_product":
            assert isinstance(state[key], np.ndarray) and state[key].shape == slot_shape(cls, key, (3,))
    assert not np.array_equal(w1, w)  # it moved


def test_printed_state_shows_t_m_v(capsys):
    opt = ae.Adam(lr=0.1, beta1=0.5, beta2=0.75)
    w, state = opt.step(np.array([1.0, 2.0]), np.array([2.0, -4.0]), opt.init(np.array([1.0, 2.0])))
    print(state)
    text = capsys.readouterr().out
    assert "t=1" in text
    assert "m=[ 1. -2.]" in text  # m1 = 0.5·g
    assert "v=[1. 4.]" in text  # v1 = 0.25·g²
    assert state.t == 1 and state["t"] == 1  # read as attributes or as a dict
    np.testing.assert_array_equal(state.v, [1.0, 4.0])
    with pytest.raises(AttributeError, match=r"no 'momentum'.*\['t', 'm', 'v'\]"):
        _ = state.momentum


def test_printed_state_of_dict_params_names_the_keys(capsys):
    opt = ae.Momentum()
    print(opt.init({"weights": np.zeros(2), "bias": np.zeros(1)}))
    text = capsys.readouterr().out
    assert "t=0" in text and "m=" in text and "'weights'" in text and "'bias'" in text


def test_learning_rate_schedule_is_called_with_the_step_number():
    seen = []

    def schedule(t):
        seen.append(t)
        return 0.1 / t

    opt = ae.GradientDescent(lr=schedule)
    w = np.array([1.0])
    state = opt.init(w)
    w, state = opt.step(w, np.array([2.0]), state)
    assert set(seen) == {1}
    close(w, [1 - 0.1 / 1 * 2])  # 0.8
    seen.clear()
    w, state = opt.step(w, np.array([2.0]), state)
    assert set(seen) == {2}
    close(w, [0.8 - 0.1 / 2 * 2])  # 0.7


def test_adam_learning_rate_schedule_uses_t_of_the_state():
    # With a constant gradient and ε = 0, m̂ = g and √v̂ = |g|: every Adam step is exactly lr(t).
    opt = ae.Adam(lr=lambda t: 0.01 * t, eps=0.0)
    steps = run(opt, [1.0], [[3.0]] * 3)
    ws = [1.0] + [float(w[0]) for w, _ in steps]
    close(np.diff(ws), [-0.01, -0.02, -0.03])
    # A state that says t = 41 makes the next step t = 42
    w, state = opt.step(np.array([1.0]), np.array([3.0]), ae.State(t=41, m=np.array([0.0]), v=np.array([0.0])))
    assert state.t == 42
    # m = 0.1·3, v = 0.001·9: m̂ = 0.3/(1 − 0.9⁴²), v̂ = 0.009/(1 − 0.999⁴²)
    expected = 1 - 0.42 * (0.3 / (1 - 0.9**42)) / math.sqrt(0.009 / (1 - 0.999**42))
    close(w, [expected])


@pytest.mark.parametrize("cls", ALL_OPTIMIZERS, ids=optimizer_id)
def test_init_and_step_do_not_share_memory_with_their_inputs(cls):
    opt = cls(lr=0.01)
    params, grads = small_params(np.float64), small_grads(np.float64)
    state = opt.init(params)
    slots = [leaf for key in STATE_KEYS[cls][1:] if key != "mu_product" for leaf in leaves(state[key])]
    for leaf in slots:
        for w in leaves(params):
            assert not np.shares_memory(leaf, w)
    for i, x in enumerate(slots):  # m and v must not be one array either
        for y in slots[i + 1:]:
            assert not np.shares_memory(x, y)
    new_params, new_state = opt.step(params, grads, state)
    outputs = leaves(new_params) + [leaf for key in STATE_KEYS[cls][1:] if key != "mu_product"
                                    for leaf in leaves(new_state[key])]
    for x in outputs:
        for y in leaves(params) + leaves(grads) + slots:
            assert not np.shares_memory(x, y)
    # so that writing into the state cannot reach the parameters
    for leaf in slots:
        leaf += 1.0
    np.testing.assert_array_equal(params["w"], small_params(np.float64)["w"])


def test_gradient_descent_with_zero_learning_rate_returns_a_copy():
    w = np.array([1.0, 2.0])
    opt = ae.GradientDescent(lr=0.0)
    w1, _ = opt.step(w, np.array([1.0, 1.0]), opt.init(w))
    np.testing.assert_array_equal(w1, w)
    assert not np.shares_memory(w1, w)
