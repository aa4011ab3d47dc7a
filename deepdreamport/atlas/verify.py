"""``deepdream atlas --verify DIR``: find images that are missing, corrupt or unfinished, and render them again."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PIL import Image

from .errors import AtlasInputError
from .job import AtlasPlan, AtlasSummary, execute, file_sha256
from .state import AtlasState, database_path, read_existing_job
from .units import Unit


@dataclass(frozen=True)
class Damage:
    layer: str
    channel: int
    path: str
    reason: str

    def line(self) -> str:
        return f"{self.layer} unit {self.channel}: {self.path}: {self.reason}"


def image_problem(path: Path, expected_sha256: Optional[str]) -> Optional[str]:
    """Why the image at ``path`` is not the one recorded (``None`` when it is)."""

    if not path.is_file():
        return "missing"
    data = path.read_bytes()
    if expected_sha256 and hashlib.sha256(data).hexdigest() != expected_sha256:
        return "content differs from the recorded hash (corrupt or replaced)"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception as exc:  # any decoder failure means the file is unusable
        return f"cannot be decoded ({type(exc).__name__})"
    return None


def verify_atlas(
    out,
    *,
    repair: bool = True,
    engine: str = "local",
    workers: Optional[int] = None,
    ray_address: Optional[str] = None,
    batch: int = 8,
    progress: bool = False,
    gallery: bool = True,
) -> tuple[list[Damage], list[str], Optional[AtlasSummary]]:
    """Check every done unit's image; with ``repair``, render the damaged ones again.

    Returns the damaged units, the stray temporary files removed, and the summary of the repair run.
    """
    out = Path(out).expanduser().resolve()
    if not out.is_dir():
        raise AtlasInputError(f"--verify: {str(out)!r} is not a folder")
    record = read_existing_job(out)
    if record is None:
        raise AtlasInputError(f"--verify: {str(out)!r} holds no atlas ({database_path(out).name} missing or empty)")
    if repair:
        model = Path(record.model_path)
        if not model.is_file() or file_sha256(model) != record.model_sha256:
            raise AtlasInputError(
                f"--verify: the atlas's model {record.model_path!r} is missing or changed; cannot re-render"
            )
    state = AtlasState(out)
    try:
        rows = state.rows()
        damaged = []
        for row in rows:
            if row["status"] != "done":
                continue
            problem = image_problem(out / row["image_path"], row["image_sha256"])
            if problem:
                damaged.append((row["id"], Damage(row["layer"], row["channel"], row["image_path"], problem)))
        strays = (
            sorted(str(p.relative_to(out)) for p in (out / "images").rglob(".*.part"))
            if (out / "images").is_dir()
            else []
        )
        if repair:
            for stray in strays:
                (out / stray).unlink(missing_ok=True)
            if damaged:
                state.reset_units(
                    [unit_id for unit_id, _ in damaged], "verify: " + "; ".join(sorted({d.reason for _, d in damaged}))
                )
        units = [Unit(r["layer"], r["layer_index"], r["layer_type"], r["channel"]) for r in rows]
    finally:
        state.close()
    summary = None
    if repair:
        plan = AtlasPlan(out, record, units, False, engine, workers, ray_address, batch, 3)
        summary = execute(plan, progress=progress, gallery=gallery)
    return [d for _, d in damaged], strays, summary
