"""The shipped type stub of the compiled module (src/litepose/_core.pyi)
must match the bindings: regenerate it and compare, so it cannot drift.
To update: python -m pybind11_stubgen litepose._core -o /tmp/s && cp /tmp/s/litepose/_core.pyi src/litepose/"""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO


def test_core_stub_is_current(tmp_path):
    pytest.importorskip("pybind11_stubgen")
    r = subprocess.run([sys.executable, "-m", "pybind11_stubgen", "litepose._core", "-o", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    fresh = (tmp_path / "litepose" / "_core.pyi").read_text()
    shipped = (REPO / "src" / "litepose" / "_core.pyi").read_text()
    assert fresh == shipped, "src/litepose/_core.pyi is stale: regenerate it (see this test's docstring)"
