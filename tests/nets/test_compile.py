"""``compile=True`` (``torch.compile`` of the visual network) gives eager's and MATLAB's numbers.

Whether compiling pays is measured, not asserted here (timings live in ``benchmarks/``, figure 9).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from deepdreamport import deep_dream_image
from deepdreamport.core.loop import DreamSettings
from deepdreamport.doors.run import run_deep_dream
from deepdreamport.errors import DeepDreamError
from deepdreamport.matlab.layout import to_hwck
from deepdreamport.matlab.rng import twister
from deepdreamport.nets import OnnxNetwork, load_network
from deepdreamport.nets.base import compile_error
from deepdreamport.parity import load_case
from deepdreamport.parity.judge import relative_error
from tests.conftest import REFERENCE, REPO, TINYNET, precision_dtype, tolerance

CPU = torch.device("cpu")


def _relative(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def test_compile_is_made_once_per_device_dtype_and_layout_and_leaves_the_module_alone():
    truncated = OnnxNetwork.from_onnx(str(TINYNET)).truncated("relu2")
    assert truncated.runnable() is truncated.module  # off by default
    truncated.compile = True
    wrapper = truncated.runnable()
    assert wrapper is not truncated.module and truncated.runnable() is wrapper
    assert getattr(wrapper, "_orig_mod", None) is truncated.module  # torch.compile's wrapper of the same module
    assert type(truncated.module).__name__ != "OptimizedModule"
    truncated.to(CPU, torch.float64)
    assert truncated.runnable() is not wrapper  # moved: a new wrapper for the new dtype


def test_a_failed_compilation_is_one_line_naming_the_option():
    reason = RuntimeError("InvalidCxxCompiler: No working C++ compiler found in torch._inductor.config.cpp.cxx\n\nmore")
    error = compile_error("relu2", CPU, reason)
    assert isinstance(error, DeepDreamError) and "\n" not in error.message
    assert error.identifier == "deepdreamport:deepDreamImage:CompileFailed"
    assert "No working C++ compiler" in error.message and "--compile" in error.message


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["single", "double"])
def test_compiled_run_matches_eager(precision):
    """Tiled and untiled pyramid levels (several input shapes, so recompiles), within parity tolerances."""
    network = load_network(str(TINYNET))
    options = dict(
        num_iterations=2,
        pyramid_levels=2,
        tile_size=32,
        initial_image=np.random.RandomState(1).standard_normal((40, 36, 3)),
        dtype=precision_dtype(precision),
        device="cpu",
        output_scaling="none",
    )
    eager = deep_dream_image(network, "relu2", [0, 3, 5], random_state=0, **options)
    compiled = deep_dream_image(network, "relu2", [0, 3, 5], random_state=0, compile=True, **options)
    assert network.truncated("relu2", 32)._compiled is not None  # the run went through torch.compile
    assert eager.dtype == compiled.dtype == (np.float64 if precision == "double" else np.float32)
    assert _relative(compiled.astype(np.float64), eager.astype(np.float64)) <= tolerance(precision)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tinynet_conv2_tiled", "tinynet_pool1_small_start"])
def test_compiled_run_matches_matlab(name):
    """A double (tiled) and a single (three levels) MATLAB reference case, run compiled."""
    case = load_case(REFERENCE / "cases" / f"{name}.mat")
    result = run_deep_dream(
        load_network(str(REFERENCE / "models" / case.network)),
        case.layer,
        [c - 1 for c in case.channels],
        initial_image=case.initial_image,
        settings=DreamSettings(case.num_iterations, case.pyramid_levels, case.pyramid_scale),
        dtype=precision_dtype(case.precision),
        device=CPU,
        stream=twister(case.rng_seed),
        tile_size=case.tile_size,
        compile=True,
    )
    assert relative_error(to_hwck(result.images), case.iraw) <= tolerance(case.precision)


@pytest.mark.slow
def test_without_a_cpp_compiler_the_command_line_says_so_in_one_line(tmp_path):
    environment = {
        **os.environ,
        "CXX": str(tmp_path / "no-such-compiler"),
        "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor"),  # no cached kernels to fall back on
    }
    completed = subprocess.run(
        [sys.executable, "-m", "deepdreamport", "dream", str(TINYNET), "--layer", "relu2", "--channels", "1"]
        + ["--iterations", "1", "--levels", "1", "--compile", "--device", "cpu", "--out", str(tmp_path / "out.png")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=environment,
    )
    lines = [line for line in completed.stderr.splitlines() if line.startswith("deepdream dream:")]
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert len(lines) == 1, completed.stderr[-2000:]
    assert "No working C++ compiler" in lines[0] and "--compile" in lines[0], lines[0]
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "out.png").exists()
