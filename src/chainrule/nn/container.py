"""Sequential: compose modules; forward runs left to right, backward right to left."""

from __future__ import annotations

from .module import Module


class Sequential(Module):
    r"""A chain of modules $f_L \circ \dots \circ f_1$.

    ``forward`` feeds each module's output to the next; ``backward`` walks the same
    modules in reverse, handing each the gradient with respect to its output: the chain
    rule, one factor per module. Children are named ``"0"``, ``"1"``, ... as in PyTorch,
    so parameters are ``0.weight``, ``0.bias``, ``2.weight``, ...

    A module instance may stand at one place only: it keeps one forward cache, so a
    second use in the same pass would overwrite what the first one's backward needs.
    (Sharing a *parameter* between two modules is fine: its gradients add up.)
    """

    def __init__(self, *modules: Module):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential expects Module instances, got {type(module).__name__}")
        position = str(len(self._modules))
        placed = {id(m): name for name, m in self.named_modules()}
        for name, m in module.named_modules(position):
            if id(m) in placed:
                raise ValueError(
                    f"Sequential: the {type(m).__name__} at position {name} is the same instance as the one "
                    f"at position {placed[id(m)]}; a module keeps one forward cache, so it cannot run at two "
                    f"places in one pass. Create a separate instance for each place."
                )
        self.add_module(position, module)
        return self

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def backward(self, grad_output):
        r"""Backpropagate through the chain: module $l$'s backward turns the gradient with
        respect to its output into the one with respect to its input, from the last module
        to the first."""
        for module in reversed(self._modules.values()):
            grad_output = module.backward(grad_output)
        return grad_output

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        try:
            return modules[index]
        except IndexError:
            raise IndexError(f"Sequential index {index} is out of range for {len(modules)} modules") from None
        except TypeError:
            raise TypeError(f"Sequential indices must be int or slice, got {type(index).__name__}") from None
