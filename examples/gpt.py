"""A small GPT, trained character by character on Python's own standard library, with chainrule.

The model is GPT-2's layout in miniature: token and position embeddings, pre-LayerNorm blocks
(causal multi-head self-attention and a GELU MLP, each inside a residual connection), a final
LayerNorm and a linear read-out whose weight is, by default, the token embedding itself
(weight tying). Every backward is chainrule's hand-written one; ``Block.backward`` and
``GPT.backward`` below compose them by hand.

The text: the concatenation of the standard-library modules named in ``TEXT_FILES`` (sorted),
read from ``os.path.dirname(os.__file__)``, so every machine with Python has it (about 0.8 MB
for Python 3.11; the exact bytes depend on the Python version). The first 90% of the characters
are the training text, the last 10% the validation text.

The recipe: AdamW (lr 3e-3, betas (0.9, 0.99), weight decay 0.1 on the weight matrices of the
Linear layers and of the attention only - not on biases, LayerNorm or the embeddings, which
with tying includes the read-out), gradient norm clipped to 1.0, the learning rate warmed up
linearly and then decayed on a cosine to a tenth, random windows of the training text as
batches.

Run:  python examples/gpt.py  [--steps 1200] [--quick] [--no-tie] [--seed 0]
                              [--plot gpt.png] [--save-results PATH] [--no-progress]
"""

import argparse
import math
import os
import sys
import time

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import progress_bar

import cli  # examples/cli.py: the command line the examples share

# Standard-library modules whose source is the text (paths relative to the stdlib directory).
TEXT_FILES = sorted([
    "abc.py", "argparse.py", "bisect.py", "calendar.py", "collections/__init__.py", "contextlib.py",
    "copy.py", "dataclasses.py", "enum.py", "fractions.py", "functools.py", "heapq.py",
    "inspect.py", "random.py", "shutil.py", "string.py", "textwrap.py", "typing.py",
])

# The default model and recipe: 1200 steps took 561 s on two cores shared with other jobs (the
# quiet stretches ran at 3.5-4.8 steps per second, about 5 minutes for the whole run).
DEFAULTS = dict(block_size=64, n_layer=4, n_head=4, n_embd=128, batch_size=32, steps=1200,
                lr=3e-3, warmup=100, weight_decay=0.1, eval_every=100, eval_batches=8)
# --quick: a few seconds, for the tests.
QUICK = dict(block_size=32, n_layer=1, n_head=2, n_embd=32, batch_size=16, steps=60,
             lr=3e-3, warmup=10, weight_decay=0.1, eval_every=20, eval_batches=4)


# --------------------------------------------------------------------------- the model


class Block(nn.Module):
    """One transformer block, pre-LayerNorm:

        x = x + attn(ln1(x))
        x = x + mlp(ln2(x)),   mlp = Linear(E, 4E) -> GELU -> Linear(4E, E)

    Shape: (N, T, E) -> (N, T, E).
    """

    def __init__(self, n_embd, n_head, *, dtype=None, rng=None):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd, dtype=dtype)
        self.attn = nn.SelfAttention(n_embd, n_head, causal=True, dtype=dtype, rng=rng)
        self.ln2 = nn.LayerNorm(n_embd, dtype=dtype)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd, dtype=dtype, rng=rng), nn.GELU(),
                                 nn.Linear(4 * n_embd, n_embd, dtype=dtype, rng=rng))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))  # the residual: x reaches the sum by two paths
        x = x + self.mlp(self.ln2(x))
        return x

    def backward(self, grad_output):
        # The forward's two residual steps in reverse. y = x + f(x) gives
        # dC/dx = dC/dy + f'(x)^T dC/dy: the identity path passes the gradient on unchanged and
        # the gradient through the branch adds to it.
        grad = grad_output + self.ln2.backward(self.mlp.backward(grad_output))
        grad = grad + self.ln1.backward(self.attn.backward(grad))
        return grad


