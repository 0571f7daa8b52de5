"""Train a small network on handwritten digits, end to end: ``python -m tapegrad.demo``.

The program

1. loads scikit-learn's bundled 8x8 digits (1797 images, no download) and holds out 20%;
2. trains a two-layer perceptron with Adam, showing a progress bar;
3. reports the test accuracy;
4. checks the trained network's gradients against finite differences, in float64;
5. shows the tape (the Wengert list) that one training step records;
6. saves a plot of the loss and accuracy curves.

Run ``python -m tapegrad.demo --help`` for the options. It needs ``scikit-learn``, ``tqdm``
and ``matplotlib`` (``pip install tapegrad[demo]``).
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn import functional as F
from tapegrad.optim import Adam

__all__ = ["main", "DemoResult"]


@dataclass
class DemoResult:
    """What a run of the demo produced."""

    test_accuracy: float
    train_loss: list[float] = field(default_factory=list)
    test_accuracies: list[float] = field(default_factory=list)
    gradcheck_passed: bool = False
    tape_entries: int = 0
    plot_path: str | None = None
    seconds: float = 0.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        prog="python -m tapegrad.demo",
        description="Train a small MLP on scikit-learn's digits with tapegrad.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set")
    parser.add_argument("--hidden", type=int, default=64, help="width of the hidden layer")
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam's learning rate")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per step")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument(
        "--out", default="tapegrad-demo.png", help="where to save the training-curve plot"
    )
    parser.add_argument("--no-plot", action="store_true", help="do not draw the plot")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def load_digits(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train/test split of the digits, pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    return x_train, y_train, x_test, y_test


def make_model(hidden: int) -> nn.Sequential:
    """64 pixels -> ``hidden`` ReLU units -> 10 class scores."""
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def train_epoch(
    model: nn.Module,
    opt: Adam,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
) -> float:
    """One pass over ``(x, y)`` in shuffled mini-batches; returns the mean loss."""
    model.train()
    order = rng.permutation(len(x))
    total = 0.0
    for start in range(0, len(x), batch_size):
        batch = order[start : start + batch_size]
        loss = F.cross_entropy(model(tg.from_numpy(x[batch])), tg.from_numpy(y[batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(batch)
    return total / len(x)


@tg.no_grad()
def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``x`` whose highest score is the right class."""
    model.eval()
    predicted = model(tg.from_numpy(x)).argmax(dim=1).numpy()
    return float((predicted == y).mean())


def check_gradients(model: nn.Module, x: np.ndarray, y: np.ndarray) -> bool:
    """Compare the tape's gradients with central finite differences (``gradcheck``) on a
    float64 copy of the trained network: with respect to four test images and to the
    output layer's weights and bias."""
    model64 = copy.deepcopy(model).double().eval()
    images = tg.tensor(x[:4], dtype=tg.float64, requires_grad=True)
    labels = tg.tensor(y[:4])
    out_layer = model64[-1]

    def loss(images: tg.Tensor, weight: tg.Tensor, bias: tg.Tensor) -> tg.Tensor:
        return F.cross_entropy(model64(images), labels)

    return tg.autograd.gradcheck(loss, (images, out_layer.weight, out_layer.bias))


def record_tape(step: Callable[[], Any]) -> tuple[int, str]:
    """Run ``step``; return how many tape entries it recorded and their listing."""
    if hasattr(tg, "Tape"):
        with tg.Tape() as tape:
            step()
        return len(tape), str(tape)
    # Hook for builds without the public ``tg.Tape``: count the entries that the thread's
    # tape appends meanwhile (no listing).
    from tapegrad.tape import current_tape

    recorded: list[Any] = []
    tape = current_tape()
    tape.recorders.append(recorded)
    try:
        step()
    finally:
        tape.recorders.remove(recorded)
    return len(recorded), ""


def show_tape(model: nn.Module, x: np.ndarray, y: np.ndarray) -> int:
    """Print the Wengert list of one training step (forward and loss; backward reads it)."""
    model.train()

    def step() -> None:
        F.cross_entropy(model(tg.from_numpy(x[:8])), tg.from_numpy(y[:8])).backward()

    n, listing = record_tape(step)
    print(f"One training step records {n} tape entries (leaves are inputs, not entries)")
    if listing:
        print("  " + listing.replace("\n", "\n  "))
    return n


def plot(losses: list[float], accuracies: list[float], path: str) -> None:
    """Save the training loss and test accuracy per epoch to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(1, len(losses) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, losses, marker="o")
    ax_loss.set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    ax_acc.plot(epochs, np.asarray(accuracies) * 100, marker="o", color="tab:green")
    ax_acc.set(title="test accuracy", xlabel="epoch", ylabel="%")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("tapegrad: MLP on scikit-learn digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> DemoResult:
    """Run the demo with command-line arguments ``argv``; returns what it measured."""
    from tqdm import tqdm

    args = parse_args(argv)
    start = time.perf_counter()
    tg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_train, y_train, x_test, y_test = load_digits(args.seed)
    model = make_model(args.hidden)
    opt = Adam(model.parameters(), lr=args.lr)
    print(model)
    print(f"{len(x_train)} training and {len(x_test)} test images of 8x8 pixels, 10 classes")

    result = DemoResult(test_accuracy=0.0)
    bar = tqdm(range(args.epochs), desc="training", unit="epoch", disable=args.quiet)
    for _ in bar:
        result.train_loss.append(train_epoch(model, opt, x_train, y_train, args.batch_size, rng))
        result.test_accuracies.append(accuracy(model, x_test, y_test))
        bar.set_postfix(
            loss=f"{result.train_loss[-1]:.4f}", acc=f"{result.test_accuracies[-1]:.3f}"
        )
    bar.close()
    result.test_accuracy = accuracy(model, x_test, y_test)
    print(f"test accuracy: {result.test_accuracy:.2%}")

    result.gradcheck_passed = check_gradients(model, x_test, y_test)
    print(
        f"gradient check (float64, finite differences): "
        f"{'passed' if result.gradcheck_passed else 'FAILED'}"
    )
    result.tape_entries = show_tape(model, x_train, y_train)

    if not args.no_plot:
        plot(result.train_loss, result.test_accuracies, args.out)
        result.plot_path = args.out
        print(f"plot saved to {args.out}")
    result.seconds = time.perf_counter() - start
    print(f"done in {result.seconds:.1f} s")
    return result


if __name__ == "__main__":
    main()
