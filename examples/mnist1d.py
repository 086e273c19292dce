"""MNIST-1D (Greydanus & Kobak): the paper's table - logistic regression, MLP, CNN, GRU - trained with chainrule.

The paper's recipes (its repository's notebooks/models.py and train.py): Adam with learning rate
0.01 and no weight decay, cross-entropy, batches of 100 taken in order (no shuffling) from the
4,000 training samples, 6,000 updates, seed 42; the final model's test accuracy is reported.
The GRU is the paper's too: bidirectional, 6 hidden units, zero initial state, its whole output
sequence (40 steps x 12) flattened into Linear(480, 10).

Run:  python examples/mnist1d.py  [--models logistic,mlp,cnn,gru] [--updates 6000] [--seed 42]
                                  [--torch] [--plot mnist1d.png] [--save-results PATH]
"""

import argparse
import os
import sys
import time

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import progress_bar

import cli  # examples/cli.py: the command line the examples share

MODELS = ("logistic", "mlp", "cnn", "gru")
TITLES = {"logistic": "logistic regression", "mlp": "MLP (residual)", "cnn": "CNN", "gru": "GRU (bidirectional)"}
# Test accuracy (%) in the paper (Greydanus & Kobak, table 1) and in its notebook's run.
PAPER = {"logistic": 32.0, "mlp": 68.0, "cnn": 94.0, "gru": 91.0}
PAPER_NOTEBOOK = {"logistic": 31.7, "mlp": 64.6, "cnn": 92.5, "gru": None}  # None: not in the notebook's run
# PyTorch 2.13 (CPU) with this recipe and its own initialisation (torch.manual_seed(seed) before
# building the model), seeds 42, 43 and 44, on 1 and on 2 threads: (lowest, highest). The CNN's
# float32 sums depend on the thread count, and so does its accuracy, by about a point.
# The GRU's range is over six seeds.
TORCH_REFERENCE = {"logistic": (31.4, 31.4), "mlp": (63.6, 65.1), "cnn": (92.1, 94.6), "gru": (88.3, 92.4)}
BATCH_SIZE = 100
EVAL_EVERY = 250  # updates between test-accuracy points of the curves (as the paper's train.py)


class ResidualMLP(nn.Module):
    """The paper's MLP: 40 -> 100 -> 100 -> 10 with a residual connection around the second layer.

        h = relu(linear1(x));  h = h + relu(linear2(h));  out = linear3(h)
    """

    def __init__(self, in_features=40, hidden=100, out_features=10, *, dtype=None, rng=None):
        super().__init__()
        self.linear1 = nn.Linear(in_features, hidden, dtype=dtype, rng=rng)
        self.relu1 = nn.ReLU()
        self.linear2 = nn.Linear(hidden, hidden, dtype=dtype, rng=rng)
        self.relu2 = nn.ReLU()  # a module keeps one forward's cache: one ReLU per place
        self.linear3 = nn.Linear(hidden, out_features, dtype=dtype, rng=rng)

    def forward(self, x):
        h1 = self.relu1(self.linear1(x))
        h2 = h1 + self.relu2(self.linear2(h1))  # the residual: h1 reaches h2 by two paths
        return self.linear3(h2)

    def backward(self, grad_output):
        # The forward's calls in reverse; each submodule's backward uses its own cache.
        grad_h2 = self.linear3.backward(grad_output)
        # h2 = h1 + relu2(linear2(h1)): the gradients of the two paths into h1 add up,
        # the identity path passes grad_h2 on unchanged.
        grad_h1 = grad_h2 + self.linear2.backward(self.relu2.backward(grad_h2))
        return self.linear1.backward(self.relu1.backward(grad_h1))


class GRUClassifier(nn.Module):
    """The paper's GRU: a bidirectional GRU with 6 hidden units reads the 40-step signal
    (one feature per step) from a zero initial state; its whole output sequence, 40 steps x
    (6 forward + 6 reverse), is flattened into Linear(480, 10).
    """

    def __init__(self, hidden=6, steps=40, out_features=10, *, dtype=None, rng=None):
        super().__init__()
        self.rnn = nn.GRU(1, hidden, batch_first=True, bidirectional=True, dtype=dtype, rng=rng)
        self.linear = nn.Linear(steps * 2 * hidden, out_features, dtype=dtype, rng=rng)

    def forward(self, x):
        output, _ = self.rnn(x.reshape(len(x), -1, 1))  # (N, 40) -> (N, 40, 1); h0 = zeros
        return self.linear(output.reshape(len(x), -1))  # (N, 40, 12) -> (N, 480)

    def backward(self, grad_logits):
        grad_sequence = self.linear.backward(grad_logits).reshape(len(grad_logits), -1, 2 * self.rnn.hidden_size)
        # Backpropagation through time; h_n was unused, so no grad_h_n. Returns dC/dx as (N, 40, 1).
        return self.rnn.backward(grad_sequence)


