"""The stall vocabulary of every test: the unit tests (UNIT_STALLS, tb/axis_tb.py) and both
top-level drivers (STALLS).

A stall pattern names generators: input idle cycles (the source's tvalid low) and output
backpressure (the sink's tready low); a unit pattern also names a third one, for the second source
or sink of a module with two (axis_fork, eltwise_add), different from both. Each generator is one
of the modes of tb/hdl/tb_stall.v; `pauses` is its Python model (1 = pause), cycle for cycle, so
the per-beat cocotbext-axi driver (tb/test_int8cnn_top.py), the per-image HDL harness
(tb/harness.py) and the unit tests' cocotbext-axi sources and sinks all run the same generators
from a seed. The names mean the same at both levels; "burst" and the unit "random" are scaled to a
module (tens of cycles), "slow_consumer" and the top-level "random" to an image (thousands).
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

MASK = 0xFFFFFFFF


class Gen(NamedTuple):
    mode: int      # 0 off, 1 periodic, 2 random, 3 bursts (tb/hdl/tb_stall.v)
    a: int = 0
    b: int = 0


OFF = Gen(0)
# name -> (input idle generator, result backpressure generator)
STALLS = {
    "none": (OFF, OFF),
    "idle": (Gen(1, 4, 3), OFF),                    # 3 idle cycles in every 4
    "backpressure": (OFF, Gen(1, 4, 3)),            # result ready 1 cycle in 4
    "slow_consumer": (OFF, Gen(1, 1501, 1500)),     # result ready 1 cycle in 1501, or in 2 II + 1 (stall_gens)
    "random": (Gen(2, int(0.3 * 65536)), Gen(3, 3000, 4)),  # 30% idle; not-ready bursts of 0..3000
}


def stall_gens(stall: str, ii: int = 0) -> tuple:
    """The top-level pattern's (input idle, result backpressure) generators for a network of `ii`
    cycles per image: STALLS, except that "slow_consumer" takes a result once in 2 * ii + 1 cycles
    when that is longer than its 1,501. The consumer is then slower than every network, so every
    stage fills up and holds a full output register for more than an image time (a stage that
    overwrote a full register, or took a beat it had no room for, would lose an image)."""
    g_in, g_out = STALLS[check_stall(stall)]
    if stall == "slow_consumer" and 2 * ii + 1 > g_out.a:
        g_out = Gen(1, 2 * ii + 1, 2 * ii)
    return g_in, g_out


P30, P40, P50 = (int(p * 65536) for p in (0.3, 0.4, 0.5))
# name -> (source idle, sink backpressure, second source or sink), for every module's stall matrix
UNIT_STALLS = {
    "none": (OFF, OFF, OFF),
    "idle": (Gen(1, 4, 3), OFF, Gen(1, 3, 1)),              # 3 in 4; the second 1 in 3
    "backpressure": (OFF, Gen(1, 4, 3), Gen(1, 3, 1)),
    "burst": (OFF, Gen(1, 32, 24), Gen(1, 20, 10)),         # not ready 24 of 32; 10 of 20
    "random": (Gen(2, P30), Gen(2, P50), Gen(2, P40)),      # 30% idle, 50% / 40% not ready
}


def check_stall(name: str) -> str:
    """`name` if it is a stall pattern, else a ValueError listing the allowed ones."""
    if name not in STALLS:
        raise ValueError(f"unknown stall pattern {name!r}; expected one of {', '.join(STALLS)}")
    return name


def seeds(seed: int) -> tuple[int, int]:
    """The (input, result) LFSR seeds derived from one run seed (never 0)."""
    s_in = (seed * 2654435761 + 1) & MASK or 1
    s_out = (seed * 2246822519 + 7) & MASK or 1
    return s_in, s_out


def xorshift32(x: int) -> int:
    x ^= (x << 13) & MASK
    x ^= x >> 17
    x ^= (x << 5) & MASK
    return x


def pauses(gen: Gen, seed: int) -> Iterator[int]:
    """The pause sequence of tb_stall with this configuration, from the first cycle of `run`."""
    s = seed & MASK or 1
    if gen.mode == 0:
        while True:
            yield 0
    if gen.mode == 1:
        while True:
            for c in range(gen.a):
                yield int(c < gen.b)
    if gen.mode == 2:
        while True:
            yield int((s & 0xFFFF) < gen.a or gen.a > 0xFFFF)
            s = xorshift32(s)
    if gen.mode == 3:
        while True:
            p, r = s % (gen.a + 1), 1 + (s >> 16) % gen.b
            s = xorshift32(s)
            yield from [1] * p
            yield from [0] * r
    raise ValueError(f"stall generator mode {gen.mode}: expected 0..3")


def pause_generators(stall: str, seed: int, table: dict = STALLS, ii: int = 0) -> tuple:
    """The pattern's pause generators for cocotbext-axi (None: never), from `table` (STALLS:
    input idle, result backpressure, for a network of `ii` cycles per image (stall_gens);
    UNIT_STALLS: source idle, sink backpressure, second)."""
    if stall not in table:
        raise ValueError(f"unknown stall pattern {stall!r}; expected one of {', '.join(table)}")
    s_in, s_out = seeds(seed)
    gens = stall_gens(stall, ii) if table is STALLS else table[stall]
    return tuple(pauses(g, s) if g.mode else None
                 for g, s in zip(gens, (s_in, s_out, seeds(seed + 1)[0])))


# A run with images outstanding fails when no result leaves for WATCHDOG_IMAGES image-times (both
# drivers), with a report of every stream's progress, instead of a bare simulator timeout.
WATCHDOG_IMAGES = 4
# a top built with stall points on every internal stream (tb/hdl/tb_stall_point.v passes a beat in
# about 45% of cycles, and a chain of them is slower still): its image-time is this many times longer
STALL_POINT_SLOWDOWN = 6
# what the stress runs ask of every internal stream: stalled in at least this share of its cycles
STALL_POINT_MIN = 0.10


def beat_cycles(gen: Gen) -> float:
    """Upper bound on the mean cycles per beat on a stream paused by `gen` (1 = never paused):
    periodic A/(A-B); random 2/(1-p) (twice the mean, for runs of pauses); bursts 1 + A (a whole
    pause run before every ready cycle)."""
    if gen.mode == 0:
        return 1.0
    if gen.mode == 1:
        return gen.a / (gen.a - gen.b) if gen.a > gen.b else float("inf")
    if gen.mode == 2:
        p = min(gen.a, 0x10000) / 0x10000
        return 2.0 / (1.0 - p) if p < 1.0 else float("inf")
    return 1.0 + gen.a


def max_wait(gen: Gen) -> int:
    """Upper bound on the cycles one beat may wait on a stream paused by `gen`: periodic B,
    random 64 (a run of 64 pauses has probability p**64), bursts A."""
    return {0: 0, 1: gen.b, 2: 64, 3: gen.a}[gen.mode]


def image_cycles(stall: str, ii: int, pixels: int = 28 * 28) -> int:
    """Upper bound on the cycles between two results under the stall pattern `stall` for a network
    of `ii` cycles per image without stalls: the slower of the II and the paused pixel stream, plus
    the longest wait of one result beat."""
    g_in, g_out = stall_gens(stall, ii)
    return int(max(ii, pixels * beat_cycles(g_in))) + max_wait(g_out)


def watchdog_cycles(stall: str, ii: int, stall_points: bool = False, pixels: int = 28 * 28) -> int:
    """Cycles without a result after which a run with images outstanding is stuck: WATCHDOG_IMAGES
    image-times (the first result's latency, under 1.2 II in every network, fits in them); a top
    built with stall points has an II STALL_POINT_SLOWDOWN times longer."""
    slow = STALL_POINT_SLOWDOWN if stall_points else 1
    return WATCHDOG_IMAGES * image_cycles(stall, ii * slow, pixels)
