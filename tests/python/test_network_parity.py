"""The native network against the PyTorch re-implementation of the official
model: every architecture, both heads, random weights with non-trivial
BatchNorm statistics, square and non-square inputs, every ISA this CPU runs;
and the real trained checkpoint on real images.

Tolerances.  The issue's bound is max|native - torch| <= 1e-4 * max|torch|.
We also check against PyTorch in float64: a float32 evaluation of these deep
residual networks has an intrinsic rounding error that we measure as
e32 = max|torch_f32 - torch_f64|; a correct implementation that only sums in
another order lands at the same scale, so we require
max|native - torch_f64| <= 4 * e32 (+ 1e-7 * max|torch_f64| against e32 = 0).
A wrong weight, tap or layout gives errors of the order of the outputs.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

import litepose
from litepose import _core

from conftest import COCO_DIR, CROWDPOSE_DIR, require_asset, require_torch

torch = require_torch()
from litepose.convert import convert_state_dict  # noqa: E402
from litepose.torch import build_model, randomize_  # noqa: E402

ISAS = _core.available_isas()


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.fixture(scope="module")
def random_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("random")
    out = {}
    for arch in ("XS", "S", "M", "L"):
        for ds in ("crowdpose", "coco"):
            m = randomize_(build_model(arch, ds), seed=hash((arch, ds)) % 1000)
            path = d / f"{arch}-{ds}.lpm"
            convert_state_dict(m.state_dict(), path, arch, ds)
            out[arch, ds] = (m, path)
    return out


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("arch", ["XS", "S", "M", "L"])
@pytest.mark.parametrize("dataset", ["crowdpose", "coco"])
def test_random_weights_match_torch(random_models, arch, dataset, isa):
    model, path = random_models[arch, dataset]
    net = litepose.Network(path, num_threads=2, isa=isa)
    assert (net.arch, net.dataset, net.num_joints) == (arch, dataset, 14 if dataset == "crowdpose" else 17)
    rng = np.random.default_rng(7)
    for h, w in ((64, 64), (48, 112)):  # square and non-square
        x = rng.standard_normal((1, 3, h, w)).astype(np.float32)
        o4, o2 = net.forward(x)
        with torch.no_grad():
            t4, t2 = model(torch.from_numpy(x))
            d4, d2 = model.double()(torch.from_numpy(x).double())
            model.float()
        K = net.num_joints
        assert o4.shape == (1, 2 * K, h // 4, w // 4) and o2.shape == (1, K, h // 2, w // 2)
        for ours, t32, t64 in ((o4, t4.numpy(), d4.numpy()), (o2, t2.numpy(), d2.numpy())):
            assert _rel(ours, t32) <= 1e-4, f"{arch}/{dataset}/{isa} {h}x{w}: vs torch f32 {_rel(ours, t32):.2e}"
            e32 = np.abs(t32 - t64).max()
            err = np.abs(ours - t64).max()
            assert err <= 4 * e32 + 1e-7 * np.abs(t64).max(), (
                f"{arch}/{dataset}/{isa} {h}x{w}: error vs float64 {err:.3g} > 4 x PyTorch's own float32 error {e32:.3g}"
            )


def test_batch_equals_single_and_threads_are_deterministic(random_models):
    _, path = random_models["XS", "coco"]
    x = np.random.default_rng(3).standard_normal((3, 3, 64, 80)).astype(np.float32)
    n1 = litepose.Network(path, num_threads=1)
    n3 = litepose.Network(path, num_threads=3)
    b4, b2 = n3.forward(x)
    for i in range(3):
        s4, s2 = n1.forward(np.ascontiguousarray(x[i : i + 1]))
        # each output element is summed in the same order whatever the row
        # split between threads, so results are bit-identical
        np.testing.assert_array_equal(s4[0], b4[i])
        np.testing.assert_array_equal(s2[0], b2[i])


def test_wake_changes_nothing_but_timing(random_models):
    """Network.wake (workers spin until the next forward) from another
    thread, while forward passes run, neither blocks nor changes results;
    a bad max_ms is an error."""
    _, path = random_models["XS", "coco"]
    x = np.random.default_rng(5).standard_normal((1, 3, 64, 64)).astype(np.float32)
    net = litepose.Network(path, num_threads=2)
    ref = net.forward(x)
    stop = threading.Event()
    wakes = [0]

    def waker():
        while not stop.is_set():
            net.wake(0.5)  # returns at once even while a forward pass holds the network
            wakes[0] += 1

    t = threading.Thread(target=waker)
    t.start()
    try:
        for _ in range(20):
            o4, o2 = net.forward(x)
            np.testing.assert_array_equal(o4, ref[0])
            np.testing.assert_array_equal(o2, ref[1])
    finally:
        stop.set()
        t.join()
    assert wakes[0] > 0
    net.wake()
    np.testing.assert_array_equal(net.forward(x)[1], ref[1])
    litepose.Network(path, num_threads=1).wake()  # no workers: nothing to do
    for bad in (-1.0, float("nan"), 1e6):
        with pytest.raises(ValueError, match="max_ms"):
            net.wake(bad)


def _official_input(path, size=448):
    """ImageNet-normalised RGB NCHW input, short side `size`, both sides
    rounded up to a multiple of 64 (the official test-time sizing)."""
    cv2 = pytest.importorskip("cv2")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    if w < h:
        nw, nh = size, int(np.ceil(size * h / w / 64) * 64)
    else:
        nh, nw = size, int(np.ceil(size * w / h / 64) * 64)
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)[:, :, ::-1].astype(np.float32) / 255.0
    img = (img - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None])


@pytest.mark.parametrize("isa", ISAS)
def test_real_checkpoint_on_real_images(real_model, checkpoint, isa):
    model = build_model("M", "crowdpose")
    model.load_state_dict(torch.load(str(checkpoint), map_location="cpu"))
    net = litepose.Network(real_model, num_threads=2, isa=isa)
    assert (net.arch, net.num_joints, net.input_size) == ("M", 14, 448)
    images = sorted(require_asset(COCO_DIR / "images").glob("*.jpg"))[:2]
    images += sorted(require_asset(CROWDPOSE_DIR).rglob("*.jpg"))[:1]
    for p in images:
        x = _official_input(p)
        o4, o2 = net.forward(x)
        with torch.no_grad():
            t4, t2 = model(torch.from_numpy(x))
        for ours, ref in ((o4, t4.numpy()), (o2, t2.numpy())):
            assert ours.shape == ref.shape
            assert _rel(ours, ref) <= 1e-4, f"{p.name} [{isa}]: {_rel(ours, ref):.2e}"
        # the trained model finds people: heatmaps peak well above the 0.1 threshold
        assert o2.max() > 0.3


def test_forward_rejects_bad_input(random_models):
    _, path = random_models["XS", "coco"]
    net = litepose.Network(path, num_threads=1)
    good = np.zeros((1, 3, 32, 32), np.float32)
    cases = [
        (good.astype(np.float64), "float32"),
        (good[0], "shape"),
        (np.zeros((1, 4, 32, 32), np.float32), "3 channels"),
        (np.zeros((1, 3, 30, 32), np.float32), "multiples of 16"),
        (np.zeros((0, 3, 32, 32), np.float32), "at least one"),
        (np.zeros((1, 3, 32, 64), np.float32)[:, :, :, ::2], "contiguous"),
        ([[1.0]], "numpy array"),
    ]
    for x, words in cases:
        with pytest.raises(ValueError, match=words):
            net.forward(x)
    bad = good.copy()
    bad[0, 1, 5, 7] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        net.forward(bad)
    with pytest.raises(ValueError, match="num_threads"):
        litepose.Network(path, num_threads=0)
    with pytest.raises(ValueError, match="num_threads"):
        litepose.Network(path, num_threads=-2)
    with pytest.raises(ValueError, match="ISA 'sse9'"):
        litepose.Network(path, isa="sse9")


def test_info_and_memory_plan(random_models):
    _, path = random_models["M", "crowdpose"]
    net = litepose.Network(path)
    assert net.input_size == 448 and net.num_joints == 14
    assert set(net.kernels) == {"conv", "dwconv", "gemm", "deconv", "deconv_winograd"}
    assert net.kernels["deconv_winograd"] == f"f32-deconv-winof3-{net.isa}"
    assert net.isa in ISAS
    b = net.activation_bytes(448, 448)
    # bounded below by the largest tensor (stage 1 expanded: 112*112*144 floats)
    assert b >= 112 * 112 * 144 * 4
    assert "arch='M'" in repr(net)
