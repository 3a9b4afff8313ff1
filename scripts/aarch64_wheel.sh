#!/usr/bin/env bash
# Cross-build the aarch64 wheel on x86-64 and test it in an emulated arm64
# CPython 3.11 (qemu-user), against PyTorch outputs computed on the host.
#
#   scripts/aarch64_wheel.sh          # exits non-zero on any failure
#
# Steps (each skipped when its result is already there; WORK is a cache):
#   1. host tools: g++-aarch64-linux-gnu, qemu-user (apt); scikit-build-core,
#      pybind11, auditwheel (pip).
#   2. arm64 sysroot: Debian's python3.11 + libpython3.11-dev + libstdc++6
#      for arm64, fetched with a PRIVATE apt state (-o APT::Architecture=arm64,
#      own Dir::State / Dir::Cache / sources list; the host's dpkg is never
#      touched, no dpkg --add-architecture) and unpacked with dpkg-deb -x.
#   3. numpy for the target: pip --target --platform manylinux_2_28_aarch64.
#   4. the wheel: scikit-build-core with the aarch64 toolchain file,
#      PYBIND11_USE_CROSSCOMPILING=ON, the target's extension suffix
#      (SETUPTOOLS_EXT_SUFFIX) and platform tag (_PYTHON_HOST_PLATFORM), and
#      the target's Python headers (pyconfig.h differs per architecture).
#   5. auditwheel show: the glibc symbol versions the wheel needs.
#   6. reference on the host (torch, the repo's litepose/torch.py): the real
#      checkpoint and a random-weight XS model, fixed inputs, outputs -> .npz.
#   7. under qemu-aarch64 -cpu cortex-a72 and cortex-a76: convert the weights
#      with the wheel's own converter, run litepose.Network.forward, require
#      the NEON kernel set and, for the real checkpoint,
#      max|litepose - torch| <= 1e-4 * max|torch|; for both models the float64
#      criterion of tests/python/test_network_parity.py (error vs torch in
#      float64 <= 4x torch's own float32 error).  Random weights with random
#      BatchNorm statistics are ill-conditioned enough that torch f32 itself
#      is 1.4e-4 of max away from f64 on XS, so 1e-4 vs torch f32 is not a
#      meaningful bound there.
#
# Environment: LITEPOSE_ARM_WORK (default /tmp/litepose-aarch64),
#   LITEPOSE_CHECKPOINT (default ../shared/models/litepose-auto-m-crowdpose.pth;
#   missing: skipped unless CI is set), LITEPOSE_WHEEL_CPUS (default
#   "cortex-a72 cortex-a76"), DEBIAN_MIRROR, DEBIAN_SUITE (bookworm),
#   NUMPY_SPEC (numpy==2.4.6), PYTHON (host python, default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${LITEPOSE_ARM_WORK:-/tmp/litepose-aarch64}"
PY="${PYTHON:-python3}"
CPUS="${LITEPOSE_WHEEL_CPUS:-cortex-a72 cortex-a76}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE="${DEBIAN_SUITE:-bookworm}"
NUMPY_SPEC="${NUMPY_SPEC:-numpy==2.4.6}"
CKPT="${LITEPOSE_CHECKPOINT:-$ROOT/../shared/models/litepose-auto-m-crowdpose.pth}"
TARGET_PY=3.11
EXT_SUFFIX=".cpython-311-aarch64-linux-gnu.so"
SYSROOT="$WORK/sysroot"
t_start=$SECONDS
log() { printf '[aarch64-wheel %3ds] %s\n' "$((SECONDS - t_start))" "$*"; }
mkdir -p "$WORK"

