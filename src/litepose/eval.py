"""COCO-style keypoint evaluation (pycocotools) of a PoseEstimator.

For a 14-joint CrowdPose model on COCO annotations, the 12 body joints both
datasets share are scored: CrowdPose joints 0-11 are COCO joints 5-16
(shoulders, elbows, wrists, hips, knees, ankles); the COCO face joints 0-4
are marked unlabelled in a copy of the ground truth, so OKS runs over the
shared joints with CrowdPose's sigmas for them (numerically the same as
COCO's for these joints).
"""
from __future__ import annotations

import copy
import contextlib
import io
import json
import logging
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

__all__ = ["evaluate", "CROWDPOSE_SIGMAS", "COCO_SIGMAS"]

log = logging.getLogger(__name__)

COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
CROWDPOSE_SIGMAS = np.array([.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89, .79, .79]) / 10.0


def _to_coco17(kp14: List[float]) -> List[float]:
    """CrowdPose-14 keypoints (flat) into a COCO-17 layout (face joints 0)."""
    k = np.asarray(kp14, np.float64).reshape(14, 3)
    out = np.zeros((17, 3))
    out[5:17] = k[:12]
    return [round(float(v), 3) for v in out.reshape(-1)]


def evaluate(predict: Callable[[np.ndarray], "object"], annotations: str | Path, images: str | Path,
             num_joints: int, results_path: Optional[str | Path] = None, limit: Optional[int] = None,
             progress: Optional[Callable[[int, int], None]] = None) -> Dict[str, float]:
    """Run ``predict`` (BGR image -> Poses) over a COCO-format keypoint
    dataset and score it.  Returns AP, AP50, AP75, APm, APl, AR, ..."""
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as e:  # pragma: no cover
        raise ImportError("evaluation needs pycocotools: pip install 'litepose[eval]'") from e
    import cv2

    annotations, images = Path(annotations), Path(images)
    if not annotations.is_file():
        raise FileNotFoundError(f"annotation file not found: {annotations}")
    if not images.is_dir():
        raise FileNotFoundError(f"image folder not found: {images}")
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(annotations))
    n_gt_joints = len(gt.loadCats(gt.getCatIds())[0].get("keypoints", [])) or 17
    if num_joints == 14 and n_gt_joints == 17:
        mode = "crowdpose-on-coco"
        data = copy.deepcopy(gt.dataset)
        for a in data["annotations"]:
            kp = a.get("keypoints", [0] * 51)
            for j in range(5):
                kp[3 * j: 3 * j + 3] = [0, 0, 0]
            a["num_keypoints"] = int(sum(1 for j in range(17) if kp[3 * j + 2] > 0))
        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO()
            gt.dataset = data
            gt.createIndex()
        sigmas = COCO_SIGMAS.copy()
        sigmas[5:17] = CROWDPOSE_SIGMAS[:12]
    elif num_joints == n_gt_joints:
        mode = "native"
        sigmas = CROWDPOSE_SIGMAS if num_joints == 14 else COCO_SIGMAS
    else:
        raise ValueError(f"a {num_joints}-joint model cannot be scored on {n_gt_joints}-joint annotations")

    img_ids = sorted(gt.getImgIds())[:limit] if limit else sorted(gt.getImgIds())
    dets: List[Dict] = []
    for n, iid in enumerate(img_ids):
        info = gt.loadImgs(iid)[0]
        path = images / info["file_name"]
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot read image {path}")
        poses = predict(img)
        for d in poses.to_coco(iid):
            if mode == "crowdpose-on-coco":
                d["keypoints"] = _to_coco17(d["keypoints"])
            dets.append(d)
        if progress:
            progress(n + 1, len(img_ids))
    if results_path:
        Path(results_path).write_text(json.dumps(dets))
    if not dets:
        return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0, "APm": 0.0, "APl": 0.0, "AR": 0.0, "AR50": 0.0, "AR75": 0.0,
                "ARm": 0.0, "ARl": 0.0, "images": len(img_ids), "detections": 0}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.imgIds = img_ids
        ev.params.kpt_oks_sigmas = sigmas
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    names = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
    out = {k: float(v) for k, v in zip(names, ev.stats)}
    out.update(images=len(img_ids), detections=len(dets))
    return out
