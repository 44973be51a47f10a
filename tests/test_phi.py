"""Phi (software): patterns matched per input pixel block, exact currents from PWPs and
signed residuals, the matcher's rule, operation and union counts."""

from __future__ import annotations

import numpy as np
import pytest

from fireflys.compiler.compile import random_input
from fireflys.core import golden
from fireflys.core.golden import layer_input
from fireflys.phi import tables as phi
from fireflys.phi.patterns import PhiError, select_patterns, spike_layers
from helpers import random_compiled

ARCH = "5x6x6-7c3p1-mp2-9c3p1-6fc"


def _model(seed: int, dense: bool):
    rng = np.random.default_rng(seed)
    model = random_compiled(rng, ARCH)
    if dense:  # every weight non-zero: the setting this mode is for
        for ly in model.layers:
            ly.weight = np.where(ly.weight == 0, 1, ly.weight).astype(np.int8)
        model.assign_widths()
    return model, rng


@pytest.mark.parametrize("seed,k", [(0, None), (1, 2), (2, 3), (3, 4)],
                         ids=["whole-pixel", "k2", "k3-padded", "k4-padded"])
def test_currents_are_exact_and_dense_union_never_grows(seed: int, k: int | None) -> None:
    model, rng = _model(seed, dense=True)
    calib = random_input(model, 16, rng, density=0.5)
    layers = spike_layers(model)  # the integrate readout too (software only)
    tables = phi.select(model, calib, q=4, k=dict.fromkeys(layers, k), layers=layers, seed=seed)
    x = random_input(model, 6, rng, density=0.5)
    checked = phi.check_exact(model, tables, x)
    assert set(checked) == set(layers) and all(checked.values())
    rep = phi.counts(model, tables, x)
    g = golden.run(model, x)
    used = 0
    for row in rep["layers"]:
        li = int(row["layer"][1:])
        assert row["ops_zero_skip"] == pytest.approx(g.work[li] / len(x))
        # all weights non-zero: a block uses its pattern only when its union (plus the PWP
        # token) is smaller, for every group alike
        assert row["union_phi"] <= row["union_bitmap"] + 1e-9
        used += row["union_phi"] < row["union_bitmap"]
    assert used, "no layer used a pattern: the test exercises nothing"


def test_exact_on_pruned_weights_too() -> None:
    """Lossless whatever the weights (the decision ignores the masks; the planner decides
    whether it pays)."""
    for seed in range(3):
        model, rng = _model(10 + seed, dense=False)
        calib = random_input(model, 12, rng, density=0.4)
        tables = phi.select(model, calib, q=3, seed=seed)
        phi.check_exact(model, tables, random_input(model, 4, rng, density=0.4))


def test_pattern_selection_finds_a_recurring_pattern() -> None:
    """k-means on vectors that mostly repeat one pattern (some with a bit flipped, some
    random) returns that pattern, and nothing with fewer than two ones."""
    rng = np.random.default_rng(0)
    pat = np.uint64(0b1011_0110)
    noise = np.left_shift(np.uint64(1), rng.integers(0, 8, 500).astype(np.uint64))
    vec = np.concatenate([np.full(500, pat, dtype=np.uint64), pat ^ noise,
                          rng.integers(0, 256, 50).astype(np.uint64)])
    pats = select_patterns(vec, 8, 4)
    assert pat in pats and 1 <= len(pats) <= 4
    assert all(bin(int(p)).count("1") >= 2 for p in pats)
    assert len(select_patterns(np.array([0, 1, 2, 4], dtype=np.uint64), 8, 4)) == 0


