"""The atlas's state: one embedded sqlite database, ``DIR/atlas.sqlite`` (WAL).

It holds the job (model hash, recipe and parameters, seed, package version)
and one row per unit (status, attempts, owner/worker, times, activation,
image path and hash, activation curve, dataset examples). Units are claimed in
``BEGIN IMMEDIATE`` transactions, so two processes on the same folder never
render the same unit; a unit is marked done only by the process that claimed
it, after its image is in place. Rows held by a process that died are handed
back (:meth:`AtlasState.recover_abandoned`).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

from .errors import AtlasInputError

DATABASE_NAME = "atlas.sqlite"
SCHEMA_VERSION = 1
# A claim whose owner has not been heard from for this long is abandoned (owners on other hosts).
STALE_AFTER_S = 120.0

_SCHEMA = """
CREATE TABLE job (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    model_path TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    recipe TEXT NOT NULL,
    params_json TEXT NOT NULL,
    seed INTEGER NOT NULL,
    package_version TEXT NOT NULL,
    network_json TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    layer TEXT NOT NULL,
    layer_index INTEGER NOT NULL,
    layer_type TEXT NOT NULL,
    channel INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    worker TEXT,
    started REAL,
    finished REAL,
    activation REAL,
    image_path TEXT,
    image_sha256 TEXT,
    curve_json TEXT,
    examples_json TEXT,
    error TEXT,
    UNIQUE (layer, channel)
);
CREATE INDEX units_by_status ON units (status, layer_index, channel);
CREATE TABLE owners (
    owner TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    heartbeat REAL NOT NULL
);
"""


class StateError(AtlasInputError):
    """The folder's database cannot be used as asked (message names the problem)."""


@dataclass(frozen=True)
class JobRecord:
    """What defines an atlas: the same record means the same images."""

    model_path: str
    model_sha256: str
    recipe: str
    params: dict
    seed: int
    package_version: str
    network: dict  # facts about the network the gallery needs (input size and channels)

    def differences(self, other: "JobRecord") -> list[str]:
        """Human-readable differences that make ``other`` a different atlas."""
        found = []
        if self.model_sha256 != other.model_sha256:
            found.append(
                f"the model changed (sha256 {self.model_sha256[:12]} in the database, {other.model_sha256[:12]} now)"
            )
        if self.recipe != other.recipe:
            found.append(f"the recipe changed ({self.recipe!r} in the database, {other.recipe!r} now)")
        if self.params != other.params:
            found.append(f"the recipe parameters changed ({self.params} in the database, {other.params} now)")
        if self.seed != other.seed:
            found.append(f"the seed changed ({self.seed} in the database, {other.seed} now)")
        return found


@dataclass(frozen=True)
class ClaimedUnit:
    unit_id: int
    layer: str
    layer_index: int
    channel: int  # 1-based


@dataclass(frozen=True)
class Claim:
    """Units of one layer claimed together (rendered as one batch)."""

    layer: str
    layer_index: int
    units: tuple[ClaimedUnit, ...]

    @property
    def unit_ids(self) -> list[int]:
        return [u.unit_id for u in self.units]


def database_path(folder: str | os.PathLike) -> Path:
    return Path(folder) / DATABASE_NAME


def _read_only_connection(path: Path) -> sqlite3.Connection:
    """A connection that leaves no trace: without a live WAL file (no writer open), the file is opened as
    immutable, because a read-only WAL reader would otherwise create the ``-shm``/``-wal`` side files."""
    if Path(f"{path}-wal").exists():
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, timeout=60)


