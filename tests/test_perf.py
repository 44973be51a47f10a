"""The cycle model of the sparse core (fireflys.compiler.perf): its parts against brute force
and hand-worked cases, then the model against the RTL's counters, which it must equal exactly
when the input has no gaps and the output no stalls: every detector's working cycles, every
core's busy cycles, and (whole accelerator) the frame period."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fireflys.compiler import perf
from fireflys.compiler.compile import compile_to_dir, random_input, random_model
from fireflys.compiler.coreplan import core_plans
from fireflys.compiler.plan import plan
from fireflys.compiler.scanlist import Entry, whole_pixel_lanes
from fireflys.compiler.shape import ring_pixels
from fireflys.compiler.work import union_input
from fireflys.core import golden
from fireflys.verify.rtlsim import simulate, simulate_core


def _counts(*ks: int) -> np.ndarray:
    return np.array(ks)


def test_detector_drops_queues_and_closes() -> None:
    """Entries issue one per cycle from the window's start; a word without a position is
    dropped, a queued word is peeled VISIBLE cycles after its issue at the earliest, the
    closing word after the word before it, one cycle when it is empty."""
    lst = [Entry(0, 1, 0, 0, True), Entry(1, 7, 1, 0, False), Entry(2, 1, 4, 1, True)]
    d = perf._Detector(lst)
    s_last, close = d.window(10, _counts(0, 3, 0))
    assert s_last == 12
    load = 11 + perf.VISIBLE
    assert d.peels == [(load + 1, load + 3), (load + 4, load + 4)]
    assert close == load + 4
    assert d.issues == [(10, 12)]
    # the next window starts the cycle after the last issue at the earliest
    s_last, _ = d.window(0, _counts(0, 0, 0))
    assert s_last == 15 and d.issues[-1] == (13, 15)


def test_detector_conflict_costs_two_cycles() -> None:
    """A closing word that opens a group with one position while another group is open costs
    two peel cycles (two results)."""
    lst = [Entry(0, 1, 0, 0, True), Entry(0, 1, 1, 1, True)]
    d = perf._Detector(lst)
    d.window(0, _counts(2, 1))
    (a0, b0), (a1, b1) = d.peels
    assert b0 - a0 + 1 == 2 and b1 - a1 + 1 == 2
    d2 = perf._Detector(lst)
    d2.window(0, _counts(0, 1))  # no group open before it: one cycle
    assert [b - a + 1 for a, b in d2.peels] == [1]


def test_detector_credits_limit_the_words_in_flight() -> None:
    """With one word peeled for many cycles, the scanner stops after QUEUE_DEPTH entries in
    flight and resumes when the peeler frees a slot."""
    n = perf.QUEUE_DEPTH + 4
    lst = [Entry(0, 1, 0, g, True) for g in range(n)]
    d = perf._Detector(lst)
    d.window(0, _counts(*([40] * n)))
    first_run = d.issues[0]
    assert first_run == (0, perf.QUEUE_DEPTH - 1)
    # the 17th entry takes the credit of the first word, back the cycle after its last peel
    assert d.issues[1][0] == d.peels[0][1] + 1


def test_entry_counts_match_brute_force() -> None:
    model = whole_pixel_lanes(random_model("6x5x5-7c3p1-mp2-3fc", sparsity=0.6, seed=3,
                                           calib_frames=8, encoding="spikes", pco=[2, 2]))
    x = random_input(model, 2, np.random.default_rng(1), density=0.4)
    res = golden.run(model, x)
    cp = core_plans(model)[0]
    union = union_input(model, x, res, 0)
    lists, counts = perf.core_work(cp, union)
    pad = np.pad(union, ((0, 0), (1, 1), (1, 1), (0, 0)))
    spw = perf.core_spw(cp)
    for d, lst in enumerate(lists):
        for f in range(2):
            for p in (0, 7, 24):
                oy, ox = divmod(p, 5)
                bits = pad[f, oy:oy + 3, ox:ox + 3, :].reshape(-1)  # kernel position, channel
                for e, ent in enumerate(lst):
                    lanes = spw * cp.pci
                    word = np.zeros(lanes, dtype=bool)
                    part = bits[ent.word * lanes:(ent.word + 1) * lanes]
                    word[:len(part)] = part
                    want = sum(int(word[k]) for k in range(lanes) if ent.mask >> k & 1)
                    assert counts[d][f, p, e] == want


def test_window_span_reads() -> None:
    """The last input pixel a window reads (the gather test) from a brute-force walk."""
    model = random_model("3x6x5-4c3p1-3fc", sparsity=0.5, seed=1, calib_frames=4,
                         encoding="spikes")
    cp = core_plans(model)[0]
    _, last = perf._window_span(cp)
    for p, lv in enumerate(last):
        oy, ox = divmod(p, 5)
        read = [(oy + ky - 1) * 5 + ox + kx - 1 for ky in range(3) for kx in range(3)
                if 0 <= oy + ky - 1 < 6 and 0 <= ox + kx - 1 < 5]
        assert lv == max(read)


# (arch, layer, random_model options); every core alone, no gaps or stalls
CORES = {
    "conv-pool-spikes": ("5x6x6-7c3p1-mp2-4fc", 0,
                         dict(encoding="spikes", sparsity=0.5, T=3, pco=[3, 2])),
    "direct-first-layer": ("1x8x8-8c3p1-5fc", 0,
                           dict(in_bits=4, sparsity=0.5, T=5, pco=[3, 5])),
    "fc-integrate-readout": ("4x3x3-6c3p1-10fc", 1,
                             dict(encoding="spikes", sparsity=0.9, pco=[3, 4])),
}
SLOW_CORES = {"direct-first-layer", "fc-integrate-readout"}


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.slow) if c in SLOW_CORES else c for c in CORES])
def test_model_equals_core_counters(tmp_path, case: str) -> None:
    arch, index, opts = CORES[case]
    model = random_model(arch, seed=11, calib_frames=16, **opts)
    x = random_input(model, 4, np.random.default_rng(4), density=0.3)
    r = simulate_core(model, index, x, work_dir=tmp_path)
    mv = whole_pixel_lanes(model)
    (tr,) = [t for i, t in enumerate(perf.predict(mv, x, chained=False)) if i == index]
    assert (tr.busy, tr.occ) == (r["busy"], r["occ"])


@pytest.mark.parametrize("arch,pco,bufs,rings,fifo0", [
    # ring copies in block RAM (cores 0 and 2): the LUT-RAM rings' cycles
    ("4x8x8-8c3p1-mp2-12c3p1-10fc", [1, 3, 2], [4, 4, 4], ["block", "lut", "block"], None),
    # a fast first core held back by a slow second one: its hand-offs wait for an empty
    # output register (a hand-off in the cycle the register is emptied makes core 0 busy
    # for a different number of cycles)
    # (and a 32-deep FIFO after core 0, 8 by default)
    ("4x8x8-8c3p1-mp2-12c3p1-mp2-10fc", [2, 1, 1], [4, 4, 4], ["lut"] * 3, 32),
    # more output buffers: windows gathered further ahead of their hand-offs (the model's
    # frame period 448 cycles; 833 with 4 buffers per core)
    ("2x10x10-4c3p1-mp2-6c3p1-10fc", [4, 6, 3], [16, 8, 2], ["lut"] * 3, None),
], ids=["pco1-3-2-block-rings-0-2", "held-back-pco2-1-1-fifo32", "bufs16-8-2-pco4-6-3"])
def test_model_equals_system_counters(tmp_path, arch: str, pco: list[int], bufs: list[int],
                                      rings: list[str], fifo0: int | None) -> None:
    """The whole chain (FIFOs between the cores, back-pressure from a slow next core): every
    core's busy cycles, every detector's and the frame period, exactly."""
    model = random_model(arch, sparsity=0.6, seed=5, calib_frames=16, encoding="spikes", T=4,
                         pco=pco)
    for ly, b, r in zip(model.layers, bufs, rings, strict=True):
        ly.bufs, ly.ring = b, r
    model.layers[0].fifo = fifo0
    compile_to_dir(model, tmp_path / "model")
    x = random_input(model, 8, np.random.default_rng(2), density=0.3)
    r = simulate(model, tmp_path / "model", x, work_dir=tmp_path / "w")
    assert r.predicted == r.busy
    assert r.predicted_occ == r.occ
    assert r.predicted_period == pytest.approx(r.frame_period, abs=1e-9)
    # the FC readout needs the whole first frame: its latency is at least one beat per pixel
    pixels = model.layers[0].geom.in_shape[1] * model.layers[0].geom.in_shape[2]
    assert pixels <= r.latency <= r.raw["first_out"]


def test_plan_meets_its_target() -> None:
    """The planner: more detectors where the replay says a core is the bottleneck, until
    the chain's period meets the target; a looser target never needs more detectors."""
    model = random_model("4x8x8-8c3p1-mp2-12c3p1-10fc", sparsity=0.5, seed=5, calib_frames=8,
                         encoding="spikes", T=4, pco=[1, 1, 1])
    x = random_input(model, 4, np.random.default_rng(2), density=0.3)
    one = plan(model, x, max_detectors=3)
    assert one.pco == [1, 1, 1]
    target = 0.7 * one.period
    p = plan(model, x, target_cycles=target)
    assert p.period <= target and p.detectors > 3
    loose = plan(model, x, target_cycles=0.9 * one.period)
    assert loose.detectors <= p.detectors


