"""Float training: fixed seed, +-2 px random shift augmentation, tqdm progress, float checkpoint."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .data import load_mnist
from .models import build


def to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 [N,28,28] -> float [N,1,28,28] in [0,1] (the scale 1/255 of the int8 input)."""
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Shift each image by an integer offset in [-max_shift, max_shift]^2, filling with zeros."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    pad = F.pad(x, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])  # [n,h]
    cols = (dx[:, None] + torch.arange(w)[None, :])  # [n,w]
    idx_n = torch.arange(n)[:, None, None]
    return pad[idx_n, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def evaluate_float(model, images: np.ndarray, labels: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(to_float(images[i:i + 2000])).argmax(1)
                          for i in range(0, len(images), 2000)])
    return float((pred.numpy() == labels).mean())


def train(net: str, out: Path, epochs: int = 30, seed: int = 0, shift: int = 2,
          data_path=None, batch: int = 64, lr: float = 2e-3, dataset: str = "mnist",
          quiet: bool = False) -> dict:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    xtr, ytr = load_mnist("train", data_path, dataset=dataset)
    source = load_mnist.last_source
    xva, yva = load_mnist("val", data_path, dataset=dataset)
    model = build(net)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    x_all, y_all = to_float(xtr), torch.from_numpy(ytr)
    bar = tqdm(range(epochs), desc=f"train {net}", disable=quiet)
    for _ in bar:
        model.train()
        perm = torch.randperm(len(y_all), generator=gen)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            xb = random_shift(x_all[idx], shift, gen)
            loss = F.cross_entropy(model(xb), y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{evaluate_float(model, xva, yva):.4f}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"net": net, "epochs": epochs, "seed": seed, "shift": shift, "train_source": source,
            "train_images": int(len(ytr)), "val_accuracy": evaluate_float(model, xva, yva)}
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    os.close(fd)
    torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)
    os.replace(tmp, out)
    return meta


def load_checkpoint(path: Path, net: str | None = None):
    ck = torch.load(path, map_location="cpu", weights_only=True)
    name = net or ck["meta"]["net"]
    model = build(name)
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck["meta"]
