"""The optimisation problem both optimiser files run on each side, chainrule's and torch's.

Each side computes its own gradient from its own current parameters with the same
deterministic function (the gradient of a fixed quadratic plus a small non-linear term),
so only the optimiser's arithmetic can make the trajectories differ.
"""

import numpy as np

STEPS = 25
RTOL, ATOL = 1e-10, 1e-14  # float64 trajectories
SHAPES = [(3, 4), (5,), ()]


def problem(seed=0, dtype=np.float64):
    """Starting values, and per parameter a fixed SPD matrix A and vector b for the gradient."""
    rng = np.random.default_rng(seed)
    starts, terms = [], []
    for shape in SHAPES:
        n = int(np.prod(shape))
        q = rng.standard_normal((n, n))
        terms.append((q @ q.T / n + np.eye(n), rng.standard_normal(n)))
        starts.append(rng.standard_normal(shape).astype(dtype))
    return starts, terms


def gradient(theta, a, b):
    r"""$\nabla(\frac12 \theta^\top A \theta - b^\top \theta) + 0.3 \sin\theta$, in theta's dtype."""
    flat = theta.reshape(-1).astype(np.float64)
    return (a @ flat - b + 0.3 * np.sin(flat)).reshape(theta.shape).astype(theta.dtype)
