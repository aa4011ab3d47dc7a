"""``deepdream atlas --verify DIR``: find images that are missing, corrupt or unfinished, and render them again (per (unit, recipe) pair)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PIL import Image

from ..input_files import folder_problem, user_path
from .errors import AtlasInputError
from .job import AtlasPlan, AtlasSummary, execute, file_sha256
from .state import AtlasState, database_path, read_existing_job
from .units import Unit


@dataclass(frozen=True)
class Damage:
    layer: str
    channel: int
    recipe: str
    path: str
    reason: str

    def line(self) -> str:
        return f"{self.layer} unit {self.channel} ({self.recipe}): {self.path}: {self.reason}"


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
    """Check every done render's image; with ``repair``, render the damaged ones again (and finish what is left).

    Returns the damaged renders, the stray temporary files removed, and the summary of the repair run.
    """
    problem = folder_problem(out, "atlas folder")
    if problem:
        raise AtlasInputError(problem, "verify")
    out = Path(user_path(out)).resolve()
    record = read_existing_job(out)
    if record is None:
        raise AtlasInputError(f"{str(out)!r} holds no atlas ({database_path(out).name} missing or empty)", "verify")
    if repair:
        model = Path(record.model_path)
        if not model.is_file() or file_sha256(model) != record.model_sha256:
            raise AtlasInputError(
                f"the atlas's model {record.model_path!r} is missing or changed; cannot re-render", "verify"
            )
    state = AtlasState(out)
    try:
        rows = state.render_rows()
        damaged = []
        for row in rows:
            if row["status"] != "done":
                continue
            problem = image_problem(out / row["image_path"], row["image_sha256"])
            if problem:
                damage = Damage(row["layer"], row["channel"], row["recipe"], row["image_path"], problem)
                damaged.append((row["id"], damage))
        strays = (
            sorted(str(p.relative_to(out)) for p in (out / "images").rglob(".*.part"))
            if (out / "images").is_dir()
            else []
        )
        if repair:
            for stray in strays:
                (out / stray).unlink(missing_ok=True)
            if damaged:
                state.reset_renders(
                    [render_id for render_id, _ in damaged],
                    "verify: " + "; ".join(sorted({d.reason for _, d in damaged})),
                )
        pairs = [(Unit(r["layer"], r["layer_index"], r["layer_type"], r["channel"]), r["recipe"]) for r in rows]
        example_layers = [
            (row[0], row[1]) for row in state._db.execute("SELECT DISTINCT layer, output FROM example_work ORDER BY id")
        ]
    finally:
        state.close()
    summary = None
    if repair:
        plan = AtlasPlan(
            out, record, pairs, list(record.recipes), example_layers, False, engine, workers, ray_address, batch, 3
        )  # the renders the atlas holds, no more (its recipes took those layers)
        summary = execute(plan, progress=progress, gallery=gallery)
    return [d for _, d in damaged], strays, summary
