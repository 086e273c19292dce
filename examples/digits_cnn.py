"""Real handwritten digits (UCI 8x8, shipped with chainrule) read as images by a small CNN.

1 x 8 x 8 -> conv 3x3, 16 channels, ReLU, max-pool 2 -> 16 x 4 x 4
          -> conv 3x3, 32 channels, ReLU, max-pool 2 -> 32 x 2 x 2 -> flatten 128 -> 10.

Run:  python examples/digits_cnn.py  [--plot FOLDER | FILE.png]    (--help lists every option)
"""

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import progress_bar

import cli  # examples/cli.py: the command line the examples share


def parse_args(argv=None):
    return cli.example_parser(__doc__, "digits_cnn", epochs=15).parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cr.manual_seed(args.seed)

    X, y = data.datasets.load_digits()  # float32 pixels in [0, 1], int64 labels 0..9
    images = X.reshape(-1, 1, 8, 8)  # (N, channels, height, width): pixel (r, c) is X[:, 8 * r + c]
    train_set, test_set = data.random_split(data.TensorDataset(images, y), [0.75, 0.25], seed=args.seed)
    X_test, y_test = test_set[np.arange(len(test_set))]  # held out: never trained on
    loader = data.DataLoader(train_set, batch_size=32, shuffle=True, seed=args.seed)

    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 2 x 2
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
    )
    model.needs_input_grad = False  # the input is data: its first layer skips dC/dx
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=3e-3)

    history = {"loss": [], "test_accuracy": []}
    bar = progress_bar(range(args.epochs), desc="digits CNN", enabled=not args.no_progress)
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
        model.eval()  # Dropout and BatchNorm would change (this model has neither)
        with cr.no_grad():  # no backward follows: keep no cache
            test_accuracy = float((model(X_test).argmax(axis=1) == y_test).mean())
        history["loss"].append(total / len(train_set))
        history["test_accuracy"].append(test_accuracy)
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", test_acc=f"{test_accuracy:.3f}")

    with cr.no_grad():
        predictions = model(X_test).argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y_test, predictions), 1)
    print(f"digits CNN: final training loss {history['loss'][-1]:.4f}, "
          f"held-out test accuracy {test_accuracy:.2%} on {len(y_test)} images")
    print("confusion matrix (rows: true digit, columns: predicted):")
    print(confusion)
    if args.plot:  # matplotlib from the examples extra, imported only when asked for
        from chainrule import plot

        confusion_path = cli.companion(args.plot, "confusion")
        plot.plot_history(history, path=args.plot, title="digits CNN")
        plot.plot_confusion_matrix(confusion, path=confusion_path)
        print(f"wrote {args.plot} and {confusion_path}")
    return {"model": model, "history": history, "metrics": {"test_accuracy": test_accuracy, "confusion": confusion},
            "X_test": X_test, "y_test": y_test}


if __name__ == "__main__":
    main()
