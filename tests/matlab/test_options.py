"""MATLAB name-value parsing (inputParser / validatestring rules) and argument validation."""

from __future__ import annotations

import numpy as np
import pytest

from deepdreamport.errors import DeepDreamError
from deepdreamport.matlab.options import (
    OPTION_NAMES,
    DreamOptions,
    channel_list,
    initial_image,
    layer_argument,
    match_name,
    parse_name_value,
    validatestring,
)

FAILED = "MATLAB:InputParser:ArgumentFailedValidation"


def raises(identifier, *names):
    """Context manager: a DeepDreamError with ``identifier`` whose message names every ``names``."""

    class _Check:
        def __enter__(self):
            self._ctx = pytest.raises(DeepDreamError)
            self.info = self._ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self._ctx.__exit__(*exc)
            assert self.info.value.identifier == identifier, self.info.value.message
            for name in names:
                assert name in self.info.value.message, self.info.value.message
            return handled

    return _Check()


def test_defaults_are_matlabs():
    parsed = parse_name_value([])
    assert parsed == DreamOptions()
    assert (parsed.NumIterations, parsed.PyramidLevels, parsed.PyramidScale) == (10, 3, 1.4)
    assert (parsed.OutputScaling, parsed.Verbose, parsed.ExecutionEnvironment) == ("linear", True, "auto")
    assert parsed.InitialImage is None and parsed.Precision == "single"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("NumIterations", "NumIterations"),
        ("numiterations", "NumIterations"),
        ("NUMIT", "NumIterations"),
        ("n", "NumIterations"),
        ("pyramidl", "PyramidLevels"),
        ("PyramidS", "PyramidScale"),
        ("o", "OutputScaling"),
        ("v", "Verbose"),
        ("e", "ExecutionEnvironment"),
        ("i", "InitialImage"),
        ("pr", "Precision"),
        ("r", "RandomState"),
        ("m", "MaxBatch"),
        ("t", "TileSize"),
    ],
)
def test_names_are_case_insensitive_prefixes(name, expected):
    assert match_name(name) == expected


@pytest.mark.parametrize(
    "name, candidates",
    [("Pyramid", ["PyramidLevels", "PyramidScale"]), ("p", ["PyramidLevels", "PyramidScale", "Precision"])],
)
def test_ambiguous_prefix_lists_candidates(name, candidates):
    with raises("MATLAB:InputParser:AmbiguousParam", name, *candidates):
        parse_name_value([name, 2])


def test_unknown_name_lists_valid_names():
    with raises("MATLAB:InputParser:UnmatchedParameter", "Iterations", *OPTION_NAMES):
        parse_name_value(["Iterations", 3])


@pytest.mark.parametrize("name", [3, None, "", ["NumIterations"]])
def test_name_must_be_text(name):
    with raises("MATLAB:InputParser:ParamMustBeChar"):
        parse_name_value([name, 3])


def test_odd_number_of_arguments():
    with raises("MATLAB:InputParser:ParamMissingValue", "PyramidScale"):
        parse_name_value(["NumIterations", 3, "PyramidScale"])


def test_name_equals_value_keywords_follow_the_pairs():
    """MATLAB R2021a's ``Name=Value`` syntax: the same matching, placed after the pairs (so it wins)."""
    parsed = parse_name_value(["NumIterations", 3, "Verbose", True], {"numit": 5, "PyramidLevels": 1, "Verbose": 0})
    assert (parsed.NumIterations, parsed.PyramidLevels, parsed.Verbose) == (5, 1, False)
    with raises("MATLAB:InputParser:UnmatchedParameter", "Levels"):
        parse_name_value([], {"Levels": 2})
    with raises("MATLAB:InputParser:AmbiguousParam", "Pyramid"):
        parse_name_value([], {"Pyramid": 2})
    with raises(FAILED, "NumIterations"):
        parse_name_value([], {"NumIterations": 0})


