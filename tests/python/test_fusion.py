"""Fused inverted residual blocks (csrc/ops/fused_block.*) and the fused
head tail (csrc/ops/fused_tail.*) against the unfused layers
(LITEPOSE_FUSE=0): the outputs must be bit-identical, on every ISA this CPU
runs, at 1 and 3 threads, for odd image sizes and for every band geometry
(band heights, window slack, chunks, recompute) and the channel split of
several threads, including stages that mix fused and unfused blocks.  Fusion is chosen when the Network is built, from
LITEPOSE_FUSE and the LITEPOSE_FUSE_* tuning variables."""
from __future__ import annotations

import numpy as np
import pytest

import litepose
from litepose import _core
from litepose.convert import random_model_bytes

ISAS = _core.available_isas()
SIZES = ((48, 80), (64, 64), (32, 112))
KNOBS = ("LITEPOSE_FUSE", "LITEPOSE_FUSE_MIN_KB", "LITEPOSE_FUSE_HALO_PCT", "LITEPOSE_FUSE_SPLIT_PCT",
         "LITEPOSE_FUSE_BAND", "LITEPOSE_FUSE_SLACK", "LITEPOSE_FUSE_CHUNKS", "LITEPOSE_FUSE_CACHE_KB", "LITEPOSE_FUSE_RECOMPUTE", "LITEPOSE_DECONV")


@pytest.fixture(scope="module")
def models():
    return {arch: random_model_bytes(arch, "coco", seed=3) for arch in ("XS", "M")}


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(11)
    return {hw: rng.standard_normal((1, 3, *hw)).astype(np.float32) for hw in SIZES}


def _net(monkeypatch, model, threads, isa, **env):
    for k in KNOBS:
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    return litepose.Network(model, num_threads=threads, isa=isa)


def _run(net, inputs):
    return [net.forward(x) for x in inputs.values()]


def _assert_identical(a, b):
    for (a4, a2), (b4, b2) in zip(a, b):
        np.testing.assert_array_equal(a4, b4)
        np.testing.assert_array_equal(a2, b2)
        assert a4.tobytes() == b4.tobytes() and a2.tobytes() == b2.tobytes()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("arch", ["XS", "M"])
@pytest.mark.parametrize("threads", [1, 3])
def test_fused_equals_unfused_bit_for_bit(monkeypatch, models, inputs, arch, threads, isa):
    ref = _run(_net(monkeypatch, models[arch], threads, isa, LITEPOSE_FUSE=0), inputs)
    for env in ({"LITEPOSE_FUSE": 1},
                {"LITEPOSE_FUSE": "auto"},
                {"LITEPOSE_FUSE": 1, "LITEPOSE_FUSE_BAND": 1},
                {"LITEPOSE_FUSE": 1, "LITEPOSE_FUSE_BAND": 3, "LITEPOSE_FUSE_SLACK": 5, "LITEPOSE_FUSE_CHUNKS": 2},
                {"LITEPOSE_FUSE": 1, "LITEPOSE_FUSE_RECOMPUTE": 1, "LITEPOSE_FUSE_BAND": 4},
                # mixed stages: only blocks with a large expanded tensor fused
                {"LITEPOSE_FUSE": "auto", "LITEPOSE_FUSE_MIN_KB": 300},
                # the channel split (several threads) for every block with
                # enough GEMM panels: groups of 1-2 panels, a window that
                # moves its slice every band, a partial last panel
                {"LITEPOSE_FUSE": 1, "LITEPOSE_FUSE_SPLIT_PCT": 0},
                {"LITEPOSE_FUSE": 1, "LITEPOSE_FUSE_SPLIT_PCT": 0, "LITEPOSE_FUSE_CHUNKS": 8},
                {"LITEPOSE_FUSE": 1, "LITEPOSE_FUSE_SPLIT_PCT": 0, "LITEPOSE_FUSE_BAND": 1, "LITEPOSE_FUSE_SLACK": 0},
                {"LITEPOSE_FUSE": "auto", "LITEPOSE_FUSE_MIN_KB": 1, "LITEPOSE_FUSE_SPLIT_PCT": 30}):
        out = _run(_net(monkeypatch, models[arch], threads, isa, **env), inputs)
        _assert_identical(out, ref)


