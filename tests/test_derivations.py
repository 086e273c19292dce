r"""The classic derivations, computed by formula and compared with what the modules' backward gives.

Notation: $z^l = W^l a^{l-1} + b^l$, $a^l = \sigma(z^l)$, cost $C = \tfrac12\lVert y - a^L\rVert^2$.
"""

import numpy as np

import chainrule as cr
from chainrule import nn


def sigma(z):
    return 1 / (1 + np.exp(-z))


def sigma_prime(z):
    return sigma(z) * (1 - sigma(z))


def half_squared_error():
    """$C = \\tfrac12\\lVert y - a\\rVert^2$ is half of MSELoss with reduction='sum'."""
    return nn.MSELoss(reduction="sum")


def test_scalar_two_layer_sigmoid_chain():
    # One neuron per layer: a0 -> z1 = w1 a0 + b1 -> a1 -> z2 = w2 a1 + b2 -> a2, C = (y - a2)^2 / 2.
    a0, y = 1.5, 0.2
    w1, b1, w2, b2 = 0.8, -0.1, -1.2, 0.3
    l1, l2 = nn.Linear(1, 1, dtype=np.float64), nn.Linear(1, 1, dtype=np.float64)
    l1.weight.data[...], l1.bias.data[...] = w1, b1
    l2.weight.data[...], l2.bias.data[...] = w2, b2
    model = nn.Sequential(l1, nn.Sigmoid(), l2, nn.Sigmoid())
    loss_fn = half_squared_error()

    a2_module = model(np.array([[a0]]))
    cost = 0.5 * loss_fn(a2_module, np.array([[y]]))
    model.backward(loss_fn.backward(0.5))  # d(0.5 * sum)/d a2 = 0.5 * 2 (a2 - y)

    # The same chain by hand.
    z1 = w1 * a0 + b1
    a1 = sigma(z1)
    z2 = w2 * a1 + b2
    a2 = sigma(z2)
    assert np.isclose(cost, 0.5 * (y - a2) ** 2, rtol=1e-14)
    dC_dw2 = a1 * sigma_prime(z2) * (a2 - y)
    dC_dw1 = a0 * sigma_prime(z1) * (a2 - y) * sigma_prime(z2) * w2
    dC_db2 = sigma_prime(z2) * (a2 - y)
    dC_db1 = sigma_prime(z1) * (a2 - y) * sigma_prime(z2) * w2
    np.testing.assert_allclose(l2.weight.grad, [[dC_dw2]], rtol=1e-13)
    np.testing.assert_allclose(l1.weight.grad, [[dC_dw1]], rtol=1e-13)
    np.testing.assert_allclose(l2.bias.grad, [dC_db2], rtol=1e-13)
    np.testing.assert_allclose(l1.bias.grad, [dC_db1], rtol=1e-13)


def test_bp1_to_bp4_for_one_sample():
    # A 4 -> 5 -> 3 -> 2 sigmoid network, one column-vector sample, by the four equations.
    rng = np.random.default_rng(0)
    sizes = [4, 5, 3, 2]
    layers = [nn.Linear(i, o, dtype=np.float64, rng=rng) for i, o in zip(sizes, sizes[1:])]
    model = nn.Sequential(*[m for layer in layers for m in (layer, nn.Sigmoid())])
    x, y = rng.standard_normal(4), rng.uniform(size=2)

    loss_fn = half_squared_error()
    loss_fn(model(x), y)  # a (F,) input: the column-vector form of the derivations
    model.backward(loss_fn.backward(0.5))  # ∇ₐC = a - y for C = ½‖y - a‖²

    W = [layer.weight.data for layer in layers]
    b = [layer.bias.data for layer in layers]
    a, zs = [x], []
    for Wl, bl in zip(W, b):
        zs.append(Wl @ a[-1] + bl)
        a.append(sigma(zs[-1]))
    deltas = [None] * len(W)
    deltas[-1] = (a[-1] - y) * sigma_prime(zs[-1])                    # BP1: ∇ₐC ⊙ σ'(zᴸ)
    for l in range(len(W) - 2, -1, -1):
        deltas[l] = (W[l + 1].T @ deltas[l + 1]) * sigma_prime(zs[l])  # BP2: ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ)
    for l, layer in enumerate(layers):
        np.testing.assert_allclose(layer.bias.grad, deltas[l], rtol=1e-12)                   # BP3
        np.testing.assert_allclose(layer.weight.grad, np.outer(deltas[l], a[l]), rtol=1e-12)  # BP4


def test_batched_form_rows_are_samples():
    # Rows are samples and W is (out, in): dW = δᵀX, db = Σₙ δₙ, dX = δW.
    rng = np.random.default_rng(1)
    layer = nn.Linear(3, 4, dtype=np.float64, rng=rng)
    X, delta = rng.standard_normal((6, 3)), rng.standard_normal((6, 4))
    layer(X)
    dX = layer.backward(delta)
    np.testing.assert_allclose(layer.weight.grad, delta.T @ X, rtol=1e-13)
    np.testing.assert_allclose(layer.bias.grad, delta.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(dX, delta @ layer.weight.data, rtol=1e-13)
    # ... and the batch gradient is the sum of the per-sample BP4 outer products.
    per_sample = sum(np.outer(delta[n], X[n]) for n in range(6))
    np.testing.assert_allclose(layer.weight.grad, per_sample, rtol=1e-13)


def test_softmax_jacobian_is_diag_minus_outer():
    s_module = nn.Softmax()
    z = np.array([0.3, -1.0, 2.0])
    with cr.no_grad():
        s = s_module(z)
    J = np.diag(s) - np.outer(s, s)
    for k in range(3):
        e = np.zeros(3)
        e[k] = 1.0
        s_module(z)
        np.testing.assert_allclose(s_module.backward(e), J[:, k], rtol=1e-13)
    # Only the diagonal is s(1 - s): the off-diagonal -s_i s_j terms are what "s(1 - s)" drops.
    np.testing.assert_allclose(np.diag(J), s * (1 - s))
    assert np.abs(J - np.diag(np.diag(J))).max() > 0.01
