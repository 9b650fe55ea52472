"""dense: cocotb tests (run inside the simulator) and the pytest function that builds each case.

The pytest function writes random WEIGHT_FILE / BIAS_FILE under sim_build/<build>/ (weights in RTL
address order: line p = input beat p, lane o*C+c = W[o][c*N_BEATS+p]); the cocotb side rebuilds the
[OUT, C*N_BEATS] matrix from that file, streams random vectors (plus extreme ones that reach the
accumulator bound) and compares every output beat with golden.dense_acc exactly (harness:
axis_tb.py). Folded cases (MULTS > 0) take T = ceil(OUT*C / MULTS) cycles per input beat: without
stalls the input beats are exactly T cycles apart and each output beat comes T + 2 cycles after
its vector's last beat; the folded DUT reads only its chunk-ordered weight ROM (FOLD_FILE, written
by int8cnn.export.fold_words), the golden model the per-beat file. BIAS_W = 16 cases write int16 biases (4 hex digits) including -32768 and
32767.
"""
from __future__ import annotations

import cocotb
import numpy as np
import pytest

from axis_tb import build_dir, run_case, stall_test, start, use_fold_rom, vstr
from int8cnn import golden
from int8cnn.qnet import QLayer
from int8cnn.hardware import fold_cycles
from memgen import int_to_lanes, lanes_to_int, pack_words, read_mem, write_mem

LATENCY = 2  # cycles from the accepted last beat of a vector to its output beat (rtl/dense.v)
FOLDED_LATENCY = 2  # folded (MULTS > 0): T + 2 cycles (T chunks, accumulate 1, output 1)


# ----------------------------------------------------------------------------- cocotb side

def load_weights(path, c: int, n_beats: int, out: int, w_w: int) -> np.ndarray:
    """[OUT, C*N_BEATS] weight matrix from the per-beat file (line p, lane o*C+c)."""
    lines = read_mem(path)
    assert len(lines) == n_beats
    w = np.zeros((out, c * n_beats), dtype=np.int64)
    for p, word in enumerate(lines):
        lanes = int_to_lanes(word, out * c, w_w, signed=True)
        for o in range(out):
            for ch in range(c):
                w[o, ch * n_beats + p] = lanes[o * c + ch]
    return w


def make_inputs(rng: np.random.Generator, n: int, w: np.ndarray, in_signed: int, in_w: int):
    """[n, IN] vectors: random, all-min, all-max, and per output the vectors reaching +-bound."""
    xmin, xmax = (-(1 << (in_w - 1)), (1 << (in_w - 1)) - 1) if in_signed else (0, (1 << in_w) - 1)
    rows = [np.full(w.shape[1], xmin), np.full(w.shape[1], xmax)]
    for o in range(w.shape[0]):
        # largest accumulator: x = xmax where w > 0, xmin where w < 0 (and the opposite)
        rows.append(np.where(w[o] > 0, xmax, xmin))
        rows.append(np.where(w[o] > 0, xmin, xmax))
        # largest magnitude for signed inputs: xmin against negative weights
        rows.append(np.where(w[o] < 0, xmin, xmax if in_signed == 0 else 0))
    rows = rows[:n]
    while len(rows) < n:
        rows.append(rng.integers(xmin, xmax + 1, size=w.shape[1]))
    x = np.stack(rows).astype(np.int64)
    return x[rng.permutation(n)]


