"""XOR with the two-layer sigmoid network of the classic backprop derivations.

    2 inputs -> Linear -> Sigmoid -> Linear -> Sigmoid -> 1 output,  cost: mean squared error

Run:  python examples/xor.py  [--plot FOLDER | FILE.png]    (--help lists every option)
"""

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import progress_bar

import cli  # examples/cli.py: the command line the examples share


def parse_args(argv=None):
    return cli.example_parser(__doc__, "xor", epochs=2000).parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cr.manual_seed(args.seed)

    # The whole truth table is the training set: four points, one full batch.
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)

    model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid())
    model.needs_input_grad = False  # the input is data: its first layer skips dC/dx
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=2.0, momentum=0.9)

    history = {"loss": []}
    bar = progress_bar(range(args.epochs), desc="xor", enabled=not args.no_progress)
    for epoch in bar:
        prediction = model(X)                 # forward: each module keeps what backward needs
        loss = loss_fn(prediction, y)         # C = mean((a - y)^2)
        optimizer.zero_grad()
        grad = loss_fn.backward()             # dC/da = 2 (a - y) / n, n = number of elements
        model.backward(grad)                  # the output Sigmoid makes it BP1 (* sigma'(z)); then BP2-BP4, right to left
        optimizer.step()                      # W <- W - lr * v
        history["loss"].append(loss)
        if epoch % 50 == 0:
            bar.set_postfix(loss=f"{loss:.5f}")

    model.eval()
    with cr.no_grad():  # evaluation: no backward follows, so the model and the loss keep no cache
        prediction = model(X)
        final_loss = loss_fn(prediction, y)
    accuracy = float(((prediction > 0.5) == (y > 0.5)).mean())
    print(f"xor: final loss {final_loss:.6f}, accuracy {accuracy:.0%}")
    print("predictions:", [round(float(p), 3) for p in prediction.ravel()])
    if args.plot:  # matplotlib from the examples extra, imported only when asked for
        from chainrule import plot

        loss_path = cli.companion(args.plot, "loss")
        plot.plot_decision_boundary(model, X, y.ravel().astype(np.int64), path=args.plot, title="XOR",
                                    class_names=["0 (equal inputs)", "1 (different inputs)"])
        plot.plot_history(history, path=loss_path, title="XOR training loss", logy=True)
        print(f"wrote {args.plot} and {loss_path}")
    return {"model": model, "history": history, "metrics": {"loss": final_loss, "accuracy": accuracy},
            "X_test": X, "y_test": y.ravel().astype(np.int64)}


if __name__ == "__main__":
    main()
