# nanoGPT's model.py ported to chainrule (docs/porting.md).

# --8<-- [start:imports]
import math
from dataclasses import dataclass

import numpy as np
import chainrule.nn as nn
from chainrule.nn import functional as F
# --8<-- [end:imports]


# --8<-- [start:attention]
class CausalSelfAttention(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = np.split(self.c_attn(x), 3, axis=2)
        k = k.reshape(B, T, self.n_head, C // self.n_head).swapaxes(1, 2)  # (B, nh, T, hs)
        q = q.reshape(B, T, self.n_head, C // self.n_head).swapaxes(1, 2)
        v = v.reshape(B, T, self.n_head, C // self.n_head).swapaxes(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        self.save_for_backward(q, k, v)
        y = y.swapaxes(1, 2).reshape(B, T, C)
        y = self.resid_dropout(self.c_proj(y))
        return y

    def backward(self, grad):
        q, k, v = self.saved_tensors
        B, nh, T, hs = q.shape
        grad = self.c_proj.backward(self.resid_dropout.backward(grad))
        grad = grad.reshape(B, T, nh, hs).swapaxes(1, 2)
        dq, dk, dv = F.scaled_dot_product_attention_backward(grad, q, k, v, is_causal=True)
        merge = lambda g: g.swapaxes(1, 2).reshape(B, T, nh * hs)  # the views, undone
        grad = np.concatenate([merge(dq), merge(dk), merge(dv)], axis=2)
        return self.c_attn.backward(grad)
# --8<-- [end:attention]


# --8<-- [start:block]
class MLP(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        x = self.c_fc(x)
        x = self.gelu(x)
        x = self.c_proj(x)
        x = self.dropout(x)
        return x

    def backward(self, grad):
        grad = self.dropout.backward(grad)
        grad = self.c_proj.backward(grad)
        grad = self.gelu.backward(grad)
        return self.c_fc.backward(grad)


class Block(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x

    def backward(self, grad):  # residuals: the two paths' gradients add
        grad = grad + self.ln_2.backward(self.mlp.backward(grad))
        grad = grad + self.ln_1.backward(self.attn.backward(grad))
        return grad
# --8<-- [end:block]


# --8<-- [start:gpt]
@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 50304
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True


class GPT(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte = nn.Embedding(config.vocab_size, config.n_embd),
            wpe = nn.Embedding(config.block_size, config.n_embd),
            drop = nn.Dropout(config.dropout),
            h = nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f = nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # one Parameter, two uses
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets):
        b, t = idx.shape
        pos = np.arange(0, t)  # shape (t)
        tok_emb = self.transformer.wte(idx)  # token embeddings of shape (b, t, n_embd)
        pos_emb = self.transformer.wpe(pos)  # position embeddings of shape (t, n_embd)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)
        self.save_for_backward(F.softmax(logits, dim=-1), targets)
        return logits, loss

    def backward(self):  # loss.backward(): from the loss down to the embeddings
        probs, targets = self.saved_tensors
        V = probs.shape[-1]
        grad = F.cross_entropy_backward(1.0, probs.reshape(-1, V), targets.reshape(-1),
                                        ignore_index=-1)
        grad = self.lm_head.backward(grad.reshape(probs.shape))  # into the tied .grad
        grad = self.transformer.ln_f.backward(grad)
        for block in reversed(self.transformer.h):
            grad = block.backward(grad)
        grad = self.transformer.drop.backward(grad)
        self.transformer.wpe.backward(grad.sum(axis=0))  # summed over the batch
        self.transformer.wte.backward(grad)  # adds to the tied .grad
# --8<-- [end:gpt]