class GPT(nn.Module):
    """A decoder-only transformer on token indices.

        x = tok_emb(idx) + pos_emb(0..T-1);  x = block(x) for each block;  logits = head(ln_f(x))

    With ``tie_weights`` the read-out ``head.weight`` IS ``tok_emb.weight`` (one Parameter,
    shape (vocab_size, n_embd)): its gradient is the sum of the gradients of its two uses,
    which both backwards accumulate into the one ``.grad``.

    Shape: integer indices (N, T), T <= block_size -> logits (N, T, vocab_size).
    """

    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, tie_weights=True, *,
                 dtype=None, rng=None):
        super().__init__()
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, n_embd, dtype=dtype, rng=rng)
        self.pos_emb = nn.Embedding(block_size, n_embd, dtype=dtype, rng=rng)
        self.blocks = nn.ModuleList([Block(n_embd, n_head, dtype=dtype, rng=rng) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, dtype=dtype)
        self.head = nn.Linear(n_embd, vocab_size, bias=False, dtype=dtype, rng=rng)
        # GPT-2's init for the tables: N(0, 0.02^2) instead of Embedding's N(0, 1), so that the
        # tied read-out starts with small logits (a loss near ln(vocab_size)).
        for table in (self.tok_emb, self.pos_emb):
            nn.init.normal_(table.weight, std=0.02, rng=rng)
        if tie_weights:
            self.head.weight = self.tok_emb.weight  # the same Parameter object, not a copy

    def forward(self, idx):
        idx = np.asarray(idx)
        if idx.ndim != 2 or not 1 <= idx.shape[1] <= self.block_size:
            raise ValueError(f"GPT expected indices of shape (N, T) with 1 <= T <= {self.block_size} "
                             f"(block_size), got shape {idx.shape}")
        x = self.tok_emb(idx) + self.pos_emb(np.arange(idx.shape[1]))  # (N, T, E) + (T, E)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def backward(self, grad_output):
        grad = self.ln_f.backward(self.head.backward(grad_output))
        for block in reversed(self.blocks):
            grad = block.backward(grad)
        # The position embedding was broadcast over the batch: its rows get the sum over samples.
        self.pos_emb.backward(grad.sum(axis=0))
        self.tok_emb.backward(grad)
        return None  # the indices are integers: no gradient


def param_groups(model, weight_decay):
    """AdamW's two groups. The rule: a 2-D weight of a Linear layer or of the attention is
    decayed; biases, LayerNorm's weight and bias and the embeddings (with tying, the read-out
    too, as it is the token embedding) are not."""
    embeddings = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    decay, no_decay = [], []
    for _, p in model.named_parameters():  # a tied Parameter appears once
        (decay if p.ndim == 2 and id(p) not in embeddings else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_lambda(warmup, steps, min_ratio=0.1):
    """The factor on the learning rate at step s: linear warm-up over ``warmup`` steps, then a
    cosine from 1 down to ``min_ratio`` at step ``steps``."""
    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, steps - warmup))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return factor


# --------------------------------------------------------------------------- the data


def load_text():
    """The standard-library files of ``TEXT_FILES`` that exist here, concatenated."""
    root = os.path.dirname(os.__file__)
    found = [name for name in TEXT_FILES if os.path.exists(os.path.join(root, name))]
    parts = []
    for name in found:
        with open(os.path.join(root, name), encoding="utf-8") as f:
            parts.append(f.read())
    return "\n".join(parts), found


