"""Part 7, recurrent layers: one cell applied at every step, backpropagation through time.

The start files are one layer in one direction. forward returns ``(output, h_n)`` (LSTM:
``(output, (h_n, c_n))``) and backward is given the gradient of each of them; it returns
``dx`` after ``forward(x)``, ``(dx, dh0)`` after ``forward(x, h0)`` (LSTM: ``(dx, (dh0, dc0))``).
"""

from __future__ import annotations

import numpy as np

from ... import nn
from .._exercise import Case, exercise, mistake
from .shared import Accumulates

_DOCS = "docs/modules/recurrent.md"

mistake("final_state_grad_ignored",
        "The gradient of the final state (grad_h_n, and grad_c_n for an LSTM) was dropped: h_n is an output "
        "of its own, so what the cost sends into it joins dC/dh_L (dC/dc_L) at the last step.", _DOCS)
mistake("bptt_without_recurrent_term",
        "The gradient of h_t kept only what the output at step t sends: h_t is also used by step t+1, so "
        "dC/dh_t = grad_output[t] + delta_{t+1} W_hh, summed before the step's own derivative.",
        f"{_DOCS}#the-recursion-for-partial-cpartial-h_t-1")
mistake("w_hh_grad_uses_h_t",
        "The recurrent weight's gradient paired delta_t with h_t: step t multiplies W_hh by the previous "
        "state, so dC/dW_hh = sum_t delta_t^T h_{t-1} (h_0 at the first step).", _DOCS)
mistake("gru_reset_outside_bias",
        "The reset gate was differentiated as r * (h W_hn^T) + b_hn: in PyTorch's GRU it multiplies the "
        "recurrent half with its bias, r * (h W_hn^T + b_hn), so dC/dr uses that sum and b_hn gets r * da_n.",
        f"{_DOCS}#gru")
mistake("gru_update_gate_swapped",
        "The update gate's roles were swapped: h_t = (1 - z) n + z h_{t-1}, so n gets dh (1 - z), the "
        "direct path to h_{t-1} gets dh z, and dz = dh (h_{t-1} - n).", f"{_DOCS}#gru")
mistake("gru_direct_path_missing",
        "dC/dh_{t-1} missed the direct path: h_t = (1 - z) n + z h_{t-1} uses h_{t-1} itself as well as "
        "through the gates, so dC/dh_{t-1} = dh z + (da_r, da_z, r da_n) W_hh.", f"{_DOCS}#gru")
mistake("lstm_cell_state_path_missing",
        "dC/dc_t dropped what the next step sends back: c_t is used by step t+1 (c_{t+1} = f c_t + i g), "
        "so dC/dc_t = f_{t+1} dC/dc_{t+1} + dh o tanh'(c_t), the path that carries gradients far back.",
        f"{_DOCS}#lstm")
mistake("lstm_tanh_prime_missing",
        "tanh'(c_t) is missing on the path from h_t to c_t: h_t = o tanh(c_t), so that path gives "
        "dh o (1 - tanh(c_t)^2), not dh o.", f"{_DOCS}#lstm")


def _inputs(x_shape, *states):
    """``Case.inputs``: x of ``x_shape`` and, if given, initial states of ``states[0]`` (for the
    LSTM, ``states[1] = 2``: a pair ``(h0, c0)``)."""
    def make(rng):
        x = rng.standard_normal(x_shape)
        if not states:
            return (x,)
        shape, *pair = states
        if pair:
            return (x, (rng.standard_normal(shape), rng.standard_normal(shape)))
        return (x, rng.standard_normal(shape))
    return make


def _torch(kind):
    """PyTorch's module of ``kind``, float64, run on the case's parameters (autograd reaches them)."""
    def run(torch, p, b, kw, train, x, *state):
        module = getattr(torch.nn, kind)(**kw, dtype=torch.float64)
        return torch.func.functional_call(module, p, (x, *state))
    return run


