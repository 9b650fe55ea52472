"""Regression report: RTL accuracy, float and golden accuracy, confusion matrix, misclassified
digits, II, latency, simulation speed. Input: the report.json files written by the top-level
regression test (one per shard); output: reports/<name>/report.{md,json}, confusion.png,
misclassified.png.

    python -m int8cnn.report build sim_build/regress-*/report.json --out reports/regress
    python -m int8cnn.report merge reports/shards --out reports/nightly   (nightly CI artifacts)
    ... --expect-images 10000: also fail unless every dataset index 0..9999 appears exactly once
    (a shard missing or run twice); the report is written either way.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .paths import ROOT


def _load(paths) -> dict:
    parts = [json.loads(Path(p).read_text()) for p in paths]
    if not parts:
        raise FileNotFoundError("no report.json files given")
    keys = ("predicted", "labels", "indices")
    merged = {k: sum((p[k] for p in parts), []) for k in keys}
    # the golden model's classes, as the scoreboard computed them (older report.json: re-run)
    merged["golden_predicted"] = (sum((p["golden_predicted"] for p in parts), [])
                                  if all("golden_predicted" in p for p in parts) else None)
    merged["n_mismatches"] = sum(p.get("n_mismatches", 0) for p in parts)
    merged["values"] = sum(p.get("values", 0) for p in parts)
    by_layer: dict = {}
    for p in parts:
        for k, v in p.get("mismatches_by_layer", {}).items():
            by_layer[k] = by_layer.get(k, 0) + v
    merged["mismatches_by_layer"] = by_layer
    merged["mismatches"] = sum((p.get("mismatches", []) for p in parts), [])[:100]
    merged["ii_cycles"] = float(np.mean([p["ii_cycles"] for p in parts]))
    merged["latency_cycles"] = float(np.mean([p["latency_cycles"] for p in parts]))
    merged["wall_s"] = float(sum(p["wall_s"] for p in parts))
    merged["images_per_s_per_process"] = float(np.mean(
        [p.get("images_per_s", p.get("images_per_s_per_process", 0.0)) for p in parts]))
    merged["shards"] = len(parts)
    return merged


def confusion(labels, pred) -> np.ndarray:
    m = np.zeros((10, 10), dtype=np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(pred)), 1)
    return m


def index_check(indices, expect: int) -> str:
    """'' when indices are exactly 0..expect-1 once each, else what is missing or duplicated."""
    idx = np.asarray(indices, dtype=np.int64)
    counts = np.bincount(idx[(idx >= 0) & (idx < expect)], minlength=expect)
    missing, dup = np.flatnonzero(counts == 0), np.flatnonzero(counts > 1)
    outside = idx[(idx < 0) | (idx >= expect)]
    problems = []
    if len(missing):
        problems.append(f"{len(missing)} dataset indices missing (first {missing[:5].tolist()})")
    if len(dup):
        problems.append(f"{len(dup)} indices reported more than once (first {dup[:5].tolist()})")
    if len(outside):
        problems.append(f"{len(outside)} indices outside 0..{expect - 1} (first {outside[:5].tolist()})")
    return "; ".join(problems)


def build(paths, out: Path, net: str = "default", dataset: str = "mnist", data=None,
          expect_images: int | None = None) -> dict:
    from .data import load_mnist
    from .export import load_network
    from .inference import run_network

    r = _load(paths)
    r["index_problems"] = index_check(r["indices"], expect_images) if expect_images else ""
    r["coverage"] = [(Path(p).parent / "coverage.txt").read_text()
                     for p in paths if (Path(p).parent / "coverage.txt").exists()]
    r["coverage"] += [c for p in paths for c in json.loads(Path(p).read_text()).get("coverage", [])]
    idx = np.array(r["indices"])
    labels, pred = np.array(r["labels"]), np.array(r["predicted"])
    x, y = load_mnist("test", data, dataset=dataset)
    assert (y[idx] == labels).all(), "report labels differ from the dataset's"
    if r["golden_predicted"] is not None and len(r["golden_predicted"]) == len(idx):
        gpred = np.array(r["golden_predicted"])
    else:
        _, gpred = run_network(load_network(ROOT / "weights" / net), x[idx])
    r.pop("golden_predicted")  # not repeated in the merged report.json
    r["rtl_accuracy"] = float((pred == labels).mean())
    r["golden_accuracy"] = float((gpred == labels).mean())
    r["rtl_equals_golden"] = bool((gpred == pred).all())
    # the float model's accuracy (torch: ~3 s with its import) in a second process, while this one
    # draws the plots
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        float_acc = pool.submit(float_accuracy, net, x[idx], labels)
        cm = confusion(labels, pred)
        out.mkdir(parents=True, exist_ok=True)
        _plots(cm, x, idx, labels, pred, out)
        r["float_accuracy"] = float_acc.result()
    r["images"] = int(len(idx))
    r["confusion"] = cm.tolist()
    (out / "report.json").write_text(json.dumps(r, indent=1) + "\n")
    (out / "report.md").write_text(markdown(r))
    return r


def float_accuracy(net: str, images: np.ndarray, labels: np.ndarray) -> float | None:
    """The float checkpoint's accuracy on images (None without torch)."""
    try:
        from .train import evaluate_float, load_checkpoint
    except ImportError:  # torch not installed
        return None
    model, _ = load_checkpoint(ROOT / "weights" / f"{net}.pt")
    return evaluate_float(model, images, labels)


