"""Helpers both optimiser test files use: a gradient set by hand, and steps on a fixed problem."""

import numpy as np


def set_grad(p, values):
    p.grad = np.array(values, dtype=p.dtype)


def run_steps(opt, params, targets, steps):
    """``steps`` optimiser steps on the gradient of sum(1.5 (p - t)^2 - cos p) (its minimum: near t)."""
    for _ in range(steps):
        opt.zero_grad()
        for p, t in zip(params, targets):
            p.grad = 3.0 * (p.data - t) + np.sin(p.data)
        opt.step()
