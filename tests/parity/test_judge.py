"""Judging recorded cases: tolerances, a changed model, float32 amplification, the failure diff."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from deepdreamport.parity import load_case, run_case, save_case
from deepdreamport.parity.judge import CaseResult, compare, describe_result, diagnose, error_pixels, run_port
from deepdreamport.parity.record import RecordSpec, record_case

from .conftest import EFFICIENTNET, first_conv_weight, perturb_one_weight


def _variant(recorded, tmp_path, name, precision="double", **changes):
    case = load_case(recorded / f"tinynet_relu2_{precision}.mat")
    case = dataclasses.replace(case, path=tmp_path / f"{name}.mat", **changes)
    save_case(case)
    return load_case(case.path)


@pytest.mark.parametrize(
    "precision, factor, passes",
    [("double", 1 + 1e-11, True), ("double", 1 + 1e-9, False), ("single", 1 + 2e-6, True), ("single", 1 + 1e-4, False)],
)
def test_recorded_images_are_judged_at_their_precisions_tolerance(
    recorded_tinynet, tinynet_models, tmp_path, precision, factor, passes
):
    original = load_case(recorded_tinynet / f"tinynet_relu2_{precision}.mat")
    scaled = (original.iraw.astype(np.float64) * factor).astype(original.iraw.dtype)
    case = _variant(recorded_tinynet, tmp_path, "scaled", precision, iraw=scaled)
    result = run_case(case, tinynet_models)
    assert result.passed is passes
    assert result.failure_kind == ("" if passes else "numeric")


def test_recorded_strengths_are_judged_relative_to_their_size(recorded_tinynet, tinynet_models, tmp_path):
    log = load_case(recorded_tinynet / "tinynet_relu2_double.mat").activation_log.copy()
    log[-1, 2] *= 1 + 1e-9
    result = run_case(_variant(recorded_tinynet, tmp_path, "strength", activation_log=log), tinynet_models)
    assert not result.passed and result.iraw_relative_error == 0
    assert result.strength_abs_error > result.strength_tolerance


@pytest.mark.parametrize("precision", ["double", "single"])
def test_a_weight_changed_by_1e_3_fails_as_a_changed_model_with_a_clear_report(
    recorded_tinynet, perturbed_tinynet_models, precision
):
    result = run_case(load_case(recorded_tinynet / f"tinynet_relu2_{precision}.mat"), perturbed_tinynet_models)
    assert not result.passed and not result.numeric_passed and result.model_changed
    assert result.failure_kind == "model changed and numeric"
    assert result.iraw_relative_error > 1e-3
    text = describe_result(result)
    assert "the model changed" in text and result.recorded_sha256[:16] in text and result.current_sha256[:16] in text
    assert text.index("activation strengths") < text.index("Iraw: relative error")  # strengths first
    assert "level iter" in text and "max abs error" in text and "at Iraw(" in text
    if precision == "single":
        assert "not float32 amplification" in result.diagnosis
    else:
        assert "a float64 case" in result.diagnosis


@pytest.mark.parametrize("precision", ["double", "single"])
def test_a_reexported_identical_model_passes_the_numbers_and_is_reported_as_a_changed_file(
    recorded_tinynet, reexported_tinynet_models, precision
):
    result = run_case(load_case(recorded_tinynet / f"tinynet_relu2_{precision}.mat"), reexported_tinynet_models)
    assert result.numeric_passed and result.iraw_relative_error == 0
    assert result.model_changed and not result.passed and result.failure_kind == "model changed"
    assert "the model changed" in result.diagnosis and "numbers agree within" in result.diagnosis


def test_matlab_cases_have_no_model_identity_to_check(reference_dir):
    result = run_case(load_case(reference_dir / "cases" / "tinynet_conv2_tiled.mat"), reference_dir / "models")
    assert result.passed and not result.model_changed and result.recorded_by == "matlab"


@pytest.mark.slow
def test_float32_rounding_amplified_by_the_iterations_is_diagnosed_as_such(tinynet_models, tmp_path):
    """Another float32 computation of the same network: here the float64 run, rounded to float32 at the end."""
    case = record_case(
        RecordSpec(
            tinynet_models / "tinynet.onnx", "relu2", (1, 2), size=(40, 36), iterations=10, levels=2, precision="single"
        ),
        tmp_path,
    )
    exact = run_port(
        dataclasses.replace(case, precision="double", initial_image=case.initial_image.astype(np.float64)),
        tinynet_models / "tinynet.onnx",
    )
    other_machine = dataclasses.replace(
        case,
        iraw=exact.iraw.astype(np.float32),
        ilinear=exact.ilinear.astype(np.float32),
        activation_log=exact.activation_log,
        rolls=exact.rolls,
    )
    result = compare(other_machine, run_port(case, tinynet_models / "tinynet.onnx"), case.provenance.model_sha256)
    assert not result.passed and result.failure_kind == "numeric" and result.iraw_relative_error > 1e-4
    assert result.diagnosis.startswith("consistent with float32 amplification")
    first_reference, first_port = result.strengths[0][2:]
    assert abs(first_port - first_reference) / first_reference < 1e-5


@pytest.fixture(scope="module")
def perturbed_efficientnet(tmp_path_factory):
    """EfficientNet-Lite0 with one weight of its stem convolution changed by 1e-3, and a random-pixel start image."""
    folder = tmp_path_factory.mktemp("efficientnet")
    perturb_one_weight(EFFICIENTNET, folder / "perturbed" / EFFICIENTNET.name, first_conv_weight(EFFICIENTNET))
    pixels = (np.random.RandomState(0).rand(48, 48, 3) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(folder / "start.png")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["double", "single"])
def test_efficientnet_lite0_with_a_perturbed_stem_weight_fails(tmp_path, perturbed_efficientnet, precision):
    """float64 sees the 1e-3 change in the numbers; in float32 it stays within 1e-5 and the sha256 catches it."""
    spec = RecordSpec(
        EFFICIENTNET,
        "_blocks/2/Add",
        (1, 5),
        image=perturbed_efficientnet / "start.png",
        iterations=2,
        levels=1,
        precision=precision,
    )
    case = record_case(spec, tmp_path / "cases")
    result = run_case(load_case(case.path), perturbed_efficientnet / "perturbed")
    assert not result.passed and result.model_changed
    assert result.iraw_relative_error > 1e-7
    if precision == "double":
        assert result.failure_kind == "model changed and numeric"
        assert "a float64 case" in result.diagnosis
    else:
        assert result.failure_kind == "model changed"
        assert "can hide a changed weight" in result.diagnosis  # and --accept-model-change never accepts it


# -- each diagnosis from a real MATLAB case with one field doctored (issue 18) ----------------------


@pytest.fixture(scope="module")
def port_on(reference_dir):
    """``port_on(name)``: the port's run of ``parity/reference/cases/<name>.mat`` (made once; a doctored field of
    the case never changes how the port runs except ``rolls``, which the port draws itself)."""
    runs = {}

    def run(name):
        if name not in runs:
            case = load_case(reference_dir / "cases" / f"{name}.mat")
            runs[name] = run_port(case, reference_dir / "models" / case.network)
        return runs[name]

    return run


def _doctored(reference_dir, port_on, name: str, **changes):
    """The verdict on ``parity/reference/cases/<name>.mat`` with ``changes`` (one field), against the port's run."""
    case = dataclasses.replace(load_case(reference_dir / "cases" / f"{name}.mat"), **changes)
    return case, compare(case, port_on(name))