def test_match_rule_against_a_loop() -> None:
    rng = np.random.default_rng(5)
    k, t = 6, 4
    pats = np.array([0b000111, 0b111000, 0b101010, 0b000111 ^ 0b100000], dtype=np.uint64)
    a = rng.integers(0, 1 << k, (300, t)).astype(np.uint64)
    a[rng.random((300, t)) < 0.3] = 0
    a[:5] = pats[0]  # exact hits: used, residual empty
    j, use = phi.match(a, pats)
    for n in range(len(a)):
        d = [sum(bin(int(v ^ p)).count("1") for v in a[n] if v) for p in pats]
        jj = int(np.argmin(d))  # lowest index on ties
        assert j[n] == jj
        p = pats[jj]
        r_or = 0
        a_or = 0
        for v in a[n]:
            a_or |= int(v)
            r_or |= int(v ^ p) if v else 0
        assert use[n] == (1 + bin(r_or).count("1") < bin(a_or).count("1"))
    assert use[:5].all()


def test_decompose_signs_and_lanes() -> None:
    """A block equal to its pattern on two steps and one bit off on a third: one PWP on
    those three steps, one residual position (subtract on the step missing a bit)."""
    model, rng = _model(0, dense=True)
    li = spike_layers(model)[0]
    ly = model.layers[li]
    ci = ly.geom.in_shape[0]
    pat = np.uint64(0b1011)
    tl = phi.PhiLayer(li, ci, [np.array([pat], dtype=np.uint64)],
                       phi.pwp_table(ly, ci, [np.array([pat], dtype=np.uint64)]))
    h, w = ly.geom.in_shape[1:]
    s = np.zeros((1, model.T if model.T >= 3 else 3, h, w, ci), dtype=np.uint8)
    s[0, 0, 0, 0, [0, 1, 3]] = 1
    s[0, 1, 0, 0, [0, 1, 3]] = 1
    s[0, 2, 0, 0, [0, 3]] = 1  # bit 1 missing
    dec = phi.decompose(tl, s)
    assert dec.use[0, 0, 0, 0] and dec.pattern[0, 0, 0, 0] == pat
    assert dec.lanes[0, :3, 0, 0, 0].tolist() == [True, True, True]
    assert dec.resid[0, :3, 0, 0, 0].tolist() == [0, 0, 0b0010]
    assert not dec.use[0, 1, 1, 0]  # silent pixels use nothing
    ref = golden.current(s.reshape(-1, h, w, ci), ly) - ly.bias
    assert np.array_equal(phi.currents(ly, tl, dec).reshape(ref.shape), ref)


