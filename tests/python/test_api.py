"""The PoseEstimator API: inputs, typed results, errors, concurrency."""
from __future__ import annotations

import concurrent.futures as cf
import json
import os

import numpy as np
import pytest

import litepose
import litepose.convert
from litepose import Poses

from conftest import COCO_DIR, CROWDPOSE_DIR, require_asset

cv2 = pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def est(real_model):
    return litepose.PoseEstimator(real_model, num_threads=2)


@pytest.fixture(scope="module")
def crowd_image():
    return cv2.imread(str(sorted(require_asset(CROWDPOSE_DIR / "images").glob("*.jpg"))[0]))


def test_people_found_where_annotated(est):
    """The CrowdPose images' annotated people are found (OKS > 0.5 each)."""
    ann = json.loads(require_asset(CROWDPOSE_DIR / "annotations.json").read_text())
    images = {im["id"]: im for im in ann["images"]}
    sig = np.array([.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89, .79, .79]) / 10.0
    for iid, im in images.items():
        img = cv2.imread(str(CROWDPOSE_DIR / "images" / im["file_name"]))
        poses = est(img)
        for a in (a for a in ann["annotations"] if a["image_id"] == iid and a.get("num_keypoints", 1) > 0):
            gt = np.asarray(a["keypoints"], np.float64).reshape(14, 3)
            vis = gt[:, 2] > 0
            area = a.get("area") or a["bbox"][2] * a["bbox"][3]
            best = 0.0
            for kp in poses.keypoints:
                d2 = ((kp[:, :2] - gt[:, :2]) ** 2).sum(1)
                oks = np.exp(-d2 / (2 * area * (2 * sig) ** 2))[vis].mean()
                best = max(best, oks)
            assert best > 0.5, f"{im['file_name']}: annotated person not found (best OKS {best:.2f})"


def test_result_types_and_views(est, crowd_image):
    p = est(crowd_image)
    assert isinstance(p, Poses) and len(p) >= 2
    assert p.keypoints.dtype == np.float32 and p.keypoints.shape[1:] == (14, 3)
    assert p.scores.shape == (len(p),) and np.all(np.diff(p.scores) <= 0)
    assert p.boxes.shape == (len(p), 4) and np.all(p.boxes[:, 2] >= p.boxes[:, 0])
    h, w = crowd_image.shape[:2]
    good = p.keypoints[p.keypoints[:, :, 2] > 0.1]
    assert good[:, 0].min() >= -5 and good[:, 0].max() <= w + 5 and good[:, 1].max() <= h + 5
    people = list(p)
    assert people[0].score == pytest.approx(float(p.scores[0]))
    np.testing.assert_array_equal(people[0]["neck"], p.keypoints[0, 13])
    with pytest.raises(KeyError, match="nose"):
        people[0]["nose"]
    assert "people" in repr(p) and "14 joints" in repr(p)
    coco = p.to_coco(image_id=42)
    assert len(coco) == len(p) and coco[0]["image_id"] == 42 and len(coco[0]["keypoints"]) == 42
    json.dumps(coco)
    assert "PoseEstimator(LitePose-M crowdpose" in repr(est)


def test_path_and_rgb_inputs_agree(est, crowd_image, tmp_path):
    a = est(crowd_image)
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), crowd_image)
    b = est(path)
    c = est(np.ascontiguousarray(crowd_image[:, :, ::-1]), rgb=True)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.keypoints, c.keypoints)


def test_empty_scene_gives_no_or_weak_people(est):
    p = est(np.zeros((240, 320, 3), np.uint8))
    assert len(p) == 0 or p.scores.max() < 0.2


@pytest.mark.parametrize(
    "image,words",
    [
        (np.zeros((64, 64, 3), np.float32), "uint8"),
        (np.zeros((64, 64), np.uint8), r"\(H, W, 3\)"),
        (np.zeros((64, 64, 4), np.uint8), "3 colour channels"),
        (np.zeros((0, 64, 3), np.uint8), "empty"),
        (np.zeros((64, 128, 3), np.uint8)[:, ::2], "contiguous"),
        (np.zeros((64, 64, 3), np.uint8)[::-1], "contiguous"),
        ("not-an-array", "not found"),
        ([1, 2, 3], "numpy uint8 array"),
    ],
)
def test_bad_images_raise_value_error(est, image, words):
    with pytest.raises((ValueError, FileNotFoundError), match=words):
        est(image)


def test_huge_image_rejected_before_allocating(est):
    big = np.lib.stride_tricks.as_strided(np.zeros(3, np.uint8), shape=(20000, 6000, 3), strides=(0, 0, 1))
    with pytest.raises(ValueError, match="megapixels|contiguous"):
        est(big)


def test_unreadable_image_file(est, tmp_path):
    p = tmp_path / "broken.jpg"
    p.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ValueError, match="cannot decode"):
        est(p)


