"""Quantization-aware fine-tuning of a float checkpoint (docs/quantization.md, "QAT").

Post-training quantization (int8cnn.quantize) loses 0.1-0.3 points on some networks and much more
on seed004, whose power-of-two-exact requantization and int16 biases coarsen every weight scale.
This fine-tunes the float weights so that the quantized network the export produces is accurate;
the export itself is unchanged (the same post-training quantization of the fine-tuned checkpoint),
so the committed weights still regenerate byte for byte from the checkpoint.

The training forward pass runs the network's layer plan (int8cnn.models.layer_plan) on float
tensors with fake quantization where the integer network rounds:

  * conv2d / dense: weights round to int8 at the scale the export will choose from the current
    weights (per output channel; one scale for the logits layer; pow2_exact: the power-of-two
    exact scale), biases to the accumulator scale s_in * s_w (int16 saturation when bias_bits 16);
  * every requantized output (conv, dense before the logits, average pool, activation table,
    residual add) rounds and clamps at its calibrated output scale.

Rounding passes gradients straight through; clamping stops them outside the range. Activation
scales come from quantize() on the calibration images and are refreshed every epoch. Each epoch
ends with the real export (quantize + the integer golden model) on the validation split; the
checkpoint keeps the epoch with the best int8 validation accuracy (epoch 0: the float
checkpoint unchanged). BatchNorm (seed004) is folded into its conv first and left as an
identity, so the checkpoint still loads as the same model class.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .models import ConvBN, layer_plan
from .quantize import quantize, weight_scale
from .train import augment, load_checkpoint, save_checkpoint, set_threads, state_copy, to_float

ACT_TORCH = {"selu": F.selu, "gelu": F.gelu, "relu6": F.relu6, "hardswish": F.hardswish}


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    """round half to even forward, identity backward."""
    return x + (torch.round(x) - x).detach()


def _fake_quant(x: torch.Tensor, scale: float, lo: int, hi: int) -> torch.Tensor:
    """An activation at its scale: round half up (the requantizer's +2^(S-1) then shift), clamp;
    gradient straight through the rounding, zero outside the clamp."""
    v = x / scale
    return torch.clamp(v + (torch.floor(v + 0.5) - v).detach(), lo, hi) * scale


def fold_batchnorm(model) -> int:
    """Fold every ConvBN's BatchNorm into its conv in place and make the BatchNorm an identity
    (weight 1, bias 0, mean 0, var 1 - eps). Returns the number folded."""
    n = 0
    for m in model.modules():
        if isinstance(m, ConvBN):
            f = m.folded()
            conv, bn = m[0], m[1]
            with torch.no_grad():
                conv.weight.copy_(f.weight)
                conv.bias.copy_(f.bias)
                bn.weight.fill_(1.0)
                bn.bias.zero_()
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
            bn.weight.requires_grad_(False)
            bn.bias.requires_grad_(False)
            n += 1
    return n


def live_plan(model) -> list:
    """layer_plan(model) with the trainable modules themselves (a ConvBN's conv, its BatchNorm
    folded by fold_batchnorm, instead of the folded copy layer_plan makes)."""
    plan = layer_plan(model)
    convs = [m[0] for m in model.modules() if isinstance(m, ConvBN)]
    if not convs:
        return plan
    out, k = [], 0
    for entry in plan:
        if entry[0] == "conv2d":
            entry = (entry[0], convs[k], *entry[2:])
            k += 1
        out.append(entry)
    if k != len(convs):
        raise RuntimeError(f"live_plan: {k} conv entries for {len(convs)} ConvBN modules")
    return out


def _weight_scale(w: torch.Tensor, layer, last: bool, requant: str) -> torch.Tensor:
    """The per-output-channel weight scale quantize() would choose for these weights."""
    s_w = weight_scale(w.detach().double().numpy(), layer.scale_in, layer.scale_out, last, requant)
    return torch.from_numpy(s_w).to(w.dtype)


def fake_quant_forward(plan, qlayers, x: torch.Tensor, requant: str, bias_bits: int) -> torch.Tensor:
    """Logits of the plan on float images x [N,1,28,28] with the integer network's roundings."""
    if len(plan) != len(qlayers):
        raise RuntimeError(f"plan has {len(plan)} entries, the quantized network {len(qlayers)}")
    state = {-1: x}
    for i, (entry, q) in enumerate(zip(plan, qlayers)):
        srcs = list(entry[3]) if len(entry) > 3 else [i - 1]
        state[i] = fake_quant_layer(entry, q, [state[s] for s in srcs], i == len(plan) - 1,
                                    requant, bias_bits)
    return state[len(plan) - 1]


def fake_quant_layer(entry, q, inputs: list, last: bool, requant: str, bias_bits: int) -> torch.Tensor:
    """One plan entry (kind, module, relu, ...) with its QLayer q on its float inputs."""
    kind, mod, relu = entry[:3]
    a = inputs[0]
    if kind == "add":
        y = a + inputs[1]
        return _fake_quant(torch.relu(y) if relu else y, q.scale_out, *q.clamp)
    if kind == "act":
        return _fake_quant(ACT_TORCH[mod](a), q.scale_out, *q.clamp)
    if kind == "maxpool2d":
        return F.max_pool2d(a, q.kernel, q.stride)
    if kind == "avgpool2d":  # the exact window sum times the layer's own multiplier M / 2^S
        acc = F.avg_pool2d(a, q.kernel, q.stride) * (q.kernel * q.kernel / q.scale_in)
        acc = acc + (torch.round(acc) - acc).detach()
        m = torch.as_tensor(np.asarray(q.mult) / 2.0 ** np.asarray(q.shift), dtype=a.dtype)
        return _fake_quant(acc * m.view(1, -1, 1, 1), 1.0, *q.clamp) * q.scale_out
    w = mod.weight
    per_channel = (-1,) + (1,) * (w.dim() - 1)
    s_w = _weight_scale(w, q, last, requant)
    wq = torch.clamp(_round_ste(w / s_w.view(per_channel)), -127, 127) * s_w.view(per_channel)
    s_b = q.scale_in * s_w
    bq = _round_ste(mod.bias / s_b)
    if bias_bits == 16:
        bq = torch.clamp(bq, -(1 << 15), (1 << 15) - 1)
    if kind == "conv2d":
        y = F.conv2d(a, wq, bq * s_b, mod.stride, mod.padding, groups=mod.groups)
    else:
        y = F.linear(torch.flatten(a, 1), wq, bq * s_b)
    if last:
        return y
    y = F.relu6(y) if relu == "relu6" else torch.relu(y) if relu else y
    return _fake_quant(y, q.scale_out, *q.clamp)


def int8_accuracy(model, calib: np.ndarray, images: np.ndarray, labels: np.ndarray, net: str,
                  requant: str, bias_bits: int) -> tuple[float, object]:
    """Accuracy of the network the export would write (quantize + the integer golden model)."""
    from .inference import run_network
    model.eval()
    q = quantize(model, calib, net, requant=requant, bias_bits=bias_bits)
    return float((run_network(q, images)[1] == labels).mean()), q


def qat(net: str, ckpt: Path, calib: np.ndarray, requant: str, bias_bits: int, epochs: int = 6,
        lr: float = 2e-4, data_path=None, dataset: str = "mnist", batch: int = 128, seed: int = 0,
        quiet: bool = False) -> dict:
    """Fine-tune checkpoint `ckpt` in place (atomically) for `epochs` epochs; keep the epoch with
    the best int8 validation accuracy. Returns the checkpoint's new "qat" metadata."""
    from .data import load_mnist
    torch.manual_seed(seed)
    set_threads()
    ckpt = Path(ckpt)
    model, meta = load_checkpoint(ckpt, net)
    if meta.get("qat"):
        raise ValueError(f"{ckpt}: already quantization-aware fine-tuned ({meta['qat']}); "
                         "retrain the float checkpoint first")
    xtr, ytr = load_mnist("train", data_path, dataset=dataset, fallback=False)
    xva, yva = load_mnist("val", data_path, dataset=dataset, fallback=False)
    fold_batchnorm(model)
    plan = live_plan(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=meta.get("weight_decay", 1e-4))
    steps = (len(ytr) + batch - 1) // batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps)
    gen = torch.Generator().manual_seed(seed)
    x_all, y_all = to_float(xtr), torch.from_numpy(ytr)
    shift, rot, scale = meta.get("shift", 2), meta.get("rot", 0.0), meta.get("scale", 0.0)
    best, q = int8_accuracy(model, calib, xva, yva, net, requant, bias_bits)
    start = best
    best_state, best_epoch, history = state_copy(model), 0, [round(best, 4)]
    bar = tqdm(range(epochs), desc=f"qat {net}", disable=quiet)
    for ep in bar:
        qlayers = q.layers  # activation scales of the epoch's start
        model.train()
        perm = torch.randperm(len(y_all), generator=gen)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            xb = augment(x_all[idx], shift, rot, scale, gen)
            xb = torch.round(xb * 255.0) / 255.0  # the int8 input the hardware sees
            loss = F.cross_entropy(fake_quant_forward(plan, qlayers, xb, requant, bias_bits),
                                   y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc, q = int8_accuracy(model, calib, xva, yva, net, requant, bias_bits)
        history.append(round(acc, 4))
        if acc > best:
            best, best_epoch, best_state = acc, ep + 1, state_copy(model)
        bar.set_postfix(loss=f"{loss.item():.3f}", int8_val=f"{acc:.4f}", best=f"{best:.4f}@{best_epoch}")
    info = {"epochs": epochs, "lr": lr, "best_epoch": best_epoch, "requant": requant,
            "bias_bits": bias_bits, "int8_val_before": round(start, 4),
            "int8_val_after": round(best, 4), "int8_val_per_epoch": history}
    if best_epoch == 0:  # no epoch beat the float checkpoint: leave it untouched
        return info
    model.load_state_dict(best_state)
    save_checkpoint(ckpt, model, dict(meta, qat=info))
    return info