def test_last_value_wins_and_numpy_scalars_accepted():
    parsed = parse_name_value(["NumIterations", 3, "numiterations", np.int64(4), "PyramidLevels", np.array([[2.0]])])
    assert parsed.NumIterations == 4 and parsed.PyramidLevels == 2
    assert parse_name_value(["PyramidScale", np.float32(1.5)]).PyramidScale == 1.5


BAD_POSITIVE_INTEGERS = {
    "wrong type": "3",
    "logical": True,
    "NaN": float("nan"),
    "Inf": float("inf"),
    "zero": 0,
    "negative": -2,
    "non-integer": 2.5,
    "empty": np.zeros(0),
    "array": np.array([1, 2]),
    "list": [1, 2],
    "complex": 2 + 1j,
    "None": None,
}


@pytest.mark.parametrize("name", ["NumIterations", "PyramidLevels", "MaxBatch", "TileSize"])
@pytest.mark.parametrize("case", sorted(BAD_POSITIVE_INTEGERS))
def test_positive_integer_options_reject(name, case):
    value = BAD_POSITIVE_INTEGERS[case]
    if name in ("MaxBatch", "TileSize") and case in ("empty", "None"):
        assert getattr(parse_name_value([name, value]), name) is None  # [] means "default", as in MATLAB
        return
    with raises(FAILED, name, "positive integer"):
        parse_name_value([name, value])


@pytest.mark.parametrize("name", ["NumIterations", "PyramidLevels", "MaxBatch", "TileSize"])
def test_positive_integer_options_accept_integral_doubles(name):
    assert getattr(parse_name_value([name, 7.0]), name) == 7


@pytest.mark.parametrize(
    "value",
    [
        "1.4",
        True,
        float("nan"),
        float("inf"),
        -float("inf"),
        0,
        -1.5,
        1,
        1.0,
        0.5,
        np.zeros(0),
        np.array([1.2, 1.4]),
        1.5 + 0j,
        None,
    ],
    ids=repr,
)
def test_pyramid_scale_rejects(value):
    with raises(FAILED, "PyramidScale", "greater than 1"):
        parse_name_value(["PyramidScale", value])


LOGICAL_OPTIONS = ["Verbose", "CheckMemory", "HostState", "Compile"]


@pytest.mark.parametrize("name", LOGICAL_OPTIONS)
@pytest.mark.parametrize("value", ["true", float("nan"), np.zeros(0), np.array([1, 0]), 1j, None, [True]], ids=repr)
def test_logical_options_reject(name, value):
    with raises(FAILED, name):
        parse_name_value([name, value])


@pytest.mark.parametrize(
    "value, expected",
    [
        (True, True),
        (False, False),
        (0, False),
        (1, True),
        (2.5, True),
        (np.bool_(False), False),
        (np.array([True]), True),
        (float("inf"), True),
    ],
)
@pytest.mark.parametrize("name", LOGICAL_OPTIONS)
def test_logical_options_accept_logical_and_numeric(name, value, expected):
    assert getattr(parse_name_value([name, value]), name) is expected


def test_compile_is_off_by_default_and_takes_its_prefix():
    assert DreamOptions().Compile is False
    assert match_name("co") == "Compile" and match_name("ch") == "CheckMemory"
    with raises("MATLAB:InputParser:AmbiguousParam", "CheckMemory", "Compile"):
        parse_name_value(["c", True])


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("OutputScaling", "linear", "linear"),
        ("OutputScaling", "LIN", "linear"),
        ("OutputScaling", "n", "none"),
        ("OutputScaling", np.str_("None"), "none"),
        ("ExecutionEnvironment", "CPU", "cpu"),
        ("ExecutionEnvironment", "a", "auto"),
        ("ExecutionEnvironment", "g", "gpu"),
        ("Precision", "d", "double"),
        ("Precision", "Single", "single"),
    ],
)
def test_string_options_follow_validatestring(name, value, expected):
    assert getattr(parse_name_value([name, value]), name) == expected


