"""Cycle model of the sparse core (``hdl/layer_core.sv``), from the same inputs as the golden model.

Per detector the scanner walks its scan list (:mod:`fireflys.compiler.scanlist`), one entry per
cycle; an entry is queued when its word has a position (OR over the planes & mask, inside the
image) or when it closes the pixel, and the peeler spends max(1, count) cycles on a queued word
(two on a conflict: a word that opens and closes a group of at most one position while another
group is open). The model replays, window by window, the handshakes that couple them in the RTL
(latencies read from its pipelines, named below):

- credits: 16 per scanner (``FifoDepth``); an entry takes one at issue; a dropped word gives it
  back 5 cycles later (S4), a queued one the cycle after the peeler's last cycle on it;
- the queue: a word is visible to the peeler 6 cycles after its issue (S5 writes its count);
  the peeler loads it when idle or in its last cycle on the previous word;
- windows: the window unit gathers one when its last input pixel was written two cycles
  before, at most one every 2 cycles (``GAge``), with ``NumWin`` = 2 in flight (a window
  retires 3 cycles after its last issue in every detector) and a free output buffer (the
  layer's ``bufs``, 4 by default; one comes back the cycle after its hand-off); a detector
  takes a window the cycle it issues the previous window's last entry (or the cycle after the
  gather) and issues one cycle later;
- the input ring: a pixel is written at most one per cycle, only while it does not overwrite a
  pixel the oldest window in flight (or a later one) reads, as the producer sees it: the
  limit of the retires up to 6 cycles before (its registered pipeline, ``RAge``), and not
  within 5 cycles after the retire of a frame's last window;
- results: a pixel's hand-off follows its closing word's last peel cycle after the peeler's
  and the neuron's pipelines (:func:`done_latency`) and the previous hand-off, into an empty
  output register (its last pixel taken at least one cycle before).

With the input available at one pixel per cycle and the output never blocked this replays a
core alone (``simulate_core``). Chained, a core's hand-off goes through its output register
(and pooling unit) into the FIFO before the next core, whose input pixels are written from
there; a full FIFO holds the output register, and with it the hand-offs (see :func:`predict`).
Counters predicted per core: busy (cycles with a detector issuing or peeling: the union of the
detectors' issue cycles and peel intervals) and each detector's occupancy; and the frame period
(:func:`frame_period`). Without input gaps and output stalls these equal the RTL's counters
exactly (tests/test_perf.py; the shipped scnn5 over 200 held-out frames: docs/architecture.md);
random gaps and stalls are not modelled.
"""

from __future__ import annotations

import heapq
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import numpy as np

from fireflys.compiler.coreplan import CorePlan, core_plans
from fireflys.compiler.scanlist import Entry, default_spw, scan_list, words_per_window
from fireflys.compiler.shape import (
    NUM_WIN,
    QUEUE_DEPTH,
    ring_pixels,
    weights_in_block_ram,
)
from fireflys.compiler.work import scanned_input
from fireflys.core import golden
from fireflys.core.model import CompiledModel

G_AGE = 2        # cycles between gathers
R_AGE = 5        # a retire's limit reaches the producer R_AGE + 1 cycles later (and a
                 # frame's last retire blocks writes that long)
DROP_BACK = 6    # issue -> the credit of a dropped word is usable
VISIBLE = 7      # issue -> the queued word can be loaded by the peeler
TAKE = 2         # gather -> a detector's first issue of the window
RETIRE = 3       # a window's last issue (every detector) -> its retire
FIFO_LAT = 1     # a pixel pushed into the FIFO between two cores -> the next core can write it


def covered_cycles(start: np.ndarray, end: np.ndarray) -> int:
    """Cycles covered by the inclusive intervals [start, end] (empty when end < start)."""
    keep = end >= start
    start, end = start[keep], end[keep]
    if not len(start):
        return 0
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    reach = np.maximum.accumulate(end)
    before = np.concatenate([[start[0] - 1], reach[:-1]])
    return int(np.maximum(0, end - np.maximum(start - 1, before)).sum())