class CharData:
    """Characters <-> indices, the 90/10 split and random training windows."""

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        ids = np.array([self.stoi[c] for c in text], dtype=np.int64)
        n_train = int(0.9 * len(ids))
        self.train, self.val = ids[:n_train], ids[n_train:]

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, s):
        return np.array([self.stoi[c] for c in s], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)

    @staticmethod
    def batch(ids, batch_size, block_size, rng):
        """``batch_size`` windows at random offsets: inputs (N, T) and next characters (N, T)."""
        starts = rng.integers(0, len(ids) - block_size - 1, size=batch_size)
        rows = starts[:, None] + np.arange(block_size)
        return ids[rows], ids[rows + 1]

    def unigram_baseline(self):
        """Cross-entropy (nats per character) of the validation text under the training text's
        character frequencies (add-one smoothed): what a model that ignores context reaches."""
        counts = np.bincount(self.train, minlength=self.vocab_size) + 1.0
        log_p = np.log(counts / counts.sum())
        return float(-log_p[self.val].mean())


# --------------------------------------------------------------------------- training


def evaluate(model, ids, batch_size, block_size, batches, seed):
    """Mean cross-entropy (nats per character) over ``batches`` fixed random windows of ``ids``."""
    rng = np.random.default_rng(seed)  # the same windows at every evaluation
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    with cr.no_grad():  # no backward follows
        for _ in range(batches):
            xb, yb = CharData.batch(ids, batch_size, block_size, rng)
            logits = model(xb)
            losses.append(loss_fn(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1)))
    return float(np.mean(losses))


def train(model, chars, cfg, seed=0, progress=True):
    """AdamW + clipping + warm-up/cosine on random windows; returns the loss curves."""
    optimizer = optim.AdamW(param_groups(model, cfg["weight_decay"]), lr=cfg["lr"], betas=(0.9, 0.99))
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg["warmup"], cfg["steps"]))
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed + 1)  # the batches
    curves = {"step": [], "train_loss": [], "eval_step": [], "val_loss": [], "eval_train_loss": []}
    bar = progress_bar(range(cfg["steps"]), desc="GPT", enabled=progress)
    for step in bar:
        xb, yb = CharData.batch(chars.train, cfg["batch_size"], cfg["block_size"], rng)
        logits = model(xb)                                          # (N, T, V)
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1))
        optimizer.zero_grad()
        model.backward(loss_fn.backward().reshape(logits.shape))   # dC/dlogits, back to (N, T, V)
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        curves["step"].append(step + 1)
        curves["train_loss"].append(loss)
        if (step + 1) % cfg["eval_every"] == 0 or step + 1 == cfg["steps"]:
            val = evaluate(model, chars.val, cfg["batch_size"], cfg["block_size"], cfg["eval_batches"], seed + 2)
            tr = evaluate(model, chars.train, cfg["batch_size"], cfg["block_size"], cfg["eval_batches"], seed + 3)
            curves["eval_step"].append(step + 1)
            curves["val_loss"].append(val)
            curves["eval_train_loss"].append(tr)
            bar.set_postfix(train=f"{tr:.3f}", val=f"{val:.3f}")
    return curves


@cr.no_grad()  # generation runs forwards only
def sample(model, chars, prompt, length, temperature=0.8, seed=0):
    """Extend ``prompt`` by ``length`` characters, each drawn from softmax(logits / temperature)
    of the last position, the context cropped to the last ``block_size`` characters."""
    rng = np.random.default_rng(seed)
    ids = list(chars.encode(prompt))
    for _ in range(length):
        context = np.array(ids[-model.block_size:], dtype=np.int64)[None, :]
        logits = model(context)[0, -1].astype(np.float64) / temperature
        p = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return chars.decode(ids)


