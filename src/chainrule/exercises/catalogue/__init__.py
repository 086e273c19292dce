"""The catalogue: one file per part of the course, imported in course order.

A new part is a new file here and one name in ``PARTS``; a new exercise in an existing part
is one ``exercise(...)`` declaration in its file (see the package docstring)."""

from importlib import import_module

PARTS = ("basics", "activations", "layers", "losses", "normalization", "embeddings", "convolution", "recurrent",
         "attention", "composite")

for _part in PARTS:
    import_module(f"{__name__}.{_part}")