class _Layout:
    """The layout handling every recurrent solution shares."""

    def _time_first(self, grad, batched):
        """A gradient shaped like the output (or h_n), as the (L, N, H) forward computed in."""
        if not batched:
            return grad[:, None, :]
        return grad.transpose(1, 0, 2) if self.batch_first else grad

    def _final(self, grad, batched, shape):
        """dC/d(final state) as (N, H); zeros for None (or when the mistake drops it)."""
        if grad is None or self.mistake == "final_state_grad_ignored":
            return np.zeros(shape)
        return (grad if batched else grad[:, None, :])[0]

    def _returned(self, dx, d_initial, given, batched):
        """dx in x's layout, and the initial states' gradients in theirs."""
        d_initial = tuple(d[None] if batched else d for d in d_initial)  # (1, N, H), or (1, H) unbatched
        if not batched:
            dx = dx[:, 0, :]
        elif self.batch_first:
            dx = dx.transpose(1, 0, 2)
        if not given:
            return dx
        return (dx, d_initial[0]) if len(d_initial) == 1 else (dx, d_initial)

    def _give_weights(self, d_ih, d_hh, x, h_prev, d_bias_hh=None):
        """Every weight is used at every step: its gradient sums over all of them."""
        rows = d_ih.shape[-1]
        flat_ih, flat_hh = d_ih.reshape(-1, rows), d_hh.reshape(-1, rows)
        self.give(self.weight_ih_l0, flat_ih.T @ x.reshape(-1, x.shape[-1]))
        self.give(self.weight_hh_l0, flat_hh.T @ h_prev.reshape(-1, h_prev.shape[-1]))
        if self.bias:
            self.give(self.bias_ih_l0, flat_ih.sum(axis=0))
            d_bias_hh = flat_hh if d_bias_hh is None else d_bias_hh.reshape(-1, rows)
            self.give(self.bias_hh_l0, d_bias_hh.sum(axis=0))


_LAYOUT = '''
            # x: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in); one layer, one direction
            batched = x.ndim == 3
            if not batched:
                x = x[:, None, :]         # (L, 1, H_in): a batch of one
            elif self.batch_first:
                x = x.transpose(1, 0, 2)  # (L, N, H_in): time first, for the loop over steps
            length, batch, _ = x.shape
            H = self.hidden_size'''

_RETURN = '''
            output = hs[1:]                         # (L, N, H): h_1 ... h_L'''

_TASK_WEIGHTS = '''

    Add into .grad with nn.accumulate_grad, each summed over every step (one weight, used at
    every step): dC/dW_ih into self.weight_ih_l0 ({rows}, H_in), dC/dW_hh into
    self.weight_hh_l0 ({rows}, H) and, with self.bias, dC/db_ih and dC/db_hh into
    self.bias_ih_l0 and self.bias_hh_l0 ({rows},). Skip a frozen parameter (requires_grad=False).'''


# -- rnn ----------------------------------------------------------------------------------------
class RNNSolution(_Layout, Accumulates):
    def backward(self, grad_output, grad_h_n=None):
        x, hs, given, batched = self.saved_tensors
        wrong = self.mistake
        length, batch, _ = x.shape
        g = self._time_first(grad_output, batched)
        back = self._final(grad_h_n, batched, (batch, self.hidden_size))  # what reaches h_L besides y_L
        w_hh = self.weight_hh_l0.data
        deltas = np.empty((length, batch, self.hidden_size))
        for t in reversed(range(length)):
            dh = g[t] + back                        # dC/dh_t: the output at t, and step t+1
            h = hs[t + 1]
            if self.nonlinearity == "relu":
                deltas[t] = dh * (h > 0)
            elif wrong == "sigma_prime_of_activation":
                deltas[t] = dh * (1 - np.tanh(h) ** 2)
            else:
                deltas[t] = dh * (1 - h * h)
            back = deltas[t] @ w_hh                 # to h_{t-1}
            if wrong == "bptt_without_recurrent_term" and t > 0:
                back = np.zeros_like(back)
        h_prev = hs[1:] if wrong == "w_hh_grad_uses_h_t" else hs[:-1]
        self._give_weights(deltas, deltas, x, h_prev)
        return self._returned(deltas @ self.weight_ih_l0.data, (back,), given, batched)


