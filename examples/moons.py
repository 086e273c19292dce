"""Two moons with the 2 -> 500 tanh -> 2 network, softmax cross-entropy and SGD with momentum.

Run:  python examples/moons.py  [--plot FOLDER | FILE.png]    (--help lists every option)
"""

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import progress_bar

import cli  # examples/cli.py: the command line the examples share


def parse_args(argv=None):
    return cli.example_parser(__doc__, "moons", epochs=30).parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cr.manual_seed(args.seed)

    X, y = data.datasets.make_moons(2000, noise=0.1, seed=args.seed)
    X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]
    loader = data.DataLoader(data.TensorDataset(X_train, y_train), batch_size=32, shuffle=True, seed=args.seed)

    model = nn.Sequential(nn.Linear(2, 500), nn.Tanh(), nn.Linear(500, 2))
    model.needs_input_grad = False  # the input is data: its first layer skips dC/dx
    loss_fn = nn.CrossEntropyLoss()  # takes logits: softmax and cross-entropy in one stable step
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    history = {"loss": [], "test_accuracy": []}
    bar = progress_bar(range(args.epochs), desc="moons", enabled=not args.no_progress)
    for epoch in bar:
        model.train()
        total = 0.0
        for xb, yb in loader:
            logits = model(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad()
            grad = loss_fn.backward()        # (softmax(logits) - onehot(y)) / batch
            model.backward(grad)
            optimizer.step()
            total += loss * len(xb)
        model.eval()  # Dropout and BatchNorm would change (this model has neither)
        with cr.no_grad():  # no backward follows: keep no cache
            test_accuracy = float((model(X_test).argmax(axis=1) == y_test).mean())
        history["loss"].append(total / len(X_train))
        history["test_accuracy"].append(test_accuracy)
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", test_acc=f"{test_accuracy:.3f}")

    print(f"moons: final training loss {history['loss'][-1]:.4f}, test accuracy {test_accuracy:.2%}")
    if args.plot:  # matplotlib from the examples extra, imported only when asked for
        from chainrule import plot

        history_path = cli.companion(args.plot, "history")
        plot.plot_decision_boundary(model, X_test, y_test, path=args.plot, title="moons: test points")
        plot.plot_history(history, path=history_path, title="moons")
        print(f"wrote {args.plot} and {history_path}")
    return {"model": model, "history": history, "metrics": {"test_accuracy": test_accuracy},
            "X_test": X_test, "y_test": y_test}


if __name__ == "__main__":
    main()
