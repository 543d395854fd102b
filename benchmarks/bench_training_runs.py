"""Benchmark: the module's four training runs done our way and done the seed tutorial's way.

The four runs, with the tutorials' data, seeds and settings (stand-in data unless NMA_DECODING_DATA
says otherwise):

1. MSE decoder: DeepNetReLU(23589, 10), SGD lr 1e-4, 50 iterations, train loss only;
2. NLL decoder: DeepNetSoftmax(23589, 20, 20 classes), SGD lr 0.1, 1000 iterations, test loss each
   iteration;
3. regularised NLL decoder: as 2, plus L2 1e-2 and L1 5e-4 on the input layer's weights;
4. encoding model: ConvFC (6 channels, K = 7) on 60 gratings of 12 x 16, SGD lr 2 with momentum 0.9,
   L2 5e-4 and L1 1e-6 on the readout weights, 200 iterations.

"seed way": the loops as the seed tutorial writes them (rewritten here): penalties built into the
autograd loss, the test loss computed with autograd tracking, ``loss.item()`` every iteration, the
encoding loop's test pass every n_iter // 10 iterations. "our way": ``helpers.training.train`` and
``helpers.training.train_encoding_model``, as the notebooks call them. Both start from identical
weights; the script checks they end at the same weights (relative difference) and prints the time of
each run and the ratio ours / seed's (target: at most 0.6 over the four runs together).

The networks and the exercise solutions are taken from the solution notebooks themselves (their
class and function definitions are executed here), so the benchmark trains exactly what students do.

Usage (from the repository root):  .venv/bin/python benchmarks/bench_training_runs.py [--repeats 1]
"""

from __future__ import annotations

import argparse
import ast
import functools
import os
import statistics
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import torch
from torch import nn, optim

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers import data, stimuli, training  # noqa: E402

TARGET_RATIO = 0.6


def notebook_definitions(notebook: Path, names: set[str]) -> dict:
    """Execute the named top-level classes and functions of a notebook; return them by name."""
    nb = nbformat.read(notebook, as_version=4)
    namespace: dict = {"np": np, "torch": torch, "nn": nn, "functools": functools}
    found = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.source.lstrip().startswith(("%", "!")):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics inside a cell: not a definition we need
            continue
        wanted = [n for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef) and n.name in names]
        imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        if wanted:
            module = ast.Module(body=imports + wanted, type_ignores=[])
            exec(compile(module, str(notebook), "exec"), namespace)  # noqa: S102 - our own notebook
            found.update(n.name for n in wanted)
    missing = names - found
    if missing:
        raise SystemExit(f"{notebook}: no definition of {sorted(missing)}; was a class or function renamed?")
    return namespace


# --- the seed tutorial's loops, rewritten ----------------------------------------------------------


