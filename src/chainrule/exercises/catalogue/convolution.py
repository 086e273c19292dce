"""Part 7, convolution and pooling: one weight used at every position, and max-pooling's routing."""

from __future__ import annotations

import math

import numpy as np

from ... import nn
from .._exercise import Case, exercise, floats, mistake
from .shared import Accumulates

_BACKWARD = "docs/modules/convolution.md#backward-three-gradients-three-convolutions"
_MAXPOOL = "docs/modules/convolution.md#max-pooling-routing"


class ConvSolution(Accumulates):
    """Conv1d's and Conv2d's backward, one loop over the kernel offsets (positions flattened)."""

    def backward(self, grad_output):
        (xp,) = self.saved_tensors
        wrong = self.mistake
        N, C_in, G, n = xp.shape[0], xp.shape[1], self.groups, len(self.kernel_size)
        out = grad_output.shape[2:]
        delta = grad_output.reshape(N, G, -1, math.prod(out))                 # (N, G, C_out/G, positions)
        weight = self.weight.data.reshape(G, -1, C_in // G, *self.kernel_size)  # (G, C_out/G, C_in/G, *kernel)
        if wrong == "conv_kernel_not_flipped":  # the offsets taken the wrong way round
            weight = np.flip(weight, axis=tuple(range(3, 3 + n)))
        if self.bias is not None:
            over = (0,) if wrong == "conv_bias_not_summed_over_positions" else (0, *range(2, 2 + n))
            self.give(self.bias, grad_output.sum(axis=over))
        keep_batch = wrong == "conv_weight_grad_not_summed"
        grad_weight = np.zeros((N, *weight.shape) if keep_batch else weight.shape)
        grad_xp = np.zeros((N, G, C_in // G, *xp.shape[2:]))
        for k in np.ndindex(*self.kernel_size):
            # offset k of every window: x_p[n, c, p s + k d] for every output position p
            read = tuple(slice(ki * d, ki * d + (o - 1) * s + 1, s)
                         for ki, d, o, s in zip(k, self.dilation, out, self.stride))
            patch = xp[(slice(None), slice(None), *read)].reshape(N, G, C_in // G, -1)
            grad_weight[(..., *k)] = np.einsum("ngop,ngcp->ngoc" if keep_batch else "ngop,ngcp->goc", delta, patch)
            if wrong == "conv_stride_ignored_in_input_grad":
                read = tuple(slice(ki * d, ki * d + o) for ki, d, o in zip(k, self.dilation, out))
            back = np.einsum("goc,ngop->ngcp", weight[(..., *k)], delta)  # delta_p back through W[o, c, k]
            grad_xp[(slice(None), slice(None), slice(None), *read)] += back.reshape(N, G, C_in // G, *out)
        shape = (N, *self.weight.shape) if keep_batch else self.weight.shape
        self.give(self.weight, grad_weight.reshape(shape))
        grad_xp = grad_xp.reshape(xp.shape)
        if wrong == "conv_padding_cropped_wrong":
            return grad_xp[(..., *(slice(0, L - b - a) for L, (b, a) in zip(xp.shape[2:], self._pads)))]
        return grad_xp[(..., *(slice(b, L - a) for L, (b, a) in zip(xp.shape[2:], self._pads)))]


mistake("conv_kernel_not_flipped",
        "The input gradient used the kernel unflipped: x_p[p s + k d] was read with W[k], so delta_p goes back "
        "there times W[k], which makes dC/dx the full convolution of delta with the flipped kernel; correlating "
        "delta with W as it is pairs each delta with the mirrored tap W[K - 1 - k].",
        _BACKWARD)
mistake("conv_weight_grad_not_summed",
        "The weight gradient kept the batch axis: one kernel W is used by every sample, so dC/dW[o, c, k] "
        "sums delta[n, o, p] x_p[n, c, p s + k d] over the samples n as well as the positions p.",
        _BACKWARD)
mistake("conv_bias_not_summed_over_positions",
        "The bias gradient was summed over the batch but not over the positions: b_o is added at every output "
        "position, so dC/db_o = sum over n and p of delta[n, o, p], of the bias's shape (C_out,).",
        _BACKWARD)
mistake("conv_stride_ignored_in_input_grad",
        "The stride was left out when sending delta back: output position p read x_p[p s + k d], so "
        "delta_p times W[k] goes to position p s + k d, not p + k d.",
        _BACKWARD)
mistake("conv_padding_cropped_wrong",
        "The padding was cropped from the end only: the gradient is computed for the padded x_p, where x "
        "starts after the padding, so dC/dx drops the padded positions at both ends (x_p[before : before + L]).",
        _BACKWARD)

_CONV_MISTAKES = ("conv_kernel_not_flipped", "conv_weight_grad_not_summed", "conv_bias_not_summed_over_positions",
                  "conv_stride_ignored_in_input_grad", "conv_padding_cropped_wrong", "grad_assigned",
                  "frozen_parameter_updated")


def _conv_torch(function):
    def forward(torch, p, b, kw, train, x):
        return getattr(torch.nn.functional, function)(
            x, p["weight"], p.get("bias"), stride=kw.get("stride", 1), padding=kw.get("padding", 0),
            dilation=kw.get("dilation", 1), groups=kw.get("groups", 1))
    return forward


_CONV_TASK = '''
grad_output is delta = dC/dy, shaped like the output: {out}.

Return dC/dx, shaped like x {x}: the gradient of the padded x_p with the
padding cropped off. Add into .grad, with nn.accumulate_grad: dC/dW into self.weight
{w} and, if self.bias is not None, dC/db into self.bias (C_out,); both sum
over the batch and over every output position. Skip a frozen parameter (requires_grad=False).
'''

_CONV_HINT = ("y is linear in everything it reads: differentiate one term W[o, c, k] x_p[n, c, p s + k d] and "
              "sum over every output that used the variable. The loop over kernel offsets that built y can send "
              "delta back the same way; compute the gradient of x_p, then decide what belongs to x. "
              "Let the shapes check each sum.")

exercise(
    name="conv1d",
    builtin=nn.Conv1d,
    docs="docs/modules/convolution.md",
    stub='''
    class Conv1d(nn.Conv1d):
        """y[n, o, p] = b_o + sum_{c, k} W[o, c, k] x_p[n, c, p s + k d]: a cross-correlation of the
        zero-padded input x_p (stride s, dilation d, kernel size K); weight (C_out, C_in/G, K),
        bias (C_out,) or None. With G groups, c runs over the input channels of o's group only."""

        exercise = "conv1d"

        def forward(self, x):
            # x: (N, C_in, L)
            (s,), (d,), (K,), G = self.stride, self.dilation, self.kernel_size, self.groups
            (before, after), = self._pads                      # zeros at each end ('same' split as PyTorch)
            xp = np.pad(x, ((0, 0), (0, 0), (before, after)))  # x_p: (N, C_in, L_p)
            N, C_in, L_p = xp.shape
            L_out = (L_p - d * (K - 1) - 1) // s + 1
            W = self.weight.data.reshape(G, -1, C_in // G, K)  # (G, C_out/G, C_in/G, K): each group's kernels
            y = np.zeros((N, G, W.shape[1], L_out))
            for k in range(K):
                # kernel offset k of every window at once: x_p[n, c, p s + k d] for p = 0 .. L_out - 1
                patch = xp[:, :, k * d : k * d + (L_out - 1) * s + 1 : s]  # (N, C_in, L_out)
                y += np.einsum("goc,ngcp->ngop", W[..., k], patch.reshape(N, G, C_in // G, L_out))
            y = y.reshape(N, -1, L_out)                        # (N, C_out, L_out)
            if self.bias is not None:
                y = y + self.bias.data[:, None]                # b_o at every position
            # backward needs x_p: dC/dW reads its windows again, and dC/dx_p has its shape
            self.save_for_backward(xp)
            return y
    ''',
    task=_CONV_TASK.format(out="(N, C_out, L_out)", x="(N, C_in, L)", w="(C_out, C_in/G, K)"),
    todo="Conv1d.backward is yours to write: accumulate dC/dW and dC/db (summed over the batch and the "
         "positions), return dC/dx",
    hint=_CONV_HINT,
    cases=(
        Case(floats(2, 2, 6), kwargs={"in_channels": 2, "out_channels": 3, "kernel_size": 3}),
        Case(floats(1, 2, 7), kwargs={"in_channels": 2, "out_channels": 2, "kernel_size": 3, "stride": 2,
                                      "padding": 1}),
        Case(floats(2, 2, 6), kwargs={"in_channels": 2, "out_channels": 2, "kernel_size": 4, "padding": "same"}),
        Case(floats(2, 2, 9), kwargs={"in_channels": 2, "out_channels": 3, "kernel_size": 3, "padding": 1,
                                      "dilation": 2, "bias": False}),
        Case(floats(3, 4, 8), kwargs={"in_channels": 4, "out_channels": 2, "kernel_size": 3, "stride": 2,
                                      "groups": 2}),
        Case(floats(2, 2, 6), kwargs={"in_channels": 2, "out_channels": 3, "kernel_size": 2, "padding": 1},
             frozen=("weight",)),
    ),
    solution=ConvSolution,
    mistakes=_CONV_MISTAKES,
    torch=_conv_torch("conv1d"),
)

exercise(
    name="conv2d",
    builtin=nn.Conv2d,
    docs="docs/modules/convolution.md",
    stub='''
    class Conv2d(nn.Conv2d):
        """y[n, o, p, q] = b_o + sum_{c, k, l} W[o, c, k, l] x_p[n, c, p s0 + k d0, q s1 + l d1]: a
        cross-correlation of the zero-padded input x_p, on each spatial axis as Conv1d's; weight
        (C_out, C_in/G, kH, kW), bias (C_out,) or None; G groups of channels that do not mix."""

        exercise = "conv2d"

        def forward(self, x):
            # x: (N, C_in, H, W)
            (s0, s1), (d0, d1), (kH, kW), G = self.stride, self.dilation, self.kernel_size, self.groups
            xp = np.pad(x, ((0, 0), (0, 0), *self._pads))  # x_p: (before, after) zeros on each axis
            N, C_in, H_p, W_p = xp.shape
            H_out = (H_p - d0 * (kH - 1) - 1) // s0 + 1
            W_out = (W_p - d1 * (kW - 1) - 1) // s1 + 1
            weight = self.weight.data.reshape(G, -1, C_in // G, kH, kW)  # (G, C_out/G, C_in/G, kH, kW)
            y = np.zeros((N, G, weight.shape[1], H_out, W_out))
            for k in range(kH):
                for l in range(kW):
                    # kernel offset (k, l) of every window: x_p[n, c, p s0 + k d0, q s1 + l d1]
                    patch = xp[:, :, k * d0 : k * d0 + (H_out - 1) * s0 + 1 : s0,
                                     l * d1 : l * d1 + (W_out - 1) * s1 + 1 : s1]  # (N, C_in, H_out, W_out)
                    patch = patch.reshape(N, G, C_in // G, H_out, W_out)
                    y += np.einsum("goc,ngcpq->ngopq", weight[..., k, l], patch)
            y = y.reshape(N, -1, H_out, W_out)  # (N, C_out, H_out, W_out)
            if self.bias is not None:
                y = y + self.bias.data[:, None, None]
            # backward needs x_p: dC/dW reads its windows again, and dC/dx_p has its shape
            self.save_for_backward(xp)
            return y
    ''',
    task=_CONV_TASK.format(out="(N, C_out, H_out, W_out)", x="(N, C_in, H, W)", w="(C_out, C_in/G, kH, kW)"),
    todo="Conv2d.backward is yours to write: accumulate dC/dW and dC/db (summed over the batch and the "
         "positions), return dC/dx",
    hint=_CONV_HINT + " Conv1d's backward, on two axes at once.",
    cases=(
        Case(floats(2, 2, 4, 4), kwargs={"in_channels": 2, "out_channels": 2, "kernel_size": 2}),
        Case(floats(1, 2, 5, 5), kwargs={"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 2,
                                         "padding": 1}),
        Case(floats(2, 1, 5, 4), kwargs={"in_channels": 1, "out_channels": 2, "kernel_size": (3, 2),
                                         "stride": (2, 1), "padding": (1, 0)}),
        Case(floats(2, 2, 4, 5), kwargs={"in_channels": 2, "out_channels": 2, "kernel_size": 2, "padding": "same"}),
        Case(floats(2, 1, 6, 6), kwargs={"in_channels": 1, "out_channels": 2, "kernel_size": 2, "dilation": 2,
                                         "padding": 1, "bias": False}),
        Case(floats(2, 4, 5, 5), kwargs={"in_channels": 4, "out_channels": 2, "kernel_size": 3, "padding": 1,
                                         "groups": 2}),
        Case(floats(2, 2, 4, 4), kwargs={"in_channels": 2, "out_channels": 2, "kernel_size": 3, "stride": 2,
                                         "padding": 1}, frozen=("weight",)),
    ),
    solution=ConvSolution,
    mistakes=_CONV_MISTAKES,
    torch=_conv_torch("conv2d"),
)


def _pair(value) -> tuple:
    return (value, value) if isinstance(value, int) else tuple(value)


class MaxPoolSolution:
    def backward(self, grad_output):
        xp, y = self.saved_tensors
        wrong = self.mistake
        (kH, kW), (s0, s1), (p0, p1) = _pair(self.kernel_size), _pair(self.stride), _pair(self.padding)
        H_out, W_out = y.shape[2:]
        grad_xp = np.zeros_like(xp)
        found = np.zeros(y.shape, dtype=bool)  # the windows whose (first) maximum is already found
        for k, l in np.ndindex(kH, kW):  # row-major: the first maximum comes first
            read = (slice(None), slice(None), slice(k, k + (H_out - 1) * s0 + 1, s0),
                    slice(l, l + (W_out - 1) * s1 + 1, s1))
            is_max = xp[read] == y
            if wrong != "maxpool_grad_to_every_max":
                is_max &= ~found
                found |= is_max
            share = grad_output / (kH * kW) if wrong == "maxpool_grad_spread_over_window" else grad_output * is_max
            if wrong == "maxpool_overlap_assigned":
                grad_xp[read] = share
            else:
                grad_xp[read] += share
        H_p, W_p = xp.shape[2:]
        return grad_xp[:, :, p0 : H_p - p0, p1 : W_p - p1]


mistake("maxpool_grad_to_every_max",
        "On a tie delta went to every maximum of the window: the output is one element's value, so its "
        "gradient goes to one element, the first maximum in row-major order (PyTorch's choice), and the "
        "others get 0.", _MAXPOOL)
mistake("maxpool_overlap_assigned",
        "Overlapping windows' gradients were assigned instead of added: an input read by several windows "
        "collects the delta of every window it won (+=), and a window it lost must not overwrite that with 0.",
        _MAXPOOL)
mistake("maxpool_grad_spread_over_window",
        "delta was spread over the whole window, divided by its size: that is average pooling's rule; the "
        "maximum depends on one element only, its window's arg-max, which receives all of delta.", _MAXPOOL)


def _ties(*shape):
    """Small integers: windows share their maximum."""
    return lambda rng: (rng.integers(-2, 3, shape).astype(np.float64),)


exercise(
    name="maxpool2d",
    builtin=nn.MaxPool2d,
    docs="docs/modules/convolution.md",
    stub='''
    def pair(value):
        """kernel_size, stride and padding: an int for both axes, or a pair."""
        return (value, value) if isinstance(value, int) else tuple(value)


    class MaxPool2d(nn.MaxPool2d):
        """y[n, c, p, q] = max_{k, l} x_p[n, c, p s0 + k, q s1 + l]: the largest element of each
        kH x kW window of the input padded with -inf (stride s0, s1; dilation 1, ceil_mode False)."""

        exercise = "maxpool2d"

        def forward(self, x):
            # x: (N, C, H, W)
            (kH, kW), (s0, s1), (p0, p1) = pair(self.kernel_size), pair(self.stride), pair(self.padding)
            xp = np.pad(x, ((0, 0), (0, 0), (p0, p0), (p1, p1)), constant_values=-np.inf)  # padding never wins
            N, C, H_p, W_p = xp.shape
            H_out, W_out = (H_p - kH) // s0 + 1, (W_p - kW) // s1 + 1
            y = np.full((N, C, H_out, W_out), -np.inf)
            for k in range(kH):
                for l in range(kW):
                    # offset (k, l) of every window: x_p[n, c, p s0 + k, q s1 + l], (N, C, H_out, W_out)
                    y = np.maximum(y, xp[:, :, k : k + (H_out - 1) * s0 + 1 : s0, l : l + (W_out - 1) * s1 + 1 : s1])
            # backward finds each window's maximum again, by comparing its elements with y
            self.save_for_backward(xp, y)
            return y
    ''',
    task='''
    grad_output is delta = dC/dy, shape (N, C, H_out, W_out).

    Return dC/dx, shaped like x (N, C, H, W); max pooling has no parameters. Each
    delta[n, c, p, q] goes to the element of window (p, q) that is its maximum; on a tie, to
    the first one in row-major order of the window (PyTorch's choice). Windows may overlap
    (stride < kernel size).
    ''',
    todo="MaxPool2d.backward is yours to write: route each window's delta to its maximum, return dC/dx",
    hint="Within a window y is one element's value, so its derivative is 1 for that element and 0 for the "
         "rest. Go over the window's offsets as forward did. Ask what an element read by two windows "
         "receives, and which element receives delta when two are equal.",
    cases=(
        Case(floats(2, 2, 4, 4), kwargs={"kernel_size": 2, "stride": 2}),
        Case(floats(2, 2, 5, 6), kwargs={"kernel_size": 3, "stride": 2, "padding": 1}),
        Case(floats(1, 2, 4, 5), kwargs={"kernel_size": 2, "stride": 1}),
        Case(_ties(2, 2, 4, 4), kwargs={"kernel_size": 2, "stride": 2}),
        Case(_ties(2, 1, 5, 5), kwargs={"kernel_size": 3, "stride": 2, "padding": 1}),
    ),
    solution=MaxPoolSolution,
    mistakes=("maxpool_grad_to_every_max", "maxpool_overlap_assigned", "maxpool_grad_spread_over_window"),
    torch=lambda torch, p, b, kw, train, x: torch.nn.functional.max_pool2d(
        x, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0)),
)