def done_latency(model: CompiledModel, cp: CorePlan) -> int:
    """Cycles from a closing word's last peel cycle to its pixel's hand-off: the peeler's
    stages B..G (+1 with block-RAM weights, + the product levels of the direct and popcount
    modes), the neuron (2 T + 1 stages, one for a score readout), its result register, the
    done flag register."""
    mode = 1 if cp.direct else (2 if cp.score else 0)
    vw = cp.planes if mode == 1 else int(cp.planes).bit_length()
    plev = 0 if mode == 0 or vw <= 1 else int(np.ceil(np.log2(vw)))
    peel = 7 + int(weights_in_block_ram(cp.wt_depth)) + plev
    neuron = 1 if cp.score else 2 * model.T + 1
    return peel + neuron + 2


@dataclass
class CoreTrace:
    """One core over a stream of frames: per output pixel (before pooling) its gather and
    hand-off cycles; the counters."""
    gather: np.ndarray
    handoff: np.ndarray
    written: np.ndarray  # per input pixel: the cycle the ring wrote it
    pushed: np.ndarray   # per output pixel (after pooling): the cycle it entered the FIFO
    busy: int
    occ: list[int]
    pixels: int
    windows_per_frame: int


def conv_hw(cp: CorePlan) -> tuple[int, int]:
    """Rows and columns of a core's output pixels before pooling (its windows)."""
    return cp.h + 2 * cp.pad - cp.kh + 1, cp.w + 2 * cp.pad - cp.kw + 1