def test_plan_area_trades_luts_for_cycles() -> None:
    """The planner with a cycle target: every core gets the candidate (PCO, word width) with
    the fewest estimated LUTs whose replay meets the budget, and the chain's replay meets the
    target; a looser target never costs more LUTs, and the words it picks are narrower or the
    detectors fewer."""
    from fireflys.compiler.plan import plan_area, with_pco

    model = random_model("4x8x8-16c3p1-mp2-24c3p1-10fc", sparsity=0.5, seed=7, calib_frames=8,
                         encoding="spikes", T=4, pco=[1, 1, 1])
    x = random_input(model, 4, np.random.default_rng(3), density=0.3)
    fast = plan(model, x, max_detectors=12)
    tight = plan_area(model, x, 1.2 * fast.period)
    loose = plan_area(model, x, 2.5 * fast.period)
    assert tight.period <= 1.2 * fast.period and loose.period <= 2.5 * fast.period
    assert loose.luts <= tight.luts
    assert loose.luts < tight.luts or loose.pco == tight.pco
    planned = with_pco(model, tight.pco, tight.scan_bits)
    assert [ly.scan_bits for ly in planned.layers] == tight.scan_bits


def test_front_walks_the_bottleneck() -> None:
    """pareto keeps, by LUTs, the options faster than every cheaper one; the front starts
    from every core's cheapest and moves the slowest core to its next option until it has
    none; a point where the period falls (LUTs grow)."""
    from fireflys.compiler.front import Option, front, pareto

    a = pareto([Option(1, 72, 4, 100.0, 10.0), Option(2, 72, 4, 60.0, 20.0),
                Option(2, 72, 16, 70.0, 21.0),  # slower than a cheaper option: dropped
                Option(3, 72, 4, 40.0, 30.0)])
    assert [(o.pco, o.bufs) for o in a] == [(1, 4), (2, 4), (3, 4)]
    b = pareto([Option(1, 72, 4, 80.0, 5.0), Option(1, 72, 16, 50.0, 6.0)])
    pts = front([a, b])
    assert [(p.period, p.luts) for p in pts] == [(100.0, 15.0), (80.0, 25.0), (60.0, 26.0),
                                                 (50.0, 36.0)]
    assert [o.bufs for o in pts[2].options] == [4, 16]