def test_different_rolls_are_said_first_and_are_never_amplification(reference_dir, port_on):
    case = load_case(reference_dir / "cases" / "matlab_style_relu_2.mat")
    rolls = case.rolls.copy()
    rolls[0, 0] = rolls[0, 0] % case.tile_size + 1  # another draw of the first roll
    _, result = _doctored(reference_dir, port_on, case.name, rolls=rolls)
    assert not result.passed and not result.rolls_match and result.iraw_relative_error < 1e-5
    assert result.diagnosis.startswith("the random tile rolls differ: the port drew another random stream")
    assert "amplification" not in result.diagnosis.replace("not a rounding effect", "")
    assert "float64 would not change it" in result.diagnosis


def test_one_pixel_off_by_3e_5_is_localised_not_amplification(reference_dir, port_on):
    case = load_case(reference_dir / "cases" / "matlab_style_relu_2.mat")
    iraw = case.iraw.copy()
    iraw[18, 33, 1, 0] += np.float32(3e-5 * np.abs(case.iraw).max())
    _, result = _doctored(reference_dir, port_on, case.name, iraw=iraw)
    assert not result.passed and 1e-5 < result.iraw_relative_error < 4e-5
    assert (result.iraw_error_pixels, result.iraw_pixels) == (1, 56 * 50 * 3)
    assert result.diagnosis.startswith("the image error is localised: 1 of 8400 pixels")
    assert "Iraw(19,34,2,1)" in result.diagnosis and "consistent with" not in result.diagnosis
    assert "1 of 8400 pixels carry a tenth of it or more" in describe_result(result)


