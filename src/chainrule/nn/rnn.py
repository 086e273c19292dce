r"""Recurrent layers, ``RNN``, ``GRU`` and ``LSTM``, and backpropagation through time.

Each layer runs one *cell* over the sequence, the same weights at every step:

$$h_t = \text{cell}(x_t, h_{t-1}), \qquad t = 1, \dots, L.$$

Forward computes the input half of every step at once (one matrix product
$X W_{ih}^\top$ over all time steps), then loops over time for the recurrent half.
Backward (backpropagation through time) walks the same loop backwards: at step $t$ the
gradient reaching $h_t$ is what the output at $t$ sends plus what step $t+1$ sends back,

$$\frac{\partial C}{\partial h_t} = \frac{\partial C}{\partial y_t}
  + \Big(\frac{\partial h_{t+1}}{\partial h_t}\Big)^{\!\top} \frac{\partial C}{\partial h_{t+1}},$$

and the step's backward (the derivative of its gate equations) turns it into the gradient of
the step's pre-activations. Those are collected over time, and each weight's gradient is one
matrix product over all steps at the end, added once with ``accumulate_grad``: a weight used
at every step gets the sum of its gradients at every step.

Layouts are PyTorch's: time-major ``(L, N, H_in)``, or ``(N, L, H_in)`` with
``batch_first=True``, or unbatched ``(L, H_in)``; hidden states ``(num_layers *
num_directions, N, H)``, index ``layer * num_directions + direction``. A bidirectional layer
runs a second cell over the reversed sequence; its outputs are reversed back and
concatenated after the forward direction's on the last axis.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._config import check_float_dtype, resolve_rng
from . import stable
from .dropout import dropout_mask
from .. import _checks as checks
from .module import Module, Parameter, accumulate_grad


# -- the cells, one time step each, as function pairs ---------------------------------------
# Every cell takes ``input_proj``, the input half of its pre-activation, $x_t W_{ih}^\top + b_{ih}$:
# the layer computes it for all time steps at once (one matrix product), so a cell is only the
# recurrent half and the gate equations. Each backward returns the gradients of the two halves
# of the pre-activation (which the layer turns into weight gradients over all steps at once) and
# of the previous state.

def rnn_tanh_cell(input_proj, hx, w_hh, b_hh=None):
    r"""$a_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}$, $h_t = \tanh(a_t)$, with
    ``input_proj`` $= x_t W_{ih}^\top + b_{ih}$ and ``hx`` $= h_{t-1}$. Returns $h_t$, all its
    backward needs ($\tanh' = 1 - h_t^2$)."""
    a = input_proj + hx @ w_hh.T
    if b_hh is not None:
        a += b_hh
    return np.tanh(a)


def rnn_tanh_cell_backward(grad_h, h, w_hh):
    r"""Given $\partial C/\partial h_t$: $\delta_t = \partial C/\partial h_t \odot (1 - h_t^2)$,
    the gradient of both halves of $a_t$, and $\partial C/\partial h_{t-1} = \delta_t W_{hh}$.
    Returns ``(delta, grad_hx)``."""
    delta = grad_h * (1 - h * h)
    return delta, delta @ w_hh


def rnn_relu_cell(input_proj, hx, w_hh, b_hh=None):
    r"""As :func:`rnn_tanh_cell` with $h_t = \max(a_t, 0)$. Returns $h_t$ ($[h_t > 0]$ is the derivative)."""
    a = input_proj + hx @ w_hh.T
    if b_hh is not None:
        a += b_hh
    return np.maximum(a, 0)


def rnn_relu_cell_backward(grad_h, h, w_hh):
    r"""$\delta_t = \partial C/\partial h_t \odot [h_t > 0]$ and $\partial C/\partial h_{t-1} =
    \delta_t W_{hh}$. Returns ``(delta, grad_hx)``."""
    delta = grad_h * (h > 0)
    return delta, delta @ w_hh


def gru_cell(input_proj, hx, w_hh, b_hh=None):
    r"""One GRU step, gates in PyTorch's order $r, z, n$ (``input_proj`` holds the input halves
    of all three, ``hx`` $= h_{t-1}$):

    $$\begin{aligned}
    r_t &= \sigma(x_t W_{ir}^\top + b_{ir} + h_{t-1} W_{hr}^\top + b_{hr}) \\
    z_t &= \sigma(x_t W_{iz}^\top + b_{iz} + h_{t-1} W_{hz}^\top + b_{hz}) \\
    n_t &= \tanh\big(x_t W_{in}^\top + b_{in} + r_t \odot (h_{t-1} W_{hn}^\top + b_{hn})\big) \\
    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
    \end{aligned}$$

    Returns ``(h, (r, z, n, hn))``: $h_t$, and the gates and $h_{t-1} W_{hn}^\top + b_{hn}$ that
    ``gru_cell_backward`` needs (with $h_{t-1}$).
    """
    H = hx.shape[-1]
    h_proj = hx @ w_hh.T  # (N, 3H): the recurrent halves of r, z and n
    if b_hh is not None:
        h_proj += b_hh
    r = stable.sigmoid(input_proj[:, :H] + h_proj[:, :H])
    z = stable.sigmoid(input_proj[:, H:2 * H] + h_proj[:, H:2 * H])
    hn = h_proj[:, 2 * H:]
    n = np.tanh(input_proj[:, 2 * H:] + r * hn)
    h = (1 - z) * n + z * hx
    return h, (r, z, n, hn)


def gru_cell_backward(grad_h, hx, r, z, n, hn, w_hh):
    r"""The derivative of the gate equations, given $dh = \partial C/\partial h_t$:

    $$\begin{aligned}
    dn &= dh \odot (1 - z), & dz &= dh \odot (h_{t-1} - n), \\
    da_n &= dn \odot (1 - n^2), & dr &= da_n \odot (h_{t-1} W_{hn}^\top + b_{hn}), \\
    da_r &= dr \odot r (1 - r), & da_z &= dz \odot z (1 - z),
    \end{aligned}$$

    so the input halves get $(da_r, da_z, da_n)$ and the recurrent halves
    $(da_r, da_z, r \odot da_n)$, and
    $\partial C/\partial h_{t-1} = dh \odot z + (da_r, da_z, r \odot da_n) W_{hh}$.
    Returns ``(grad_input_proj, grad_hidden_proj, grad_hx)``.
    """
    dn = grad_h * (1 - z)
    dz = grad_h * (hx - n)
    da_n = dn * (1 - n * n)
    dr = da_n * hn
    da_r = dr * r * (1 - r)
    da_z = dz * z * (1 - z)
    d_ih = np.concatenate([da_r, da_z, da_n], axis=1)
    d_hh = np.concatenate([da_r, da_z, r * da_n], axis=1)
    return d_ih, d_hh, grad_h * z + d_hh @ w_hh


def lstm_cell(input_proj, hx, cx, w_hh, b_hh=None):
    r"""One LSTM step, gates in PyTorch's order $i, f, g, o$ (``hx``, ``cx`` $= h_{t-1}, c_{t-1}$):

    $$\begin{aligned}
    (a_i, a_f, a_g, a_o) &= x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh} \\
    i_t = \sigma(a_i),\; f_t &= \sigma(a_f),\; g_t = \tanh(a_g),\; o_t = \sigma(a_o) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    h_t &= o_t \odot \tanh(c_t)
    \end{aligned}$$

    Returns ``(h, c, (i, f, g, o, tanh_c))``: the new states, and the gates and $\tanh(c_t)$
    that ``lstm_cell_backward`` needs (with $c_{t-1}$).
    """
    H = cx.shape[-1]  # c's width (h_{t-1} is narrower when the LSTM projects it)
    a = input_proj + hx @ w_hh.T
    if b_hh is not None:
        a += b_hh
    i = stable.sigmoid(a[:, :H])
    f = stable.sigmoid(a[:, H:2 * H])
    g = np.tanh(a[:, 2 * H:3 * H])
    o = stable.sigmoid(a[:, 3 * H:])
    c = f * cx + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, (i, f, g, o, tanh_c)


def lstm_cell_backward(grad_h, grad_c, cx, i, f, g, o, tanh_c, w_hh):
    r"""The derivative of the gate equations, given $dh = \partial C/\partial h_t$ and
    $dc = \partial C/\partial c_t$ from step $t+1$:

    $$\begin{aligned}
    do &= dh \odot \tanh(c_t), & dc_t &= dc + dh \odot o \odot (1 - \tanh^2 c_t), \\
    di &= dc_t \odot g, & dg &= dc_t \odot i, \quad df = dc_t \odot c_{t-1}, \\
    \partial C/\partial c_{t-1} &= dc_t \odot f, &
    \delta &= \big(di\, i(1-i),\; df\, f(1-f),\; dg\,(1-g^2),\; do\, o(1-o)\big),
    \end{aligned}$$

    and $\partial C/\partial h_{t-1} = \delta W_{hh}$; $\delta$ is the gradient of both
    halves of the pre-activation. Returns ``(delta, grad_hx, grad_cx)``.
    """
    do = grad_h * tanh_c
    dc = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
    di = dc * g
    dg = dc * i
    df = dc * cx
    delta = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
    return delta, delta @ w_hh, dc * f


def lstm_projection(m, w_hr):
    r"""An LSTM with ``proj_size`` $P$: the cell's $m_t = o_t \odot \tanh(c_t)$ (``(N, H)``, what
    :func:`lstm_cell` returns as its ``h``) projected to the hidden state $h_t = m_t W_{hr}^\top$
    (``(N, P)``), which is the step's output and feeds step $t+1$."""
    return m @ w_hr.T


def lstm_projection_backward(grad_h, w_hr):
    r"""Given $\delta h_t = \partial C/\partial h_t$ (from the output at $t$ and from step $t+1$):
    $\delta m_t = \delta h_t W_{hr}$, which goes into :func:`lstm_cell_backward` where
    $\partial C/\partial h_t$ goes without a projection. The weight's gradient
    $\partial C/\partial W_{hr} = \sum_t \delta h_t^\top m_t$ is the layer's, one product over
    all steps after the loop (as those of $W_{ih}$ and $W_{hh}$)."""
    return grad_h @ w_hr


class _RNNBase(Module):
    """What RNN, GRU and LSTM share: parameters, layouts, layers and directions, dropout
    between layers, and the loops over time. A subclass gives its number of gates and its
    step: ``_step`` (forward) and ``_step_backward`` (the derivative of the step's equations)."""

    _gates = 1  # rows of weight_ih per hidden unit: 1 (RNN), 3 (GRU: r, z, n), 4 (LSTM: i, f, g, o)
    _states = 1  # arrays carried from step to step: h, or (h, c) for the LSTM

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 dtype=None, rng=None, proj_size: int = 0):
        super().__init__()
        name = type(self).__name__
        self.input_size = checks.recurrent_size(input_size, name, "input_size")
        self.hidden_size = checks.recurrent_size(hidden_size, name, "hidden_size")
        self.num_layers = checks.recurrent_size(num_layers, name, "num_layers")
        self.proj_size = checks.proj_size(proj_size, name, self.hidden_size)  # only LSTM passes one
        self.bias = checks.flag(bias, name, "bias")
        self.batch_first = checks.flag(batch_first, name, "batch_first")
        self.bidirectional = checks.flag(bidirectional, name, "bidirectional")
        self.dropout = checks.in_range(dropout, name, "dropout", low=0, high=1, type_error=ValueError,
                                       words="a probability in [0, 1] (of zeroing an element)")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name} dropout={dropout} has no effect with num_layers=1: dropout is applied "
                          f"after every layer but the last (as in PyTorch)", UserWarning, stacklevel=3)
        self.rng = rng  # also the generator of the dropout masks (default: the package's)
        dtype = check_float_dtype(dtype, name)
        directions = self.num_directions
        rows = self._gates * self.hidden_size
        # PyTorch's names and order: for each layer, for each direction: w_ih, w_hh, b_ih, b_hh
        # (and w_hr, the LSTM's projection). h is proj_size wide when projected: W_hh and the
        # next layer's W_ih read it.
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self._h_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                setattr(self, f"weight_ih{suffix}", Parameter(np.empty((rows, layer_input), dtype=dtype)))
                setattr(self, f"weight_hh{suffix}", Parameter(np.empty((rows, self._h_size), dtype=dtype)))
                if self.bias:
                    setattr(self, f"bias_ih{suffix}", Parameter(np.empty(rows, dtype=dtype)))
                    setattr(self, f"bias_hh{suffix}", Parameter(np.empty(rows, dtype=dtype)))
                if self.proj_size:
                    setattr(self, f"weight_hr{suffix}",
                            Parameter(np.empty((self.proj_size, self.hidden_size), dtype=dtype)))
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's init: every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)),
        drawn in ``parameters()`` order."""
        rng = resolve_rng(rng=rng, owner=type(self).__name__)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            param.data[...] = rng.uniform(-bound, bound, param.shape)

    def _cell_params(self, layer: int, direction: int):
        """(weight_ih, weight_hh, bias_ih, bias_hh, weight_hr) of one layer and direction (the biases
        may be None; weight_hr is None but for an LSTM with a projection)."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        return tuple(getattr(self, f"{kind}{suffix}", None)
                     for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))

    @property
    def num_directions(self) -> int:
        """2 for a bidirectional layer, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def _h_size(self) -> int:
        """Features of $h$: ``proj_size`` for an LSTM with a projection, else ``hidden_size``."""
        return self.proj_size or self.hidden_size

    @property
    def _state_sizes(self) -> tuple:
        """Features of each state carried over time: $h$, and the LSTM's $c$ (always ``hidden_size``)."""
        return (self._h_size, self.hidden_size)[:self._states]

    # -- forward --------------------------------------------------------------------
    def _forward(self, x, states):
        """Both public forwards: ``states`` is a tuple of ``_states`` initial-state arrays (or
        ``None``s). Returns the output and the final states in the caller's layout."""
        x = checks.recurrent_input(self, x)
        batched = x.ndim == 3
        if not batched:
            x = x[:, None, :]  # (L, H_in) -> (L, 1, H_in)
        elif self.batch_first:
            x = x.transpose(1, 0, 2)  # (N, L, H_in) -> (L, N, H_in): time first, for the loop
        batch = x.shape[1]
        names = ("h0", "c0") if self._states == 2 else ("hx",)  # the argument's name (LSTM's hx is the pair)
        given = states[0] is not None
        directions = self.num_directions
        if given:
            size_names = ("proj_size" if self.proj_size else "hidden_size", "hidden_size")
            states = tuple(checks.recurrent_hidden(self, s, n, batched, batch, size, size_name)
                           for s, n, size, size_name in zip(states, names, self._state_sizes, size_names))
        else:
            states = tuple(np.zeros((self.num_layers * directions, batch, size), dtype=x.dtype)
                           for size in self._state_sizes)
        finals, caches, masks = [], [], []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                initial = tuple(s[index] for s in states)
                seq = layer_input[::-1] if direction == 1 else layer_input  # reverse: run on x_L ... x_1
                out, final, cache = self._run(seq, initial, self._cell_params(layer, direction))
                outputs.append(out[::-1] if direction == 1 else out)  # ... and put y back in time order
                finals.append(final)
                caches.append(cache)
            layer_output = np.concatenate(outputs, axis=2) if directions == 2 else outputs[0]
            mask = None
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                # Dropout between layers, as nn.Dropout: kept elements scaled by 1/(1-p).
                rng = resolve_rng(rng=self.rng, owner=type(self).__name__)
                mask = dropout_mask(layer_output.shape, self.dropout, rng, x.dtype)
                layer_output = layer_output * mask
            masks.append(mask)
            layer_input = layer_output
        # Everything backward needs: each direction's per-step cache, the dropout masks, the layout.
        self.save_for_backward(caches, masks, batched, given)
        output = layer_input
        if not batched:
            output = output[:, 0, :]
        elif self.batch_first:
            output = output.transpose(1, 0, 2)
        final_states = tuple(np.stack([f[k] for f in finals]) for k in range(self._states))
        if not batched:
            final_states = tuple(s[:, 0, :] for s in final_states)
        return np.ascontiguousarray(output), final_states

    def _run(self, x, initial, params):
        r"""One layer, one direction, over time: $x$ is ``(L, N, H_in)``. The input half of every
        step's pre-activation, $x_t W_{ih}^\top + b_{ih}$, is one product over all steps. An LSTM
        with a projection turns each step's $m_t = o_t \odot \tanh(c_t)$ into
        $h_t = m_t W_{hr}^\top$ (:func:`lstm_projection`); without one the step is absent."""
        weight_ih, weight_hh, bias_ih, bias_hh, weight_hr = params
        length, batch = x.shape[:2]
        # (L N, H_in) rows, one GEMM: a 3-D x @ W_ih^T would be L products of N rows each
        x_proj = (x.reshape(length * batch, -1) @ weight_ih.data.T).reshape(length, batch, -1)  # (L, N, gates * H)
        if bias_ih is not None:
            x_proj += bias_ih.data
        b_hh = None if bias_hh is None else bias_hh.data
        out = np.empty((length, batch, self._h_size), dtype=x.dtype)
        # every m_t, for dC/dW_hr = sum_t dh_t^T m_t
        m = None if weight_hr is None else np.empty((length, batch, self.hidden_size), dtype=x.dtype)
        state, steps = initial, []
        for t in range(length):  # the recurrence: step t needs step t-1's state
            state, step_cache = self._step(x_proj[t], state, weight_hh.data, b_hh)
            if weight_hr is not None:  # the cell's h is m_t; the state carried on is h_t = m_t W_hr^T
                m[t] = state[0]
                state = (lstm_projection(state[0], weight_hr.data),) + state[1:]
            out[t] = state[0]
            steps.append(step_cache)
        h_prev = np.concatenate([initial[0][None], out[:-1]])  # h_{t-1} for every t: dW_hh needs them
        return out, state, (x, h_prev, steps, m)

    # -- backward -------------------------------------------------------------------
    def _backward(self, grad_output, grad_finals):
        caches, masks, batched, given = self.saved_tensors
        name = type(self).__name__
        dtype = self.weight_ih_l0.dtype
        directions = self.num_directions
        length, batch = caches[-1][0].shape[:2]
        width = self._h_size  # of each direction's output
        out_shape = (length, batch, directions * width)
        public = out_shape if batched else (length, out_shape[2])
        if batched and self.batch_first:
            public = (batch, length, out_shape[2])
        if grad_output is None:
            grad = np.zeros(out_shape, dtype=dtype)
        else:
            grad = checks.grad_of_shape(grad_output, f"{name}.backward", "grad_output", public, dtype,
                                        note=" (the output's)")
            grad = grad[:, None, :] if not batched else grad.transpose(1, 0, 2) if self.batch_first else grad
        state_shapes = [(self.num_layers * directions, batch, size) for size in self._state_sizes]
        grad_states = []
        for (what, g), shape in zip(grad_finals, state_shapes):
            if g is None:
                g = np.zeros(shape, dtype=dtype)
            else:
                public_state = shape if batched else (shape[0], shape[2])
                g = checks.grad_of_shape(g, f"{name}.backward", what, public_state, dtype)
                g = g if batched else g[:, None, :]
            grad_states.append(g)
        grad_initial = [np.empty(shape, dtype=dtype) for shape in state_shapes]
        for layer in reversed(range(self.num_layers)):
            if masks[layer] is not None:
                grad = grad * masks[layer]  # back through the dropout between layers
            # The first layer's input is data when needs_input_grad is False (see Module):
            # its dC/dx product is skipped and backward returns None in its place.
            need_dx = layer > 0 or self.needs_input_grad
            grad_input = 0.0
            for direction in range(directions):
                index = layer * directions + direction
                grad_out = grad[..., direction * width:(direction + 1) * width]
                if direction == 1:
                    grad_out = grad_out[::-1]  # the reverse cell saw time reversed
                grad_final = tuple(g[index] for g in grad_states)
                dx, d_initial = self._run_backward(grad_out, grad_final, caches[index],
                                                   self._cell_params(layer, direction), need_dx)
                if need_dx:
                    grad_input = grad_input + (dx[::-1] if direction == 1 else dx)
                for k in range(self._states):
                    grad_initial[k][index] = d_initial[k]
            grad = grad_input
        if self.needs_input_grad:
            dx = grad[:, 0, :] if not batched else grad.transpose(1, 0, 2) if self.batch_first else grad
            dx = np.ascontiguousarray(dx)
        else:
            dx = None
        if not batched:
            grad_initial = [g[:, 0, :] for g in grad_initial]
        return dx, grad_initial, given

    def _run_backward(self, grad_out, grad_final, cache, params, need_dx=True):
        r"""Backpropagation through time for one layer and direction.

        ``grad_out`` is $\partial C/\partial y_t$ for every $t$ ``(L, N, H)``, ``grad_final`` the
        gradient of the final state(s). Walking $t = L, \dots, 1$, the gradient of $h_t$ is
        ``grad_out[t]`` plus what step $t+1$ sent back; the step's backward turns it into the
        gradients of the step's pre-activations (kept in ``d_ih`` and ``d_hh``) and of the
        previous state. Then, summed over all steps in one product each:
        $\partial C/\partial W_{ih} = \sum_t \delta^{ih}_t{}^\top x_t$,
        $\partial C/\partial W_{hh} = \sum_t \delta^{hh}_t{}^\top h_{t-1}$, the biases the sums of
        the $\delta$s, and $\partial C/\partial x_t = \delta^{ih}_t W_{ih}$.

        An LSTM with a projection ($h_t = m_t W_{hr}^\top$) keeps every $\delta h_t$ on the way:
        the step's backward gets $\delta m_t = \delta h_t W_{hr}$
        (:func:`lstm_projection_backward`), and after the loop
        $\partial C/\partial W_{hr} = \sum_t \delta h_t^\top m_t$, one product too."""
        weight_ih, weight_hh, bias_ih, bias_hh, weight_hr = params
        x, h_prev, steps, m = cache
        length, batch = x.shape[:2]
        rows = self._gates * self.hidden_size
        d_ih = np.empty((length, batch, rows), dtype=x.dtype)  # dC/d(x_t W_ih^T + b_ih)
        d_hh = np.empty_like(d_ih)                              # dC/d(h_{t-1} W_hh^T + b_hh)
        # every dC/dh_t, for dC/dW_hr = sum_t dh_t^T m_t
        d_h = None if weight_hr is None else np.empty((length, batch, self.proj_size), dtype=x.dtype)
        grad_state = grad_final
        for t in reversed(range(length)):  # backpropagation through time
            grad_state = (grad_state[0] + grad_out[t],) + grad_state[1:]  # dC/dh_t: output and step t+1
            if weight_hr is not None:  # back through h_t = m_t W_hr^T: the cell gets dC/dm_t
                d_h[t] = grad_state[0]
                grad_state = (lstm_projection_backward(grad_state[0], weight_hr.data),) + grad_state[1:]
            d_ih[t], d_hh[t], grad_state = self._step_backward(grad_state, steps[t], weight_hh.data)
        flat_ih, flat_hh = d_ih.reshape(-1, rows), d_hh.reshape(-1, rows)
        if weight_ih.requires_grad:
            accumulate_grad(weight_ih, flat_ih.T @ x.reshape(-1, x.shape[2]))  # sum_t d_ih_t^T x_t
        if weight_hh.requires_grad:
            accumulate_grad(weight_hh, flat_hh.T @ h_prev.reshape(-1, self._h_size))  # sum_t d_hh_t^T h_{t-1}
        if weight_hr is not None and weight_hr.requires_grad:
            flat_h, flat_m = d_h.reshape(-1, self.proj_size), m.reshape(-1, self.hidden_size)
            accumulate_grad(weight_hr, flat_h.T @ flat_m)  # sum_t dh_t^T m_t
        if bias_ih is not None and bias_ih.requires_grad:
            accumulate_grad(bias_ih, flat_ih.sum(axis=0))
        if bias_hh is not None and bias_hh.requires_grad:
            accumulate_grad(bias_hh, flat_hh.sum(axis=0))
        dx = (flat_ih @ weight_ih.data).reshape(length, batch, -1) if need_dx else None  # dC/dx_t = d_ih_t W_ih
        return dx, grad_state  # and dC/d(initial state)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(_RNNBase):
    r"""Elman recurrent network, as ``torch.nn.RNN``: at each step

    $$h_t = \tanh\big(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}\big)$$

    (or ReLU with ``nonlinearity='relu'``).

    Args:
        input_size: features of each input step, $H_{in}$.
        hidden_size: features of the hidden state, $H$.
        num_layers: recurrent layers stacked, each reading the previous one's output sequence.
        bias: if ``False``, no ``bias_ih``/``bias_hh``.
        batch_first: input and output ``(N, L, ·)`` instead of ``(L, N, ·)`` (hidden states keep
            ``(layers, N, H)``).
        dropout: probability of zeroing each output element of every layer but the last, in
            training mode (as ``nn.Dropout``, from ``rng`` or the package's generator).
        bidirectional: also run each layer over the reversed sequence; outputs ``2 H`` wide.
        dtype: ``np.float32`` or ``np.float64``; default ``chainrule.get_default_dtype()``.
        rng: ``numpy.random.Generator`` for the initial values (and the dropout masks);
            default the package's generator.
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.

    Shape:
        input ``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``) or ``(L, H_in)``;
        ``hx`` ($h_0$) ``(num_layers * num_directions, N, H)`` (or without ``N``). Output
        ``(L, N, num_directions * H)``, ``h_n`` like ``hx``.

    Attributes:
        weight_ih_l{k}: ``(H, H_in)`` for layer 0, ``(H, num_directions * H)`` above.
        weight_hh_l{k}: ``(H, H)``.
        bias_ih_l{k}: ``(H,)``; likewise bias_hh_l{k}, and ``..._reverse`` for the reverse
            direction. All from $\mathcal U(-1/\sqrt H, 1/\sqrt H)$.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, dtype=None, rng=None):
        checks.choice(nonlinearity, "RNN", "nonlinearity", ("tanh", "relu"))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, rng=rng)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        """Returns ``(output, h_n)``: every step's last-layer hidden state, and each layer's
        and direction's final one. ``hx`` is the initial state $h_0$ (``None``: zeros)."""
        output, (h_n,) = self._forward(input, (hx,))
        return output, h_n

    def backward(self, grad_output, grad_h_n=None):
        """Backpropagation through time. ``grad_output`` ($\\partial C/\\partial$ output, or
        ``None`` if only ``h_n`` was used) and ``grad_h_n`` (``None``: zeros). Returns ``dx``,
        or ``(dx, dh0)`` if ``forward`` was given ``hx``; ``dx`` is ``None`` when
        ``needs_input_grad`` is ``False`` (see :class:`Module`)."""
        dx, (dh0,), given = self._backward(grad_output, [("grad_h_n", grad_h_n)])
        return (dx, dh0) if given else dx

    def _step(self, x_proj, state, w_hh, b_hh):
        """One step of :func:`rnn_tanh_cell` (or :func:`rnn_relu_cell`); keeps $h_t$."""
        cell = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        h = cell(x_proj, state[0], w_hh, b_hh)
        return (h,), h

    def _step_backward(self, grad_state, h, w_hh):
        """:func:`rnn_tanh_cell_backward` (or the ReLU one); $\\delta_t$ is the gradient of both halves."""
        cell_backward = rnn_tanh_cell_backward if self.nonlinearity == "tanh" else rnn_relu_cell_backward
        delta, grad_hx = cell_backward(grad_state[0], h, w_hh)
        return delta, delta, (grad_hx,)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class GRU(_RNNBase):
    r"""Gated recurrent unit, as ``torch.nn.GRU``; gates in PyTorch's order $r, z, n$:

    $$\begin{aligned}
    r_t &= \sigma(x_t W_{ir}^\top + b_{ir} + h_{t-1} W_{hr}^\top + b_{hr}) \\
    z_t &= \sigma(x_t W_{iz}^\top + b_{iz} + h_{t-1} W_{hz}^\top + b_{hz}) \\
    n_t &= \tanh\big(x_t W_{in}^\top + b_{in} + r_t \odot (h_{t-1} W_{hn}^\top + b_{hn})\big) \\
    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
    \end{aligned}$$

    The arguments are :class:`RNN`'s, all but ``nonlinearity`` (written once there).

    Shape: as ``RNN``.

    Attributes:
        weight_ih_l{k}: ``(3H, H_in)``, $W_{ir} | W_{iz} | W_{in}$ stacked; ``weight_hh_l{k}``
            ``(3H, H)``, biases ``(3H,)``; all from $\mathcal U(-1/\sqrt H, 1/\sqrt H)$.
    """

    _gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 dtype=None, rng=None):
        # Written out so that ``proj_size`` (the LSTM's alone, as in PyTorch) is not accepted.
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, rng=rng)

    def forward(self, input, hx=None):
        """Returns ``(output, h_n)``, as ``RNN``."""
        output, (h_n,) = self._forward(input, (hx,))
        return output, h_n

    def backward(self, grad_output, grad_h_n=None):
        """Backpropagation through time; returns ``dx``, or ``(dx, dh0)`` if ``forward`` was given ``hx``."""
        dx, (dh0,), given = self._backward(grad_output, [("grad_h_n", grad_h_n)])
        return (dx, dh0) if given else dx

    def _step(self, x_proj, state, w_hh, b_hh):
        """One step of :func:`gru_cell`; keeps the gates, $h_{t-1} W_{hn}^T + b_{hn}$ and $h_{t-1}$."""
        (h_prev,) = state
        h, (r, z, n, hn) = gru_cell(x_proj, h_prev, w_hh, b_hh)
        return (h,), (r, z, n, hn, h_prev)

    def _step_backward(self, grad_state, step_cache, w_hh):
        """:func:`gru_cell_backward`."""
        r, z, n, hn, h_prev = step_cache
        d_ih, d_hh, grad_hx = gru_cell_backward(grad_state[0], h_prev, r, z, n, hn, w_hh)
        return d_ih, d_hh, (grad_hx,)