def test_front_point_moves_rings_to_block_ram() -> None:
    """FrontPoint.fit: a point over its distributed-RAM (or LUT) budget moves the ring copies
    of the cores that save the most RAM cells per BRAM36 to block RAM, one at a time, until it
    fits; the cycles stay; without the block RAM it needs it does not fit."""
    from fireflys.compiler.front import FrontPoint, Option

    a = Option(2, 72, 4, 100.0, 1000.0, 300, block_luts=200.0, block_ram=200, block_bram=4.0)
    b = Option(4, 72, 4, 90.0, 2000.0, 500, block_luts=300.0, block_ram=400, block_bram=4.0)
    c = Option(1, 72, 4, 80.0, 500.0, 100)  # no ring to move (block_bram 0)
    p = FrontPoint([a, b, c])
    assert p.fit(max_ram=900) is p  # fits as it is
    q = p.fit(max_ram=700, max_bram=10)
    assert q is not None and [o.ring for o in q.options] == ["lut", "block", "lut"]
    assert (q.ram, q.luts, q.bram, q.period) == (500, 3200.0, 4.0, p.period)
    r = p.fit(max_ram=400, max_bram=10)
    assert r is not None and [o.ring for o in r.options] == ["block", "block", "lut"]
    assert (r.ram, r.bram) == (300, 8.0)
    assert p.fit(max_ram=400, max_bram=6) is None  # the second ring's RAM is not there
    assert p.fit(max_ram=700) is None  # no block RAM for rings
    s = p.fit(max_luts=3300, max_bram=4)
    assert s is not None and s.luts == 3200.0