@pytest.mark.parametrize("isa", ISAS)
def test_fused_equals_unfused_with_direct_deconvolution(monkeypatch, models, inputs, isa):
    # M's deconvolutions 1 and 2 take Winograd by default (32 and 40 output
    # channels); the direct kernels must keep the fused tail exact too
    ref = _run(_net(monkeypatch, models["M"], 3, isa, LITEPOSE_FUSE=0, LITEPOSE_DECONV="direct"), inputs)
    out = _run(_net(monkeypatch, models["M"], 3, isa, LITEPOSE_FUSE=1, LITEPOSE_DECONV="direct"), inputs)
    _assert_identical(out, ref)
    wino = _run(_net(monkeypatch, models["M"], 3, isa, LITEPOSE_FUSE=1), inputs)
    for (a4, a2), (b4, b2) in zip(wino, ref):  # a different summation, not the same bits
        assert not (np.array_equal(a4, b4) and np.array_equal(a2, b2))
        np.testing.assert_allclose(a2, b2, rtol=0, atol=1e-4 * float(np.abs(b2).max()))


def test_deconv_mode_is_checked(monkeypatch, models):
    with pytest.raises(ValueError, match="LITEPOSE_DECONV must be 'winograd' or 'direct'"):
        _net(monkeypatch, models["XS"], 1, "auto", LITEPOSE_DECONV="fast")


def test_threads_change_and_repeat(monkeypatch, models, inputs):
    net = _net(monkeypatch, models["XS"], 1, "auto", LITEPOSE_FUSE=1)
    first = _run(net, inputs)
    net.num_threads = 3  # the per-thread scratch grows
    _assert_identical(_run(net, inputs), first)
    _assert_identical(_run(net, inputs), first)


def test_fused_profile_keeps_layer_rows(monkeypatch, models):
    net = _net(monkeypatch, models["XS"], 2, "auto", LITEPOSE_FUSE=1)
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    with litepose.profile(net) as prof:
        net.forward(x)
    rows = {r.name: r for r in prof.result.rows}
    for part, op in ((".inv", "gemm"), (".depth_conv", "dwconv"), (".point_conv", "gemm")):
        r = rows["stage.0.1" + part]
        assert r.op == op and r.kernel.startswith("fused:")
    assert rows["stage.0.1.depth_conv"].macs == 16 * 16 * 96 * 49  # 1/4 of 64x64, XS hidden 16*6
    # the stem runs fused too (conv -> dw -> pw) and keeps its three rows
    for name, op in (("first.0", "conv"), ("first.1", "dwconv"), ("first.2", "gemm")):
        r = rows[name]
        assert r.op == op and r.kernel.startswith("fused:")
    assert rows["first.1"].macs == 32 * 32 * 32 * 9  # 1/2 of 64x64, 32 channels, 3x3
    # the head's tail runs fused and keeps its rows: deconv 2 -> final layers 1,
    # and final layers 0 on the deconv 1 output; their bands go to the NCHW
    # outputs from cache
    for name, op in (("deconv.2", "deconv"),
                     ("final_refined.1.conv.0", "dwconv"), ("final_refined.1.conv.3", "gemm"),
                     ("final_raw.1.conv.0", "dwconv"), ("final_raw.1.conv.3", "gemm"),
                     ("output2.to_nchw", "layout"),
                     ("final_refined.0.conv.0", "dwconv"), ("final_refined.0.conv.3", "gemm"),
                     ("final_raw.0.conv.0", "dwconv"), ("final_raw.0.conv.3", "gemm"),
                     ("output4.to_nchw", "layout")):
        r = rows[name]
        assert r.op == op and r.kernel.startswith("fused:"), name
    assert rows["deconv.1"].kernel.startswith("f32-deconv")  # deconv 2 reads its output: unfused
    assert "deconv_refined.2" not in rows and "deconv_raw.2" not in rows  # one row for the pair
    assert "output.to_nchw" not in rows
    assert rows["output4.to_nchw"].stage == rows["output2.to_nchw"].stage == "layout"
    assert rows["final_refined.1.conv.0"].out_shape == [32, 32, 24]  # XS: deconv channels 24 at 1/2 of 64x64
    assert rows["output4.to_nchw"].out_shape == [34, 16, 16]  # COCO: 17 heatmaps + 17 tag maps at 1/4


