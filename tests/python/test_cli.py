"""The command line, driven as a user would, on the real images and videos:
what comes out is checked (files exist and decode, JSON valid, people where
annotated people are, video frame counts), and user errors give one line on
stderr and a non-zero exit without a traceback."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import COCO_DIR, CROWDPOSE_DIR, MEDIA_DIR, require_asset

cv2 = pytest.importorskip("cv2")


def run(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "litepose", *map(str, args)], capture_output=True, text=True,
                       timeout=600)
    if check:
        assert r.returncode == 0, f"litepose {' '.join(map(str, args))} failed:\n{r.stderr}"
    return r


def test_predict_files_dirs_and_globs(real_model, tmp_path):
    crowd = require_asset(CROWDPOSE_DIR / "images")
    coco = sorted(require_asset(COCO_DIR / "images").glob("*.jpg"))[:2]
    out = tmp_path / "out"
    run("predict", real_model, crowd, str(coco[0]), str(coco[1].parent / (coco[1].stem[:-1] + "?.jpg")), "--out", out)
    drawn = sorted(p.name for p in out.glob("*.jpg"))
    want = sorted({p.stem for p in crowd.glob("*.jpg")} | {coco[0].stem, coco[1].stem})
    assert [Path(d).stem for d in drawn] == want
    for d in out.glob("*.jpg"):
        assert cv2.imread(str(d)) is not None
    res = json.loads((out / "results.json").read_text())
    assert res and all(len(r["keypoints"]) == 42 and "file_name" in r and "score" in r for r in res)
    # people where annotated people are: every CrowdPose image has people
    ann = json.loads((CROWDPOSE_DIR / "annotations.json").read_text())
    for im in ann["images"]:
        people = [r for r in res if Path(r["file_name"]).name == im["file_name"] and r["score"] > 0.2]
        n_ann = sum(1 for a in ann["annotations"] if a["image_id"] == im["id"])
        assert len(people) >= min(n_ann, 1), im["file_name"]


def test_predict_draws_skeletons(real_model, tmp_path):
    img = sorted(require_asset(CROWDPOSE_DIR / "images").glob("*.jpg"))[0]
    run("predict", real_model, img, "--out", tmp_path)
    src = cv2.imread(str(img))
    out = cv2.imread(str(tmp_path / f"{img.stem}.jpg"))
    assert out.shape == src.shape
    assert np.abs(out.astype(int) - src.astype(int)).max() > 100  # coloured limbs were drawn


def test_video_file(real_model, tmp_path):
    src = require_asset(MEDIA_DIR / "multiperson-lab-2to3people.mp4")
    out = tmp_path / "v" / "annotated.mp4"
    r = run("video", real_model, src, "--out", out, "--max-frames", "12", "--threads", "2")
    assert "12 frames" in r.stdout and "fps" in r.stdout
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 12
    src_cap = cv2.VideoCapture(str(src))
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == int(src_cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    lines = (tmp_path / "v" / "annotated.jsonl").read_text().splitlines()
    assert len(lines) == 12
    frames = [json.loads(l) for l in lines]
    assert [f["frame"] for f in frames] == list(range(12))
    assert all(len([p for p in f["people"] if p["score"] > 0.2]) >= 2 for f in frames)  # 2-3 people in the lab video


def test_video_whole_file_frame_count(real_model, tmp_path):
    """The whole 100-frame video, at a small input size to stay quick."""
    src = require_asset(MEDIA_DIR / "multiperson-lab-2to3people.mp4")
    total = int(cv2.VideoCapture(str(src)).get(cv2.CAP_PROP_FRAME_COUNT))
    out = tmp_path / "all.mp4"
    # the CLI has no --input-size; use the API-level default: run the CLI as is
    run("video", real_model, src, "--out", out)
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == total == 100
    assert len((tmp_path / "all.jsonl").read_text().splitlines()) == total


def test_bench_random_weights_json():
    r = run("bench", "--arch", "XS", "--runs", "2", "--warmup", "1", "--threads", "1", "--json")
    d = json.loads(r.stdout)
    assert d["arch"] == "XS" and d["weights"] == "random" and d["threads"] == 1
    for k in ("network", "preprocess"):
        assert d["ms"][k]["median"] > 0 and d["ms"][k]["min"] <= d["ms"][k]["median"] <= d["ms"][k]["p90"]


def test_bench_real_model_all_stages(real_model):
    d = json.loads(run("bench", real_model, "--runs", "2", "--warmup", "1", "--size", "256", "--json").stdout)
    assert d["weights"] == "file" and d["input"] == "256x256"
    for k in ("network", "preprocess", "decode", "end_to_end"):
        assert d["ms"][k]["median"] > 0 and d["ms"][k]["min"] <= d["ms"][k]["median"] <= d["ms"][k]["p90"]


def test_bench_threads_from_env(monkeypatch):
    monkeypatch.setenv("LITEPOSE_NUM_THREADS", "1")
    d = json.loads(run("bench", "--arch", "XS", "--runs", "1", "--warmup", "0", "--json").stdout)
    assert d["threads"] == 1


def test_info():
    r = run("info", "--json")
    d = json.loads(r.stdout)
    assert d["isa"] in d["available_isas"]
    assert set(d["kernels"]) == {"conv", "dwconv", "gemm", "deconv", "deconv_winograd"}
    assert d["hardware_threads"] >= 1 and d["litepose"]


def test_eval_small(real_model, tmp_path):
    out = tmp_path / "dets.json"
    r = run("eval", real_model, "--annotations", require_asset(COCO_DIR / "person_keypoints.json"),
            "--images", COCO_DIR / "images", "--limit", "5", "--results", out, "--json")
    m = json.loads(r.stdout.strip().splitlines()[-1])
    assert 0.0 <= m["AP"] <= 1.0 and m["images"] == 5
    dets = json.loads(out.read_text())
    assert dets and len(dets[0]["keypoints"]) == 51  # scored in the COCO layout


@pytest.mark.parametrize(
    "args,words",
    [
        (["predict", "{model}", "/nonexistent/x.jpg", "--out", "{tmp}"], "input not found"),
        (["predict", "/nonexistent/model.lpm", "{img}", "--out", "{tmp}"], "model file not found"),
        (["predict", "{bad_model}", "{img}", "--out", "{tmp}"], "checksum"),
        (["predict", "{model}", "{bad_img}", "--out", "{tmp}"], "cannot"),
        (["video", "{model}", "/nonexistent/v.mp4", "--out", "{tmp}/v.mp4"], "cannot open video"),
        (["bench", "--arch", "Q"], "invalid choice"),
        (["bench", "--threads", "0", "--arch", "XS"], "positive integer"),
        (["convert", "/nonexistent.pth", "-o", "{tmp}/m.lpm"], "checkpoint not found"),
        (["eval", "{model}", "--annotations", "/nonexistent.json", "--images", "{tmp}"], "not found"),
    ],
)
def test_user_errors_are_one_line(real_model, tmp_path, args, words):
    bad_model = tmp_path / "bad.lpm"
    data = bytearray(Path(real_model).read_bytes()[:4096])
    data[100] ^= 0xFF
    bad_model.write_bytes(bytes(data) + Path(real_model).read_bytes()[4096:])
    bad_img = tmp_path / "bad.jpg"
    bad_img.write_bytes(b"not an image")
    img = sorted(require_asset(CROWDPOSE_DIR / "images").glob("*.jpg"))[0]
    fmt = {"model": real_model, "tmp": tmp_path, "img": img, "bad_model": bad_model, "bad_img": bad_img}
    r = run(*[a.format(**fmt) for a in args], check=False)
    assert r.returncode != 0
    assert words in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 3, r.stderr


def test_verbose_shows_traceback(tmp_path):
    r = run("--verbose", "convert", "/nonexistent.pth", "-o", str(tmp_path / "m.lpm"), check=False)
    assert r.returncode != 0 and "Traceback" in r.stderr