def seed_decoder_loop(net, loss_fn, train_data, train_labels, n_iter, learning_rate,
                      test_data=None, test_labels=None):
    optimizer = optim.SGD(net.parameters(), lr=learning_rate)
    train_loss, test_loss = [], []
    for i in range(n_iter):
        loss = loss_fn(net(train_data), train_labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_loss.append(loss.item())
        if test_data is not None:
            loss_test = loss_fn(net(test_data), test_labels)  # tracked by autograd, as in the seed
            test_loss.append(loss_test.item())
        if (i + 1) % (n_iter // 5) == 0:
            pass  # the seed prints here; printing is not what we time
    return train_loss, test_loss


def seed_encoding_loop(net, stimuli_images, resp_train, resp_test, n_iter, learning_rate,
                       L2_penalty, L1_penalty):
    optimizer = optim.SGD(net.parameters(), lr=learning_rate, momentum=0.9)
    train_loss = np.full(n_iter, np.nan)
    test_loss = np.full(n_iter, np.nan)
    mse = nn.MSELoss()
    for i in range(n_iter):
        weights = net.out_layer.weight
        loss = (mse(net(stimuli_images), resp_train) + L2_penalty * torch.square(weights).sum()
                + L1_penalty * torch.abs(weights).sum())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_loss[i] = loss.item()
        if (i + 1) % (n_iter // 10) == 0 or i == 0:
            test = (mse(net(stimuli_images), resp_test) + L2_penalty * torch.square(weights).sum()
                    + L1_penalty * torch.abs(weights).sum())
            test_loss[i] = test.item()
    return train_loss, test_loss


# --- the four runs ---------------------------------------------------------------------------------


def setup():
    defs_01 = notebook_definitions(ROOT / "solutions" / "01_decoding.ipynb",
                                   {"DeepNetReLU", "DeepNetSoftmax", "regularized_loss"})
    defs_02 = notebook_definitions(ROOT / "solutions" / "02_encoding.ipynb", {"ConvFC"})
    resp_all, stimuli_all = data.load_data()
    np.random.seed(4)
    torch.manual_seed(4)
    shuffled = torch.randperm(resp_all.shape[0])
    itrain, itest = shuffled[: int(0.6 * resp_all.shape[0])], shuffled[int(0.6 * resp_all.shape[0]):]
    split = (resp_all[itrain], stimuli_all[itrain], resp_all[itest], stimuli_all[itest])
    resp_train6, resp_test6, stimuli_deg = data.load_data_split()
    gratings = stimuli.grating_stack(np.linspace(0, 360, 61)[:-1] - 180, resolution=0.025)
    return defs_01, defs_02, split, (gratings, resp_train6, resp_test6)


def fresh(make, seed=1):
    np.random.seed(seed)
    torch.manual_seed(seed)
    return make()


def run_all(way: str, defs_01, defs_02, split, encoding_data) -> dict[str, tuple[float, torch.Tensor]]:
    """Run the four trainings one way; return {run: (seconds, final first-layer weights)}."""
    resp_train, deg_train, resp_test, deg_test = split
    n_neurons = resp_train.shape[1]
    n_classes = 20
    classes_train = training.stimulus_class(deg_train, n_classes)
    classes_test = training.stimulus_class(deg_test, n_classes)
    results = {}

    def timed(name, net, body):
        start = time.perf_counter()
        body()
        results[name] = (time.perf_counter() - start, next(net.parameters()).detach().clone())

    # 1. MSE decoder
    net = fresh(lambda: defs_01["DeepNetReLU"](n_neurons, 10))
    if way == "seed":
        timed("MSE decoder", net,
              lambda: seed_decoder_loop(net, nn.MSELoss(), resp_train, deg_train, 50, 1e-4))
    else:
        timed("MSE decoder", net, lambda: training.train(net, nn.MSELoss(), resp_train, deg_train, n_iter=50,
                                                         learning_rate=1e-4, progress=False, print_every=10))
    # 2. and 3. NLL decoders, without and with penalties on the input layer
    for name, penalties in [("NLL decoder", None), ("regularised NLL decoder", (1e-2, 5e-4))]:
        net = fresh(lambda: defs_01["DeepNetSoftmax"](n_neurons, 20, n_classes))
        if penalties is None:
            loss_fn = nn.NLLLoss()
        else:
            loss_fn = functools.partial(defs_01["regularized_loss"], weights=net.in_layer.weight,
                                        L2_penalty=penalties[0], L1_penalty=penalties[1])
        if way == "seed":
            body = functools.partial(seed_decoder_loop, net, loss_fn, resp_train, classes_train, 1000, 0.1,
                                     resp_test, classes_test)
        else:
            body = functools.partial(training.train, net, loss_fn, resp_train, classes_train, n_iter=1000,
                                     learning_rate=0.1, test_data=resp_test, test_labels=classes_test,
                                     progress=False, print_every=200)
        timed(name, net, body)
    # 4. encoding model; its first parameter is the conv weight, so compare the readout explicitly
    gratings, resp_train6, resp_test6 = encoding_data
    filters = stimuli.example_filters(6, 7)
    net = fresh(lambda: defs_02["ConvFC"](resp_train6.shape[1], filters=filters))
    settings = dict(n_iter=200, learning_rate=2.0, L2_penalty=5e-4, L1_penalty=1e-6)
    start = time.perf_counter()
    if way == "seed":
        seed_encoding_loop(net, gratings, resp_train6, resp_test6, **settings)
    else:
        training.train_encoding_model(net, gratings, resp_train6, resp_test6, momentum=0.9, progress=False,
                                      **settings)
    results["encoding model"] = (time.perf_counter() - start, net.out_layer.weight.detach().clone())
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each way (median time reported)")
    args = parser.parse_args(argv)
    os.environ.setdefault("NMA_DECODING_DATA", "synthetic")
    os.environ["NMA_DECODING_PROGRESS"] = "0"
    defs_01, defs_02, split, encoding_data = setup()
    times: dict[str, dict[str, list[float]]] = {"seed": {}, "ours": {}}
    final: dict[str, dict[str, torch.Tensor]] = {"seed": {}, "ours": {}}
    for _ in range(args.repeats):
        for way in ("seed", "ours"):
            for name, (seconds, weights) in run_all(way, defs_01, defs_02, split, encoding_data).items():
                times[way].setdefault(name, []).append(seconds)
                final[way][name] = weights
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, data: {data.describe_source()}")
    print(f"{'run':<26}{'seed way (s)':>13}{'our way (s)':>13}{'ours/seed':>11}{'weights rel. diff':>19}")
    total = {"seed": 0.0, "ours": 0.0}
    for name in times["seed"]:
        seed_s, ours_s = (statistics.median(times[w][name]) for w in ("seed", "ours"))
        total["seed"] += seed_s
        total["ours"] += ours_s
        a, b = final["seed"][name], final["ours"][name]
        rel = ((a - b).abs().max() / b.abs().max()).item()
        print(f"{name:<26}{seed_s:13.2f}{ours_s:13.2f}{ours_s / seed_s:11.2f}{rel:19.1e}")
    ratio = total["ours"] / total["seed"]
    print(f"{'all four':<26}{total['seed']:13.2f}{total['ours']:13.2f}{ratio:11.2f}")
    print(f"target: ours/seed <= {TARGET_RATIO} -> {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
