"""Converter and model-file error handling: every bad input named in the
issue gets an exception that names the problem, and nothing crashes."""
from __future__ import annotations

import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import litepose
from litepose import ModelError, _core
from litepose._spec import official_shapes, random_state_dict
from litepose.archs import ARCHS
from litepose.convert import (
    convert_state_dict,
    fold_state_dict,
    infer_arch,
    model_bytes_from_state_dict,
    random_model_bytes,
)

from conftest import require_torch


@pytest.fixture(scope="module")
def xs_bytes() -> bytes:
    return random_model_bytes("XS", "coco", seed=1)


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("dataset,k", [("crowdpose", 14), ("coco", 17)])
def test_infer_arch_from_shapes(arch, dataset, k):
    sd = random_state_dict(ARCHS[arch], k, seed=0)
    found, joints = infer_arch(sd)
    assert found.name == arch and joints == k


def test_official_shapes_match_torch_model():
    torch = require_torch()
    from litepose.torch import build_model

    for arch in ARCHS:
        for ds, k in (("crowdpose", 14), ("coco", 17)):
            sd = build_model(arch, ds).state_dict()
            want = {n: tuple(t.shape) for n, t in sd.items() if not n.endswith("num_batches_tracked")}
            assert dict(official_shapes(ARCHS[arch], k)) == want
    del torch


def test_fold_is_exact_in_float64():
    """Folded conv+BN equals conv then BN (checked on one block in float64)."""
    sd = random_state_dict(ARCHS["XS"], 17, seed=3)
    f = fold_state_dict(sd, ARCHS["XS"], 17)
    w = sd["stage.0.0.inv.0.weight"][:, :, 0, 0].astype(np.float64)
    g, b, m, v = (sd[f"stage.0.0.inv.1.{s}"].astype(np.float64) for s in ("weight", "bias", "running_mean", "running_var"))
    x = np.random.default_rng(0).standard_normal(w.shape[1])
    want = (w @ x - m) / np.sqrt(v + 1e-5) * g + b
    got = f["stage.0.0.inv.0.weight"][:, :, 0, 0].astype(np.float64) @ x + f["stage.0.0.inv.0.bias"]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_wrapped_and_prefixed_state_dicts(tmp_path):
    sd = random_state_dict(ARCHS["XS"], 14, seed=2)
    plain = model_bytes_from_state_dict(sd)
    assert model_bytes_from_state_dict({"module." + k: v for k, v in sd.items()}) == plain
    assert model_bytes_from_state_dict({"state_dict": sd, "epoch": 3}) == plain
    assert model_bytes_from_state_dict({"model": {"module." + k: v for k, v in sd.items()}}) == plain


def test_wrong_arch_flag_is_named():
    sd = random_state_dict(ARCHS["M"], 14, seed=0)
    with pytest.raises(ModelError, match=r"not LitePose-S .* LitePose-M"):
        model_bytes_from_state_dict(sd, arch="S")
    with pytest.raises(ValueError, match="unknown architecture 'Q'"):
        model_bytes_from_state_dict(sd, arch="Q")


def test_wrong_dataset_flag_is_named():
    sd = random_state_dict(ARCHS["XS"], 14, seed=0)
    with pytest.raises(ModelError, match="coco has 17 joints .* output 14"):
        model_bytes_from_state_dict(sd, dataset="coco")


def test_missing_and_misshapen_tensors_are_named():
    sd = random_state_dict(ARCHS["XS"], 14, seed=0)
    bad = dict(sd)
    del bad["stage.2.3.depth_conv.1.running_var"]
    with pytest.raises(ModelError, match=r"missing tensor 'stage\.2\.3\.depth_conv\.1\.running_var'"):
        model_bytes_from_state_dict(bad)
    bad = dict(sd)
    bad["deconv_raw.1.weight"] = bad["deconv_raw.1.weight"][:, :-1]
    with pytest.raises(ModelError, match=r"deconv_raw\.1\.weight' has shape"):
        model_bytes_from_state_dict(bad)
    bad = dict(sd)
    bad["first.2.weight"] = bad["first.2.weight"].copy()
    bad["first.2.weight"][0, 0, 0, 0] = np.nan
    with pytest.raises(ModelError, match="NaN or Inf"):
        model_bytes_from_state_dict(bad)
    with pytest.raises(ModelError, match="missing tensor 'first.2.weight'"):
        model_bytes_from_state_dict({"foo": np.zeros(3, np.float32)})
    with pytest.raises(ModelError, match="expected a state_dict"):
        model_bytes_from_state_dict([1, 2, 3])