# --------------------------------------------------------------------------- the script


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int,
                        help=f"training steps (default: {DEFAULTS['steps']}, or {QUICK['steps']} with --quick)")
    parser.add_argument("--quick", action="store_true", help="a tiny model and 60 steps (seconds) (default: off)")
    parser.add_argument("--no-tie", action="store_true",
                        help="a separate read-out weight (default: off, the read-out is tied to the embedding)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the weights, batches and sample (default: %(default)s)")
    parser.add_argument("--sample-length", type=int, default=500,
                        help="characters to generate (default: %(default)s)")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (default: %(default)s)")
    cli.add_output_options(parser, "gpt", "the loss curves")
    parser.add_argument("--save-results", metavar="PATH",
                        help="also write the printed summary to PATH (default: off)")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    if not args.temperature > 0:
        parser.error(f"--temperature must be > 0, got {args.temperature}")
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = dict(QUICK if args.quick else DEFAULTS)
    if args.steps is not None:
        cfg["steps"] = args.steps
    cfg["warmup"] = min(cfg["warmup"], max(1, cfg["steps"] // 10))

    text, files = load_text()
    chars = CharData(text)
    baseline = chars.unigram_baseline()
    model = GPT(chars.vocab_size, cfg["block_size"], cfg["n_layer"], cfg["n_head"], cfg["n_embd"],
                tie_weights=not args.no_tie, rng=np.random.default_rng(args.seed))
    n_params = sum(p.numel() for p in model.parameters())

    started = time.perf_counter()
    curves = train(model, chars, cfg, seed=args.seed, progress=not args.no_progress)
    seconds = time.perf_counter() - started
    text_sample = sample(model, chars, "def ", args.sample_length, args.temperature, seed=args.seed)

    lines = [
        f"Text: {len(text):,} characters of Python {sys.version_info.major}.{sys.version_info.minor}'s "
        f"standard library ({len(files)} files: {', '.join(files)}),",
        f"  vocabulary {chars.vocab_size} characters; train {len(chars.train):,} / validation {len(chars.val):,}.",
        f"Model: {cfg['n_layer']} blocks, {cfg['n_head']} heads, n_embd {cfg['n_embd']}, context {cfg['block_size']}, "
        f"{'tied' if not args.no_tie else 'untied'} read-out, {n_params:,} parameters (float32).",
        f"Recipe: {cfg['steps']} steps of batch {cfg['batch_size']} x {cfg['block_size']}; AdamW lr {cfg['lr']:g}, "
        f"betas (0.9, 0.99), weight decay {cfg['weight_decay']:g} on matrices; clip 1.0; warm-up {cfg['warmup']}, "
        f"cosine to 0.1; seed {args.seed}.",
        f"Uniform baseline  ln({chars.vocab_size}) = {math.log(chars.vocab_size):.3f} nats/char",
        f"Unigram baseline  (validation under training frequencies) = {baseline:.3f} nats/char",
        "",
        "  step   train loss   val loss",
    ]
    lines += [f"{s:6d}   {tr:10.3f}   {v:8.3f}"
              for s, tr, v in zip(curves["eval_step"], curves["eval_train_loss"], curves["val_loss"])]
    lines += [
        "",
        f"Final validation loss {curves['val_loss'][-1]:.3f} nats/char "
        f"(unigram {baseline:.3f}); trained in {seconds:.0f} s.",
        f"Sample (prompt 'def ', temperature {args.temperature:g}, seed {args.seed}):",
        "",
        text_sample,
    ]
    print("\n".join(lines))
    if args.save_results:
        header = [f"# python examples/gpt.py {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip(),
                  f"# numpy {np.__version__}, Python {sys.version.split()[0]}", ""]
        with open(args.save_results, "w", encoding="utf-8") as f:
            f.write("\n".join(header + lines) + "\n")
        print(f"wrote {args.save_results}")
    if args.plot:
        plot(curves, baseline, args.plot)
        print(f"wrote {args.plot}")
    return {"model": model, "chars": chars, "curves": curves, "baseline": baseline, "sample": text_sample,
            "seconds": seconds}


def plot(curves, baseline, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(curves["step"], curves["train_loss"], lw=0.6, alpha=0.5, label="training batch")
    ax.plot(curves["eval_step"], curves["eval_train_loss"], "o-", label="training text")
    ax.plot(curves["eval_step"], curves["val_loss"], "o-", label="validation text")
    ax.axhline(baseline, color="gray", ls="--", label=f"unigram baseline {baseline:.2f}")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)  # --plot FOLDER: made here
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