# ---- 1. host tools ------------------------------------------------------------
need=()
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v dpkg-deb >/dev/null || need+=(dpkg)
if ((${#need[@]})); then
  log "apt: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
pip_need=()
"$PY" -c "import scikit_build_core" 2>/dev/null || pip_need+=("scikit-build-core>=0.10")
"$PY" -c "import pybind11" 2>/dev/null || pip_need+=("pybind11>=2.12")
command -v auditwheel >/dev/null || "$PY" -c "import auditwheel" 2>/dev/null || pip_need+=(auditwheel)
if ((${#pip_need[@]})); then
  log "pip: installing ${pip_need[*]}"
  "$PY" -m pip install -q "${pip_need[@]}"
fi
"$PY" -c "import torch, numpy" || { log "error: the host reference needs torch and numpy"; exit 1; }

# ---- 2. arm64 sysroot (private apt state) ------------------------------------
if [ ! -x "$SYSROOT/usr/bin/python$TARGET_PY" ] || [ ! -e "$SYSROOT/.complete" ]; then
  log "arm64 sysroot: Debian $SUITE python$TARGET_PY via a private apt state"
  A="$WORK/apt"
  rm -rf "$A" "$SYSROOT"
  mkdir -p "$A/state/lists/partial" "$A/cache/archives/partial" "$A/etc/sources.list.d" \
    "$A/etc/preferences.d" "$SYSROOT"
  : >"$A/state/status"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  signed=""
  [ -f "$keyring" ] && signed=" signed-by=$keyring"
  echo "deb [arch=arm64$signed] $MIRROR $SUITE main" >"$A/etc/sources.list"
  APT=(apt-get -qq -o APT::Architecture=arm64 -o APT::Architectures::=arm64
    -o Dir::State="$A/state" -o Dir::State::status="$A/state/status"
    -o Dir::Cache="$A/cache" -o Dir::Etc::SourceList="$A/etc/sources.list"
    -o Dir::Etc::SourceParts="$A/etc/sources.list.d"
    -o Dir::Etc::Preferences="$A/etc/preferences"
    -o Dir::Etc::PreferencesParts="$A/etc/preferences.d" -o Debug::NoLocking=1)
  "${APT[@]}" update
  # With an empty dpkg status apt resolves the whole dependency closure.
  "${APT[@]}" install -y --download-only --no-install-recommends \
    "python$TARGET_PY" "libpython$TARGET_PY-dev" libstdc++6 >/dev/null
  for deb in "$A"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$SYSROOT"; done
  # Target headers for the build: Debian's pyconfig.h dispatches on the
  # multiarch triplet, so give CMake one include dir with the arm64 one.
  mkdir -p "$WORK/pyinclude"
  cp -r "$SYSROOT/usr/include/python$TARGET_PY/." "$WORK/pyinclude/"
  cp "$SYSROOT/usr/include/aarch64-linux-gnu/python$TARGET_PY/pyconfig.h" "$WORK/pyinclude/pyconfig.h"
  touch "$SYSROOT/.complete"
fi
EMU_PY=(qemu-aarch64 -L "$SYSROOT")
"${EMU_PY[@]}" "$SYSROOT/usr/bin/python$TARGET_PY" -c \
  "import sys, sysconfig; assert sysconfig.get_config_var('EXT_SUFFIX') == '$EXT_SUFFIX', sysconfig.get_config_var('EXT_SUFFIX')"

# ---- 3. numpy for the target -----------------------------------------------
if [ ! -d "$WORK/site-numpy/numpy" ]; then
  log "pip: $NUMPY_SPEC for manylinux_2_28_aarch64"
  "$PY" -m pip install -q --target "$WORK/site-numpy" --platform manylinux_2_28_aarch64 \
    --only-binary=:all: --python-version "$TARGET_PY" --implementation cp "$NUMPY_SPEC"
fi

# ---- 4. the wheel -------------------------------------------------------------
log "building the aarch64 wheel (scikit-build-core, cross)"
rm -rf "$WORK/dist"
_PYTHON_HOST_PLATFORM=linux-aarch64 SETUPTOOLS_EXT_SUFFIX="$EXT_SUFFIX" \
  "$PY" -m pip wheel "$ROOT" --no-build-isolation --no-deps -q -w "$WORK/dist" \
  -C build-dir="$ROOT/build/aarch64-wheel" \
  -C cmake.toolchain-file="$ROOT/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -C cmake.define.PYBIND11_USE_CROSSCOMPILING=ON \
  -C cmake.define.Python_INCLUDE_DIR="$WORK/pyinclude" \
  -C cmake.define.Python3_INCLUDE_DIR="$WORK/pyinclude"
WHEEL="$(ls "$WORK"/dist/litepose-*-linux_aarch64.whl)"
log "wheel: $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KiB)"
"$PY" - "$WHEEL" "$EXT_SUFFIX" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
so = [n for n in names if n.endswith(".so")]
assert so == ["litepose/_core" + sys.argv[2]], so
EOF
file -b "$WORK/dist/"*.whl >/dev/null
unzip -p "$WHEEL" "litepose/_core$EXT_SUFFIX" >"$WORK/_core.so"
file -b "$WORK/_core.so" | grep -q "ARM aarch64" || { log "error: _core is not aarch64"; exit 1; }

# ---- 5. auditwheel -------------------------------------------------------------
log "auditwheel show"
(command -v auditwheel >/dev/null && auditwheel show "$WHEEL" || "$PY" -m auditwheel show "$WHEEL") |
  tee "$WORK/auditwheel.txt" | sed 's/^/    /'
log "glibc symbol versions used by _core: $(aarch64-linux-gnu-objdump -T "$WORK/_core.so" |
  grep -o 'GLIBC_[0-9.]*' | sort -uV | tr '\n' ' ')"

# ---- 6. install into the emulated site + host reference -----------------------
rm -rf "$WORK/site-litepose"
"$PY" -m pip install -q --target "$WORK/site-litepose" --platform linux_aarch64 \
  --python-version "$TARGET_PY" --implementation cp --only-binary=:all: --no-deps "$WHEEL"

log "host reference (torch $("$PY" -c 'import torch; print(torch.__version__)'))"
mkdir -p "$WORK/ref"
rm -f "$WORK"/ref/*.npz
"$PY" - "$ROOT" "$WORK/ref" "$CKPT" "${CI:-}" <<'EOF'
# The repo's PyTorch model (litepose/torch.py) without the x86 _core: a
# namespace stub so that only torch.py and archs.py are imported.
import os, sys, types
import numpy as np
import torch

root, out, ckpt, ci = sys.argv[1:5]
pkg = types.ModuleType("litepose")
pkg.__path__ = [os.path.join(root, "src", "litepose")]
sys.modules["litepose"] = pkg
from litepose.torch import build_model, randomize_  # noqa: E402

torch.set_num_threads(2)
rng = np.random.default_rng(2024)


def save(name, model, arch, dataset, shapes, strict):
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    arrays = {f"w/{k}": v for k, v in sd.items()}
    for i, (h, w) in enumerate(shapes):
        x = rng.standard_normal((1, 3, h, w)).astype(np.float32)
        with torch.no_grad():
            o4, o2 = model(torch.from_numpy(x))
            d4, d2 = model.double()(torch.from_numpy(x).double())
            model.float()
        arrays[f"x{i}"], arrays[f"o4_{i}"], arrays[f"o2_{i}"] = x, o4.numpy(), o2.numpy()
        arrays[f"d4_{i}"], arrays[f"d2_{i}"] = d4.numpy(), d2.numpy()
    np.savez(os.path.join(out, f"{name}.npz"), arch=arch, dataset=dataset, n=len(shapes), strict=strict, **arrays)
    print(f"  {name}: {arch}/{dataset}, inputs {shapes}")


save("xs-random", randomize_(build_model("XS", "crowdpose"), seed=11), "XS", "crowdpose", [(128, 128), (96, 160)], False)
if os.path.exists(ckpt):
    obj = torch.load(ckpt, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    obj = {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}
    m = build_model("M", "crowdpose")
    m.load_state_dict(obj, strict=True)
    save("m-checkpoint", m.eval(), "M", "crowdpose", [(256, 256), (192, 320)], True)
elif ci:
    sys.exit(f"checkpoint {ckpt} not found (CI is set)")
else:
    print(f"  checkpoint {ckpt} not found: skipped")
EOF

# ---- 7. emulated arm64 checks ----------------------------------------------------
cat >"$WORK/check.py" <<'EOF'
import glob, os, sys, time
import numpy as np
import litepose
from litepose import _core
from litepose.convert import model_bytes_from_state_dict

cpu, ref_dir = sys.argv[1], sys.argv[2]
print(f"  python {sys.version.split()[0]} numpy {np.__version__} litepose {litepose.__version__} "
      f"from {os.path.dirname(litepose.__file__)}")
bad = 0
for path in sorted(glob.glob(os.path.join(ref_dir, "*.npz"))):
    d = np.load(path)
    sd = {k[2:]: d[k] for k in d.files if k.startswith("w/")}
    data = model_bytes_from_state_dict(sd, str(d["arch"]), str(d["dataset"]), what=os.path.basename(path))
    net = litepose.Network(data, num_threads=1)
    if net.isa != "neon":
        print(f"  FAIL {cpu}: kernel set {net.isa}, expected neon ({net.kernels})")
        bad += 1
    for i in range(int(d["n"])):
        x = d[f"x{i}"]
        t0 = time.perf_counter()
        o4, o2 = net.forward(x)
        dt = time.perf_counter() - t0
        for name, got, want, want64 in (("out4", o4, d[f"o4_{i}"], d[f"d4_{i}"]),
                                        ("out2", o2, d[f"o2_{i}"], d[f"d2_{i}"])):
            assert got.shape == want.shape, (name, got.shape, want.shape)
            rel = float(np.abs(got - want).max() / np.abs(want).max())
            # float64 criterion of tests/python/test_network_parity.py: within
            # 4x the intrinsic float32 error of the network (torch f32 vs f64)
            e32 = float(np.abs(want - want64).max())
            err64 = float(np.abs(got - want64).max())
            ok64 = err64 <= 4 * e32 + 1e-7 * float(np.abs(want64).max())
            ok = rel <= 1e-4 and ok64 if d["strict"] else ok64
            bad += not ok
            print(f"  {'ok  ' if ok else 'FAIL'} {os.path.basename(path)[:-4]:13s} {str(x.shape[2:]):11s} "
                  f"{name}: vs torch f32 {rel:.1e} of max{' (<= 1e-4)' if d['strict'] else '          '}, "
                  f"vs f64 {err64 / e32:.2f} x e32 (<= 4)  [{dt:.1f}s]")
print(f"  kernels: {net.kernels}")
sys.exit(1 if bad else 0)
EOF
status=0
for cpu in $CPUS; do
  log "emulated python$TARGET_PY under qemu-aarch64 -cpu $cpu"
  if PYTHONPATH="$WORK/site-litepose:$WORK/site-numpy" PYTHONHASHSEED=0 LITEPOSE_NUM_THREADS=1 \
    "${EMU_PY[@]}" -cpu "$cpu" "$SYSROOT/usr/bin/python$TARGET_PY" "$WORK/check.py" "$cpu" "$WORK/ref"; then
    log "$cpu: passed"
  else
    log "$cpu: FAILED"
    status=1
  fi
done
log "done (status $status)"
exit $status