def test_bad_options():
    with pytest.raises(ValueError, match="num_threads"):
        litepose.PoseEstimator(litepose.convert.random_model_bytes("XS"), num_threads=0)
    with pytest.raises(ValueError, match="input_size"):
        litepose.PoseEstimator(litepose.convert.random_model_bytes("XS"), input_size=3)
    with pytest.raises(ValueError, match="detection_threshold"):
        litepose.PoseEstimator(litepose.convert.random_model_bytes("XS"), detection_threshold=2.0)


def test_thread_pinning_option(monkeypatch):
    """pin_threads binds the pool's threads to distinct allowed CPUs (when
    there are enough), never changes results, and leaves the caller's own
    CPU mask as it was; LITEPOSE_PIN_THREADS sets the default."""
    model = litepose.convert.random_model_bytes("XS")
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 96), dtype=np.float32)
    allowed = os.sched_getaffinity(0)
    free = litepose.Network(model, num_threads=2, pin_threads=False)
    assert free.pinned_cpus == []
    pinned = litepose.Network(model, num_threads=2, pin_threads=True)
    if len(allowed) >= 2:
        cpus = pinned.pinned_cpus
        assert len(cpus) == 2 and len(set(cpus)) == 2 and set(cpus) <= allowed
    else:
        assert pinned.pinned_cpus == []
    for a, b in zip(free.forward(x), pinned.forward(x)):
        np.testing.assert_array_equal(a, b)
    assert os.sched_getaffinity(0) == allowed
    # more threads than allowed CPUs: no pinning; one thread: nothing to pin
    assert litepose.Network(model, num_threads=len(allowed) + 1, pin_threads=True).pinned_cpus == []
    assert litepose.Network(model, num_threads=1, pin_threads=True).pinned_cpus == []
    monkeypatch.setenv("LITEPOSE_PIN_THREADS", "0")
    assert litepose.Network(model, num_threads=2).pinned_cpus == []
    monkeypatch.setenv("LITEPOSE_PIN_THREADS", "sometimes")
    with pytest.raises(ValueError, match="pin_threads"):
        litepose.Network(model, num_threads=2)
    with pytest.raises(ValueError, match="pin_threads"):
        litepose.Network(model, num_threads=2, pin_threads="yes")


def test_concurrent_calls_equal_serial_calls(est):
    """One estimator shared by 4 Python threads returns exactly what serial
    calls return (the GIL is released while native code runs)."""
    files = sorted(require_asset(COCO_DIR / "images").glob("*.jpg"))[:6]
    images = [cv2.imread(str(f)) for f in files]
    serial = [est(im) for im in images]
    with cf.ThreadPoolExecutor(4) as ex:
        par = list(ex.map(est, images * 2))
    for s, p in zip(serial * 2, par):
        np.testing.assert_array_equal(s.keypoints, p.keypoints)
        np.testing.assert_array_equal(s.scores, p.scores)


def test_several_estimators_in_one_process(real_model, crowd_image):
    a = litepose.PoseEstimator(real_model, num_threads=1)
    b = litepose.PoseEstimator(real_model, num_threads=2, flip=True)
    c = litepose.PoseEstimator(litepose.Network(real_model, num_threads=1), fast=True)
    with cf.ThreadPoolExecutor(3) as ex:
        ra, rb, rc = ex.map(lambda e: e(crowd_image), (a, b, c))
    np.testing.assert_array_equal(ra.keypoints, a(crowd_image).keypoints)
    np.testing.assert_array_equal(rb.keypoints, b(crowd_image).keypoints)
    assert len(rc) >= 1


def test_draw(est, crowd_image):
    p = est(crowd_image)
    out = litepose.draw(crowd_image, p)
    assert out.shape == crowd_image.shape and out.dtype == np.uint8
    assert (out != crowd_image).any()
    assert (litepose.draw(crowd_image, Poses(np.zeros((0, 14, 3)), np.zeros(0))) == crowd_image).all()
    with pytest.raises(ValueError, match="uint8"):
        litepose.draw(crowd_image.astype(np.float32), p)


def test_rss_stays_flat(real_model, crowd_image):
    """1,000 calls on a real image keep the resident set flat (no leak per
    call).  Input size 128 keeps this fast; the pipeline (preprocess,
    network, decode, results) is the same code at any size."""
    import resource

    est = litepose.PoseEstimator(real_model, num_threads=2, input_size=128)
    small = cv2.resize(crowd_image, (192, 144))
    for _ in range(50):
        est(small)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(1000):
        est(small)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB: allow 8 MiB of allocator noise over 1,000 calls
    assert after - before < 8 * 1024, f"peak RSS grew by {(after - before) / 1024:.1f} MiB over 1,000 calls"


def test_one_pixel_and_tiny_images_are_accepted(est):
    for shape in ((1, 1, 3), (1, 7, 3), (5, 1, 3)):
        p = est(np.full(shape, 128, np.uint8))
        assert isinstance(p, Poses) and p.keypoints.shape[1:] == (14, 3)
