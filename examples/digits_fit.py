"""The handwritten digits again, trained with chainrule.train.fit: validation, early stopping, checkpoints.

examples/digits.py writes the loop out; here ``fit`` runs the same loop and adds a progress
bar, metrics, a validation set, early stopping (restoring the best weights) and a
checkpoint of the best model, written with ``chainrule.save``.

Run:  python examples/digits_fit.py  [--plot FOLDER | FILE.png]    (--help lists every option)
"""

import os
import tempfile

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.train import EarlyStopping, ModelCheckpoint, evaluate, fit, metrics

import cli  # examples/cli.py: the command line the examples share


def parse_args(argv=None):
    parser = cli.example_parser(__doc__, "digits_fit", epochs=100, figures="the curves and the confusion matrix",
                                epochs_help="at most this many epochs; early stopping usually ends sooner")
    parser.add_argument("--checkpoint", default=None,
                        help="where to save the best model (default: a temporary file, deleted at the end)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cr.manual_seed(args.seed)

    X, y = data.datasets.load_digits()  # float32 pixels in [0, 1], int64 labels 0..9
    train_set, val_set, test_set = data.random_split(data.TensorDataset(X, y), [0.65, 0.1, 0.25], seed=args.seed)
    X_test, y_test = test_set[np.arange(len(test_set))]  # held out: never trained on, never used to stop
    train_loader = data.DataLoader(train_set, batch_size=32, shuffle=True, seed=args.seed)
    val_loader = data.DataLoader(val_set, batch_size=256)

    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.3)

    folder = None
    if args.checkpoint is None:
        folder = tempfile.TemporaryDirectory()
        args.checkpoint = os.path.join(folder.name, "digits-best.npz")
    stopper = EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
    checkpoint = ModelCheckpoint(args.checkpoint, monitor="val_accuracy", mode="max")
    history = fit(model, loss_fn, optimizer, train_loader, args.epochs, val_loader=val_loader,
                  metrics=("accuracy",), scheduler=scheduler, callbacks=[stopper, checkpoint],
                  progress=not args.no_progress)

    # The model now holds the weights of the epoch with the lowest validation loss.
    test = evaluate(model, loss_fn, data.DataLoader(test_set, batch_size=512), ("accuracy", "top3_accuracy"))
    model.eval()  # Dropout off
    with cr.no_grad():  # evaluation only: keep no cache for a backward
        confusion = metrics.confusion_matrix(model(X_test), y_test, num_classes=10)
    best = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    best.load_state_dict(cr.load(args.checkpoint))  # the checkpoint: best validation accuracy
    checkpoint_accuracy = evaluate(best, None, data.DataLoader(test_set, batch_size=512))["accuracy"]

    stopped = f"early stopping after epoch {stopper.stopped_epoch}" if stopper.stopped_epoch is not None else "no early stop"
    print(f"digits_fit: trained {len(history)} epochs ({stopped}; best val_loss {stopper.best:.4f} "
          f"at epoch {stopper.best_epoch}, weights restored)")
    print(f"held-out test accuracy {test['accuracy']:.2%} (top-3 {test['top3_accuracy']:.2%}) on {len(y_test)} images")
    print(f"checkpoint (best val_accuracy {checkpoint.best:.3f}, epoch {checkpoint.best_epoch}) "
          f"test accuracy {checkpoint_accuracy:.2%}")
    print("confusion matrix (rows: true digit, columns: predicted):")
    print(confusion)

    if args.plot:
        from chainrule import plot

        confusion_path = cli.companion(args.plot, "confusion")
        plot.plot_history(history, path=args.plot, title="digits with fit")
        plot.plot_confusion_matrix(confusion, path=confusion_path)
        print(f"wrote {args.plot} and {confusion_path}")
    if folder is not None:
        folder.cleanup()
    return {"model": model, "history": history.to_dict(),
            "metrics": {"test_accuracy": test["accuracy"], "test_loss": test["loss"],
                        "checkpoint_test_accuracy": checkpoint_accuracy, "confusion": confusion},
            "X_test": X_test, "y_test": y_test}


if __name__ == "__main__":
    main()
