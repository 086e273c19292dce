"""Real handwritten digits (UCI 8x8, 1,797 images, shipped with chainrule): 64 -> 128 ReLU -> 10.

Run:  python examples/digits.py  [--plot FOLDER | FILE.png]    (--help lists every option)
"""

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import progress_bar

import cli  # examples/cli.py: the command line the examples share


def parse_args(argv=None):
    return cli.example_parser(__doc__, "digits", epochs=60).parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cr.manual_seed(args.seed)

    X, y = data.datasets.load_digits()  # float32 pixels in [0, 1], int64 labels 0..9
    train_set, test_set = data.random_split(data.TensorDataset(X, y), [0.75, 0.25], seed=args.seed)
    X_test, y_test = test_set[np.arange(len(test_set))]  # held out: never trained on
    loader = data.DataLoader(train_set, batch_size=32, shuffle=True, seed=args.seed)

    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    model.needs_input_grad = False  # the input is data: its first layer skips dC/dx
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.3)

    history = {"loss": [], "test_accuracy": []}
    bar = progress_bar(range(args.epochs), desc="digits", enabled=not args.no_progress)
    for epoch in bar:
        model.train()  # Dropout on
        total = 0.0
        for xb, yb in loader:
            logits = model(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad()
            model.backward(loss_fn.backward())
            optimizer.step()
            total += loss * len(xb)
        scheduler.step()
        model.eval()  # Dropout off; eval mode alone would still keep caches for a backward
        with cr.no_grad():  # no backward follows: keep no cache
            test_accuracy = float((model(X_test).argmax(axis=1) == y_test).mean())
        history["loss"].append(total / len(train_set))
        history["test_accuracy"].append(test_accuracy)
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", test_acc=f"{test_accuracy:.3f}")

    with cr.no_grad():  # the model is still in eval mode
        predictions = model(X_test).argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y_test, predictions), 1)
    print(f"digits: final training loss {history['loss'][-1]:.4f}, "
          f"held-out test accuracy {test_accuracy:.2%} on {len(y_test)} images")
    print("confusion matrix (rows: true digit, columns: predicted):")
    print(confusion)
    if args.plot:  # matplotlib from the examples extra, imported only when asked for
        from chainrule import plot

        confusion_path = cli.companion(args.plot, "confusion")
        plot.plot_history(history, path=args.plot, title="digits")
        plot.plot_confusion_matrix(confusion, path=confusion_path)
        print(f"wrote {args.plot} and {confusion_path}")
    return {"model": model, "history": history, "metrics": {"test_accuracy": test_accuracy, "confusion": confusion},
            "X_test": X_test, "y_test": y_test}


if __name__ == "__main__":
    main()