def window_words(cp: CorePlan, spw: int, union: np.ndarray) -> np.ndarray:
    """The scanner's words of every window: bool [frames, windows, words, WordW] from the
    per-pixel union of the planes ``union`` [frames, H, W, CI] (positions outside the image
    read 0, as the in-image flags make them)."""
    b = union.shape[0]
    pad = cp.pad
    u = np.pad(union, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    ho, wo = conv_hw(cp)
    lanes = cp.segs_per_pos * cp.pci
    cols = np.zeros((b, ho, wo, cp.kh * cp.kw, lanes), dtype=bool)
    for ky in range(cp.kh):
        for kx in range(cp.kw):
            cols[..., ky * cp.kw + kx, :cp.ci] = u[:, ky:ky + ho, kx:kx + wo, :]
    nw = words_per_window(cp.nseg, spw)
    word = spw * cp.pci
    flat = cols.reshape(b, ho * wo, -1)
    flat = np.pad(flat, ((0, 0), (0, 0), (0, nw * word - flat.shape[2])))
    return flat.reshape(b, ho * wo, nw, word)


def entry_counts(entries: list[Entry], words: np.ndarray) -> np.ndarray:
    """Positions of each list entry in each window: int [frames, windows, entries]."""
    width = words.shape[-1]
    idx = np.array([e.word for e in entries])
    mask = np.array([[(e.mask >> k) & 1 for k in range(width)] for e in entries], dtype=np.int32)
    return np.einsum("bpek,ek->bpe", words[:, :, idx, :].astype(np.int32), mask)


class _Detector:
    """One scanner + peeler, replayed entry by entry (see the module docstring)."""

    def __init__(self, entries: list[Entry]) -> None:
        self.first = [bool(e.first) for e in entries]
        self.n = len(entries)
        self.credits: list[int] = []   # cycles at which outstanding credits come back
        self.s_last = -(1 << 40)       # last issue
        self.l_free = -(1 << 40)       # the peeler can load at this cycle (last cycle of a word)
        self.grp = False               # a group is open in the peeler
        self.issues: list[tuple[int, int]] = []  # runs of issue cycles [a, b]
        self.peels: list[tuple[int, int]] = []   # peel intervals [a, b]

    def window(self, start: int, counts: Sequence[int]) -> tuple[int, int]:
        """Replay one window whose entries have ``counts`` positions (a list: this loop is the
        planner's hot spot, so it works on Python ints and locals), first issue no earlier
        than ``start``; returns (last issue, last peel cycle of the closing word)."""
        s = max(start, self.s_last + 1)
        run0 = s
        pushed_grp = False
        close_end = 0
        heap = self.credits
        first = self.first
        issues, peels = self.issues, self.peels
        l_free, grp = self.l_free, self.grp
        pop, push = heapq.heappop, heapq.heappush
        n = self.n
        for e in range(n):
            if e:
                s += 1
            while heap and heap[0] <= s:
                pop(heap)
            if len(heap) >= QUEUE_DEPTH:
                back = pop(heap)
                while heap and heap[0] <= back:
                    pop(heap)
                if back > s:
                    if s - 1 >= run0:
                        issues.append((run0, s - 1))
                    s, run0 = back, back
            k = counts[e]
            if first[e]:
                pushed_grp = False
            if k or e == n - 1:
                last = e == n - 1
                opens = k > 0 and not pushed_grp
                c = 2 if (opens and last and grp and k <= 1) else (k if k > 1 else 1)
                load = s + VISIBLE if s + VISIBLE > l_free else l_free
                peels.append((load + 1, load + c))
                l_free = load + c
                push(heap, l_free + 1)
                grp = not last and (opens or grp)
                if last:
                    close_end = l_free
                if k:
                    pushed_grp = True
            else:
                push(heap, s + DROP_BACK)
        issues.append((run0, s))
        self.s_last = s
        self.l_free, self.grp = l_free, grp
        return s, close_end


def _union(intervals: list[tuple[int, int]]) -> int:
    """Cycles covered by the inclusive intervals [a, b]."""
    a = np.array(intervals, dtype=np.int64).reshape(-1, 2)
    return covered_cycles(a[:, 0], a[:, 1])


def _window_span(cp: CorePlan) -> tuple[np.ndarray, np.ndarray]:
    """Per window of a frame (raster order): the first input pixel it or a later window of
    its frame reads (the producer's limit) and the last one it reads (the gather test)."""
    ho, wo = conv_hw(cp)
    first, last = [], []
    for oy in range(ho):
        for ox in range(wo):
            row, col = (oy - cp.pad) * cp.w, ox - cp.pad
            f = max(row, 0) + max(col, 0)
            if row < 0:
                f = min(f, max(row + cp.w, 0))
            first.append(f)
            lc = min(ox + cp.kw - 1 - cp.pad, cp.w - 1)
            lr = min((oy - cp.pad) * cp.w + (cp.kh - 1) * cp.w, (cp.h - 1) * cp.w)
            last.append(lr + lc)
    return np.array(first), np.array(last)


def _pool_map(cp: CorePlan, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output pixel of the core (before pooling, all frames): the index of the pooled
    pixel it completes (-1: none), and the number of pooled pixels completed before it."""
    ho, wo = conv_hw(cp)
    done = np.zeros((ho, wo), dtype=bool)
    if cp.pool == 2:
        done[1:2 * (ho // 2):2, 1:2 * (wo // 2):2] = True
    else:
        done[:] = True
    done = np.tile(done.reshape(-1), frames)
    index = np.cumsum(done) - 1
    return np.where(done, index, -1), index + 1 - done


def replay_core(model: CompiledModel, cp: CorePlan, lists: list[list[Entry]],
                counts: list[np.ndarray],
                arrival: np.ndarray | None = None, down: np.ndarray | None = None,
                fifo: int = 2, counters: bool = True) -> CoreTrace:
    """Replay core ``cp`` whose detectors scan ``lists`` over the frames whose entry counts are
    ``counts[d]`` [frames, windows, entries] (:func:`core_work`); ``arrival``: the cycle each
    input pixel (all frames, raster order) can be written at the earliest (default: one per
    cycle from cycle 0); ``down``: the cycles the next core writes its input pixels, which free
    the ``fifo`` slots between the two cores (None: the output is never blocked);
    ``counters``: False leaves busy and the occupancies 0 (the planner needs the times only)."""
    run = _replay(model, cp, lists, counts, arrival, down, fifo, counters=counters)
    try:
        next(run)
    except StopIteration as stop:
        return stop.value
    raise ValueError("replay_core: the arrival or down cycles given do not cover the frames")


_FOREVER = 1 << 40


def _replay(model: CompiledModel, cp: CorePlan, lists: list[list[Entry]],
            counts: list[np.ndarray],
            arrival: Sequence[int] | None, down: Sequence[int] | None,
            fifo: int, written: list[int] | None = None, pushed: list[int] | None = None,
            counters: bool = True) -> Generator[None, None, CoreTrace]:
    """:func:`replay_core` as a generator that yields while it waits for an ``arrival`` or a
    ``down`` cycle not yet known (lists filled by the neighbouring cores' replays); appends
    to ``written`` and ``pushed`` as it goes."""
    frames, nwin = counts[0].shape[:2]
    hw = cp.h * cp.w
    first, last = _window_span(cp)
    depth = ring_pixels(cp.kind, cp.kh, cp.kw, cp.h, cp.w)
    lat = done_latency(model, cp)
    dets = [_Detector(scan) for scan in lists]
    rows = [c.reshape(frames * nwin, c.shape[2]).tolist() for c in counts]  # per window
    total = frames * nwin
    gather = np.zeros(total, dtype=np.int64)
    retire = np.zeros(total, dtype=np.int64)
    handoff = np.zeros(total, dtype=np.int64)
    npix = frames * hw
    written = [] if written is None else written
    pushed = [] if pushed is None else pushed
    w_prev = R_AGE  # writes wait RAge cycles after reset
    n_ret = 0  # retires before the write being placed
    completes, before = _pool_map(cp, frames)
    pool = cp.pool == 2
    taken = -_FOREVER  # the cycle the output register's last pixel was taken
    for p in range(total):
        f, j = divmod(p, nwin)
        need = min(f * hw + int(last[j]), npix - 1)
        while len(written) <= need:
            w = len(written)
            c = w_prev + 1 if w else w_prev
            if arrival is not None:
                while len(arrival) <= w:
                    yield
                c = max(c, int(arrival[w]))
            while True:
                while n_ret < p and retire[n_ret] < c:
                    n_ret += 1
                # the producer sees the retires up to R_AGE + 1 cycles before c
                seen = n_ret
                while seen and retire[seen - 1] + R_AGE >= c:
                    seen -= 1
                # one it does not see yet that ends a frame blocks writes until it is seen
                ends = [k for k in range(seen, n_ret) if k % nwin == nwin - 1]
                if ends:
                    c = int(retire[ends[-1]]) + R_AGE + 1
                    continue
                qf, qj = divmod(seen, nwin)
                limit = qf * hw + int(first[qj]) + depth if seen < total else npix
                if w < limit:
                    break
                c = int(retire[seen]) + R_AGE + 1  # the next retire frees the pixel
            written.append(c)
            w_prev = c
        g = written[need] + 2
        if p:
            g = max(g, int(gather[p - 1]) + G_AGE)
        if p >= NUM_WIN:
            g = max(g, int(retire[p - NUM_WIN]) + 1)
        if p >= cp.bufs:
            g = max(g, int(handoff[p - cp.bufs]) + 1)
        gather[p] = g
        ends = [d.window(g + TAKE, rows[i][p]) for i, d in enumerate(dets)]
        r = max(s for s, _ in ends) + RETIRE
        retire[p] = max(r, int(retire[p - 1]) + 1) if p else r
        # into an empty output register: after the previous pixel's take (itself after the
        # previous hand-off, so hand-offs stay in order)
        handoff[p] = h = max(max(e for _, e in ends) + lat, taken + 1)
        # the output register -> (the pooling unit and its output register) -> the FIFO
        q = int(completes[p])
        take = h + 1
        if pool and before[p]:
            take = max(take, pushed[before[p] - 1])  # the pooling unit's register is free
        taken = take
        if q >= 0:
            push = take + 1 if pool else take
            if q:
                push = max(push, pushed[q - 1] + 1)
            if down is not None and q >= fifo:
                while len(down) <= q - fifo:
                    yield
                push = max(push, int(down[q - fifo]) + 1)  # a FIFO slot is free
            if not pool:
                taken = push
            pushed.append(push)
    occ = [_union(d.issues + d.peels) if counters else 0 for d in dets]
    busy = _union([iv for d in dets for iv in d.issues + d.peels]) if counters else 0
    return CoreTrace(gather=gather, handoff=handoff, written=np.array(written),
                     pushed=np.array(pushed), busy=busy, occ=occ, pixels=total,
                     windows_per_frame=nwin)


def core_spw(cp: CorePlan, spw: int | None = None) -> int:
    """Segments per scanner word: ``spw``, or the generator's (whole pixels up to the layer's
    ``scan_bits``)."""
    return spw or default_spw(cp.segs_per_pos, cp.pci, cp.kh * cp.kw, cp.scan_bits)


def core_work(cp: CorePlan, union: np.ndarray, spw: int | None = None
              ) -> tuple[list[list[Entry]], list[np.ndarray]]:
    """A core's scan lists and, per detector, the positions of each entry in each window
    [frames, windows, entries], from its input's :func:`fireflys.compiler.work.union_input`."""
    w = core_spw(cp, spw)
    lists = [scan_list(cp.packed, d, w) for d in range(cp.pco)]
    words = window_words(cp, w, union)
    return lists, [entry_counts(lst, words) for lst in lists]


def frame_period(trace: CoreTrace, frames: int) -> float:
    """Cycles per frame between the hand-offs of the last pixel of the middle frame and of the
    last frame (the RTL simulation's frame period, measured at the readout); over the whole
    replay for a single frame."""
    last = trace.handoff.reshape(frames, -1)[:, -1]
    return mid_to_last_period(int(last[frames // 2]), int(last[-1]), frames)


def mid_to_last_period(mid_out: int, last_out: int, frames: int) -> float:
    """Cycles per frame between the output of frame ``frames // 2`` (at ``mid_out``) and that
    of the last frame (``last_out``); ``last_out / frames`` when there is no frame between."""
    tail = frames - 1 - frames // 2
    return (last_out - mid_out) / tail if tail > 0 else last_out / max(frames, 1)


class _Shifted(Sequence[int]):
    """A growing list of cycles seen ``delay`` cycles later."""

    def __init__(self, values: list[int], delay: int) -> None:
        self.values, self.delay = values, delay

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i):  # type: ignore[override]
        return self.values[i] + self.delay


def predict(model: CompiledModel, x: np.ndarray, res: golden.GoldenResult | None = None,
            *, chained: bool = True, spw: dict[int, int] | None = None,
            work: dict[int, tuple[list[list[Entry]], list[np.ndarray]]] | None = None
            ) -> list[CoreTrace]:
    """Replay every core over the frames ``x`` (``model`` with the hardware's lanes, see
    :func:`fireflys.compiler.scanlist.whole_pixel_lanes`). ``chained``: each core's input
    arrives from the previous core's FIFO and its output waits for room in the next FIFO (the
    cores' replays advance together, each until it needs a cycle its neighbour has not reached
    yet); else every core has its input at one pixel per cycle and an
    output that never blocks (each core alone). ``spw``: segments per scanner word by layer
    (default: the generator's). ``work``: per core index, scan lists and entry counts that
    replace :func:`core_work`'s (a core in another mode, e.g. Phi mode:
    :mod:`fireflys.phi.perf`)."""
    res = res if res is not None else golden.run(model, x)
    plans = core_plans(model)
    given = work or {}
    work = [given[cp.index] if cp.index in given else
            core_work(cp, scanned_input(model, x, res, cp), (spw or {}).get(cp.index))
            for cp in plans]
    if not chained:
        return [replay_core(model, cp, lists, c)
                for cp, (lists, c) in zip(plans, work, strict=True)]
    n = len(plans)
    written: list[list[int]] = [[] for _ in range(n)]
    pushed: list[list[int]] = [[] for _ in range(n)]
    arrivals = [None] + [_Shifted(pushed[i], FIFO_LAT) for i in range(n - 1)]
    runs = [_replay(model, cp, lists, c, arrivals[i],
                    written[i + 1] if i + 1 < n else None, cp.fifo,
                    written[i], pushed[i])
            for i, (cp, (lists, c)) in enumerate(zip(plans, work, strict=True))]
    out: list[CoreTrace | None] = [None] * n
    while any(t is None for t in out):
        moved = False
        for i, run in enumerate(runs):
            if out[i] is not None:
                continue
            before = (len(written[i]), len(pushed[i]))
            try:
                next(run)
            except StopIteration as stop:
                out[i] = stop.value
                moved = True
                continue
            moved = moved or before != (len(written[i]), len(pushed[i]))
        if not moved:
            raise RuntimeError("perf.predict: the cores' replays wait for each other")
    return [t for t in out if t is not None]
