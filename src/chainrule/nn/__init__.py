"""Modules, layers and losses, each with a backward written from the chain rule."""

from . import functional, init, stable, utils
from .activation import Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import Sequential
from .dropout import Dropout, Dropout1d, Dropout2d
from .linear import Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module, Parameter, accumulate_grad
from .activation import ELU, GELU, SiLU, Softplus
from .container import ModuleDict, ModuleList
from .flatten import Flatten, Unflatten
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .embedding import Embedding
from .loss import HuberLoss, L1Loss, NLLLoss, SmoothL1Loss
from .loss import (HingeEmbeddingLoss, KLDivLoss, MultiLabelMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss,
                   PoissonNLLLoss, SoftMarginLoss)
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, MaxUnpool1d,
                      MaxUnpool2d)
from .attention import MultiheadAttention, SelfAttention
from .upsampling import Upsample
from .rnn import GRU, LSTM, RNN

__all__ = [
    "Parameter", "Module", "accumulate_grad", "Sequential", "Linear",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Identity", "Softmax", "LogSoftmax", "Dropout", "Dropout1d", "Dropout2d",
    "MSELoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "functional", "stable", "init", "utils",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "Embedding",
    "GELU", "SiLU", "ELU", "Softplus", "Flatten", "Unflatten", "ModuleList", "ModuleDict",
    "NLLLoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "MaxUnpool1d", "MaxUnpool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "SelfAttention", "Upsample",
    "RNN", "GRU", "LSTM",
    "MultiheadAttention",
    "KLDivLoss", "PoissonNLLLoss", "SoftMarginLoss", "HingeEmbeddingLoss", "MultiLabelSoftMarginLoss",
    "MultiMarginLoss", "MultiLabelMarginLoss",
]
