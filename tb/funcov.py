"""Functional coverage of the top-level regression (cocotb-coverage). Named funcov, not coverage,
so that it does not shadow the coverage.py package (COCOTB_USER_COVERAGE=1 imports it).

Cover points (all under "top."):
  result.label x result.correct  every class predicted correctly and mispredicted at least once
  <layer>.saturation             each requantization saturates low and high, per channel, where
                                 an image can (the bins interval bounds prove unreachable,
                                 int8cnn.coverset.unreachable, are listed with the reason)
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

from int8cnn.coverset import bin_name, saturation_bins, unreachable
from int8cnn.inference import run_layer, run_network

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
_unreachable: dict = {}   # bin name -> reason (int8cnn.coverset.unreachable), for the report


def _saturation_sampler(qnet, layer):
    """The layer's cover point: one bin per (channel, kind) that some image can hit; the bins
    interval bounds prove unreachable are left out and listed by save()."""
    if layer.name not in _sat_samplers:
        dead = unreachable(qnet)
        _unreachable.update(dead)
        bins = [(c, k) for name, c, k in saturation_bins(qnet)
                if name == layer.name and bin_name((name, c, k)) not in dead]

        @CoverPoint(f"top.{layer.name}.saturation", xf=lambda ch, kind: (ch, kind), bins=bins)
        def f(ch, kind):
            pass
        _sat_samplers[layer.name] = f
    return _sat_samplers[layer.name]


_results_seen: set = set()


def sample_results(labels, predicted):
    for lab, p in zip(labels, predicted):
        _results_seen.add((int(lab), bool(int(lab) == int(p))))
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
    hi) leaves lo (hi) in the output, so only a layer with a channel whose output reaches a bound
    not yet covered needs its pre-clamp values (inference.run_layer with clamp=False)."""
    for layer in qnet.layers:
        if layer.mult is None:
            continue
        out = cur[layer.name]
        lo, hi = layer.clamp
        f = _saturation_sampler(qnet, layer)
        need = [(c, k) for c in range(out.shape[1]) for k, bound in (("low", lo), ("high", hi))
                if (layer.name, c, k) not in _sat_seen and (out[:, c] == bound).any()]
        if not need:
            continue
        y = run_layer(layer, *(cur[s] for s in qnet.sources(layer)), clamp=False)
        for c, k in need:
            if (y[:, c] < lo).any() if k == "low" else (y[:, c] > hi).any():
                _sat_seen.add((layer.name, c, k))
                f(c, k)


def missing_bins(qnet) -> set:
    """Names of the bins of `qnet` not hit so far, as int8cnn.coverset names them:
    "<layer>:<channel>:<kind>" for a saturation bin some image can hit,
    "label:<digit>:correct|wrong" for the results. From this module's own record of what was sampled (the cover points'
    database is global to the process and names its points by layer name only)."""
    miss = ({bin_name(b) for b in saturation_bins(qnet) if b not in _sat_seen}
            - set(unreachable(qnet)))
    miss |= {f"label:{d}:{'correct' if ok else 'wrong'}" for d in range(10) for ok in (True, False)
             if (d, ok) not in _results_seen}
    return miss


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
    lines += [f"unreachable {b}: {why}" for b, why in sorted(_unreachable.items())]
    text = "\n".join(lines)
    (directory / "coverage.txt").write_text(text + "\n")
    if log:
        log.info("functional coverage:\n" + text)
    return float(coverage_db["top"].cover_percentage) if "top" in coverage_db else 0.0
