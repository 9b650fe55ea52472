"""Functional coverage of the top-level regression (cocotb-coverage). Named funcov, not coverage,
so that it does not shadow the coverage.py package (COCOTB_USER_COVERAGE=1 imports it).

Cover points (all under "top."):
  result.label x result.correct  every class predicted correctly and mispredicted at least once
  <layer>.saturation             each requantization saturates low and high, per channel
  stall                          each stall pattern ran
  reset_phase                    reset asserted while the line buffers fill, while conv/pool are
                                 busy, and while fc/argmax finish an image
The database is global to the simulator run; `save` writes YAML and a text report after each test,
so the files hold everything the run covered.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

from int8cnn.golden import avgpool2d_acc, conv2d_acc, dense_acc, eltwise_add, requant, run_network

STALL_BINS = ("none", "idle", "backpressure", "slow_consumer", "random")
RESET_PHASES = ("line_buffer_fill", "conv_pool_busy", "fc_argmax_busy")


@CoverPoint("top.result.label", xf=lambda label, correct: label, bins=list(range(10)))
@CoverPoint("top.result.correct", xf=lambda label, correct: correct, bins=[True, False])
@CoverCross("top.result.label_x_correct", items=["top.result.label", "top.result.correct"])
def _sample_result(label, correct):
    pass


@CoverPoint("top.stall", xf=lambda s: s, bins=list(STALL_BINS))
def sample_stall(stall):
    pass


@CoverPoint("top.reset_phase", xf=lambda p: p, bins=list(RESET_PHASES))
def sample_reset_phase(phase):
    pass


_sat_samplers: dict = {}


def _saturation_sampler(layer):
    if layer.name not in _sat_samplers:
        bins = [(c, k) for c in range(layer.out_shape[0]) for k in ("low", "high")]

        @CoverPoint(f"top.{layer.name}.saturation", xf=lambda ch, kind: (ch, kind), bins=bins)
        def f(ch, kind):
            pass
        _sat_samplers[layer.name] = f
    return _sat_samplers[layer.name]


def sample_results(labels, predicted):
    for lab, p in zip(labels, predicted):
        _sample_result(int(lab), bool(int(lab) == int(p)))


def sample_saturation(qnet, images):
    """For each requantizing layer (and residual add): which channels' pre-clamp values fell
    below lo / above hi. Runs the golden model on `images`; see sample_saturation_outs."""
    outs, _ = run_network(qnet, images)
    sample_saturation_outs(qnet, {"input": np.asarray(images, dtype=np.int64)[:, None], **outs})


_sat_seen: set = set()


def sample_saturation_outs(qnet, cur: dict):
    """Saturation cover points from the golden outputs of a batch ({"input": [N,1,28,28], layer:
    output}, e.g. the chunks the scoreboard computed anyway). A pre-clamp value below lo (above
    hi) leaves lo (hi) in the output, so only a channel whose output reaches a bound not yet
    covered needs its pre-clamp values: they are computed for that channel alone."""
    for layer in qnet.layers:
        if layer.mult is None:
            continue
        out = cur[layer.name]
        lo, hi = layer.clamp
        f = _saturation_sampler(layer)
        for c in range(out.shape[1]):
            need = [k for k, bound in (("low", lo), ("high", hi))
                    if (layer.name, c, k) not in _sat_seen and (out[:, c] == bound).any()]
            if not need:
                continue
            y = _preclamp_channel(layer, [cur[s] for s in qnet.sources(layer)], c)
            for k in need:
                if (y < lo).any() if k == "low" else (y > hi).any():
                    _sat_seen.add((layer.name, c, k))
                    f(c, k)


def _preclamp_channel(layer, inputs: list, c: int) -> np.ndarray:
    """Output channel c of a requantizing layer before its clamp (the golden functions with
    unreachable bounds, on that channel's weights and inputs only)."""
    x = inputs[0]
    lo, hi = -(1 << 62), 1 << 62
    m, sh = layer.mult[c:c + 1], layer.shift[c:c + 1]
    if layer.type == "add":
        return eltwise_add(x[:, c:c + 1], inputs[1][:, c:c + 1], layer.mult[0], layer.mult[1],
                           layer.shift[0], lo, hi, layer.zero_point_out)
    if layer.type == "conv2d":
        if layer.groups > 1:  # the input channels of c's group
            per = x.shape[1] // layer.groups
            g = c // (layer.out_shape[0] // layer.groups)
            x = x[:, g * per:(g + 1) * per]
        acc = conv2d_acc(x, layer.weight[c:c + 1], layer.bias[c:c + 1], layer.stride,
                         layer.padding, 1)
    elif layer.type == "avgpool2d":
        acc = avgpool2d_acc(x[:, c:c + 1], layer.kernel, layer.stride)
    else:
        acc = dense_acc(x.reshape(len(x), -1), layer.weight[c:c + 1],
                        layer.bias[c:c + 1])[:, :, None, None]
    return requant(acc, m, sh, lo, hi, layer.zero_point_out)


def save(directory: Path, log=None) -> float:
    """Write coverage.yml and coverage.txt into `directory`; return the total coverage in %."""
    directory.mkdir(parents=True, exist_ok=True)
    coverage_db.export_to_yaml(str(directory / "coverage.yml"))
    lines = []
    for name in sorted(coverage_db.keys()):
        item = coverage_db[name]
        detail = getattr(item, "detailed_coverage", None)
        missing = []
        if isinstance(detail, dict):
            missing = [b for b, hits in detail.items() if isinstance(hits, int) and hits < 1]
        lines.append(f"{name}: {item.cover_percentage:.1f}% ({item.coverage}/{item.size})"
                     + (f" missing {missing[:12]}" if missing else ""))
    text = "\n".join(lines)
    (directory / "coverage.txt").write_text(text + "\n")
    if log:
        log.info("functional coverage:\n" + text)
    return float(coverage_db["top"].cover_percentage) if "top" in coverage_db else 0.0
