"""Three interleaved spiral arms: a problem no linear model can solve, learned by a small ReLU MLP.

Run:  python examples/spirals.py  [--plot FOLDER | FILE.png]    (--help lists every option)
"""

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import progress_bar

import cli  # examples/cli.py: the command line the examples share


def parse_args(argv=None):
    return cli.example_parser(__doc__, "spirals", epochs=200).parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cr.manual_seed(args.seed)

    X, y = data.datasets.make_spirals(1500, n_classes=3, seed=args.seed)
    train_set, test_set = data.random_split(data.TensorDataset(X, y), [0.8, 0.2], seed=args.seed)
    X_test, y_test = test_set[np.arange(len(test_set))]
    loader = data.DataLoader(train_set, batch_size=64, shuffle=True, seed=args.seed)

    model = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 3))
    model.needs_input_grad = False  # the input is data: its first layer skips dC/dx
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    history = {"loss": [], "test_accuracy": []}
    bar = progress_bar(range(args.epochs), desc="spirals", enabled=not args.no_progress)
    for epoch in bar:
        model.train()
        total = 0.0
        for xb, yb in loader:
            logits = model(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad()
            model.backward(loss_fn.backward())
            optimizer.step()
            total += loss * len(xb)
        scheduler.step()
        model.eval()  # Dropout and BatchNorm would change (this model has neither)
        with cr.no_grad():  # no backward follows: keep no cache
            test_accuracy = float((model(X_test).argmax(axis=1) == y_test).mean())
        history["loss"].append(total / len(train_set))
        history["test_accuracy"].append(test_accuracy)
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", test_acc=f"{test_accuracy:.3f}")

    print(f"spirals: final training loss {history['loss'][-1]:.4f}, test accuracy {test_accuracy:.2%}")
    if args.plot:  # matplotlib from the examples extra, imported only when asked for
        from chainrule import plot

        history_path = cli.companion(args.plot, "history")
        plot.plot_decision_boundary(model, X_test, y_test, path=args.plot, title="spirals: test points")
        plot.plot_history(history, path=history_path, title="spirals")
        print(f"wrote {args.plot} and {history_path}")
    return {"model": model, "history": history, "metrics": {"test_accuracy": test_accuracy},
            "X_test": X_test, "y_test": y_test}


if __name__ == "__main__":
    main()