def test_images_rescaled_after_the_run_are_not_amplification(reference_dir, port_on):
    """The error is everywhere, but the strengths agree at every iteration: nothing was amplified."""
    case = load_case(reference_dir / "cases" / "dagnet_cat_relu_three_levels.mat")
    iraw = (case.iraw.astype(np.float64) * (1 + 1e-4)).astype(np.float32)
    _, result = _doctored(reference_dir, port_on, case.name, iraw=iraw)
    assert not result.passed and result.iraw_error_pixels > 0.5 * result.iraw_pixels
    assert result.diagnosis.startswith("not float32 amplification: the strengths do not drift apart")


def test_a_first_strength_off_is_another_computation(reference_dir, port_on):
    case = load_case(reference_dir / "cases" / "tinynet_fc_classes.mat")
    log = case.activation_log.copy()
    log[0, 2] *= 1.01
    _, result = _doctored(reference_dir, port_on, case.name, activation_log=log)
    assert not result.passed and result.iraw_relative_error < 1e-5
    assert result.diagnosis.startswith("not float32 amplification: the strengths differ by 9.9e-03")


def test_an_iteration_log_of_another_shape_is_said(reference_dir, port_on):
    case = load_case(reference_dir / "cases" / "tinynet_fc_classes.mat")
    _, result = _doctored(reference_dir, port_on, case.name, activation_log=case.activation_log[:-1])
    assert result.diagnosis == "the iteration log differs in shape (pyramid levels or iterations changed)"


def test_a_doctored_case_file_is_judged_the_same_from_disk(reference_dir, port_on, tmp_path):
    """The rolls case written as a case file and run by ``run_case``: the same verdict as in memory."""
    case = load_case(reference_dir / "cases" / "matlab_style_relu_2.mat")
    rolls = case.rolls.copy()
    rolls[0, 0] = rolls[0, 0] % case.tile_size + 1
    doctored, expected = _doctored(reference_dir, port_on, case.name, rolls=rolls)
    save_case(dataclasses.replace(doctored, path=tmp_path / "doctored.mat"))
    result = run_case(load_case(tmp_path / "doctored.mat"), reference_dir / "models")
    assert result.diagnosis == expected.diagnosis and result.case == "doctored"


def _result(strength_differences, error_pixels, pixels=1000, precision="single"):
    """A failing float32 result whose strengths differ by the given relative amounts, per iteration."""
    rows = tuple((1.0, float(k + 1), 2.0, 2.0 * (1 + d)) for k, d in enumerate(strength_differences))
    return CaseResult(
        "doctored", precision, 3e-4, 3e-4, 1e-3, True, 1e-5,
        strength_tolerance=1e-3 * 10, strengths=rows, iraw_error_pixels=error_pixels, iraw_pixels=pixels,
        iraw_max_abs_error=1.0, iraw_max_error_at=(1, 1, 1, 1),
    )  # fmt: skip


@pytest.mark.parametrize(
    "differences, error_pixels, diagnosis",
    [
        ((1e-8, 1e-6, 4e-4), 200, "consistent with float32 amplification"),  # onset, growth, spread
        ((0.0, 2e-7, 3e-7), 200, "not float32 amplification: the strengths do not drift apart"),  # rounding only
        ((1e-6, 3e-6, 5e-6), 200, "not float32 amplification: the strengths do not drift apart"),  # < 10× the first
        ((1e-8, 1e-6, 4e-4), 9, "the image error is localised: 9 of 1000"),  # growth without spread: < 1 %
        ((3e-5, 1e-4, 1e-3), 200, "not float32 amplification: the strengths differ by 3.0e-05"),  # no onset
        ((1e-8,), 200, "not float32 amplification: the strengths do not drift apart"),  # one iteration: no growth
    ],
)
def test_amplification_needs_onset_growth_and_spread(reference_dir, differences, error_pixels, diagnosis):
    case = load_case(reference_dir / "cases" / "tinynet_fc_classes.mat")
    assert diagnose(case, _result(differences, error_pixels)).startswith(diagnosis)


def test_error_pixels_counts_positions_of_all_images():
    reference = np.zeros((4, 5, 3, 2))
    port = reference.copy()
    port[0, 0, :, 0] = 1.0  # one pixel, all three channels
    port[3, 4, 2, 1] = 0.1  # a tenth of the largest: counted
    port[2, 2, 0, 1] = 0.05  # below a tenth: not counted
    assert error_pixels(port, reference) == (2, 40)
    assert error_pixels(reference, reference) == (0, 40) and error_pixels(port[:, :, :, :1], reference) == (0, 0)
