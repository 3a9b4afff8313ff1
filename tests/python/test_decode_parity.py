"""The native decoder against the official parser, on real network outputs.

Why: the decoder's claim is to be the official LitePose post-processing
(HigherHRNet parser with munkres 1.1.4 tie-breaking).  Here the real
checkpoint runs through the PyTorch reference model on real images, and the
same outputs go to ``litepose.reference.official_parser`` (numpy + torch +
munkres) and to ``_core.decode``: the same people, keypoints within 1e-3 px,
without and with flip test.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

from conftest import CHECKPOINT, COCO_DIR, CROWDPOSE_DIR, require_asset, require_torch

from litepose import _core

# A few images with 1 to 5+ people (the whole set takes minutes in Python).
COCO_IMAGES = ["000000000790.jpg", "000000005802.jpg"]


def _crowdpose_images():
    d = require_asset(CROWDPOSE_DIR / "images")
    return sorted(p.name for p in d.iterdir())


@pytest.fixture(scope="module")
def torch_model():
    torch = require_torch()
    require_asset(CHECKPOINT)
    pytest.importorskip("munkres")
    from litepose.torch import build_model

    torch.set_num_threads(2)
    m = build_model("M", "crowdpose")
    m.load_state_dict(torch.load(CHECKPOINT, map_location="cpu"))
    return m.eval()


@pytest.fixture(scope="module")
def cases(torch_model):
    import cv2
    from litepose.reference import official_parser as op

    paths = [require_asset(COCO_DIR / "images" / n) for n in COCO_IMAGES]
    paths += [CROWDPOSE_DIR / "images" / n for n in _crowdpose_images()]
    out = []
    for p in paths:
        img = cv2.imread(str(p))
        assert img is not None, f"cannot read {p}"
        x, center, scale, base = op.preprocess(img, 448)
        outputs, outputs_flip = op.run_model(torch_model, x, True)
        out.append(dict(name=p.name, image=img, center=center, scale=scale, base=base,
                        outputs=outputs, outputs_flip=outputs_flip))
    return out


def _np(t):
    return np.ascontiguousarray(t[0].numpy())


@pytest.mark.parametrize("flip", [False, True], ids=["noflip", "flip"])
def test_same_people_as_official_parser(cases, flip):
    from litepose.reference import official_parser as op

    total_people = 0
    worst = 0.0
    for c in cases:
        of = c["outputs_flip"] if flip else None
        grouped, scores, final_heatmaps = op.parse_outputs(c["outputs"], of, "crowdpose", c["base"])
        ref = np.asarray(grouped[0], dtype=np.float32)
        ref_final = op.get_final_preds(grouped, c["center"], c["scale"],
                                       [final_heatmaps.size(3), final_heatmaps.size(2)])
        plan = _core.plan_preprocess(c["image"].shape[0], c["image"].shape[1], 448)
        args = [_np(c["outputs"][0]), _np(c["outputs"][1])]
        if flip:
            args += [_np(of[0]), _np(of[1])]
        joints, sc = _core.decode(*args, dataset="crowdpose", with_tags=True)
        img_joints, _ = _core.decode(*args, dataset="crowdpose", to_image=plan["to_image"])
        assert joints.shape[0] == len(ref_final), f"{c['name']}: {joints.shape[0]} people, official {len(ref_final)}"
        if len(ref_final) == 0:
            continue
        assert joints.shape == ref.shape, c["name"]
        err = float(np.abs(joints - ref).max())
        assert err <= 1e-3, f"{c['name']}: max difference {err} at input resolution"
        np.testing.assert_allclose(sc, np.asarray(scores, np.float32), rtol=0, atol=1e-6)
        fin = np.stack(ref_final)[:, :, :3]
        err_img = float(np.abs(img_joints - fin).max())
        assert err_img <= 1e-3, f"{c['name']}: max difference {err_img} px in image pixels"
        worst = max(worst, err, err_img)
        total_people += len(ref_final)
    assert total_people > 0
    print(f"flip={flip}: {total_people} people, max keypoint difference {worst:.3g} px")


def test_fast_half_resolution_option_runs(cases):
    c = cases[0]
    j_full, _ = _core.decode(_np(c["outputs"][0]), _np(c["outputs"][1]))
    j_half, _ = _core.decode(_np(c["outputs"][0]), _np(c["outputs"][1]), project_to_input=False)
    assert j_half.ndim == 3 and j_half.shape[1:] == (14, 3)
    assert abs(len(j_half) - len(j_full)) <= 2


def test_decode_validates_arrays():
    k = 14
    o4 = np.zeros((2 * k, 16, 16), np.float32)
    o2 = np.zeros((k, 32, 32), np.float32)
    assert _core.decode(o4, o2)[0].shape == (0, k, 3)
    with pytest.raises(ValueError, match="float32"):
        _core.decode(o4.astype(np.float64), o2)
    with pytest.raises(ValueError, match="contiguous"):
        _core.decode(np.asfortranarray(o4), o2)
    with pytest.raises(ValueError, match=r"\(2K, H/4, W/4\)"):
        _core.decode(o4[:, :8], o2)
    with pytest.raises(ValueError, match="together"):
        _core.decode(o4, o2, out4_flip=o4)
    with pytest.raises(ValueError, match="joints"):
        _core.decode(o4, o2, o4, o2, dataset="coco")
    with pytest.raises(ValueError, match="nms_kernel"):
        _core.decode(o4, o2, nms_kernel=4)


def test_munkres_matches_munkres_1_1_4_on_tie_heavy_matrices():
    munkres = pytest.importorskip("munkres")
    rng = np.random.default_rng(0)
    for _ in range(300):
        r = int(rng.integers(1, 8))
        c = int(rng.integers(r, 9))
        m = rng.integers(0, 3, size=(r, c)) * 100.0 - rng.choice([0.25, 0.5, 0.75], size=(r, c))
        want = [tuple(map(int, p)) for p in munkres.Munkres().compute(m.copy())]
        assert [tuple(p) for p in _core.munkres(m)] == want


def test_upsample_and_nms_match_torch():
    torch = require_torch()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 56, 80)).astype(np.float32)
    want = torch.nn.functional.interpolate(torch.from_numpy(x)[None], scale_factor=2, mode="bilinear",
                                           align_corners=False)[0].numpy()
    assert np.array_equal(_core.upsample2x(x), want)
    for _ in range(20):
        d = (rng.integers(0, 4, size=(60, 80)) * 0.25).astype(np.float32)
        t = torch.from_numpy(d)[None, None]
        mp = torch.nn.MaxPool2d(5, 1, 2)(t)
        v, i = (t * torch.eq(mp, t).float()).view(-1).topk(30)
        cv, ci = _core.nms_topk(d, 5, 30)
        assert np.array_equal(v.numpy(), cv) and np.array_equal(i.numpy(), ci)


def test_pose_estimator_end_to_end_and_threads(real_model):
    import cv2

    img = cv2.imread(str(require_asset(COCO_DIR / "images" / COCO_IMAGES[0])))
    est = _core.PoseEstimator(str(real_model), flip=False)
    kp, sc = est(img)
    assert kp.dtype == np.float32 and kp.ndim == 3 and kp.shape[1:] == (14, 3)
    assert len(kp) >= 3 and sc.shape == (len(kp),)
    h, w = img.shape[:2]
    vis = kp[:, :, 2] > 0.1
    assert (kp[:, :, 0][vis] > -w * 0.1).all() and (kp[:, :, 0][vis] < w * 1.1).all()
    results = [None, None]

    def run(i):
        results[i] = est(img)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        assert np.array_equal(r[0], kp) and np.array_equal(r[1], sc)
    with pytest.raises(ValueError, match="uint8"):
        est(img.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        est(img[:, :, :2].copy())
    with pytest.raises(ValueError, match="contiguous"):
        est(img[:, ::2])


def _tied_outputs(seed: int, h: int = 128, w: int = 160, k: int = 14):
    """Synthetic outputs whose merged heatmaps hold equal values above the
    detection threshold (plateaus, twin peaks), next to ordinary peaks: the
    native decoder must take its exact scan there (torch.topk's order among
    equal values) and still match the official parser."""
    rng = np.random.default_rng(seed)
    h2, w2, h4, w4 = h // 2, w // 2, h // 4, w // 4
    out2 = (rng.random((k, h2, w2)) * 0.02).astype(np.float32)
    out4 = np.zeros((2 * k, h4, w4), np.float32)
    out4[:k] = (rng.random((k, h4, w4)) * 0.02).astype(np.float32)
    yy, xx = np.mgrid[0:h2, 0:w2]
    for p in range(4):
        cy, cx = rng.uniform(8, h2 - 8), rng.uniform(8, w2 - 8)
        for j in range(k):
            jy, jx = cy + rng.uniform(-6, 6), cx + rng.uniform(-6, 6)
            g = np.exp(-((yy - jy) ** 2 + (xx - jx) ** 2) / 3.0).astype(np.float32)
            out2[j] = np.maximum(out2[j], 0.8 * g)
            out4[j] = np.maximum(out4[j], 0.8 * g[::2, ::2])
            out4[k + j][g[::2, ::2] > 0.05] = 2.0 * p + rng.uniform(-0.2, 0.2)
    for j in range(0, k, 2):  # plateaus: equal merged values over a block
        y0, x0 = int(rng.integers(2, h4 - 6)), int(rng.integers(2, w4 - 6))
        out4[j, y0:y0 + 4, x0:x0 + 4] = 0.5
        out2[j, 2 * y0:2 * y0 + 8, 2 * x0:2 * x0 + 8] = 0.5
        out4[k + j, y0:y0 + 4, x0:x0 + 4] = 2.0 * (j % 4)
    for j in range(1, k, 4):  # twin single-pixel peaks of equal height
        out2[j, 5, 7] = out2[j, h2 - 6, w2 - 9] = 0.9
    return out4, out2


@pytest.mark.parametrize("flip", [False, True], ids=["noflip", "flip"])
def test_ties_above_threshold_take_the_exact_scan_and_match_official(flip):
    require_torch()
    pytest.importorskip("munkres")
    import torch
    from litepose.reference import official_parser as op

    for seed in range(3):
        o4, o2 = _tied_outputs(seed)
        outs = [torch.from_numpy(o4)[None], torch.from_numpy(o2)[None]]
        args = [o4, o2]
        of = None
        if flip:
            f4, f2 = np.ascontiguousarray(o4[:, :, ::-1]), np.ascontiguousarray(o2[:, :, ::-1])
            of = [torch.from_numpy(f4)[None], torch.from_numpy(f2)[None]]
            args += [f4, f2]
        grouped, scores, _ = op.parse_outputs(outs, of, "crowdpose", (o2.shape[2] * 2, o2.shape[1] * 2))
        ref = np.asarray(grouped[0], dtype=np.float32)
        joints, sc = _core.decode(*args, dataset="crowdpose", with_tags=True)
        assert joints.shape[0] == len(scores), f"seed {seed}: {joints.shape[0]} people, official {len(scores)}"
        if len(scores):
            assert np.array_equal(joints, ref), f"seed {seed}: max difference {np.abs(joints - ref).max()}"
            np.testing.assert_array_equal(sc, np.asarray(scores, np.float32))