def _plots(cm, x, idx, labels, pred, out: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(np.log1p(cm), cmap="Blues")
    for i in range(10):
        for j in range(10):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=6)
    ax.set_xlabel("RTL prediction")
    ax.set_ylabel("label")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_title(f"confusion matrix, {int(cm.sum())} images")
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=120)
    plt.close(fig)
    wrong = np.flatnonzero(labels != pred)[:16]
    fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
    for k, a in enumerate(axes.flat):
        a.axis("off")
        if k < len(wrong):
            w = wrong[k]
            a.imshow(x[idx[w]], cmap="gray_r")
            a.set_title(f"#{idx[w]}: {labels[w]}->{pred[w]}", fontsize=7)
    fig.suptitle("misclassified by the RTL (index: label->prediction)", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "misclassified.png", dpi=120)
    plt.close(fig)


def markdown(r: dict) -> str:
    pct = lambda v: "n/a" if v is None else f"{100 * v:.2f}%"  # noqa: E731
    lines = [
        "# RTL regression report", "",
        "| figure | value |", "|---|---|",
        f"| images | {r['images']} (dataset indices {min(r['indices'])}..{max(r['indices'])}) |",
        f"| RTL accuracy | {pct(r['rtl_accuracy'])} |",
        f"| golden (int8) accuracy | {pct(r['golden_accuracy'])} |",
        f"| float accuracy | {pct(r['float_accuracy'])} |",
        f"| RTL class == golden class on every image | {r['rtl_equals_golden']} |",
        f"| values compared | {r['values']} |",
        f"| mismatches | {r['n_mismatches']} {r['mismatches_by_layer'] or ''} |",
        f"| cycles per image (II) | {r['ii_cycles']:.1f} |",
        f"| latency (first pixel in -> result) | {r['latency_cycles']:.0f} cycles |",
        f"| simulated images/s (per process) | {r['images_per_s_per_process']:.1f} |",
        f"| shards | {r['shards']} |",
        f"| every dataset index exactly once | "
        f"{r.get('index_problems') or 'yes'}{'' if 'index_problems' in r else ' (not checked)'} |", "",
        "![confusion](confusion.png)", "", "![misclassified](misclassified.png)", "",
    ]
    for k, text in enumerate(r.get("coverage", [])):
        lines += [f"## Functional coverage (cocotb-coverage), shard {k}", "", "```", text.strip(),
                  "```", ""]
    if r["mismatches"]:
        lines += ["## First mismatches", ""] + [f"- {m}" for m in r["mismatches"][:10]] + [""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m int8cnn.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="report from report.json files")
    b.add_argument("reports", nargs="+")
    m = sub.add_parser("merge", help="report from a folder of shard artifacts")
    m.add_argument("folder")
    for p in (b, m):
        p.add_argument("--out", required=True)
        p.add_argument("--net", default="default")
        p.add_argument("--dataset", default="mnist")
        p.add_argument("--data", default=None)
        p.add_argument("--expect-images", type=int, default=None, metavar="N",
                       help="fail unless the dataset indices are exactly 0..N-1, once each")
    a = ap.parse_args(argv)
    paths = a.reports if a.cmd == "build" else sorted(Path(a.folder).rglob("report.json"))
    paths = [p for p in paths if Path(p).parent.name != "nightly"]
    r = build(paths, Path(a.out), a.net, a.dataset, a.data, a.expect_images)
    print(Path(a.out) / "report.md")
    print(markdown(r))
    if r["index_problems"]:
        print(f"report: {r['index_problems']}", file=sys.stderr)
    return 0 if r["n_mismatches"] == 0 and r["rtl_equals_golden"] and not r["index_problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
