"""examples/gpt.py against the same GPT built in PyTorch from the same weights (the state dict
moves across: SelfAttention's parameters have torch.nn.MultiheadAttention's names): logits,
loss and every parameter gradient in float64, tied and untied, and the loss trajectory of 50
steps of AdamW + gradient clipping + the warm-up/cosine schedule on the same batches."""

import runpy
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

torch = pytest.importorskip("torch", reason="torch is not installed")
tnn = torch.nn

if not hasattr(nn, "SelfAttention"):
    pytest.skip("nn.SelfAttention is not in chainrule yet (the GPT's blocks need it)", allow_module_level=True)

gpt = runpy.run_path(str(Path(__file__).resolve().parent.parent.parent / "examples" / "gpt.py"))


class TorchBlock(tnn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln1 = tnn.LayerNorm(n_embd, dtype=torch.float64)
        self.attn = tnn.MultiheadAttention(n_embd, n_head, batch_first=True, dtype=torch.float64)
        self.ln2 = tnn.LayerNorm(n_embd, dtype=torch.float64)
        self.mlp = tnn.Sequential(tnn.Linear(n_embd, 4 * n_embd, dtype=torch.float64), tnn.GELU(),
                                  tnn.Linear(4 * n_embd, n_embd, dtype=torch.float64))

    def forward(self, x):
        T = x.shape[1]
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True: may not attend
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln2(x))


class TorchGPT(tnn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, tie_weights):
        super().__init__()
        self.tok_emb = tnn.Embedding(vocab_size, n_embd, dtype=torch.float64)
        self.pos_emb = tnn.Embedding(block_size, n_embd, dtype=torch.float64)
        self.blocks = tnn.ModuleList([TorchBlock(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = tnn.LayerNorm(n_embd, dtype=torch.float64)
        self.head = tnn.Linear(n_embd, vocab_size, bias=False, dtype=torch.float64)
        if tie_weights:
            self.head.weight = self.tok_emb.weight

    def forward(self, idx):
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


SIZES = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)


def pair(tie_weights, seed=0):
    ours = gpt["GPT"](**SIZES, tie_weights=tie_weights, dtype=np.float64, rng=np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 100)
    for p in ours.parameters():  # away from the init's zero biases and unit LayerNorm weights
        p.data += 0.1 * rng.standard_normal(p.shape)
    theirs = TorchGPT(**SIZES, tie_weights=tie_weights)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def flat_loss(loss_fn, logits, targets):
    return loss_fn(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@pytest.mark.parametrize("tie_weights", [True, False], ids=["tied", "untied"])
def test_logits_loss_and_every_gradient_match_torch(tie_weights):
    ours, theirs = pair(tie_weights)
    rng = np.random.default_rng(1)
    idx, targets = rng.integers(0, 11, size=(3, 8)), rng.integers(0, 11, size=(3, 8))
    loss_fn = nn.CrossEntropyLoss()
    logits = ours(idx)
    loss = flat_loss(loss_fn, logits, targets)
    ours.backward(loss_fn.backward().reshape(logits.shape))

    logits_t = theirs(torch.from_numpy(idx))
    loss_t = flat_loss(tnn.functional.cross_entropy, logits_t, torch.from_numpy(targets))
    loss_t.backward()

    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert loss == pytest.approx(loss_t.item(), rel=1e-10)
    named_theirs = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(named_theirs)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, named_theirs[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_adamw_clipping_schedule_trajectory_matches_torch_for_50_steps():
    ours, theirs = pair(tie_weights=True, seed=2)
    steps, warmup, lr = 50, 5, 3e-3
    decay, no_decay = gpt["param_groups"](ours, 0.1)
    opt = optim.AdamW([decay, no_decay], lr=lr, betas=(0.9, 0.99))
    sched = optim.lr_scheduler.LambdaLR(opt, gpt["lr_lambda"](warmup, steps))
    # torch's groups: the same parameters, found by name.
    names = {id(p): name for name, p in ours.named_parameters()}
    named_theirs = dict(theirs.named_parameters())
    groups_t = [{"params": [named_theirs[names[id(p)]] for p in group["params"]],
                 "weight_decay": group["weight_decay"]} for group in (decay, no_decay)]
    opt_t = torch.optim.AdamW(groups_t, lr=lr, betas=(0.9, 0.99))
    sched_t = torch.optim.lr_scheduler.LambdaLR(opt_t, gpt["lr_lambda"](warmup, steps))

    text, _ = gpt["load_text"]()
    chars = gpt["CharData"](text[:3000])
    rng = np.random.default_rng(3)
    loss_fn = nn.CrossEntropyLoss()
    losses, losses_t = [], []
    for _ in range(steps):
        xb, yb = chars.batch(chars.train, 4, 8, rng)
        xb, yb = xb % 11, yb % 11  # the tiny model's vocabulary
        logits = ours(xb)
        losses.append(flat_loss(loss_fn, logits, yb))
        opt.zero_grad()
        ours.backward(loss_fn.backward().reshape(logits.shape))
        nn.utils.clip_grad_norm_(ours.parameters(), 1.0)
        opt.step()
        sched.step()

        opt_t.zero_grad()
        loss_t = flat_loss(tnn.functional.cross_entropy, theirs(torch.from_numpy(xb)), torch.from_numpy(yb))
        loss_t.backward()
        tnn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
        opt_t.step()
        sched_t.step()
        losses_t.append(loss_t.item())
    np.testing.assert_allclose(losses, losses_t, rtol=1e-8)
    assert losses[-1] < losses[0]
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.data, named_theirs[name].detach().numpy(), rtol=1e-6, atol=1e-8, err_msg=name)