def _load(data: bytes):
    return litepose.Network(data, num_threads=1)


def test_roundtrip_and_meta(xs_bytes, tmp_path):
    p = tmp_path / "m.lpm"
    p.write_bytes(xs_bytes)
    meta, tensors = _core.read_model(str(p))
    assert meta["arch"] == "XS" and meta["num_joints"] == "17" and meta["dataset"] == "coco"
    assert tensors["first.0.0.weight"].shape == (32, 3, 3, 3)
    net = litepose.Network(p)
    assert (net.arch, net.num_joints, net.input_size) == ("XS", 17, 256)


def test_truncated_file(xs_bytes):
    for n in (0, 5, 31, 100, len(xs_bytes) // 2, len(xs_bytes) - 1):
        with pytest.raises(ModelError, match="empty|truncated|magic"):
            _load(xs_bytes[:n])


def test_bit_flips_are_caught_by_the_checksum(xs_bytes):
    rng = np.random.default_rng(0)
    for pos in [40, 200, len(xs_bytes) // 3, len(xs_bytes) - 3] + list(rng.integers(32, len(xs_bytes), 20)):
        b = bytearray(xs_bytes)
        b[pos] ^= 1 << int(rng.integers(0, 8))
        with pytest.raises(ModelError, match="checksum"):
            _load(bytes(b))


def _reseal(b: bytearray) -> bytes:
    """Recompute the size and checksum fields (to get past them on purpose)."""
    struct.pack_into("<Q", b, 16, len(b))
    struct.pack_into("<I", b, 24, zlib.crc32(bytes(b[32:])) & 0xFFFFFFFF)
    return bytes(b)


def test_unknown_format_version(xs_bytes):
    b = bytearray(xs_bytes)
    struct.pack_into("<I", b, 8, 99)
    with pytest.raises(ModelError, match="format version 99 is not supported"):
        _load(bytes(b))


def test_foreign_and_empty_files(tmp_path):
    jpg = tmp_path / "photo.lpm"
    jpg.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    with pytest.raises(ModelError, match="not a litepose model file"):
        litepose.Network(jpg)
    empty = tmp_path / "empty.lpm"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        litepose.Network(empty)
    with pytest.raises(FileNotFoundError, match="model file not found"):
        litepose.Network(tmp_path / "nope.lpm")
    with pytest.raises(ModelError, match="cannot read"):
        litepose.Network(tmp_path)  # a directory


def test_consistent_but_wrong_contents_are_named(xs_bytes):
    """Files with a valid checksum but inconsistent contents (a writer bug, or
    a hand-edited header): the reader still names the problem."""
    good = bytearray(xs_bytes)
    # the header text says num_joints=17; change it to 18 (same length: '17' -> '18')
    i = bytes(good).find(b"num_joints=17")
    good[i + len("num_joints=1")] = ord("8")
    with pytest.raises(ModelError, match=r"final_refined\.0\.conv\.3\.weight' has shape \[34, 24, 1, 1\].*expects \[36, 24, 1, 1\]"):
        _load(_reseal(good))
    b = bytearray(xs_bytes)
    i = bytes(b).find(b"arch=XS")
    b[i : i + 4] = b"arck"
    with pytest.raises(ModelError, match="lacks the field 'arch'"):
        _load(_reseal(b))


def test_cli_convert_real_flow(tmp_path, checkpoint):
    require_torch()
    out = tmp_path / "m.lpm"
    r = subprocess.run(
        [sys.executable, "-m", "litepose", "convert", str(checkpoint), "-o", str(out), "--arch", "M", "--dataset", "crowdpose"],
        capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stderr
    net = litepose.Network(out)
    assert (net.arch, net.dataset, net.num_joints) == ("M", "crowdpose", 14)
    r = subprocess.run(
        [sys.executable, "-m", "litepose", "convert", str(checkpoint), "-o", str(tmp_path / "x.lpm"), "--arch", "L"],
        capture_output=True, text=True,
    )
    assert r.returncode != 0
    assert "not LitePose-L" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.lpm").exists()
