"""A Module subclass without backward says which class it is and where the template is."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Doubler(nn.Module):
    """A forward and no backward: the mistake the message is for."""

    def forward(self, x):
        return 2 * x


def test_missing_backward_names_the_class_and_the_guide():
    layer = Doubler()
    with cr.no_grad():
        layer(np.ones(3))
    with pytest.raises(NotImplementedError, match=r"^Doubler does not implement backward\(\)") as info:
        layer.backward(np.ones(3))
    message = str(info.value)
    assert re.search(r'"Write your own layer" \(docs/write-your-own-layer\.md\)', message)
    assert "returns the gradient with respect to forward's input" in message
    assert ".grad" in message


def test_the_guide_the_message_names_exists():
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "write-your-own-layer.md"
    assert page.is_file()
    assert page.read_text(encoding="utf-8").startswith("# Write your own layer")


def test_subclass_of_a_subclass_is_named():
    class Tripler(Doubler):
        pass

    with pytest.raises(NotImplementedError, match=r"^Tripler does not implement backward\(\)"):
        Tripler().backward(np.ones(3))
