"""examples/gpt.py: the small GPT's hand-composed backward (gradchecks with and without weight
tying), causality, the weight-decay rule, the schedule, and a quick training run."""

import math
import runpy
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

if not hasattr(nn, "SelfAttention"):
    pytest.skip("nn.SelfAttention is not in chainrule yet (the GPT's blocks need it)", allow_module_level=True)

gpt = runpy.run_path(str(Path(__file__).resolve().parent.parent / "examples" / "gpt.py"))
GPT, Block = gpt["GPT"], gpt["Block"]


def tiny_gpt(tie_weights=True, seed=0, vocab_size=7, block_size=5):
    """2 blocks, 2 heads, n_embd 8, float64."""
    return GPT(vocab_size, block_size, n_layer=2, n_head=2, n_embd=8, tie_weights=tie_weights,
               dtype=np.float64, rng=np.random.default_rng(seed))


@pytest.mark.parametrize("tie_weights", [True, False], ids=["tied", "untied"])
def test_gpt_gradcheck(tie_weights):
    model = tiny_gpt(tie_weights)
    idx = np.random.default_rng(1).integers(0, 7, size=(3, 5))
    assert cr.gradcheck(model, idx)


def test_gpt_gradcheck_through_the_loss():
    model = tiny_gpt()
    rng = np.random.default_rng(2)
    idx, targets = rng.integers(0, 7, size=(2, 4)), rng.integers(0, 7, size=(2, 4))
    loss_fn = nn.CrossEntropyLoss()

    class WithLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, idx):
            logits = self.model(idx)
            self.shape = logits.shape
            return loss_fn(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

        def backward(self, grad=1.0):
            return self.model.backward(loss_fn.backward(grad).reshape(self.shape))

    assert cr.gradcheck(WithLoss(), idx)


def test_block_gradcheck_input_and_parameters():
    block = Block(8, 2, dtype=np.float64, rng=np.random.default_rng(3))
    x = np.random.default_rng(4).standard_normal((2, 5, 8))
    assert cr.gradcheck(block, x)


def test_tied_weight_is_one_parameter_whose_gradient_is_the_sum_of_both_uses():
    tied, untied = tiny_gpt(True), tiny_gpt(False)
    assert tied.head.weight is tied.tok_emb.weight
    names = [name for name, _ in tied.named_parameters()]
    assert "tok_emb.weight" in names and "head.weight" not in names  # listed once, optimised once
    assert "head.weight" in tied.state_dict()  # as PyTorch: both keys in the state dict
    sd = tied.state_dict()
    sd["head.weight"] = sd["tok_emb.weight"]
    untied.load_state_dict(sd)  # the same numbers, the read-out now a separate copy
    idx = np.random.default_rng(5).integers(0, 7, size=(3, 5))
    g = np.random.default_rng(6).standard_normal((3, 5, 7))
    for model in (tied, untied):
        model(idx)
        model.backward(g)
    np.testing.assert_allclose(tied.tok_emb.weight.grad, untied.tok_emb.weight.grad + untied.head.weight.grad,
                               rtol=1e-12, atol=1e-14)


def test_causality_later_tokens_do_not_change_earlier_logits():
    model = tiny_gpt(block_size=6)
    idx = np.random.default_rng(7).integers(0, 7, size=(2, 6))
    with cr.no_grad():
        before = model(idx)
        for t in range(5):
            changed = idx.copy()
            changed[:, t + 1] = (changed[:, t + 1] + 1) % 7
            after = model(changed)
            np.testing.assert_allclose(after[:, :t + 1], before[:, :t + 1], rtol=1e-13, atol=1e-15)
            assert not np.allclose(after[:, t + 1], before[:, t + 1])


def test_gpt_refuses_a_context_longer_than_block_size():
    model = tiny_gpt(block_size=5)
    with cr.no_grad(), pytest.raises(ValueError, match=r"GPT expected indices of shape \(N, T\) with 1 <= T <= 5"):
        model(np.zeros((2, 6), dtype=np.int64))


def test_weight_decay_rule_matrices_only():
    model = tiny_gpt()
    decay, no_decay = gpt["param_groups"](model, 0.1)
    names = {id(p): name for name, p in model.named_parameters()}
    decayed = sorted(names[id(p)] for p in decay["params"])
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert decayed == sorted(f"blocks.{i}.{n}" for i in range(2)
                             for n in ("attn.in_proj_weight", "attn.out_proj.weight", "mlp.0.weight", "mlp.2.weight"))
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_schedule_warms_up_linearly_then_cosine_to_a_tenth():
    factor = gpt["lr_lambda"](10, 110)
    assert [factor(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert factor(10) == pytest.approx(1.0)
    assert factor(60) == pytest.approx(0.55)
    assert factor(110) == pytest.approx(0.1) and factor(500) == pytest.approx(0.1)


@pytest.mark.slow
def test_quick_training_run_lowers_the_loss_and_samples():
    result = gpt["main"](["--quick", "--no-progress", "--steps", "40", "--sample-length", "30"])
    curves = result["curves"]
    assert curves["val_loss"][-1] < curves["val_loss"][0]
    assert np.mean(curves["train_loss"][-10:]) < math.log(result["chars"].vocab_size) - 0.5
    assert result["sample"].startswith("def ") and len(result["sample"]) == 34