def test_block_rings_trade_ram_cells_for_bram() -> None:
    """Ring copies in block RAM: the ring's distributed-RAM cells and LUTs leave the core's
    estimates, and each read port takes a RAMB18 / DP16KD (half a BRAM36) per 36 pixel bits
    (scnn5's rings are at most 512 pixels deep)."""
    import dataclasses

    from fireflys.compiler import area
    from fireflys.core.model import load_model

    shipped = Path(__file__).resolve().parents[1] / "models" / "scnn5_mnist"
    cps = core_plans(whole_pixel_lanes(load_model(shipped)))
    for i, cp in enumerate(cps):
        spw, last = perf.core_spw(cp), i == len(cps) - 1
        blk = dataclasses.replace(cp, ring="block")
        kpw = max(1, spw // cp.segs_per_pos)
        rows = -(-ring_pixels(cp.kind, cp.kh, cp.kw, cp.h, cp.w) // 16)
        ring_cells = cp.pco * kpw * rows * -(-(cp.planes * cp.ci) // 4)
        assert area.ecp5_ram_cells(cp, spw, last) - area.ecp5_ram_cells(blk, spw, last) \
            == ring_cells
        assert area.core_luts(blk, spw) < area.core_luts(cp, spw)
        assert area.ring_bram36(cp, spw) == 0.0
        assert area.ring_bram36(blk, spw) == cp.pco * kpw * 0.5 * -(-(cp.planes * cp.ci) // 36)


def test_plan_front_picks_within_a_budget() -> None:
    """plan_front: the fastest point within the LUT budget, its period the chain's replay;
    with a target, the cheapest point meeting it; a budget under the smallest point fails."""
    from fireflys.compiler.front import plan_front
    from fireflys.compiler.plan import chain_period

    model = random_model("2x10x10-4c3p1-mp2-6c3p1-10fc", sparsity=0.6, seed=5,
                         calib_frames=8, encoding="spikes", T=4, pco=[1, 1, 1])
    x = random_input(model, 3, np.random.default_rng(2), density=0.3)
    big, points, pick = plan_front(model, x)
    assert pick.period == min(q.period for q in points)
    assert big.period == pytest.approx(chain_period(big.apply(model), x))
    assert any(b > 4 for b in big.bufs)  # the fast design wants more output buffers
    mid = 0.5 * (points[0].luts + pick.luts)
    p, _, q = plan_front(model, x, max_luts=mid)
    assert q.luts <= mid and q.period == min(r.period for r in points if r.luts <= mid)
    target = 1.2 * pick.period
    _, _, t = plan_front(model, x, target_cycles=target)
    assert t.period <= target and t.luts == min(r.luts for r in points if r.period <= target)
    with pytest.raises(ValueError, match="no design fits"):
        plan_front(model, x, max_luts=0.5 * points[0].luts)


def test_deepen_fifos_keeps_what_the_chain_gains() -> None:
    """deepen_fifos: the FIFO before the FC core (8 words by default, rows of 24 pixels)
    gets 64 words, where the chain's replay gains (~19 %); the plan's period is that replay;
    with no spare distributed RAM nothing changes."""
    from fireflys.compiler.front import deepen_fifos
    from fireflys.compiler.plan import CorePlan, Plan, chain_period

    model = random_model("2x24x24-4c3p1-6c3p1-mp2-10fc", sparsity=0.6, seed=5, calib_frames=8,
                         encoding="spikes", T=4, pco=[2, 2, 1])
    x = random_input(model, 4, np.random.default_rng(2), density=0.3)
    p = Plan([CorePlan(f"L{i}", c, 0.0, 0.0, {}) for i, c in enumerate([2, 2, 1])], 0.0, 5)
    before = chain_period(p.apply(model), x)
    q = deepen_fifos(model, x, p)
    assert q.fifos == [None, 64, None]
    assert q.period == chain_period(q.apply(model), x) < before
    assert deepen_fifos(model, x, p, spare_ram=0).fifos == [None, None, None]


def test_ecp5_ram_cells_of_the_shipped_model() -> None:
    """The distributed-RAM cells the planner counts for the shipped scnn5 are within 1 % of
    the TRELLIS_DPR16X4 cells Yosys synth_ecp5 maps for it (2,197: ring copies, scanner
    queues, output buffers, pooling rows, FIFOs)."""
    from fireflys.compiler import area
    from fireflys.core.model import load_model

    shipped = Path(__file__).resolve().parents[1] / "models" / "scnn5_mnist"
    cps = core_plans(whole_pixel_lanes(load_model(shipped)))
    cells = sum(area.ecp5_ram_cells(cp, perf.core_spw(cp), i == len(cps) - 1)
                for i, cp in enumerate(cps))
    assert cells == pytest.approx(2197, rel=0.01)