def build_model(name, rng):
    """The chainrule model called ``name``, initialised from ``rng``."""
    if name == "logistic":
        return nn.Linear(40, 10, rng=rng)
    if name == "mlp":
        return ResidualMLP(40, 100, 10, rng=rng)
    if name == "gru":
        return GRUClassifier(6, 40, 10, rng=rng)
    # Input (N, 1, 40) -> 25 x 19 -> 25 x 10 -> 25 x 5 -> 125 -> 10.
    return nn.Sequential(
        nn.Conv1d(1, 25, 5, stride=2, padding=1, rng=rng), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1, rng=rng), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1, rng=rng), nn.ReLU(),
        nn.Flatten(), nn.Linear(125, 10, rng=rng),
    )


def model_inputs(name, X):
    """The CNN reads each signal as one channel of length 40: (N, 40) -> (N, 1, 40)."""
    return X.reshape(-1, 1, 40) if name == "cnn" else X


def accuracy(model, X, y):
    with cr.no_grad():  # no backward follows: keep no cache
        return float((model(X).argmax(axis=1) == y).mean())


def train(model, X_train, y_train, X_test, y_test, updates, desc, progress=True):
    """The paper's loop: Adam(lr=1e-2), batch ``step * 100 mod 4000`` in order, cross-entropy."""
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-2, weight_decay=0)
    model.needs_input_grad = False  # the input is data (the CNN's first conv, the logistic Linear skip dC/dx)
    curve = {"update": [], "test_accuracy": []}
    for step in progress_bar(range(updates), desc=desc, enabled=progress, leave=False):
        start = (step * BATCH_SIZE) % len(X_train)
        xb, yb = X_train[start:start + BATCH_SIZE], y_train[start:start + BATCH_SIZE]
        logits = model(xb)
        loss_fn(logits, yb)  # the loss's forward keeps what its backward needs (its value is unused)
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
        if (step + 1) % EVAL_EVERY == 0 or step + 1 == updates:
            curve["update"].append(step + 1)
            curve["test_accuracy"].append(accuracy(model, X_test, y_test))
    return curve


# --------------------------------------------------------------------------- PyTorch, same recipe


