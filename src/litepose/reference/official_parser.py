"""The official LitePose test-time post-processing, re-written for tests.

Why: the native decoder (``csrc/decode``) must give the same people as the
official pipeline (mit-han-lab/litepose: ``lib/core/inference.py``,
``lib/core/group.py``, ``lib/utils/transforms.py``, ``valid.py`` with
``experiments/crowd_pose/mobilenet/mobile.yaml``).  This module follows that
code function by function, with the same names and the same numpy/torch
operations, so its float rounding and tie-breaking are the official ones.
It is test-only: torch, cv2 and ``munkres`` (1.1.4, as when LitePose was
published) are imported lazily.

Differences from the official files, none affecting results: configuration
is passed as arguments instead of a yacs ``cfg``; ``get_multi_stage_outputs``
takes the two network outputs (and those of the flipped image) instead of
calling the model itself (``run_model`` does that part).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "FLIP_CONFIG", "JOINT_ORDER", "Params", "HeatmapParser", "match_by_tag", "py_max_match",
    "get_multi_stage_outputs", "aggregate_results", "run_model",
    "get_affine_transform", "affine_transform", "get_multi_scale_size",
    "resize_align_multi_scale", "transform_preds", "get_final_preds", "preprocess",
    "official_pipeline", "parse_outputs",
]

# lib/dataset/transforms/build.py
FLIP_CONFIG = {
    "COCO": [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15],
    "CROWDPOSE": [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13],
}
# lib/core/group.py Params.joint_order (no center joint)
JOINT_ORDER = [i - 1 for i in [1, 2, 3, 4, 5, 6, 7, 12, 13, 8, 9, 10, 11, 14, 15, 16, 17]]


def _torch():
    import torch

    return torch


# ------------------------------------------------------------ lib/core/group.py
def py_max_match(scores):
    from munkres import Munkres

    m = Munkres()
    tmp = m.compute(scores)
    return np.array(tmp).astype(np.int32)


class Params:
    """cfg values the parser reads (defaults: mobile.yaml + lib/config/default.py)."""

    def __init__(self, num_joints: int = 14, max_num_people: int = 30,
                 detection_threshold: float = 0.1, tag_threshold: float = 1.0,
                 use_detection_val: bool = True, ignore_too_much: bool = False,
                 nms_kernel: int = 5, nms_padding: int = 2, tag_per_joint: bool = True):
        self.num_joints = num_joints
        self.max_num_people = max_num_people
        self.detection_threshold = detection_threshold
        self.tag_threshold = tag_threshold
        self.use_detection_val = use_detection_val
        self.ignore_too_much = ignore_too_much
        self.nms_kernel = nms_kernel
        self.nms_padding = nms_padding
        self.tag_per_joint = tag_per_joint
        self.joint_order = list(JOINT_ORDER)


def match_by_tag(inp, params: Params):
    tag_k, loc_k, val_k = inp
    default_ = np.zeros((params.num_joints, 3 + tag_k.shape[2]))

    joint_dict = {}
    tag_dict = {}
    for i in range(params.num_joints):
        idx = params.joint_order[i]

        tags = tag_k[idx]
        joints = np.concatenate((loc_k[idx], val_k[idx, :, None], tags), 1)
        mask = joints[:, 2] > params.detection_threshold
        tags = tags[mask]
        joints = joints[mask]

        if joints.shape[0] == 0:
            continue

        if i == 0 or len(joint_dict) == 0:
            for tag, joint in zip(tags, joints):
                key = tag[0]
                joint_dict.setdefault(key, np.copy(default_))[idx] = joint
                tag_dict[key] = [tag]
        else:
            grouped_keys = list(joint_dict.keys())[:params.max_num_people]
            grouped_tags = [np.mean(tag_dict[i], axis=0) for i in grouped_keys]

            if params.ignore_too_much and len(grouped_keys) == params.max_num_people:
                continue

            diff = joints[:, None, 3:] - np.array(grouped_tags)[None, :, :]
            diff_normed = np.linalg.norm(diff, ord=2, axis=2)
            diff_saved = np.copy(diff_normed)

            if params.use_detection_val:
                diff_normed = np.round(diff_normed) * 100 - joints[:, 2:3]

            num_added = diff.shape[0]
            num_grouped = diff.shape[1]

            if num_added > num_grouped:
                diff_normed = np.concatenate(
                    (diff_normed, np.zeros((num_added, num_added - num_grouped)) + 1e10), axis=1)

            pairs = py_max_match(diff_normed)
            for row, col in pairs:
                if row < num_added and col < num_grouped and diff_saved[row][col] < params.tag_threshold:
                    key = grouped_keys[col]
                    joint_dict[key][idx] = joints[row]
                    tag_dict[key].append(tags[row])
                else:
                    key = tags[row][0]
                    joint_dict.setdefault(key, np.copy(default_))[idx] = joints[row]
                    tag_dict[key] = [tags[row]]

    return np.array([joint_dict[i] for i in joint_dict]).astype(np.float32)


class HeatmapParser:
    def __init__(self, params: Params):
        torch = _torch()
        self.params = params
        self.tag_per_joint = params.tag_per_joint
        self.pool = torch.nn.MaxPool2d(params.nms_kernel, 1, params.nms_padding)

    def nms(self, det):
        torch = _torch()
        maxm = self.pool(det)
        maxm = torch.eq(maxm, det).float()
        return det * maxm

    def match(self, tag_k, loc_k, val_k):
        return [match_by_tag(x, self.params) for x in zip(tag_k, loc_k, val_k)]

    def top_k(self, det, tag):
        torch = _torch()
        det = self.nms(det)
        num_images, num_joints, h, w = det.shape
        det = det.view(num_images, num_joints, -1)
        val_k, ind = det.topk(self.params.max_num_people, dim=2)
        tag = tag.view(tag.size(0), tag.size(1), w * h, -1)
        tag_k = torch.stack([torch.gather(tag[:, :, :, i], 2, ind) for i in range(tag.size(3))], dim=3)
        x = ind % w
        y = (ind // w).long()
        ind_k = torch.stack((x, y), dim=3)
        return {"tag_k": tag_k.cpu().numpy(), "loc_k": ind_k.cpu().numpy(), "val_k": val_k.cpu().numpy()}

    def adjust(self, ans, det):
        for batch_id, people in enumerate(ans):
            for people_id, i in enumerate(people):
                for joint_id, joint in enumerate(i):
                    if joint[2] > 0:
                        y, x = joint[0:2]
                        xx, yy = int(x), int(y)
                        tmp = det[batch_id][joint_id]
                        if tmp[xx, min(yy + 1, tmp.shape[1] - 1)] > tmp[xx, max(yy - 1, 0)]:
                            y += 0.25
                        else:
                            y -= 0.25
                        if tmp[min(xx + 1, tmp.shape[0] - 1), yy] > tmp[max(0, xx - 1), yy]:
                            x += 0.25
                        else:
                            x -= 0.25
                        ans[batch_id][people_id, joint_id, 0:2] = (y + 0.5, x + 0.5)
        return ans

    def refine(self, det, tag, keypoints):
        torch = _torch()
        if len(tag.shape) == 3:
            tag = tag[:, :, :, None]
        tags = []
        for i in range(keypoints.shape[0]):
            if keypoints[i, 2] > 0:
                x, y = keypoints[i][:2].astype(np.int32)
                tags.append(tag[i, y, x].unsqueeze(0))
        prev_tag = torch.mean(torch.cat(tags, dim=0), dim=0)
        tt = (((tag - prev_tag[None, None, None, :]) ** 2).sum(dim=3) ** 0.5)
        p, h, w = tt.shape
        tmp2 = (det - torch.round(tt)).view(p, -1)
        pos = tmp2.argmax(dim=1).cpu().numpy().tolist()
        ans = []
        for i in range(keypoints.shape[0]):
            tmp = det[i, :, :]
            y = pos[i] // w
            x = pos[i] % w
            xx, yy = x, y
            val = tmp[y, x]
            x += 0.5
            y += 0.5
            if tmp[yy, min(xx + 1, tmp.shape[1] - 1)] > tmp[yy, max(xx - 1, 0)]:
                x += 0.25
            else:
                x -= 0.25
            if tmp[min(yy + 1, tmp.shape[0] - 1), xx] > tmp[max(0, yy - 1), xx]:
                y += 0.25
            else:
                y -= 0.25
            ans.append((x, y, val))
        for i in range(det.shape[0]):
            if ans[i][2] > 0 and keypoints[i, 2] == 0:
                keypoints[i, :2] = ans[i][:2]
                keypoints[i, 2] = ans[i][2]
        return keypoints

    def parse(self, det, tag, adjust=True, refine=True):
        ans = self.match(**self.top_k(det, tag))
        if adjust:
            ans = self.adjust(ans, det)
        scores = [i[:, 2].mean() for i in ans[0]]
        if refine:
            ans = ans[0]
            for i in range(len(ans)):
                ans[i] = self.refine(det[0], tag[0], ans[i])
            ans = [ans]
        return ans, scores


# -------------------------------------------------------- lib/core/inference.py
def get_multi_stage_outputs(outputs, outputs_flip=None, flip_index=None, num_joints=14,
                            project2image=True, size_projected=None):
    """outputs: [out4 (1,2K,H/4,W/4), out2 (1,K,H/2,W/2)] of the image;
    outputs_flip: the same for the image flipped with torch.flip(image, [3]).
    cfg: WITH_HEATMAPS_LOSS (T, T), TEST.WITH_HEATMAPS (T, T),
    WITH_AE_LOSS (T, F), TEST.WITH_AE (T, F), TAG_PER_JOINT."""
    torch = _torch()
    F = torch.nn.functional
    with_heatmaps, with_ae = (True, True), (True, False)
    heatmaps_avg = 0
    num_heatmaps = 0
    heatmaps, tags = [], []
    outputs = list(outputs)
    for i, output in enumerate(outputs):
        if len(outputs) > 1 and i != len(outputs) - 1:
            output = F.interpolate(output, size=(outputs[-1].size(2), outputs[-1].size(3)),
                                   mode="bilinear", align_corners=False)
        offset_feat = num_joints if with_heatmaps[i] else 0
        if with_heatmaps[i]:
            heatmaps_avg += output[:, :num_joints]
            num_heatmaps += 1
        if with_ae[i]:
            tags.append(output[:, offset_feat:])
    if num_heatmaps > 0:
        heatmaps.append(heatmaps_avg / num_heatmaps)

    if outputs_flip is not None:
        heatmaps_avg = 0
        num_heatmaps = 0
        outputs_flip = list(outputs_flip)
        for i in range(len(outputs_flip)):
            output = outputs_flip[i]
            if len(outputs_flip) > 1 and i != len(outputs_flip) - 1:
                output = F.interpolate(output, size=(outputs_flip[-1].size(2), outputs_flip[-1].size(3)),
                                       mode="bilinear", align_corners=False)
            output = torch.flip(output, [3])
            outputs.append(output)
            offset_feat = num_joints if with_heatmaps[i] else 0
            if with_heatmaps[i]:
                heatmaps_avg += output[:, :num_joints][:, flip_index, :, :]
                num_heatmaps += 1
            if with_ae[i]:
                tags.append(output[:, offset_feat:])
                tags[-1] = tags[-1][:, flip_index, :, :]
        heatmaps.append(heatmaps_avg / num_heatmaps)

    if project2image and size_projected:
        heatmaps = [F.interpolate(h, size=(size_projected[1], size_projected[0]), mode="bilinear",
                                  align_corners=False) for h in heatmaps]
        tags = [F.interpolate(t, size=(size_projected[1], size_projected[0]), mode="bilinear",
                              align_corners=False) for t in tags]
    return outputs, heatmaps, tags


def aggregate_results(scale_factor, final_heatmaps, tags_list, heatmaps, tags,
                      flip_test=False, project2image=True, num_scales=1):
    torch = _torch()
    F = torch.nn.functional
    if scale_factor == 1 or num_scales == 1:
        if final_heatmaps is not None and not project2image:
            tags = [F.interpolate(t, size=(final_heatmaps.size(2), final_heatmaps.size(3)),
                                  mode="bilinear", align_corners=False) for t in tags]
        for t in tags:
            tags_list.append(torch.unsqueeze(t, dim=4))
    heatmaps_avg = (heatmaps[0] + heatmaps[1]) / 2.0 if flip_test else heatmaps[0]
    if final_heatmaps is None:
        final_heatmaps = heatmaps_avg
    elif project2image:
        final_heatmaps += heatmaps_avg
    else:
        final_heatmaps += F.interpolate(heatmaps_avg, size=(final_heatmaps.size(2), final_heatmaps.size(3)),
                                        mode="bilinear", align_corners=False)
    return final_heatmaps, tags_list


# ------------------------------------------------------- lib/utils/transforms.py
def get_3rd_point(a, b):
    direct = a - b
    return b + np.array([-direct[1], direct[0]], dtype=np.float32)


def get_dir(src_point, rot_rad):
    sn, cs = np.sin(rot_rad), np.cos(rot_rad)
    return [src_point[0] * cs - src_point[1] * sn, src_point[0] * sn + src_point[1] * cs]


def get_affine_transform(center, scale, rot, output_size, shift=np.array([0, 0], dtype=np.float32), inv=0):
    import cv2

    if not isinstance(scale, np.ndarray) and not isinstance(scale, list):
        scale = np.array([scale, scale])
    scale_tmp = scale * 200.0
    src_w = scale_tmp[0]
    dst_w = output_size[0]
    dst_h = output_size[1]
    rot_rad = np.pi * rot / 180
    src_dir = get_dir([0, src_w * -0.5], rot_rad)
    dst_dir = np.array([0, dst_w * -0.5], np.float32)
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0, :] = center + scale_tmp * shift
    src[1, :] = center + src_dir + scale_tmp * shift
    dst[0, :] = [dst_w * 0.5, dst_h * 0.5]
    dst[1, :] = np.array([dst_w * 0.5, dst_h * 0.5]) + dst_dir
    src[2:, :] = get_3rd_point(src[0, :], src[1, :])
    dst[2:, :] = get_3rd_point(dst[0, :], dst[1, :])
    if inv:
        return cv2.getAffineTransform(np.float32(dst), np.float32(src))
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def affine_transform(pt, t):
    new_pt = np.array([pt[0], pt[1], 1.0]).T
    new_pt = np.dot(t, new_pt)
    return new_pt[:2]


def get_multi_scale_size(image, input_size, current_scale, min_scale):
    h, w, _ = image.shape
    center = np.array([int(w / 2.0 + 0.5), int(h / 2.0 + 0.5)])
    min_input_size = int((min_scale * input_size + 63) // 64 * 64)
    if w < h:
        w_resized = int(min_input_size * current_scale / min_scale)
        h_resized = int(int((min_input_size / w * h + 63) // 64 * 64) * current_scale / min_scale)
        scale_w = w / 200.0
        scale_h = h_resized / w_resized * w / 200.0
    else:
        h_resized = int(min_input_size * current_scale / min_scale)
        w_resized = int(int((min_input_size / h * w + 63) // 64 * 64) * current_scale / min_scale)
        scale_h = h / 200.0
        scale_w = w_resized / h_resized * h / 200.0
    return (w_resized, h_resized), center, np.array([scale_w, scale_h])


def resize_align_multi_scale(image, input_size, current_scale, min_scale):
    import cv2

    size_resized, center, scale = get_multi_scale_size(image, input_size, current_scale, min_scale)
    trans = get_affine_transform(center, scale, 0, size_resized)
    image_resized = cv2.warpAffine(image, trans, size_resized)
    return image_resized, center, scale


def transform_preds(coords, center, scale, output_size):
    target_coords = coords.copy()
    trans = get_affine_transform(center, scale, 0, output_size, inv=1)
    for p in range(coords.shape[0]):
        target_coords[p, 0:2] = affine_transform(coords[p, 0:2], trans)
    return target_coords


def get_final_preds(grouped_joints, center, scale, heatmap_size):
    return [transform_preds(person, center, scale, heatmap_size) for person in grouped_joints[0]]


# -------------------------------------------------------------------- valid.py
def preprocess(image_bgr: np.ndarray, input_size: int):
    """valid.py's input: BGR -> RGB (the dataset's cvtColor), warp, ToTensor,
    Normalize.  Returns (tensor 1x3xHxW, center, scale, base_size)."""
    import cv2
    torch = _torch()

    image = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    base_size, center, scale = get_multi_scale_size(image, input_size, 1.0, 1.0)
    image_resized, center, scale = resize_align_multi_scale(image, input_size, 1.0, 1.0)
    t = torch.from_numpy(np.ascontiguousarray(image_resized)).permute(2, 0, 1).contiguous()
    t = t.to(dtype=torch.float32).div(255)
    mean = torch.as_tensor([0.485, 0.456, 0.406], dtype=t.dtype)[:, None, None]
    std = torch.as_tensor([0.229, 0.224, 0.225], dtype=t.dtype)[:, None, None]
    t = t.sub(mean).div(std)
    return t.unsqueeze(0), center, scale, base_size


def run_model(model, x, flip: bool):
    """Network outputs of x and, with flip, of torch.flip(x, [3])."""
    torch = _torch()
    with torch.no_grad():
        outputs = [o for o in model(x)]
        outputs_flip = [o for o in model(torch.flip(x, [3]))] if flip else None
    return outputs, outputs_flip


def parse_outputs(outputs, outputs_flip, dataset: str, size_projected: Tuple[int, int],
                  params: Optional[Params] = None, adjust: bool = True, refine: bool = True):
    """valid.py from the model outputs on: merge, aggregate, parse.  Returns
    (grouped [P, K, 3+D] float32 at input resolution, scores, final_heatmaps)."""
    torch = _torch()
    num_joints = outputs[1].shape[1]
    params = params or Params(num_joints=num_joints)
    flip_index = FLIP_CONFIG["CROWDPOSE" if num_joints == 14 else "COCO"] if dataset is None else \
        FLIP_CONFIG["COCO" if "coco" in dataset.lower() else "CROWDPOSE"]
    parser = HeatmapParser(params)
    with torch.no_grad():
        _, heatmaps, tags = get_multi_stage_outputs(outputs, outputs_flip, flip_index, num_joints,
                                                    True, size_projected)
        final_heatmaps, tags_list = aggregate_results(1, None, [], heatmaps, tags,
                                                      flip_test=outputs_flip is not None)
        final_heatmaps = final_heatmaps / float(1)
        tags = torch.cat(tags_list, dim=4)
        grouped, scores = parser.parse(final_heatmaps, tags, adjust, refine)
    return grouped, scores, final_heatmaps


def official_pipeline(model, image_bgr: np.ndarray, input_size: int = 448, flip: bool = False,
                      dataset: str = "crowdpose"):
    """The whole official test path for one image: (final_results, scores),
    final_results a list of [K, 3+D] arrays in image pixels."""
    x, center, scale, base_size = preprocess(image_bgr, input_size)
    outputs, outputs_flip = run_model(model, x, flip)
    grouped, scores, final_heatmaps = parse_outputs(outputs, outputs_flip, dataset, base_size)
    final_results = get_final_preds(grouped, center, scale,
                                    [final_heatmaps.size(3), final_heatmaps.size(2)])
    return final_results, scores