@pytest.mark.parametrize(
    "name, choices",
    [
        ("OutputScaling", ["linear", "none"]),
        ("ExecutionEnvironment", ["auto", "gpu", "cpu"]),
        ("Precision", ["single", "double"]),
    ],
)
@pytest.mark.parametrize("value", ["log", "", 1, None, float("nan"), ["linear"], "linearx"], ids=repr)
def test_string_options_reject(name, choices, value):
    with raises("MATLAB:unrecognizedStringChoice", name, *choices):
        parse_name_value([name, value])


def test_validatestring_ambiguous():
    with raises("MATLAB:ambiguousStringChoice", "mode", "'alpha'", "'alps'"):
        validatestring("mode", "al", ("alpha", "alps"))


@pytest.mark.parametrize("value", [-1, 2**32, 1.5, float("nan"), "seed", True, np.array([1, 2])], ids=repr)
def test_random_state_rejects(value):
    with raises(FAILED, "RandomState"):
        parse_name_value(["RandomState", value])


def test_random_state_accepts_seed_and_stream():
    stream = np.random.RandomState(3)
    assert parse_name_value(["RandomState", stream]).RandomState is stream
    assert parse_name_value(["RandomState", 5.0]).RandomState == 5


IMAGE_ID = "nnet_cnn:deepDreamImage:InitialImageNotValidImage"


@pytest.mark.parametrize(
    "value, words",
    [
        (np.full((8, 8, 3), np.nan), "NaN"),
        (np.full((8, 8, 3), np.inf), "Inf"),
        (np.ones((8, 8, 3)) * (1 + 1j), "complex"),
        (np.array([["a"] * 8] * 8), "numeric"),
        ("image.png", "InitialImage"),
        (True, "InitialImage"),
        (np.zeros((0, 8, 3)), "empty"),
        (np.zeros(8), "dimensions"),
        (np.zeros((8, 8, 3, 2)), "dimensions"),
        ([[object()]], "numeric"),
    ],
    ids=["nan", "inf", "complex", "strings", "text", "logical", "empty", "vector", "4-d", "objects"],
)
def test_initial_image_rejects(value, words):
    with raises(IMAGE_ID, "InitialImage", words):
        parse_name_value(["InitialImage", value])


def test_initial_image_accepts_integer_and_float_arrays():
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    np.testing.assert_array_equal(parse_name_value(["InitialImage", image]).InitialImage, image)
    assert initial_image(None) is None


@pytest.mark.parametrize(
    "value, expected",
    [
        (3, [3]),
        (np.int32(2), [2]),
        (3.0, [3]),
        ([1, 1, 2], [1, 1, 2]),
        (range(1, 4), [1, 2, 3]),
        (np.arange(1, 4), [1, 2, 3]),
        (np.array([[1, 2, 3]]), [1, 2, 3]),
        (np.array([[1], [2]]), [1, 2]),
    ],
    ids=repr,
)
def test_channels_accept_vectors(value, expected):
    assert channel_list(value, base=1) == expected


@pytest.mark.parametrize(
    "value",
    [
        [],
        np.zeros(0),
        0,
        [1, 0],
        -1,
        1.5,
        [1, 2.5],
        np.array([[1, 2], [3, 4]]),
        "1:3",
        None,
        True,
        float("nan"),
        float("inf"),
        [1j],
    ],
    ids=repr,
)
def test_channels_reject(value):
    with raises("nnet_cnn:deepDreamImage:InvalidChannels", "channels", "1-based"):
        channel_list(value, base=1)


def test_channels_zero_based_door():
    assert channel_list([0, 0, 4], base=0) == [0, 0, 4]
    with raises("nnet_cnn:deepDreamImage:InvalidChannels", "channels", "0-based"):
        channel_list(-1, base=0)


@pytest.mark.parametrize("value", [0, -3, 1.5, "", float("nan"), None, [2, 3], True], ids=repr)
def test_layer_argument_rejects(value):
    with raises("nnet_cnn:deepDreamImage:InvalidLayer", "layer"):
        layer_argument(value)


def test_layer_argument_accepts_names_and_indices():
    assert layer_argument("relu2") == "relu2"
    assert layer_argument(np.str_("conv1")) == "conv1"
    assert layer_argument(3.0) == 3 and layer_argument(np.int64(4)) == 4