def build_torch_model(name, state_dict):
    """The same architecture in PyTorch, with the same parameter names, loaded with ``state_dict``."""
    import torch

    class TorchResidualMLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear1 = torch.nn.Linear(40, 100)
            self.linear2 = torch.nn.Linear(100, 100)
            self.linear3 = torch.nn.Linear(100, 10)

        def forward(self, x):
            h = self.linear1(x).relu()
            h = h + self.linear2(h).relu()
            return self.linear3(h)

    class TorchGRUClassifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(1, 6, batch_first=True, bidirectional=True)
            self.linear = torch.nn.Linear(480, 10)

        def forward(self, x):
            output, _ = self.rnn(x.reshape(len(x), -1, 1))
            return self.linear(output.reshape(len(x), -1))

    if name == "logistic":
        model = torch.nn.Linear(40, 10)
    elif name == "mlp":
        model = TorchResidualMLP()
    elif name == "gru":
        model = TorchGRUClassifier()
    else:
        model = torch.nn.Sequential(
            torch.nn.Conv1d(1, 25, 5, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv1d(25, 25, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv1d(25, 25, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Flatten(), torch.nn.Linear(125, 10),
        )
    model.load_state_dict({key: torch.from_numpy(value.copy()) for key, value in state_dict.items()})
    return model


def train_torch(model, X_train, y_train, X_test, y_test, updates, desc, progress=True):
    """``train`` in PyTorch: the same batches in the same order."""
    import torch

    X_train, y_train, X_test = map(torch.from_numpy, (X_train, y_train, X_test))
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=0)
    curve = {"update": [], "test_accuracy": []}
    for step in progress_bar(range(updates), desc=desc, enabled=progress, leave=False):
        start = (step * BATCH_SIZE) % len(X_train)
        loss = loss_fn(model(X_train[start:start + BATCH_SIZE]), y_train[start:start + BATCH_SIZE])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (step + 1) % EVAL_EVERY == 0 or step + 1 == updates:
            with torch.no_grad():
                predictions = model(X_test).argmax(dim=1).numpy()
            curve["update"].append(step + 1)
            curve["test_accuracy"].append(float((predictions == y_test).mean()))
    return curve


# --------------------------------------------------------------------------- the table


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated subset of logistic,mlp,cnn,gru (default: all four)")
    parser.add_argument("--updates", type=int, default=6000, help="Adam updates per model (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=42, help="seeds the initial weights (default: %(default)s)")
    parser.add_argument("--torch", action="store_true",
                        help="also train each model in PyTorch from the same initial weights and batches "
                             "(default: off)")
    cli.add_output_options(parser, "mnist1d", "the comparison figure")
    parser.add_argument("--save-results", metavar="PATH", help="also write the printed table to PATH (default: off)")
    args = parser.parse_args(argv)
    args.models = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = [name for name in args.models if name not in MODELS]
    if unknown or not args.models:
        parser.error(f"--models must be a comma-separated subset of {','.join(MODELS)}, got {unknown or 'none'}")
    if args.updates < 1:
        parser.error(f"--updates must be >= 1, got {args.updates}")
    return args


def main(argv=None):
    args = parse_args(argv)
    use_torch = False
    if args.torch:
        try:
            import torch  # noqa: F401
            use_torch = True
        except ImportError:
            print("--torch: torch is not installed; showing the reference PyTorch figures instead")

    X_train, y_train, X_test, y_test = data.datasets.load_mnist1d()  # the paper's 4000 / 1000 split

    results = {}
    for name in args.models:
        rng = np.random.default_rng(args.seed)  # each model's weights depend on the seed alone
        model = build_model(name, rng)
        initial_state = model.state_dict()  # copies: PyTorch starts from these same weights
        inputs, test_inputs = model_inputs(name, X_train), model_inputs(name, X_test)
        started = time.perf_counter()
        curve = train(model, inputs, y_train, test_inputs, y_test, args.updates, f"chainrule {name}",
                      progress=not args.no_progress)
        results[name] = {"model": model, "initial_state": initial_state, "curve": curve,
                         "test_accuracy": curve["test_accuracy"][-1], "seconds": time.perf_counter() - started}
        print(f"{TITLES[name]}: chainrule {results[name]['test_accuracy']:.1%} "
              f"in {results[name]['seconds']:.1f} s", flush=True)

    # PyTorch: the same models from the initial weights kept above, on the same batches.
    for name, result in results.items() if use_torch else ():
        torch_model = build_torch_model(name, result["initial_state"])
        inputs, test_inputs = model_inputs(name, X_train), model_inputs(name, X_test)
        started = time.perf_counter()
        torch_curve = train_torch(torch_model, inputs, y_train, test_inputs, y_test, args.updates,
                                  f"PyTorch {name}", progress=not args.no_progress)
        result.update(torch_curve=torch_curve, torch_test_accuracy=torch_curve["test_accuracy"][-1],
                      torch_seconds=time.perf_counter() - started)
        print(f"{TITLES[name]}: PyTorch {result['torch_test_accuracy']:.1%} in {result['torch_seconds']:.1f} s",
              flush=True)

    lines = table(results, args, use_torch)
    print("\n".join(lines))
    if args.save_results:
        with open(args.save_results, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        print(f"wrote {args.save_results}")
    if args.plot:
        plot(results, args.plot, use_torch)
        print(f"wrote {args.plot}")
    return {"results": results, "metrics": {"test_accuracy": {name: r["test_accuracy"] for name, r in results.items()}}}


def table(results, args, use_torch):
    torch_header = "PyTorch, same init" if use_torch else "PyTorch, seeds 42-44"
    lines = [
        f"MNIST-1D test accuracy (%) of the final model: {args.updates} updates of Adam(lr=0.01), "
        f"batch {BATCH_SIZE} in order, seed {args.seed}",
        f"python examples/mnist1d.py --models {','.join(results)} --updates {args.updates} --seed {args.seed}"
        + (" --torch" if use_torch else "") + f"  (numpy {np.__version__}"
        + (f", torch {sys.modules['torch'].__version__}" if use_torch else "") + f", {os.cpu_count()} cores)",
        "",
        f"{'model':<21} {'chainrule':>9} {torch_header:>20} {'paper':>6} {'paper notebook':>15} "
        f"{'chainrule time':>15}" + (f" {'PyTorch time':>13}" if use_torch else ""),
    ]
    for name, r in results.items():
        if use_torch:
            torch_cell = f"{100 * r['torch_test_accuracy']:.1f}"
        else:
            low, high = TORCH_REFERENCE[name]
            torch_cell = f"{low:.1f}-{high:.1f}"
        lines.append(
            f"{TITLES[name]:<21} {100 * r['test_accuracy']:>9.1f} {torch_cell:>20} {PAPER[name]:>6.0f} "
            + (f"{'-':>15}" if PAPER_NOTEBOOK[name] is None else f"{PAPER_NOTEBOOK[name]:>15.1f}")
            + f" {r['seconds']:>14.1f}s"
            + (f" {r['torch_seconds']:>12.1f}s" if use_torch else "")
        )
    lines.append("")
    if use_torch:
        lines.append("PyTorch trains the same architecture from chainrule's initial weights on the same batches.")
        if "logistic" in results:
            r = results["logistic"]
            same = r["test_accuracy"] == r["torch_test_accuracy"]
            lines.append(
                "logistic regression: chainrule and PyTorch "
                + ("give the same test accuracy" if same else
                   f"DIFFER: {100 * r['test_accuracy']:.1f}% vs {100 * r['torch_test_accuracy']:.1f}%")
            )
    else:
        lines.append("PyTorch column: reference figures for this recipe with PyTorch's own initialisation, "
                     "seeds 42, 43, 44 (run with --torch to train PyTorch here from the same weights).")
    lines.append("paper: Greydanus & Kobak, table 1; paper notebook: the run in its repository's notebook.")
    return lines


def plot(results, path, use_torch):
    from matplotlib.figure import Figure  # the examples extra; no pyplot, no window

    fig = Figure(figsize=(11, 4), layout="constrained")
    bars, curves = fig.subplots(1, 2)
    names = list(results)
    x = np.arange(len(names))
    columns = [("chainrule", [100 * results[n]["test_accuracy"] for n in names])]
    if use_torch:
        columns.append(("PyTorch, same init", [100 * results[n]["torch_test_accuracy"] for n in names]))
    else:
        columns.append(("PyTorch, seeds 42-44 (mean)", [sum(TORCH_REFERENCE[n]) / 2 for n in names]))
    columns += [("paper", [PAPER[n] for n in names]), ("paper notebook", [PAPER_NOTEBOOK[n] or 0.0 for n in names])]
    width = 0.8 / len(columns)
    for i, (label, values) in enumerate(columns):
        drawn = bars.bar(x + (i - (len(columns) - 1) / 2) * width, values, width, label=label)
        bars.bar_label(drawn, fmt="%.1f", fontsize=6)
    bars.set_xticks(x, [TITLES[n] for n in names])
    bars.set_ylabel("test accuracy (%)")
    bars.set_ylim(0, 100)
    bars.legend(loc="upper left", fontsize=8)
    bars.set_title("MNIST-1D: final test accuracy")
    for n in names:
        line, = curves.plot(results[n]["curve"]["update"], 100 * np.array(results[n]["curve"]["test_accuracy"]),
                            label=f"{TITLES[n]}, chainrule")
        if use_torch:
            curves.plot(results[n]["torch_curve"]["update"], 100 * np.array(results[n]["torch_curve"]["test_accuracy"]),
                        "--", color=line.get_color(), label=f"{TITLES[n]}, PyTorch")
    curves.set_xlabel("update")
    curves.set_ylabel("test accuracy (%)")
    curves.set_ylim(0, 100)
    curves.legend(loc="lower right", ncol=2, fontsize=7)
    curves.set_title(f"test accuracy every {EVAL_EVERY} updates")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)  # --plot FOLDER: made here
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    # Run as a script, this file's folder comes first on sys.path, and this file's name would
    # hide the mnist1d package that load_mnist1d imports: take the folder off the path.
    here = os.path.dirname(os.path.realpath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.realpath(entry or os.curdir) != here]
    main()
