"""Datasets and the DataLoader.

`Dataset`, `TensorDataset`, `Subset` and `random_split` describe and split the data;
`DataLoader` iterates over it in (shuffled) mini-batches; `datasets` makes toy problems
(XOR, spirals, moons, circles, blobs) and loads the real 8x8 handwritten digits.
"""

from . import datasets
from .dataloader import DataLoader
from .dataset import Dataset, Subset, TensorDataset, random_split

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "datasets"]