def read_existing_job(folder: str | os.PathLike) -> Optional[JobRecord]:
    """The job of an existing database, read without writing anything; ``None`` when there is none.

    Raises :class:`StateError` for a database of a newer schema or one that is not an atlas.
    """
    path = database_path(folder)
    if not path.exists():
        return None
    try:
        connection = _read_only_connection(path)
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"{path} has database schema {version}, newer than this package's {SCHEMA_VERSION}; "
                    "use a newer deepdreamport or another --out folder"
                )
            if version < 1:
                raise StateError(f"{path} is not an atlas database (schema version {version})")
            row = connection.execute(
                "SELECT model_path, model_sha256, recipe, params_json, seed, package_version, network_json FROM job"
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise StateError(f"{path} cannot be read as an atlas database ({exc})") from None
    if row is None:
        return None
    return JobRecord(row[0], row[1], row[2], json.loads(row[3]), int(row[4]), row[5], json.loads(row[6]))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class AtlasState:
    """An open atlas database; one per process (sqlite connections are not shared across processes)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = database_path(folder)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 60000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._transaction():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                # one statement at a time: executescript would commit the open transaction
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                raise StateError(
                    f"{self.path} has database schema {version}, newer than this package's {SCHEMA_VERSION}"
                )
            self._db.execute(
                "INSERT OR REPLACE INTO owners (owner, host, pid, heartbeat) VALUES (?, ?, ?, ?)",
                (self.owner, socket.gethostname(), os.getpid(), time.time()),
            )
        self._last_heartbeat = time.time()
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS selected (id INTEGER PRIMARY KEY)")

    # -- plumbing ---------------------------------------------------------------------------
    class _Transaction:
        def __init__(self, db: sqlite3.Connection):
            self.db = db

        def __enter__(self):
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, kind, value, traceback):
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")
            return False

    def _transaction(self) -> "_Transaction":
        return AtlasState._Transaction(self._db)

    def close(self) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM owners WHERE owner = ?", (self.owner,))
        self._db.close()

    # -- the job ----------------------------------------------------------------------------
    def job(self) -> Optional[JobRecord]:
        row = self._db.execute(
            "SELECT model_path, model_sha256, recipe, params_json, seed, package_version, network_json FROM job"
        ).fetchone()
        if row is None:
            return None
        return JobRecord(row[0], row[1], row[2], json.loads(row[3]), int(row[4]), row[5], json.loads(row[6]))

    def start_job(self, record: JobRecord, *, replace: bool) -> None:
        """Record ``record`` as the job; with ``replace``, forget the previous job and all its units first."""
        with self._transaction() as db:
            if replace:
                db.execute("DELETE FROM units")
                db.execute("DELETE FROM job")
            if db.execute("SELECT COUNT(*) FROM job").fetchone()[0] == 0:
                db.execute(
                    "INSERT INTO job VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.model_path,
                        record.model_sha256,
                        record.recipe,
                        json.dumps(record.params, sort_keys=True),
                        record.seed,
                        record.package_version,
                        json.dumps(record.network, sort_keys=True),
                        time.time(),
                    ),
                )

    # -- units ------------------------------------------------------------------------------
    def add_units(self, units: Iterable) -> None:
        """Insert the units (``.layer``, ``.layer_index``, ``.layer_type``, ``.channel``) not yet known."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO units (layer, layer_index, layer_type, channel) VALUES (?, ?, ?, ?)",
                [(u.layer, u.layer_index, u.layer_type, u.channel) for u in units],
            )

    def select(self, units: Iterable) -> int:
        """Restrict claims and counts of this connection to ``units``; returns how many there are."""
        with self._transaction() as db:
            db.execute("DELETE FROM temp.selected")
            db.executemany(
                "INSERT OR IGNORE INTO temp.selected (id) SELECT id FROM units WHERE layer = ? AND channel = ?",
                [(u.layer, u.channel) for u in units],
            )
            return db.execute("SELECT COUNT(*) FROM temp.selected").fetchone()[0]

    def select_all(self) -> int:
        with self._transaction() as db:
            db.execute("DELETE FROM temp.selected")
            db.execute("INSERT INTO temp.selected (id) SELECT id FROM units")
            return db.execute("SELECT COUNT(*) FROM temp.selected").fetchone()[0]

    def counts(self) -> dict[str, int]:
        """Selected units by status."""
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM units JOIN temp.selected USING (id) GROUP BY status"
        ).fetchall()
        return {status: count for status, count in rows}

    def claimable(self, max_attempts: int) -> int:
        """Selected units that a claim could take now."""
        return self._db.execute(
            "SELECT COUNT(*) FROM units JOIN temp.selected USING (id) "
            "WHERE status = 'pending' OR (status = 'failed' AND attempts < ?)",
            (max_attempts,),
        ).fetchone()[0]

    def heartbeat(self, every_s: float = 5.0) -> None:
        now = time.time()
        if now - self._last_heartbeat >= every_s:
            with self._transaction() as db:
                db.execute("UPDATE owners SET heartbeat = ? WHERE owner = ?", (now, self.owner))
            self._last_heartbeat = now

    def recover_abandoned(self) -> int:
        """Hand back rows claimed by processes that are gone (dead pid on this host, or silent too long)."""
        host = socket.gethostname()
        with self._transaction() as db:
            owners = {row[0]: row for row in db.execute("SELECT owner, host, pid, heartbeat FROM owners")}
            claimed_by = [row[0] for row in db.execute("SELECT DISTINCT owner FROM units WHERE status = 'running'")]
            gone = []
            for owner in claimed_by:
                row = owners.get(owner)
                if row is None:
                    gone.append(owner)
                elif row[1] == host:  # on this host the process table is the truth, however long a batch takes
                    if not _pid_alive(row[2]):
                        gone.append(owner)
                elif time.time() - row[3] > STALE_AFTER_S:
                    gone.append(owner)
            recovered = 0
            for owner in gone:
                # the attempt did not fail on its own: it is not counted against the unit
                recovered += db.execute(
                    "UPDATE units SET status = 'pending', owner = NULL, worker = NULL, started = NULL, "
                    "attempts = MAX(attempts - 1, 0) WHERE status = 'running' AND owner IS ?",
                    (owner,),
                ).rowcount
                db.execute("DELETE FROM owners WHERE owner IS ?", (owner,))
        return recovered

    def claim(self, max_units: int, worker: str, max_attempts: int) -> Optional[Claim]:
        """Claim up to ``max_units`` selected units of one layer (pending, or failed with attempts left)."""
        claimable = "(status = 'pending' OR (status = 'failed' AND attempts < ?))"
        with self._transaction() as db:
            first = db.execute(
                f"SELECT layer, layer_index FROM units JOIN temp.selected USING (id) WHERE {claimable} "
                "ORDER BY layer_index, channel LIMIT 1",
                (max_attempts,),
            ).fetchone()
            if first is None:
                return None
            layer, layer_index = first
            rows = db.execute(
                f"SELECT id, channel FROM units JOIN temp.selected USING (id) WHERE layer = ? AND {claimable} "
                "ORDER BY channel LIMIT ?",
                (layer, max_attempts, max_units),
            ).fetchall()
            now = time.time()
            db.executemany(
                "UPDATE units SET status = 'running', owner = ?, worker = ?, attempts = attempts + 1, "
                "started = ?, finished = NULL, error = NULL WHERE id = ?",
                [(self.owner, worker, now, unit_id) for unit_id, _ in rows],
            )
        return Claim(
            layer, layer_index, tuple(ClaimedUnit(unit_id, layer, layer_index, channel) for unit_id, channel in rows)
        )

    def mark_done(
        self,
        unit_id: int,
        *,
        worker: str,
        activation: float,
        image_path: str,
        image_sha256: str,
        curve: Sequence[float],
        examples: Sequence,
    ) -> bool:
        """Record a finished unit (its image already in place); ``False`` if this process no longer holds it."""
        with self._transaction() as db:
            return (
                db.execute(
                    "UPDATE units SET status = 'done', worker = ?, finished = ?, activation = ?, image_path = ?, "
                    "image_sha256 = ?, curve_json = ?, examples_json = ?, error = NULL "
                    "WHERE id = ? AND owner = ? AND status = 'running'",
                    (
                        worker,
                        time.time(),
                        activation,
                        image_path,
                        image_sha256,
                        json.dumps(list(curve)),
                        json.dumps(list(examples)),
                        unit_id,
                        self.owner,
                    ),
                ).rowcount
                == 1
            )

    def mark_failed(self, unit_ids: Sequence[int], error: str) -> None:
        with self._transaction() as db:
            db.executemany(
                "UPDATE units SET status = 'failed', finished = ?, error = ? WHERE id = ? AND owner = ? AND status = 'running'",
                [(time.time(), error[:2000], unit_id, self.owner) for unit_id in unit_ids],
            )

    def release_all(self) -> int:
        """Give back every unit this process holds (interrupted: a signal can land between a claim
        and its bookkeeping, so the owner column, not the caller's list, says what is held)."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE units SET status = 'pending', owner = NULL, worker = NULL, started = NULL, "
                "attempts = MAX(attempts - 1, 0) WHERE owner = ? AND status = 'running'",
                (self.owner,),
            ).rowcount

    def reset_units(self, unit_ids: Sequence[int], reason: str) -> None:
        """Send done units back to be rendered again (their image is missing or corrupt)."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE units SET status = 'pending', attempts = 0, owner = NULL, error = ? WHERE id = ?",
                [(reason, unit_id) for unit_id in unit_ids],
            )

    def rows(self, where: str = "", parameters: Sequence = ()) -> list[sqlite3.Row]:
        """Unit rows as mappings, in layer and channel order (``where`` is an SQL condition)."""
        self._db.row_factory = sqlite3.Row
        try:
            return self._db.execute(
                f"SELECT * FROM units {'WHERE ' + where if where else ''} ORDER BY layer_index, channel", parameters
            ).fetchall()
        finally:
            self._db.row_factory = None


def read_units(folder: str | os.PathLike) -> list[dict]:
    """Every unit row as a dict, read without writing (for the gallery)."""
    connection = _read_only_connection(database_path(folder))
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute("SELECT * FROM units ORDER BY layer_index, channel")]
    finally:
        connection.close()