def stimulus(cfg: dict, rng: np.random.Generator):
    """(frames in, frames out, latency, cycles per input beat T, beat decoder) of the case."""
    C, NB, OUT = cfg["C"], cfg["N_BEATS"], cfg["OUT"]
    IN_W, ACC_W, OUT_W = cfg["IN_W"], cfg["ACC_W"], cfg["OUT_W"]
    w = load_weights(cfg["WEIGHT_FILE"], C, NB, OUT, cfg["W_W"])
    b = np.array(read_mem(cfg["BIAS_FILE"], cfg.get("BIAS_W", 32)), dtype=np.int64)
    assert len(b) == OUT

    n = cfg["vectors"]
    x = make_inputs(rng, n, w, cfg["IN_SIGNED"], IN_W)
    acc = golden.dense_acc(x, w, b)
    assert np.abs(acc).max() < (1 << (ACC_W - 1)), "test data exceeds ACC_W"
    frames_in = [[lanes_to_int(x[v].reshape(C, NB)[:, p], IN_W) for p in range(NB)] for v in range(n)]
    frames_out = [[lanes_to_int(acc[v], OUT_W)] for v in range(n)]

    t = fold_cycles(OUT * C, cfg.get("MULTS", 0))  # cycles per input beat
    latency = LATENCY if t == 1 else t + FOLDED_LATENCY
    return frames_in, frames_out, latency, t, lambda word: int_to_lanes(word, OUT, OUT_W, signed=True)


@stall_test
async def run_stream(dut, stall):
    cfg, rng, tb = await start(dut, stall)
    n, NB = cfg["vectors"], cfg["N_BEATS"]
    frames_in, frames_out, latency, t, decode = stimulus(cfg, rng)
    await tb.run(frames_in, frames_out, latency, decode, timeout_ns=10_000 * (n * NB + 1) * t)
    # under every stall pattern: each result due `latency` after its vector's last beat (folded:
    # `latency` cycles in which the output was not stalled, since a last chunk waits for a full
    # output register); the input stalls only for a full output register (unfolded: folding
    # stalls it by design)
    last = [tb.in_cycles[v * NB + NB - 1] for v in range(n)]
    due = [c + latency for c in last] if t == 1 else tb.due_with_stage_enable(last, latency)
    tb.check_work_conserving(due, input_rule=t == 1, why=f" [{stall}]")
    if stall == "none":
        tb.check_input_period(n * NB, t)
        tb.check_latency([NB - 1], NB, n, latency)  # output `latency` after each vector's last beat
    if stall == "backpressure" and NB * t >= 4:
        # the sink waits at most 3 cycles, a vector takes NB*t >= 4: the input never stalls
        # (beyond the folding)
        tb.check_input_period(n * NB, t, "although the output register was free")


@cocotb.test()
async def reset_mid_stream(dut):
    """A one-clock reset with every stage full behind a stopped sink, then the vectors again."""
    cfg, rng, tb = await start(dut, "none")
    frames_in, frames_out, latency, t, decode = stimulus(cfg, rng)
    await tb.reset_when_blocked(frames_in, frames_out, latency, decode,
                                timeout_ns=10_000 * (len(frames_in) * cfg["N_BEATS"] + 1) * t)


# ----------------------------------------------------------------------------- pytest side

CASES = {
    # default network fc1: 3x11x11 uint8 -> 10 logits
    "default": dict(C=3, N_BEATS=121, OUT=10, IN_SIGNED=0, ACC_W=24, OUT_W=32, vectors=8, wmax=127),
    # odd sizes, signed input, ACC_W = exact bound of the data
    "odd": dict(C=2, N_BEATS=7, OUT=3, IN_SIGNED=1, ACC_W=None, OUT_W=32, vectors=80, wmax=128),
    # one beat per vector (first and last beat at once), ACC_W = OUT_W = product width
    "tiny": dict(C=1, N_BEATS=1, OUT=1, IN_SIGNED=1, ACC_W=17, OUT_W=17, vectors=200, wmax=128),
    # folded onto MULTS multipliers: fc1 on the UP5K's 8 DSPs (30 products in 4 cycles, two zero),
    # MULTS > OUT (two products of one output in a chunk), one multiplier, and OUT, MULTS coprime
    "default-m8": dict(C=3, N_BEATS=121, OUT=10, IN_SIGNED=0, ACC_W=24, OUT_W=32, vectors=8,
                       wmax=127, MULTS=8),
    "odd-m5": dict(C=2, N_BEATS=7, OUT=3, IN_SIGNED=1, ACC_W=None, OUT_W=32, vectors=60, wmax=128,
                   MULTS=5),
    "odd-m1": dict(C=2, N_BEATS=7, OUT=3, IN_SIGNED=1, ACC_W=None, OUT_W=32, vectors=30, wmax=128,
                   MULTS=1),
    "c4-o5-m7": dict(C=4, N_BEATS=5, OUT=5, IN_SIGNED=0, ACC_W=None, OUT_W=32, vectors=40,
                     wmax=128, MULTS=7),
    "tiny-o2-m1": dict(C=1, N_BEATS=1, OUT=2, IN_SIGNED=1, ACC_W=17, OUT_W=20, vectors=100,
                       wmax=128, MULTS=1),
    # int16 biases (BIAS_W = 16, 4 hex digits) with -32768 and 32767, parallel and folded
    "odd-b16": dict(C=2, N_BEATS=7, OUT=3, IN_SIGNED=1, ACC_W=None, OUT_W=32, vectors=60,
                    wmax=128, BIAS_W=16),
    "c4-o5-m7-b16": dict(C=4, N_BEATS=5, OUT=5, IN_SIGNED=0, ACC_W=None, OUT_W=32, vectors=40,
                         wmax=128, MULTS=7, BIAS_W=16),
}


