"""Per-layer profiling: rows add up, names/shapes/MACs match the model,
exports parse and round-trip."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

import litepose
from litepose.convert import random_model_bytes
from litepose.profile import Profile

from conftest import require_torch


@pytest.fixture(scope="module")
def xs_profile():
    net = litepose.Network(random_model_bytes("XS", "coco"), num_threads=2)
    x = np.random.default_rng(0).standard_normal((1, 3, 128, 96)).astype(np.float32)
    with litepose.profile(net) as prof:
        for _ in range(4):
            net.forward(x)
    return net, prof.result, prof._calls


def test_rows_add_up_to_end_to_end(xs_profile):
    _, p, prof_calls = xs_profile
    assert p.runs == 4
    # means are additive: the rows' mean times add up to the mean end-to-end
    # time, the unattributed row holding what no layer covers
    unattributed = [r for r in p.rows if r.name == "unattributed"]
    assert len(unattributed) == 1
    assert sum(r.mean_ms for r in p.rows) == pytest.approx(p.end_to_end_ms, rel=1e-9)
    assert sum(r.pct for r in p.rows) == pytest.approx(100.0, rel=1e-9)
    assert p.rows[-1].cum_pct == pytest.approx(100.0, rel=1e-9)
    # how much is left unattributed is a matter of speed (the Python call,
    # the output allocation, a descheduled thread on a loaded host) and is not
    # asserted here; what must hold on any host is that the layers are timed
    # in order, without overlap, inside each call's end-to-end interval
    for call in prof_calls:
        layers = call["layers"]
        end = 0.0
        for t in layers:
            assert t.ms >= 0.0, t.name
            assert t.start_ms >= end - 1e-9, f"{t.name} starts before the previous layer ends"
            end = t.start_ms + t.ms
        assert sum(t.ms for t in layers) <= end + 1e-9
        assert end <= call["e2e"], "layers run past the end-to-end time"


def test_layer_names_shapes_and_macs_match_the_model(xs_profile):
    torch = require_torch()
    from litepose.torch import build_model

    _, p, _ = xs_profile
    model = build_model("XS", "coco")
    macs = {}

    def hook(name):
        def fn(mod, inp, out):
            if isinstance(mod, torch.nn.ConvTranspose2d):
                m = inp[0].numel() * mod.out_channels * mod.kernel_size[0] * mod.kernel_size[1]
            else:
                m = out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
            macs[name] = m
        return fn

    for name, mod in model.named_modules():
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            mod.register_forward_hook(hook(name))
    with torch.no_grad():
        model(torch.zeros(1, 3, 128, 96))
    layers = {r.name: r for r in p.rows if r.op in ("gemm", "dwconv", "deconv", "conv")}
    # every conv module of the model has a row; names are module prefixes
    want = {}
    for name, m in macs.items():
        # a row is named after the module that owns the conv (its Sequential
        # for stem convs and block parts), else after the conv itself; the
        # two transposed convolutions of a head level (deconv_refined.i,
        # deconv_raw.i, summed into one output) share the row deconv.i
        owned = name.startswith("stage.") or name in ("first.0.0", "first.1.0")
        row_name = name.rsplit(".", 1)[0] if owned else name
        if name.startswith(("deconv_refined.", "deconv_raw.")):
            row_name = "deconv." + name.rsplit(".", 1)[1]
        assert row_name in layers, f"no profile row for module {name} (looked for {row_name})"
        want[row_name] = want.get(row_name, 0) + m
    for row_name, m in want.items():
        assert layers[row_name].macs == m, row_name
    assert "stage.2.4.depth_conv" in layers
    assert layers["stage.2.4.depth_conv"].out_shape == [8, 6, 288]  # 1/16 of 128x96, 48*6 channels
    assert {f"deconv.{i}" for i in range(3)} <= set(layers)
    assert len(layers) == len(want) == len(macs) - 3
    assert sum(r.macs for r in layers.values()) == sum(macs.values())


def test_exports_round_trip(xs_profile, tmp_path):
    _, p, _ = xs_profile
    q = Profile.from_json(p.to_json())
    assert q.rows == p.rows and q.header == p.header and q.end_to_end_ms == p.end_to_end_ms
    rows = list(csv.DictReader(io.StringIO(p.to_csv())))
    assert len(rows) == len(p.rows) and rows[10]["name"] == p.rows[10].name
    trace = json.loads(p.to_chrome_trace())
    ev = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert ev and all(e["dur"] >= 0 for e in ev)
    assert {e["tid"] for e in ev} <= {0, 1}  # two threads
    assert "AMD" in p.header["cpu"] or p.header["cpu"]
    for k in ("cpu", "cores", "features", "isa", "threads", "flags", "litepose"):
        assert k in p.header
    assert "summary by op type" in p.table()


def test_profiling_off_records_nothing():
    net = litepose.Network(random_model_bytes("XS", "coco"), num_threads=1)
    x = np.zeros((1, 3, 64, 64), np.float32)
    net.forward(x)
    assert net._net.last_timings() == []
    with litepose.profile(net):
        net.forward(x)
    assert len(net._net.last_timings()) > 100
    net.forward(x)
    assert net._net.last_timings() == []


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "trace"])
def test_cli_profile(tmp_path, fmt):
    out = tmp_path / f"prof.{fmt}"
    r = subprocess.run([sys.executable, "-m", "litepose", "profile", "--arch", "XS", "--runs", "2", "--size", "128",
                        "--threads", "1", "--format", fmt, "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    if fmt in ("json", "trace"):
        json.loads(text)
    elif fmt == "csv":
        assert len(list(csv.reader(io.StringIO(text)))) > 100
    else:
        assert "stage.3.9.point_conv" in text


def test_estimator_profile_has_pipeline_and_decode_step_rows(real_model):
    cv2 = pytest.importorskip("cv2")
    from conftest import CROWDPOSE_DIR, require_asset

    img = cv2.imread(str(sorted(require_asset(CROWDPOSE_DIR / "images").glob("*.jpg"))[0]))
    est = litepose.PoseEstimator(real_model, num_threads=2, input_size=256)
    plain = est(img)
    with litepose.profile(est) as prof:
        for _ in range(2):
            profiled = est(img)
    np.testing.assert_array_equal(plain.keypoints, profiled.keypoints)  # same pipeline, step by step
    p = prof.result
    names = [r.name for r in p.rows]
    steps = ["decode.merge", "decode.peaks", "decode.matching", "decode.adjust", "decode.refine", "decode.mapping"]
    assert names[0] == "preprocess" and all(s in names for s in steps) and names[-1] == "unattributed"
    assert names.index("stage.0.0.inv") < names.index("decode.merge")
    assert all(r.stage == "decode" for r in p.rows if r.name.startswith("decode."))
    assert sum(r.mean_ms for r in p.rows) == pytest.approx(p.end_to_end_ms, rel=1e-9)
    assert next(r for r in p.rows if r.name == "decode.peaks").median_ms > 0
    by_stage = {s["name"] for s in p.by_stage()}
    assert {"preprocess", "stem", "stage0", "stage3", "head", "decode"} <= by_stage
