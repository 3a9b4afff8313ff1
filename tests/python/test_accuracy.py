"""Accuracy of the whole native pipeline against the official one on real
data: the real LitePose-M CrowdPose checkpoint on the 105 real COCO images,
scored with pycocotools on the 12 shared body joints (litepose.eval).

The official pipeline is PyTorch (litepose.torch, the official model) plus
a faithful Python port of the official parser (litepose.reference), with
munkres 1.1.4.  The issue's bound: |AP_native - AP_official| <= 0.002, with
and without flip test.  Both numbers are printed (pytest -s, or the -rA
summary) so runs can be compared with the published figures.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import litepose
from litepose.eval import evaluate
from litepose.results import Poses

from conftest import COCO_DIR, require_asset, require_torch

torch = require_torch()
pytest.importorskip("pycocotools")
pytest.importorskip("munkres")
from litepose.reference import official_parser as official  # noqa: E402
from litepose.torch import build_model  # noqa: E402

LIMIT = int(os.environ.get("LITEPOSE_ACCURACY_IMAGES", "0")) or None


@pytest.fixture(scope="module")
def torch_model(checkpoint):
    m = build_model("M", "crowdpose")
    m.load_state_dict(torch.load(str(checkpoint), map_location="cpu"))
    torch.set_num_threads(2)
    return m


def _official_predict(model, flip):
    def predict(img):
        results, scores = official.official_pipeline(model, img, 448, flip=flip, dataset="crowdpose")
        kp = np.stack([r[:, :3] for r in results]).astype(np.float32) if results else np.zeros((0, 14, 3), np.float32)
        return Poses(kp, np.asarray(scores, np.float32).reshape(-1))
    return predict


@pytest.mark.parametrize("flip", [False, True], ids=["noflip", "flip"])
def test_native_ap_equals_official_ap(real_model, torch_model, flip, record_property, capsys):
    ann = require_asset(COCO_DIR / "person_keypoints.json")
    imgs = require_asset(COCO_DIR / "images")
    est = litepose.PoseEstimator(real_model, num_threads=2, flip=flip)
    native = evaluate(est, ann, imgs, 14, limit=LIMIT)
    ref = evaluate(_official_predict(torch_model, flip), ann, imgs, 14, limit=LIMIT)
    record_property("ap_native", native["AP"])
    record_property("ap_official", ref["AP"])
    with capsys.disabled():
        print(f"\n[accuracy] flip={flip}: native AP {native['AP']:.4f} AP50 {native['AP50']:.4f} AR {native['AR']:.4f}"
              f" | official AP {ref['AP']:.4f} AP50 {ref['AP50']:.4f} AR {ref['AR']:.4f}"
              f" | {native['images']} images")
    assert native["detections"] > 0.5 * native["images"]
    assert abs(native["AP"] - ref["AP"]) <= 0.002
    assert abs(native["AR"] - ref["AR"]) <= 0.002