exercise(
    name="rnn",
    builtin=nn.RNN,
    docs=_DOCS,
    stub='''
    class RNN(nn.RNN):
        """h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (ReLU with nonlinearity='relu'),
        t = 1 ... L, from h_0 = h0 (zeros if None). One layer, one direction (num_layers=1)."""

        exercise = "rnn"

        def forward(self, x, h0=None):''' + _LAYOUT + '''
            # h0: (1, N, H), or (1, H) unbatched; None: zeros
            h = np.zeros((batch, H), dtype=x.dtype) if h0 is None else (h0 if batched else h0[:, None, :])[0]
            w_ih, w_hh = self.weight_ih_l0.data, self.weight_hh_l0.data  # (H, H_in), (H, H)
            hs = [h]                                # h_0, h_1, ..., h_L
            for t in range(length):                 # the recurrence: step t needs h_{t-1}
                a = x[t] @ w_ih.T + h @ w_hh.T      # (N, H)
                if self.bias:
                    a = a + self.bias_ih_l0.data + self.bias_hh_l0.data
                h = np.tanh(a) if self.nonlinearity == "tanh" else np.maximum(a, 0)
                hs.append(h)
            hs = np.stack(hs)                       # (L + 1, N, H)
            # backward needs every h_t (tanh' = 1 - h_t^2, ReLU's mask h_t > 0, and h_{t-1} for
            # dW_hh), the time-first x (for dW_ih), whether h0 was given (then dh0 is returned
            # too) and the layout, to hand dx and dh0 back in it
            self.save_for_backward(x, hs, h0 is not None, batched)''' + _RETURN + '''
            h_n = hs[-1:]                           # (1, N, H)
            if not batched:
                return output[:, 0, :], h_n[:, 0, :]  # (L, H), (1, H)
            if self.batch_first:
                output = output.transpose(1, 0, 2)  # (N, L, H)
            return output, h_n
    ''',
    signature="grad_output, grad_h_n=None",
    task='''
    grad_output is dC/d output, shaped like the output; grad_h_n is dC/dh_n, shaped like h_n
    (None: zeros). Both reach h_L; every other h_t also feeds step t+1.

    Return dC/dx, shaped like x, after forward(x); the pair (dC/dx, dC/dh0) after
    forward(x, h0), dC/dh0 shaped like h0.''' + _TASK_WEIGHTS.format(rows="H"),
    todo="RNN.backward is yours to write: backpropagation through time, from step L back to step 1; "
         "accumulate the weight gradients summed over steps, return dC/dx (and dC/dh0 if h0 was given)",
    hint="Walk the steps backwards. The gradient reaching h_t has two sources, and it must be complete "
         "before the step's own derivative is applied. A weight used at every step gets the sum of its "
         "gradients at every step: which state does W_hh multiply at step t?",
    cases=(
        Case(_inputs((3, 2, 3), (1, 2, 3)), kwargs={"input_size": 3, "hidden_size": 3}, grad_args=(0, 1)),
        Case(_inputs((4, 1, 2)), kwargs={"input_size": 2, "hidden_size": 3}),
        Case(_inputs((2, 3, 3), (1, 2, 2)), kwargs={"input_size": 3, "hidden_size": 2, "batch_first": True},
             grad_args=(0, 1)),
        Case(_inputs((3, 2, 3), (1, 2, 3)), kwargs={"input_size": 3, "hidden_size": 3, "bias": False},
             grad_args=(0, 1)),
        Case(_inputs((3, 2, 2), (1, 2, 3)), kwargs={"input_size": 2, "hidden_size": 3, "nonlinearity": "relu"},
             grad_args=(0, 1)),
        Case(_inputs((3, 2), (1, 3)), kwargs={"input_size": 2, "hidden_size": 3}, grad_args=(0, 1)),
        Case(_inputs((3, 2, 2)), kwargs={"input_size": 2, "hidden_size": 2}, frozen=("weight_hh_l0",)),
    ),
    solution=RNNSolution,
    mistakes=("bptt_without_recurrent_term", "w_hh_grad_uses_h_t", "sigma_prime_of_activation",
              "final_state_grad_ignored", "grad_assigned", "frozen_parameter_updated"),
    torch=_torch("RNN"),
    outputs=("output", "h_n"),
)