def acc_bits(bound: int) -> int:
    """Smallest two's-complement width holding +-bound."""
    return bound.bit_length() + 1


@pytest.mark.parametrize("case", list(CASES))
def test_dense(sim, case):
    p = dict(CASES[case])
    seed = 2000 + list(CASES).index(case)
    rng = np.random.default_rng(seed)
    c, nb, out, in_w, w_w = p["C"], p["N_BEATS"], p["OUT"], 8, 8
    w = rng.integers(-p["wmax"], 128, size=(out, c * nb))
    xabs = (1 << (in_w - 1)) if p["IN_SIGNED"] else (1 << in_w) - 1
    wsum = int(np.abs(w).sum(axis=1).max()) * xabs
    bias_w = p.get("BIAS_W", 32)
    if p["ACC_W"] is None and bias_w == 16:
        b = rng.integers(-(1 << 15), 1 << 15, size=out)
        b[0], b[1] = (1 << 15) - 1, -(1 << 15)  # the int16 extremes
        p["ACC_W"] = acc_bits(wsum + (1 << 15))
    elif p["ACC_W"] is None:
        b = rng.integers(-50000, 50001, size=out)
        p["ACC_W"] = acc_bits(wsum + int(np.abs(b).max()))
    else:
        room = (1 << (p["ACC_W"] - 1)) - 1 - wsum
        assert room >= 0, f"{case}: weights need more than ACC_W={p['ACC_W']}"
        b = rng.integers(-room, room + 1, size=out)
        b[0] = room  # one output can reach the top of the accumulator range
    lines = [lanes_to_int([w[o, ch * nb + q] for o in range(out) for ch in range(c)], w_w)
             for q in range(nb)]
    weight_file = write_mem(build_dir("dense", sim, case) / "weight.mem", lines, 2 * out * c)
    bias_file = write_mem(build_dir("dense", sim, case) / "bias.mem", pack_words(b, bias_w),
                          bias_w // 4)
    params = dict(C=c, N_BEATS=nb, OUT=out, IN_SIGNED=p["IN_SIGNED"], IN_W=in_w, W_W=w_w,
                  ACC_W=p["ACC_W"], OUT_W=p["OUT_W"])
    for opt in ("MULTS", "BIAS_W"):
        if opt in p:
            params[opt] = p[opt]
    cfg = dict(params, WEIGHT_FILE=str(weight_file), BIAS_FILE=str(bias_file), seed=seed,
               vectors=p["vectors"])
    hdl = dict(params, WEIGHT_FILE=vstr(weight_file), BIAS_FILE=vstr(bias_file))
    layer = QLayer(name="dut", type="dense", in_shape=[c, nb, 1], out_shape=[out, 1, 1],
                   in_signed=bool(p["IN_SIGNED"]), out_signed=True, weight=w)
    use_fold_rom(hdl, layer, p.get("MULTS"), build_dir("dense", sim, case) / "weight_fold.mem")
    run_case(sim, "dense", case, hdl, cfg)