@pytest.mark.parametrize("seed", [8, 12], ids=["seed8", "seed12"])
def test_counts_by_brute_force_on_one_layer(seed: int) -> None:
    """Pruned weights (a third zero), blocks of 3 of 5 channels (the last one padded)."""
    model, rng = _model(seed, dense=False)
    li = spike_layers(model)[0]
    ly = model.layers[li]
    calib = random_input(model, 8, rng, density=0.5)
    tables = phi.select(model, calib, q=4, k={li: 3}, layers=[li], seed=0)
    tl = tables.layers[li]
    x = random_input(model, 2, rng, density=0.5)
    spikes = layer_input(model, x, golden.run(model, x), li)
    c = phi.layer_counts(ly, tl, spikes)
    dec = phi.decompose(tl, spikes)
    assert dec.use.sum() > 5, "too few blocks use a pattern to test the PWP tokens"
    w = golden.hw_weight(ly)
    co, kh, kw, ci = w.shape
    nb = -(-ci // 3)
    pad = ly.geom.pad
    rb = phi.unpack_bits(dec.resid, 3)
    ab = phi.unpack_bits(dec.spikes, 3)
    ops = opz = ub = up = 0
    B, T, H, W_ = spikes.shape[:4]
    for b in range(B):
        for oy in range(H):
            for ox in range(W_):
                for ch in range(co):
                    for ky in range(kh):
                        for kx in range(kw):
                            y, xx = oy + ky - pad, ox + kx - pad
                            if not (0 <= y < H and 0 <= xx < W_):
                                continue
                            for blk in range(nb):
                                m = [blk * 3 + i < ci and w[ch, ky, kx, blk * 3 + i] != 0
                                     for i in range(3)]
                                ra = [[ab[b, t, y, xx, blk, i] and m[i] for i in range(3)]
                                      for t in range(T)]
                                rr = [[rb[b, t, y, xx, blk, i] and m[i] for i in range(3)]
                                      for t in range(T)]
                                opz += sum(map(sum, ra))
                                ops += sum(map(sum, rr))
                                ub += sum(any(ra[t][i] for t in range(T)) for i in range(3))
                                up += sum(any(rr[t][i] for t in range(T)) for i in range(3))
                                lanes = dec.lanes[b, :, y, xx, blk] & any(m)
                                ops += int(lanes.sum())
                                up += int(lanes.any())
    assert (c["ops_zero_skip"], c["ops_phi"], c["union_bitmap"], c["union_phi"]) == \
        (opz, ops, ub, up)


def test_bad_options() -> None:
    model, rng = _model(0, dense=True)
    calib = random_input(model, 4, rng, density=0.5)
    with pytest.raises(PhiError, match="q .* must be in 1..1024"):
        phi.select(model, calib, q=0)
    if model.encoding == "direct":
        with pytest.raises(PhiError, match="L0 is not a spike-input layer"):
            phi.select(model, calib, q=2, layers=[0])
    with pytest.raises(PhiError, match="block width must be in 1..64"):
        phi.select(model, calib, q=2, k=dict.fromkeys(spike_layers(model), 0))


def test_tables_on_disk(tmp_path) -> None:
    from fireflys.core.model import save_model

    model, rng = _model(2, dense=True)
    save_model(model, tmp_path)
    with pytest.raises(PhiError, match="no Phi tables"):
        phi.load(model, tmp_path)
    tables = phi.select(model, random_input(model, 8, rng, density=0.5), q=4,
                       k=dict.fromkeys(spike_layers(model), 3))
    phi.save(tables, model, tmp_path)
    back = phi.load(model, tmp_path)
    for li, tl in tables.layers.items():
        assert back.layers[li].k == tl.k and np.array_equal(back.layers[li].pwp, tl.pwp)
        assert all(np.array_equal(a, b) for a, b in
                   zip(back.layers[li].patterns, tl.patterns, strict=True))
    f = tmp_path / phi.PHI_FILE
    f.write_bytes(f.read_bytes()[:50])
    with pytest.raises(PhiError, match="corrupt or truncated"):
        phi.load(model, tmp_path)
    phi.save(tables, model, tmp_path)
    model.layers[-1].weight[0].flat[0] ^= 1
    save_model(model, tmp_path)
    with pytest.raises(PhiError, match="'weights_sha256': the tables belong to other weights"):
        phi.load(model, tmp_path)


def test_cli_select_and_report(tmp_path, capsys) -> None:
    import json

    from fireflys.cli.main import main
    from fireflys.core.model import save_model

    model, _ = _model(3, dense=True)
    save_model(model, tmp_path / "m")
    assert main(["phi", "select", str(tmp_path / "m"), "--q", "4", "--k", "3",
                 "--frames", "12"]) == 0
    out = capsys.readouterr().out
    assert "exact (currents from PWPs + signed residuals == golden)" in out
    assert (tmp_path / "m" / phi.PHI_FILE).is_file()
    assert main(["phi", "report", str(tmp_path / "m"), "--frames", "6",
                 "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "r.png")]) == 0
    out = capsys.readouterr().out
    assert "fewer operations than zero-skipping" in out
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["frames"] == 6 and rep["total"]["ops_zero_skip"] > 0
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_cli_select_auto(tmp_path, capsys) -> None:
    """``phi select --auto`` keeps the cores its printed and written choice names; a budget of
    1 x the bitmap LUTs keeps none and writes no tables; --json and several q need --auto."""
    import json

    from fireflys.cli.main import main
    from fireflys.core.model import save_model

    model, _ = _model(0, dense=True)
    save_model(model, tmp_path / "m")
    base = ["phi", "select", str(tmp_path / "m"), "--q", "2,8", "--frames", "16",
            "--auto", "--plan-frames", "4", "--min-gain", "1.0"]
    assert main([*base, "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    rows = json.loads((tmp_path / "c.json").read_text())["cores"]
    on = {int(r["layer"][1:]) for r in rows if r["phi"]}
    assert on and all(f"{r['layer']:>5}" in out for r in rows)
    got = phi.load(model, tmp_path / "m")
    assert set(got.layers) == on
    for r in rows:  # each core's patterns from its q
        if r["phi"]:
            assert got.layers[int(r["layer"][1:])].q_max <= r["q"]
    (tmp_path / "m" / phi.PHI_FILE).unlink()
    assert main([*base, "--max-lut-ratio", "1"]) == 0
    out = capsys.readouterr().out
    assert "off (off: LUT budget)" in out
    assert "Phi pays on no core: nothing written" in out
    assert not (tmp_path / "m" / phi.PHI_FILE).exists()
    assert main(["phi", "select", str(tmp_path / "m"), "--json", str(tmp_path / "x.json")]) != 0
    assert "--json: the choice per core is written with --auto" in capsys.readouterr().err
    assert main(["phi", "select", str(tmp_path / "m"), "--q", "2,8"]) != 0
    assert "several values need --auto" in capsys.readouterr().err


@pytest.mark.parametrize("seed,k", [(0, None), (2, 3)], ids=["whole-pixel", "k3"])
def test_cycle_model_counts_the_union_and_tokens(seed: int, k: int | None) -> None:
    """The cycle model's Phi entry counts, summed over every detector's entries and
    windows, are the union positions plus PWP tokens that phi.tables counts; the replay runs."""
    from fireflys.compiler.coreplan import core_plans
    from fireflys.phi import perf as phiperf

    model, rng = _model(seed, dense=False)
    layers = spike_layers(model)
    tables = phi.select(model, random_input(model, 12, rng, density=0.5), q=4,
                       k=dict.fromkeys(layers, k))
    model = phiperf.phi_lanes(model, tables)
    x = random_input(model, 3, rng, density=0.5)
    res = golden.run(model, x)
    for cp in core_plans(model):
        tl = tables.layers.get(cp.index)
        if tl is None:
            continue
        spikes = layer_input(model, x, res, cp.index)
        dec = phi.decompose(tl, spikes)
        ru = np.bitwise_or.reduce(dec.resid, axis=1)
        ru_bits = phi.channel_bits(ru, tl.k, cp.ci).astype(bool)
        _, counts = phiperf.phi_core_work(cp, ru_bits, dec.use, tl.k)
        want = phi.layer_counts(model.layers[cp.index], tl, spikes)["union_phi"]
        assert sum(int(c.sum()) for c in counts) == want
    traces = phiperf.predict(model, tables, x, res)
    assert len(traces) == len(model.layers) and all(t.busy > 0 for t in traces)


def test_paft_penalty_is_the_operations_and_finetune_runs(tmp_path) -> None:
    """On an FC spike layer (no borders) the PAFT penalty equals the operations phi.tables
    counts; a short PAFT run of a dense run writes a bit-exact model with phi.npz."""
    import torch

    from fireflys.core.model import load_model
    from fireflys.train.checkpoint import load_run
    from fireflys.train.config import TrainConfig
    from fireflys.train.dataset import load_dataset
    from fireflys.train.export import export
    from fireflys.train.paft import finetune
    from fireflys.train.paft_penalty import penalty
    from fireflys.train.trainer import train

    cfg = TrainConfig(arch="1x8x8-6c3p1-mp2-8fc-10fc", dataset="digits",
                      out=str(tmp_path / "run"),
                      epochs=1, batch=32, max_steps=6, check_frames=32, sparsity=0.0)
    train(cfg, quiet=True)
    net, _ = load_run(tmp_path / "run")
    ex = export(net)
    xtr, _, xva, _, _ = load_dataset(cfg)
    tables = phi.select(ex.model, xtr[:64], q=4, k={1: 3}, layers=[1])  # the hidden FC
    x = xva[:16]
    with torch.no_grad():
        _, traces = net(torch.as_tensor(x), trace=True)
        traces = [type(t)(None if t.spikes is None else t.spikes.float(),
                          None if t.out is None else t.out.float()) for t in traces]
        pen = float(penalty(traces, ex.model, tables, ex.kept))
        saving = float(penalty(traces, ex.model, tables, ex.kept, "saving"))
        mixed = float(penalty(traces, ex.model, tables, ex.kept, beta=0.25))
    rep = phi.counts(ex.model, tables, x)
    row = rep["layers"][0]
    assert row["ops_phi"] > 0 and row["ops_phi"] != row["ops_zero_skip"]
    assert pen == pytest.approx(row["ops_phi"] * len(x))
    assert saving == pytest.approx((row["ops_phi"] - row["ops_zero_skip"]) * len(x))
    assert mixed == pytest.approx((row["ops_phi"] - 0.25 * row["ops_zero_skip"]) * len(x))
    with pytest.raises(ValueError, match="beta must be in 0..1"):
        penalty(traces, ex.model, tables, ex.kept, beta=1.5)
    r = finetune(tmp_path / "run", tmp_path / "paft", lam=1.0, epochs=1, max_steps=3, q=4,
                 calib=64, frames_eval=32, quiet=True)
    assert sum(r["bit_exact_check"]["spike_mismatches_per_layer"]) == 0
    assert r["after"]["total"]["union_phi"] > 0
    d = tmp_path / "paft" / "model"
    assert phi.load(load_model(d), d).layers


def test_paft_keeps_a_fixed_mask(tmp_path) -> None:
    """PAFT of a run that ended in a fixed-mask phase (the shipped scnn5's): at a high learning
    rate the surviving weights move, but no weight that exported as zero grows back (Grad R's
    prior alone lets them regrow), and the PAFT checkpoint keeps the mask."""
    import torch

    from fireflys.train.checkpoint import load_run
    from fireflys.train.config import TrainConfig
    from fireflys.train.paft import finetune
    from fireflys.train.trainer import train

    arch = "1x8x8-6c3p1-mp2-8fc-10fc"
    train(TrainConfig(arch=arch, dataset="digits", out=str(tmp_path / "run"), epochs=1,
                      batch=32, max_steps=6, check_frames=16, sparsity=0.6, alpha=2e-2),
          quiet=True)
    train(TrainConfig(arch=arch, dataset="digits", out=str(tmp_path / "fix"), epochs=1,
                      batch=32, max_steps=4, check_frames=16, sparsity=0.6,
                      init_from=str(tmp_path / "run"), freeze_at=0.0), quiet=True)
    before, _ = load_run(tmp_path / "fix")
    zero0 = [ly.integers()[0] == 0 for ly in before.layers]
    assert sum(int(z.sum()) for z in zero0) > 0
    r = finetune(tmp_path / "fix", tmp_path / "paft", lam=1.0, epochs=1, max_steps=8, q=4,
                 lr=5e-2, calib=64, frames_eval=32, quiet=True)
    assert r["fixed_mask"] and r["sparsity_after"] >= r["sparsity_before"] > 0
    after, _ = load_run(tmp_path / "paft")
    moved = 0
    for z, a, b in zip(zero0, after.layers, before.layers, strict=True):
        qa = a.integers()[0]
        assert not (qa[z] != 0).any(), "a weight of the fixed mask grew back"
        moved += int((qa != b.integers()[0]).sum())
    assert moved > 0, "PAFT did not train"
    st = torch.load(tmp_path / "paft" / "checkpoint.pt", weights_only=False)
    assert st["masks"] is not None


def test_balance_gives_the_slowest_core_its_next_pco() -> None:
    """The planner's greedy on a hand-made table: the slowest core (the first of equals) gets
    its next larger PCO until the budget, the target or ``fits`` stops it."""
    from fireflys.compiler.plan import balance

    table = [{1: 10.0, 2: 5.0}, {1: 20.0, 2: 10.0, 4: 5.0}]
    assert balance(table, max_detectors=4) == [2, 2]
    assert balance(table, max_detectors=6) == [2, 4]
    assert balance(table, target_cycles=10.0) == [1, 2]
    assert balance(table, max_detectors=9, fits=lambda t: sum(t) <= 3) == [1, 2]


def test_phi_plan_replays_phi_cores_and_keeps_the_budget(tmp_path, capsys) -> None:
    """phiperf.plan: non-Phi rows are the bitmap planner's, the Phi layer's rows come from its
    residual union and tokens (fewer cycles on a dense model); the plan keeps the detector
    budget and its period is the Phi chain's replay. `fireflys plan --phi` prints and
    applies it, and names what is missing."""
    import json

    from fireflys.cli.main import main
    from fireflys.compiler.compile import compile_to_dir
    from fireflys.compiler.plan import period_of, predict_table, with_pco
    from fireflys.core.model import load_model
    from fireflys.phi import perf as phiperf

    model, rng = _model(5, dense=True)
    li = 1  # the hidden conv (L0's random 5-channel spikes repeat too little for patterns)
    assert li in spike_layers(model) and model.layers[li].neuron
    x = random_input(model, 6, rng, density=0.5)
    tables = phi.select(model, x, q=4, layers=[li])
    mv = phiperf.phi_lanes(model, tables)
    res = golden.run(mv, x)
    bitmap = predict_table(mv, x, 16, res)
    table = phiperf.predict_table(mv, tables, x, 16, res)
    for i in range(len(mv.layers)):
        assert table[i].keys() == bitmap[i].keys()
        if i != li:
            assert table[i] == bitmap[i]
    assert table[li][1] < bitmap[li][1]
    budget = len(mv.layers) + 3
    p = phiperf.plan(mv, tables, x, budget)
    assert p.detectors == sum(p.pco) <= budget
    assert all(c.pco in table[i] and c.cycles == table[i][c.pco] for i, c in enumerate(p.cores))
    assert p.period == period_of(phiperf.predict(with_pco(mv, p.pco), tables, x), len(x))

    d = tmp_path / "m"
    compile_to_dir(model, d)
    args = ["plan", str(d), "--phi", "--max-detectors", str(budget),
            "--frames", "6", "--dataset", "random"]
    assert main(args) == 2
    assert "no Phi tables" in capsys.readouterr().err
    phi.save(tables, model, d)
    assert main([*args[:5], "--target-fps", "100"]) == 2
    assert "--phi: give --max-detectors" in capsys.readouterr().err
    assert main([*args, "--max-luts", "1e9"]) == 2
    assert "--phi: give --max-detectors (and no --target-fps or --max-luts)" in \
        capsys.readouterr().err
    js = tmp_path / "plan.json"
    assert main([*args, "--json", str(js), "--apply", str(tmp_path / "planned")]) == 0
    out = capsys.readouterr().out
    assert f"L{li} in Phi mode" in out
    rep = json.loads(js.read_text())
    assert sum(rep["pco"]) <= budget
    assert [ly.pco for ly in load_model(tmp_path / "planned").layers] == rep["pco"]


def test_pwp_image_layout(tmp_path) -> None:
    """Each detector's PWP ROM word (row, j) is pattern j of the row's block times the weights
    of the channel in the row's slot at the row's kernel position; the memory bits the
    planner reports are those of the images the generator writes."""
    from fireflys.compiler.coreplan import core_plan
    from fireflys.phi import hw as phihw

    model, rng = _model(1, dense=True)
    li = spike_layers(model)[0]
    tables = phi.select(model, random_input(model, 12, rng, density=0.5), q=3, k={li: 2},
                       layers=[li])
    tl = tables.layers[li]
    cp = core_plan(model, li)
    q = phihw.q_slots(tl)
    w = golden.hw_weight(model.layers[li])
    checked = 0
    for d in range(cp.pco):
        img = phihw.pwp_image(cp, tl, d, q)
        assert len(img) == phihw.pwp_rows(cp, tl) * q
        for row in range(phihw.pwp_rows(cp, tl)):
            g, rest = divmod(row, cp.kh * cp.kw * tl.nb)
            kpos, b = divmod(rest, tl.nb)
            ky, kx = divmod(kpos, cp.kw)
            ch = int(cp.slots[g * cp.pco + d])
            for j in range(q):
                want = 0
                if ch >= 0 and j < len(tl.patterns[b]):
                    p = int(tl.patterns[b][j])
                    want = sum(int(w[ch, ky, kx, b * 2 + i]) for i in range(2)
                               if p >> i & 1 and b * 2 + i < w.shape[3])
                    checked += want != 0
                assert img[row * q + j] == want
    assert checked
    par = phihw.write_images(cp, tl, tmp_path, q, phihw.match_rate(q, None))
    lines = {f.name: f.read_text().split() for f in tmp_path.glob("*.hex")}
    pat = lines.pop(f"{cp.name}_pat.hex")
    assert len(lines) == cp.pco
    bits = phihw.memory_bits(cp, tl)
    assert bits["pwp_bits"] == sum(len(v) for v in lines.values()) * par["PwpW"]
    assert bits["pattern_bits"] == len(pat) * par["PhiM"] * tl.nb * (tl.k + 1)


def test_choose_keeps_phi_where_it_pays() -> None:
    """Dense weights: Phi shortens some core's busy cycles (the choice follows the gain); with
    an unreachable minimum gain every core stays in bitmap mode."""
    from fireflys.phi import perf as phiperf

    model, rng = _model(0, dense=True)
    layers = spike_layers(model)
    calib = random_input(model, 16, rng, density=0.5)
    tables = phi.select(model, calib, q=8)
    m = phiperf.phi_lanes(model, tables)
    kept, rows = phiperf.choose(m, tables, calib[:4], min_gain=1.0)
    assert [r["layer"] for r in rows] == [f"L{i}" for i in layers]
    for r in rows:
        assert r["phi"] == (r["gain"] >= 1.0) and r["busy_bitmap"] > 0
        assert r["pwp_bits"] > 0 and r["pattern_bits"] > 0
    assert set(kept.layers) == {int(r["layer"][1:]) for r in rows if r["phi"]}
    assert max(r["gain"] for r in rows) > 1.2
    none, rows2 = phiperf.choose(m, tables, calib[:4], min_gain=1e9)
    assert not none.layers and not any(r["phi"] for r in rows2)


def test_choose_lut_budget() -> None:
    """A LUT budget switches Phi off where it saves the fewest cycles per LUT first, until the
    estimated design fits: at ratio 1 nothing is on, at a generous one the gain alone decides,
    and between them the kept cores fit the budget and are the best per LUT."""
    from fireflys.compiler import area, perf
    from fireflys.compiler.coreplan import core_plans
    from fireflys.phi import perf as phiperf

    model, rng = _model(0, dense=True)
    calib = random_input(model, 16, rng, density=0.5)
    tables = phi.select(model, calib, q=8)
    m = phiperf.phi_lanes(model, tables)
    free, rows = phiperf.choose(m, tables, calib[:4], min_gain=1.0, max_lut_ratio=100.0)
    assert all(r["lut_phi"] > 0 and "dropped" not in r for r in rows)
    assert {r["layer"] for r in rows if r["phi"]} == {r["layer"] for r in rows
                                                      if r["gain"] >= 1.0}
    none, rows1 = phiperf.choose(m, tables, calib[:4], min_gain=1.0, max_lut_ratio=1.0)
    assert not none.layers
    assert all(r.get("dropped") == "LUT budget" for r in rows1 if r["gain"] >= 1.0)
    base = sum(area.core_luts(cp, perf.core_spw(cp)) for cp in core_plans(m))
    on = [r for r in rows if r["phi"]]
    best = max(on, key=lambda r: (r["busy_bitmap"] - r["busy_phi"]) / r["lut_phi"])
    ratio = 1.0 + (best["lut_phi"] + 0.5) / base  # room for the best core alone
    one, rows_r = phiperf.choose(m, tables, calib[:4], min_gain=1.0, max_lut_ratio=ratio)
    assert list(one.layers) == [int(best["layer"][1:])]
    with pytest.raises(PhiError, match="max LUT ratio"):
        phiperf.choose(m, tables, calib[:4], max_lut_ratio=0.5)


def test_choose_q_per_core() -> None:
    """Several selections (one per q): per core the q of the fewest Phi busy cycles or a
    smaller one within the tolerance; the kept tables take each core's patterns from its q;
    selections of other layers are refused."""
    from fireflys.phi import perf as phiperf

    model, rng = _model(0, dense=True)
    calib = random_input(model, 16, rng, density=0.5)
    cands = [phi.select(model, calib, q=q) for q in (2, 8)]
    m = phiperf.phi_lanes(model, cands[0])
    kept, rows = phiperf.choose(m, cands, calib[:4], min_gain=1.0, q_tol=0.0)
    assert {r["q"] for r in rows} == {2, 8}  # this model has a core of each
    for r in rows:
        by_q = r["busy_phi_by_q"]
        best = min(by_q.values())
        assert by_q[str(r["q"])] == best == r["busy_phi"]
        assert r["q"] == min(int(q) for q, b in by_q.items() if b == best)
        if r["phi"]:
            i = int(r["layer"][1:])
            c = cands[[2, 8].index(r["q"])]
            assert kept.layers[i] is c.layers[i]
    assert kept.q == max(r["q"] for r in rows if r["phi"])
    loose, rows_l = phiperf.choose(m, cands, calib[:4], min_gain=1.0, q_tol=10.0)
    assert all(r["q"] == 2 for r in rows_l)  # everything within 1000 %: the smallest q
    other = phi.select(model, calib, q=2, layers=sorted(cands[0].layers)[:1])
    with pytest.raises(PhiError, match="same layers"):
        phiperf.choose(m, [cands[0], other], calib[:4])


def test_phi_luts_estimate_grows() -> None:
    """The Phi area estimate grows with the patterns compared per cycle and the detectors."""
    from dataclasses import replace

    from fireflys.compiler import area, perf
    from fireflys.compiler.coreplan import core_plans

    model, _ = _model(0, dense=True)
    cp = core_plans(model)[1]
    spw = perf.core_spw(cp)
    a = area.phi_luts(cp, spw, cp.ci, 16)
    assert area.phi_luts(cp, spw, cp.ci, 64) > a > 0
    assert area.phi_luts(replace(cp, pco=cp.pco + 1), spw, cp.ci, 16) > a


def test_soak_banner_names_the_phi_layers_and_their_q() -> None:
    """The soak's banner names the Phi layers, with each one's pattern slots when they differ
    (the RTL sizes them per core), else the tables' q once."""
    from fireflys.cli.verify import _phi_layers
    from fireflys.phi.hw import q_slots

    model, rng = _model(0, dense=True)
    calib = random_input(model, 8, rng, density=0.5)
    small, big = (phi.select(model, calib, q=q) for q in (2, 8))
    li = sorted(big.layers)
    first = phi.PhiTables(2, {li[0]: small.layers[li[0]]})
    assert _phi_layers(first) == f"L{li[0]}, q = 2"
    mixed = phi.PhiTables(8, {i: (small if i == li[0] else big).layers[i] for i in li})
    qs = [q_slots(mixed.layers[i]) for i in li]
    assert len(set(qs)) > 1
    assert _phi_layers(mixed) == ", ".join(f"L{i} (q {q})" for i, q in zip(li, qs, strict=True))