# -- gru ----------------------------------------------------------------------------------------
class GRUSolution(_Layout, Accumulates):
    def backward(self, grad_output, grad_h_n=None):
        x, hs, r, z, n, hn, given, batched = self.saved_tensors
        wrong = self.mistake
        length, batch, _ = x.shape
        H = self.hidden_size
        g = self._time_first(grad_output, batched)
        back = self._final(grad_h_n, batched, (batch, H))
        w_hh = self.weight_hh_l0.data
        d_ih = np.empty((length, batch, 3 * H))  # dC/d(x_t W_ih^T + b_ih), gates r, z, n
        d_hh = np.empty_like(d_ih)                # dC/d(h_{t-1} W_hh^T + b_hh)
        d_bias_hh = np.empty_like(d_ih)
        for t in reversed(range(length)):
            dh, h_prev = g[t] + back, hs[t]
            if wrong == "gru_update_gate_swapped":   # as if h_t = z n + (1 - z) h_{t-1}
                dn, dz, direct = dh * z[t], dh * (n[t] - h_prev), dh * (1 - z[t])
            else:
                dn, dz, direct = dh * (1 - z[t]), dh * (h_prev - n[t]), dh * z[t]
            da_n = dn * (1 - n[t] ** 2)
            outside = wrong == "gru_reset_outside_bias" and self.bias
            recurrent_n = hn[t] - self.bias_hh_l0.data[2 * H:] if outside else hn[t]
            da_r = da_n * recurrent_n * r[t] * (1 - r[t])
            da_z = dz * z[t] * (1 - z[t])
            d_ih[t] = np.concatenate([da_r, da_z, da_n], axis=1)
            d_hh[t] = np.concatenate([da_r, da_z, r[t] * da_n], axis=1)
            d_bias_hh[t] = np.concatenate([da_r, da_z, da_n], axis=1) if outside else d_hh[t]
            back = d_hh[t] @ w_hh
            if wrong != "gru_direct_path_missing":
                back = back + direct
        self._give_weights(d_ih, d_hh, x, hs[:-1], d_bias_hh)
        return self._returned(d_ih @ self.weight_ih_l0.data, (back,), given, batched)


exercise(
    name="gru",
    builtin=nn.GRU,
    docs=_DOCS,
    stub='''
    class GRU(nn.GRU):
        """PyTorch's GRU, gates r, z, n (rows of weight_ih_l0 and weight_hh_l0 in that order):
        r = sigma(x W_ir^T + b_ir + h W_hr^T + b_hr), z = sigma(x W_iz^T + b_iz + h W_hz^T + b_hz),
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.
        One layer, one direction (num_layers=1)."""

        exercise = "gru"

        def forward(self, x, h0=None):''' + _LAYOUT + '''
            # h0: (1, N, H), or (1, H) unbatched; None: zeros
            h = np.zeros((batch, H), dtype=x.dtype) if h0 is None else (h0 if batched else h0[:, None, :])[0]
            w_ih, w_hh = self.weight_ih_l0.data, self.weight_hh_l0.data  # (3H, H_in), (3H, H)
            hs, gates = [h], []
            for t in range(length):
                gi = x[t] @ w_ih.T                  # (N, 3H): the input halves of r, z, n
                gh = h @ w_hh.T                     # (N, 3H): the recurrent halves
                if self.bias:
                    gi = gi + self.bias_ih_l0.data
                    gh = gh + self.bias_hh_l0.data
                r = 1 / (1 + np.exp(-(gi[:, :H] + gh[:, :H])))
                z = 1 / (1 + np.exp(-(gi[:, H:2 * H] + gh[:, H:2 * H])))
                hn = gh[:, 2 * H:]                  # h_{t-1} W_hn^T + b_hn: r multiplies it, bias and all
                n = np.tanh(gi[:, 2 * H:] + r * hn)
                h = (1 - z) * n + z * h
                hs.append(h)
                gates.append((r, z, n, hn))
            hs = np.stack(hs)                       # (L + 1, N, H): h_0 ... h_L
            r, z, n, hn = (np.stack(k) for k in zip(*gates))  # each (L, N, H)
            # backward needs x (time first), every h_{t-1}, the gates and the recurrent half of n,
            # whether h0 was given (then dh0 is returned too) and the layout
            self.save_for_backward(x, hs, r, z, n, hn, h0 is not None, batched)''' + _RETURN + '''
            h_n = hs[-1:]                           # (1, N, H)
            if not batched:
                return output[:, 0, :], h_n[:, 0, :]  # (L, H), (1, H)
            if self.batch_first:
                output = output.transpose(1, 0, 2)  # (N, L, H)
            return output, h_n
    ''',
    signature="grad_output, grad_h_n=None",
    task='''
    grad_output is dC/d output, shaped like the output; grad_h_n is dC/dh_n, shaped like h_n
    (None: zeros). Both reach h_L; every other h_t also feeds step t+1.

    Return dC/dx, shaped like x, after forward(x); the pair (dC/dx, dC/dh0) after
    forward(x, h0), dC/dh0 shaped like h0.''' + _TASK_WEIGHTS.format(rows="3H"),
    todo="GRU.backward is yours to write: backpropagation through time through the gates r, z, n; "
         "accumulate the weight gradients summed over steps, return dC/dx (and dC/dh0 if h0 was given)",
    hint="Differentiate the last line, h_t = (1 - z) n + z h_{t-1}, first, then each gate through its own "
         "nonlinearity. Count the ways h_{t-1} enters step t, and look at exactly what r multiplies: the input "
         "and recurrent halves of n's pre-activation do not get the same gradient.",
    cases=(
        Case(_inputs((3, 2, 2), (1, 2, 2)), kwargs={"input_size": 2, "hidden_size": 2}, grad_args=(0, 1)),
        Case(_inputs((3, 2, 3)), kwargs={"input_size": 3, "hidden_size": 2}),
        Case(_inputs((2, 3, 2), (1, 2, 3)), kwargs={"input_size": 2, "hidden_size": 3, "batch_first": True},
             grad_args=(0, 1)),
        Case(_inputs((3, 2, 2), (1, 2, 2)), kwargs={"input_size": 2, "hidden_size": 2, "bias": False},
             grad_args=(0, 1)),
        Case(_inputs((3, 2), (1, 2)), kwargs={"input_size": 2, "hidden_size": 2}, grad_args=(0, 1)),
    ),
    solution=GRUSolution,
    mistakes=("gru_reset_outside_bias", "gru_update_gate_swapped", "gru_direct_path_missing",
              "final_state_grad_ignored", "grad_assigned"),
    torch=_torch("GRU"),
    outputs=("output", "h_n"),
)


