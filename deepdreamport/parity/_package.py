"""What the parity kit takes from the port: running a dream, layouts, the MATLAB stream, networks, files.

Kept in one module so that the kit's other modules name the port's pieces the
same way everywhere (``_package.run_deep_dream``).
"""

from __future__ import annotations

from .._version import __version__ as PACKAGE_VERSION
from ..core.loop import DreamResult, DreamSettings, scale_linear
from ..dependencies import require
from ..doors.arguments import CommandParser
from ..doors.commands import parse_channels, run_command
from ..doors.degenerate import degenerate_warnings
from ..doors.files import open_image
from ..doors.numbering import layer_from_text
from ..doors.outputs import check_output_folder, output_folder, reserved_outputs, write_atomic
from ..doors.run import resolve_device, resolve_layer_name, run_deep_dream
from ..errors import DeepDreamError
from ..input_files import check_input_file, check_input_folder, is_url, user_path
from ..matlab.layout import matlab_squeeze, to_hwck
from ..matlab.rng import twister
from ..nets import VisualNetwork
from ..nets import load_network as as_network
from ..onnx.read import check_onnx_path

__all__ = [
    "PACKAGE_VERSION",
    "CommandParser",
    "DeepDreamError",
    "DreamResult",
    "DreamSettings",
    "VisualNetwork",
    "as_network",
    "degenerate_warnings",
    "check_input_file",
    "check_input_folder",
    "user_path",
    "check_onnx_path",
    "check_output_folder",
    "is_url",
    "layer_from_text",
    "matlab_squeeze",
    "open_image",
    "output_folder",
    "parse_channels",
    "require",
    "reserved_outputs",
    "resolve_device",
    "resolve_layer_name",
    "run_command",
    "run_deep_dream",
    "scale_linear",
    "to_hwck",
    "twister",
    "write_atomic",
]