def _fused_rows(net, x):
    with litepose.profile(net) as prof:
        net.forward(x)
    return {r.name for r in prof.result.rows if r.kernel.startswith("fused:")}


def test_auto_unfuses_blocks_split_too_thin(monkeypatch, models):
    # every block's tensor passes the size test (1 KiB); at 64x64 stage 0
    # has 16 rows: one thread fuses it, 16 threads would give each chunk one
    # row and recompute a 6-row halo each, so "auto" leaves those blocks
    # unfused -- and re-decides when the thread count changes
    x = np.random.default_rng(1).standard_normal((1, 3, 64, 64)).astype(np.float32)
    net = _net(monkeypatch, models["XS"], 1, "auto", LITEPOSE_FUSE="auto", LITEPOSE_FUSE_MIN_KB=1)
    one = _fused_rows(net, x)
    assert "stage.0.1.depth_conv" in one and "first.1" in one
    ref = net.forward(x)
    net.num_threads = 16
    many = _fused_rows(net, x)
    assert "stage.0.1.depth_conv" not in many and "first.1" in many  # the stem: fused unless "off"
    _assert_identical([net.forward(x)], [ref])
    net.num_threads = 1
    assert _fused_rows(net, x) == one
    # LITEPOSE_FUSE_HALO_PCT raises the limit; "on" ignores it
    for env in ({"LITEPOSE_FUSE": "auto", "LITEPOSE_FUSE_MIN_KB": 1, "LITEPOSE_FUSE_HALO_PCT": 100000},
                {"LITEPOSE_FUSE": 1}):
        assert "stage.0.1.depth_conv" in _fused_rows(_net(monkeypatch, models["XS"], 16, "auto", **env), x)


def _split_blocks(net, x):
    with litepose.profile(net) as prof:
        net.forward(x)
    rows = [r for r in prof.result.rows if r.kernel.startswith("split:")]
    assert {r.op for r in rows} <= {"gemm", "dwconv"} and len(rows) % 3 == 0  # three rows per block
    return {r.name.rsplit(".", 1)[0] for r in rows}


def test_auto_splits_channels_where_the_halo_is_large(monkeypatch, models):
    # M at 448 on 2 threads: the 28 x 28 blocks (stages 2 and 3) would give
    # each thread 14 rows and a 6-row halo (43% more expand work); they
    # split their hidden channels instead.  Stage 2's first block is not
    # fused (its expanded tensor is below 1 MiB), nor is any block at 1
    # thread split.
    x = np.random.default_rng(2).standard_normal((1, 3, 448, 448)).astype(np.float32)
    net = _net(monkeypatch, models["M"], 2, "auto")
    split = _split_blocks(net, x)
    want = {f"stage.2.{i}" for i in range(1, 10)} | {f"stage.3.{i}" for i in range(10)}
    assert split == want, sorted(split ^ want)
    ref = _net(monkeypatch, models["M"], 2, "auto", LITEPOSE_FUSE=0).forward(x)
    _assert_identical([net.forward(x)], [ref])
    net.num_threads = 1
    assert _split_blocks(net, x) == set()
    assert not _split_blocks(_net(monkeypatch, models["M"], 2, "auto", LITEPOSE_FUSE_SPLIT_PCT=50), x)


def test_bad_fuse_value(monkeypatch, models):
    with pytest.raises(ValueError, match="fuse"):
        _net(monkeypatch, models["XS"], 1, "auto", LITEPOSE_FUSE="maybe")