# -- lstm ---------------------------------------------------------------------------------------
class LSTMSolution(_Layout, Accumulates):
    def backward(self, grad_output, grad_h_n=None, grad_c_n=None):
        x, hs, cs, gates, given, batched = self.saved_tensors
        wrong = self.mistake
        length, batch, _ = x.shape
        H = self.hidden_size
        g = self._time_first(grad_output, batched)
        back_h = self._final(grad_h_n, batched, (batch, H))
        back_c = self._final(grad_c_n, batched, (batch, H))
        w_hh = self.weight_hh_l0.data
        deltas = np.empty((length, batch, 4 * H))  # dC/d(pre-activations), gates i, f, g, o
        for t in reversed(range(length)):
            dh = g[t] + back_h
            i, f, gg, o = (gates[t][:, k * H:(k + 1) * H] for k in range(4))
            tanh_c = np.tanh(cs[t + 1])
            through_h = dh * o if wrong == "lstm_tanh_prime_missing" else dh * o * (1 - tanh_c ** 2)
            if wrong == "lstm_cell_state_path_missing" and t < length - 1:
                back_c = np.zeros_like(back_c)
            dc = back_c + through_h                 # dC/dc_t: from step t+1, and through h_t
            do = dh * tanh_c
            di, dg, df = dc * gg, dc * i, dc * cs[t]
            deltas[t] = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - gg ** 2), do * o * (1 - o)],
                                       axis=1)
            back_h, back_c = deltas[t] @ w_hh, dc * f
        self._give_weights(deltas, deltas, x, hs[:-1])
        return self._returned(deltas @ self.weight_ih_l0.data, (back_h, back_c), given, batched)


