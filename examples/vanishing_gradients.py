"""Vanishing gradients, measured: the same 8-layer network with sigmoid, tanh and ReLU on spirals.

Backpropagation multiplies the error by $W^\\top$ and by $\\sigma'(z)$ once per layer
(BP2). The sigmoid's derivative is at most 1/4, so with weights of moderate size the
gradient shrinks layer after layer on its way to the input, and the first layers of a deep
sigmoid network learn far more slowly than the last ones. This script trains the same
8-layer network (7 hidden layers of 32 units, PyTorch's default initialisation) with each
activation, records every layer's gradient norm with ``chainrule.train.GradientFlow``, prints
them and plots them.

Run:  python examples/vanishing_gradients.py  [--plot FOLDER | FILE.png]    (--help lists every option)
"""

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import GradientFlow, evaluate, fit

import cli  # examples/cli.py: the command line the examples share

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def parse_args(argv=None):
    parser = cli.example_parser(__doc__, "vanishing_gradients", epochs=15, figures="the gradient-norm figure")
    parser.add_argument("--width", type=int, default=32, help="units in each hidden layer (default: %(default)s)")
    return parser.parse_args(argv)


def make_network(activation, width: int, depth: int = 8, seed: int = 0):
    """``depth`` Linear layers, an activation after each but the last."""
    rng = np.random.default_rng(seed)  # the same initial weights for every activation
    sizes = [2] + [width] * (depth - 1) + [3]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, rng=rng))
        if i < depth - 1:
            layers.append(activation())
    return nn.Sequential(*layers)


def main(argv=None):
    args = parse_args(argv)
    cr.manual_seed(args.seed)
    X, y = data.datasets.make_spirals(1500, n_classes=3, seed=args.seed)
    train_set, test_set = data.random_split(data.TensorDataset(X, y), [0.8, 0.2], seed=args.seed)

    histories, norms, accuracy = {}, {}, {}
    for name, activation in ACTIVATIONS.items():
        model = make_network(activation, args.width, seed=args.seed)
        optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loader = data.DataLoader(train_set, batch_size=32, shuffle=True, seed=args.seed)
        flow = GradientFlow()
        histories[name] = fit(model, nn.CrossEntropyLoss(), optimizer, loader, args.epochs,
                              callbacks=[flow], progress=not args.no_progress)
        # Mean over the epochs of each Linear layer's weight-gradient norm, input to output.
        norms[name] = [float(np.mean(histories[name][f"grad_norm/{layer}.weight"])) for layer in flow.layers]
        accuracy[name] = evaluate(model, None, data.DataLoader(test_set, batch_size=len(test_set)))["accuracy"]
        print(f"{name:>7}: final training loss {histories[name]['loss'][-1]:.4f}, "
              f"test accuracy {accuracy[name]:.1%}")

    print("\nmean |dC/dW| per Linear layer, input (1) to output (8):")
    print("layer   " + "".join(f"{i:>10}" for i in range(1, len(norms["relu"]) + 1)))
    for name, values in norms.items():
        print(f"{name:<8}" + "".join(f"{v:>10.2e}" for v in values))
    for name, values in norms.items():
        print(f"{name}: first layer / last layer = {values[0] / values[-1]:.2e}")

    if args.plot:
        from chainrule import plot

        plot.plot_gradient_norms(histories, path=args.plot, layer_labels=range(1, len(flow.layers) + 1),
                                 title=f"8-layer network on spirals, {args.epochs} epochs: |dC/dW| per layer")
        print(f"wrote {args.plot}")
    return {"histories": histories, "norms": norms, "metrics": {"test_accuracy": accuracy}}


if __name__ == "__main__":
    main()