class LSTM(_RNNBase):
    r"""Long short-term memory, as ``torch.nn.LSTM``; gates in PyTorch's order $i, f, g, o$:

    $$\begin{aligned}
    (a_i, a_f, a_g, a_o) &= x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh} \\
    i_t = \sigma(a_i),\; f_t &= \sigma(a_f),\; g_t = \tanh(a_g),\; o_t = \sigma(a_o) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    h_t &= o_t \odot \tanh(c_t)
    \end{aligned}$$

    With ``proj_size`` $P > 0$ the hidden state is projected, as ``torch.nn.LSTM(...,
    proj_size=P)``: the last line becomes

    $$m_t = o_t \odot \tanh(c_t), \qquad h_t = m_t W_{hr}^\top,$$

    so $h_t$ (the output, and what $W_{hh}$ reads at step $t+1$) has $P$ features; $c_t$ keeps $H$.

    ``forward(input, (h0, c0))`` returns ``(output, (h_n, c_n))``. The arguments are :class:`RNN`'s,
    all but ``nonlinearity`` (written once there), and

    Args:
        proj_size: features of the projected hidden state, ``0 < proj_size < hidden_size``;
            ``0`` (default): no projection, $h_t = o_t \odot \tanh(c_t)$.

    Shape: as ``RNN``, with $P$ in place of $H$ for ``h0``, ``h_n`` and the output
    (``(L, N, num_directions * P)``) when ``proj_size > 0``; ``c0`` and ``c_n``
    ``(num_layers * num_directions, N, H)``.

    Attributes:
        weight_ih_l{k}: ``(4H, H_in)``, $W_{ii} | W_{if} | W_{ig} | W_{io}$ stacked (above layer 0
            ``(4H, num_directions * P)`` with a projection); ``weight_hh_l{k}`` ``(4H, H)``
            (``(4H, P)``), biases ``(4H,)``; ``weight_hr_l{k}`` ``(P, H)``, only with a projection.
            All from $\mathcal U(-1/\sqrt H, 1/\sqrt H)$.
    """

    _gates = 4
    _states = 2

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, *, dtype=None, rng=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, rng=rng, proj_size=proj_size)

    def forward(self, input, hx=None):
        """Returns ``(output, (h_n, c_n))``. ``hx`` is ``None`` (zeros) or a pair ``(h0, c0)``."""
        output, (h_n, c_n) = self._forward(input, checks.lstm_state(hx, "LSTM"))
        return output, (h_n, c_n)

    def backward(self, grad_output, grad_h_n=None, grad_c_n=None):
        """Backpropagation through time; returns ``dx``, or ``(dx, (dh0, dc0))`` if ``forward``
        was given ``(h0, c0)``."""
        dx, (dh0, dc0), given = self._backward(grad_output, [("grad_h_n", grad_h_n), ("grad_c_n", grad_c_n)])
        return (dx, (dh0, dc0)) if given else dx

    def _step(self, x_proj, state, w_hh, b_hh):
        """One step of :func:`lstm_cell`; keeps the gates, $c_{t-1}$ and $\\tanh(c_t)$."""
        h_prev, c_prev = state
        h, c, (i, f, g, o, tanh_c) = lstm_cell(x_proj, h_prev, c_prev, w_hh, b_hh)
        return (h, c), (i, f, g, o, c_prev, tanh_c)

    def _step_backward(self, grad_state, step_cache, w_hh):
        """:func:`lstm_cell_backward`."""
        i, f, g, o, c_prev, tanh_c = step_cache
        delta, grad_hx, grad_cx = lstm_cell_backward(grad_state[0], grad_state[1], c_prev, i, f, g, o, tanh_c, w_hh)
        return delta, delta, (grad_hx, grad_cx)