exercise(
    name="lstm",
    builtin=nn.LSTM,
    docs=_DOCS,
    stub='''
    class LSTM(nn.LSTM):
        """PyTorch's LSTM, gates i, f, g, o (rows of weight_ih_l0 and weight_hh_l0 in that order):
        (a_i, a_f, a_g, a_o) = x W_ih^T + b_ih + h W_hh^T + b_hh, i, f, o = sigma(a_i, a_f, a_o),
        g = tanh(a_g), c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t). One layer, one direction."""

        exercise = "lstm"

        def forward(self, x, hx=None):''' + _LAYOUT + '''
            # hx: None (zeros), or the pair (h0, c0), each (1, N, H), or (1, H) unbatched
            if hx is None:
                h = c = np.zeros((batch, H), dtype=x.dtype)
            else:
                h, c = ((s if batched else s[:, None, :])[0] for s in hx)  # (N, H) each
            w_ih, w_hh = self.weight_ih_l0.data, self.weight_hh_l0.data  # (4H, H_in), (4H, H)
            hs, cs, gates = [h], [c], []
            for t in range(length):
                a = x[t] @ w_ih.T + h @ w_hh.T      # (N, 4H)
                if self.bias:
                    a = a + self.bias_ih_l0.data + self.bias_hh_l0.data
                i = 1 / (1 + np.exp(-a[:, :H]))
                f = 1 / (1 + np.exp(-a[:, H:2 * H]))
                g = np.tanh(a[:, 2 * H:3 * H])
                o = 1 / (1 + np.exp(-a[:, 3 * H:]))
                c = f * c + i * g
                h = o * np.tanh(c)
                hs.append(h)
                cs.append(c)
                gates.append(np.concatenate([i, f, g, o], axis=1))
            hs, cs, gates = np.stack(hs), np.stack(cs), np.stack(gates)  # (L + 1, N, H) twice, (L, N, 4H)
            # backward needs x (time first), every h_{t-1}, every c_t (and c_{t-1}), the gates,
            # whether hx was given (then (dh0, dc0) is returned too) and the layout
            self.save_for_backward(x, hs, cs, gates, hx is not None, batched)''' + _RETURN + '''
            h_n, c_n = hs[-1:], cs[-1:]             # (1, N, H) each
            if not batched:
                return output[:, 0, :], (h_n[:, 0, :], c_n[:, 0, :])  # (L, H), ((1, H), (1, H))
            if self.batch_first:
                output = output.transpose(1, 0, 2)  # (N, L, H)
            return output, (h_n, c_n)
    ''',
    signature="grad_output, grad_h_n=None, grad_c_n=None",
    task='''
    grad_output is dC/d output, shaped like the output; grad_h_n and grad_c_n are dC/dh_n and
    dC/dc_n, shaped like h_n and c_n (None: zeros). Every h_t and c_t but the last also feeds
    step t+1.

    Return dC/dx, shaped like x, after forward(x); (dC/dx, (dC/dh0, dC/dc0)) after
    forward(x, (h0, c0)), each shaped like h0.''' + _TASK_WEIGHTS.format(rows="4H"),
    todo="LSTM.backward is yours to write: backpropagation through time with two states, h and c; "
         "accumulate the weight gradients summed over steps, return dC/dx (and (dC/dh0, dC/dc0) if hx was given)",
    hint="Two gradients come back from step t+1, one for h_{t} and one for c_t. c_t reaches the cost along "
         "two paths; add both before going into the gates, and differentiate h_t = o tanh(c_t) all the way.",
    cases=(
        Case(_inputs((3, 2, 2), (1, 2, 2), 2), kwargs={"input_size": 2, "hidden_size": 2}, grad_args=(0, 1)),
        Case(_inputs((3, 2, 3)), kwargs={"input_size": 3, "hidden_size": 2}),
        Case(_inputs((2, 3, 2), (1, 2, 3), 2), kwargs={"input_size": 2, "hidden_size": 3, "batch_first": True},
             grad_args=(0, 1)),
        Case(_inputs((3, 2, 2), (1, 2, 2), 2), kwargs={"input_size": 2, "hidden_size": 2, "bias": False},
             grad_args=(0, 1)),
        Case(_inputs((3, 2), (1, 2), 2), kwargs={"input_size": 2, "hidden_size": 2}, grad_args=(0, 1)),
    ),
    solution=LSTMSolution,
    mistakes=("lstm_cell_state_path_missing", "lstm_tanh_prime_missing", "final_state_grad_ignored",
              "grad_assigned"),
    torch=_torch("LSTM"),
    outputs=("output", ("h_n", "c_n")),
    parts={"hx": ("h0", "c0")},
)
