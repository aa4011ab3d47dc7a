"""The atlas's state: one embedded sqlite database, ``DIR/atlas.sqlite`` (WAL).

It holds the job (model hash, seed, package version, the network's layer facts, the
examples source), the recipes with their parameters, one row per unit, one row per
(unit, recipe) *render* (only the pairs whose recipe takes the unit's layer), and the examples
pass: one row per (layer, chunk of example items) of work, and per layer the merged top-k and
histograms (:mod:`.examples.topk`). Work is claimed in ``BEGIN IMMEDIATE`` transactions, so two
processes on the same folder never do the same work; it is marked done only by the process that
claimed it, after its files are in place (an examples chunk is merged into its layers' summaries
in the same transaction that marks it done). Work held by a process that died is handed back (:meth:`AtlasState.recover_abandoned`).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence

from .errors import AtlasInputError
from .examples.topk import LayerExamples

DATABASE_NAME = "atlas.sqlite"
SCHEMA_VERSION = 2
# A claim whose owner has not been heard from for this long is abandoned (owners on other hosts).
STALE_AFTER_S = 120.0
_WORK = """status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    worker TEXT,
    started REAL,
    finished REAL,
    seconds REAL,
    error TEXT"""

_SCHEMA = f"""
CREATE TABLE job (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    model_path TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    seed INTEGER NOT NULL,
    package_version TEXT NOT NULL,
    network_json TEXT NOT NULL,
    examples_json TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE recipes (
    name TEXT PRIMARY KEY,
    params_json TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    layer TEXT NOT NULL,
    layer_index INTEGER NOT NULL,
    layer_type TEXT NOT NULL,
    channel INTEGER NOT NULL,
    UNIQUE (layer, channel)
);
CREATE TABLE renders (
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units (id),
    recipe TEXT NOT NULL REFERENCES recipes (name),
    {_WORK},
    activation REAL,
    dead INTEGER,
    image_path TEXT,
    image_sha256 TEXT,
    curve_json TEXT,
    options_json TEXT,
    UNIQUE (unit_id, recipe)
);
CREATE INDEX renders_by_status ON renders (status, unit_id);
CREATE TABLE example_items (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    box_json TEXT
);
CREATE TABLE example_work (
    id INTEGER PRIMARY KEY,
    layer TEXT NOT NULL,
    output TEXT NOT NULL,
    chunk INTEGER NOT NULL,
    {_WORK},
    UNIQUE (layer, chunk)
);
CREATE INDEX example_work_by_status ON example_work (status, chunk);
CREATE TABLE example_chunks (
    chunk INTEGER PRIMARY KEY,
    read INTEGER NOT NULL,
    unreadable INTEGER NOT NULL,
    converted INTEGER NOT NULL,
    seconds REAL,
    network_seconds REAL
);
CREATE TABLE example_skipped (
    item INTEGER PRIMARY KEY,
    reason TEXT NOT NULL
);
CREATE TABLE layer_examples (
    layer TEXT PRIMARY KEY,
    state BLOB NOT NULL,
    chunks INTEGER NOT NULL
);
CREATE TABLE refused (
    work TEXT NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (work, id)
);
CREATE TABLE owners (
    owner TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    heartbeat REAL NOT NULL
);
"""
_TABLES = ("job", "recipes", "units", "renders", "example_items", "example_work", "example_chunks",
           "example_skipped", "layer_examples", "refused", "owners")  # fmt: skip
_WORK_TABLES = ("renders", "example_work")
# Work that the package refused (a DeepDreamError in the worker): failed after the attempts it made, and
# not claimed again, however many attempts are left. An additive table: a schema-2 database of an earlier
# version gets it when opened (its refusals were stored with every attempt used up, so they stay unclaimed).
_REFUSED_TABLE = "CREATE TABLE IF NOT EXISTS refused (work TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (work, id))"


def _retryable(table: str, alias: str = "") -> str:
    """SQL: a row of ``table`` (named ``alias`` in the query) that may be claimed: pending, or failed with
    attempts left (one ``?``: the most attempts) and not refused."""
    row = alias or table
    return (
        f"({row}.status = 'pending' OR ({row}.status = 'failed' AND {row}.attempts < ? AND "
        f"{row}.id NOT IN (SELECT id FROM refused WHERE work = '{table}')))"
    )


class StateError(AtlasInputError):
    """The folder's database cannot be used as asked (message names the problem)."""


@dataclass(frozen=True)
class JobRecord:
    """What defines an atlas: the same record means the same images.

    ``recipes`` maps each recipe of the atlas to its parameters; ``examples`` describes the
    examples source (kind, path, fingerprint, item count, chunk size); ``network`` holds the
    facts the gallery needs (input size and channels, the layer table with receptive fields).
    """

    model_path: str
    model_sha256: str
    seed: int
    package_version: str
    network: dict
    examples: dict
    recipes: dict = field(default_factory=dict)

    def differences(self, other: "JobRecord") -> list[str]:
        """Human-readable differences that make ``other`` a different atlas (new recipes are not one)."""
        found = []
        if self.model_sha256 != other.model_sha256:
            found.append(
                f"the model changed (sha256 {self.model_sha256[:12]} in the database, {other.model_sha256[:12]} now)"
            )
        if self.seed != other.seed:
            found.append(f"the seed changed ({self.seed} in the database, {other.seed} now)")
        for name, params in other.recipes.items():
            if name in self.recipes and self.recipes[name] != params:
                found.append(
                    f"the parameters of recipe {name!r} changed ({self.recipes[name]} in the database, {params} now)"
                )
        mine, theirs = self.examples, other.examples
        if "none" in (mine.get("kind"), theirs.get("kind")):  # examples added later, or not scored this run
            return found
        if (mine.get("kind"), mine.get("path")) != (theirs.get("kind"), theirs.get("path")):
            found.append(
                f"the examples source changed ({describe_examples(mine)} in the database, {describe_examples(theirs)} now)"
            )
        elif mine.get("fingerprint") != theirs.get("fingerprint") or mine.get("count") != theirs.get("count"):
            found.append(
                f"the examples folder changed since the atlas was made ({mine.get('count')} images then, "
                f"{theirs.get('count')} now, or files added, removed or modified)"
            )
        return found


def describe_examples(examples: Mapping) -> str:
    kind = examples.get("kind")
    if kind == "folder":
        return f"folder {examples.get('path')!r}"
    return "the bundled photographs" if kind == "skimage" else "none"


@dataclass(frozen=True)
class RenderClaim:
    """Renders of units of one layer with one recipe, claimed together (rendered as one task)."""

    layer: str
    layer_index: int
    recipe: str
    render_ids: tuple[int, ...]
    channels: tuple[int, ...]  # 1-based


@dataclass(frozen=True)
class ExampleClaim:
    """Examples work of one chunk: its rows, the layers and their output tensors."""

    chunk: int
    work_ids: tuple[int, ...]
    layers: tuple[str, ...]
    outputs: tuple[str, ...]


def database_path(folder: str | os.PathLike) -> Path:
    return Path(folder) / DATABASE_NAME


def _read_only_connection(path: Path) -> sqlite3.Connection:
    """A connection that leaves no trace: without a live WAL file (no writer open), the file is opened as
    immutable, because a read-only WAL reader would otherwise create the ``-shm``/``-wal`` side files."""
    if Path(f"{path}-wal").exists():
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, timeout=60)


_JOB_COLUMNS = "model_path, model_sha256, seed, package_version, network_json, examples_json"


def _job_from(connection: sqlite3.Connection) -> Optional[JobRecord]:
    row = connection.execute(f"SELECT {_JOB_COLUMNS} FROM job").fetchone()
    if row is None:
        return None
    recipes = {
        name: json.loads(params)
        for name, params in connection.execute("SELECT name, params_json FROM recipes ORDER BY position")
    }
    return JobRecord(row[0], row[1], int(row[2]), row[3], json.loads(row[4]), json.loads(row[5]), recipes)


def _check_version(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{path} has database schema {version}, newer than this package's {SCHEMA_VERSION}; "
            "use a newer deepdreamport or another --out folder",
            "out",
        )
    if 0 < version < SCHEMA_VERSION:
        raise StateError(
            f"{path} was made by an older deepdreamport (database schema {version}, this package's is "
            f"{SCHEMA_VERSION}); pass --new to replace it, or use another --out folder",
            "out",
        )


def read_existing_job(folder: str | os.PathLike, *, allow_old: bool = False) -> Optional[JobRecord]:
    """The job of an existing database, read without writing anything; ``None`` when there is none.

    Raises :class:`StateError` for a database of another schema (an older one is ``None`` with
    ``allow_old``: it is about to be replaced) or a file that is not an atlas database.
    """
    path = database_path(folder)
    if not path.exists():
        return None
    try:
        connection = _read_only_connection(path)
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version < 1:
                raise StateError(f"{path} is not an atlas database (schema version {version})", "out")
            if allow_old and version < SCHEMA_VERSION:
                return None
            _check_version(version, path)
            return _job_from(connection)
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise StateError(f"{path} cannot be read as an atlas database ({exc})", "out") from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class AtlasState:
    """An open atlas database; one per process (sqlite connections are not shared across processes).

    ``replace_old``: a database of an older schema is dropped and made afresh (``--new``).
    """

    def __init__(self, folder: str | os.PathLike, *, replace_old: bool = False):
        self.folder = Path(folder)
        self.path = database_path(folder)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 60000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._transaction():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if 0 < version < SCHEMA_VERSION and replace_old:
                tables = [row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                for table in tables:
                    self._db.execute(f'DROP TABLE IF EXISTS "{table}"')
                version = 0
            if version == 0:
                # one statement at a time: executescript would commit the open transaction
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            else:
                _check_version(version, self.path)
                self._db.execute(_REFUSED_TABLE)
            self._db.execute(
                "INSERT OR REPLACE INTO owners (owner, host, pid, heartbeat) VALUES (?, ?, ?, ?)",
                (self.owner, socket.gethostname(), os.getpid(), time.time()),
            )
        self._last_heartbeat = time.time()
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS selected_renders (id INTEGER PRIMARY KEY)")
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS selected_layers (layer TEXT PRIMARY KEY)")

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
        return _job_from(self._db)

    def start_job(self, record: JobRecord, *, replace: bool) -> None:
        """Record ``record`` as the job and add its recipes not yet known; with ``replace``, forget everything first."""
        with self._transaction() as db:
            if replace:
                for table in _TABLES:
                    if table != "owners":
                        db.execute(f"DELETE FROM {table}")
            if db.execute("SELECT COUNT(*) FROM job").fetchone()[0] == 0:
                db.execute(
                    "INSERT INTO job VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.model_path,
                        record.model_sha256,
                        record.seed,
                        record.package_version,
                        json.dumps(record.network, sort_keys=True),
                        json.dumps(record.examples, sort_keys=True),
                        time.time(),
                    ),
                )
            else:  # the layer facts may cover more layers now; examples may be added to an atlas without
                db.execute("UPDATE job SET network_json = ?", (json.dumps(record.network, sort_keys=True),))
                if (
                    record.examples.get("kind") != "none"
                    and json.loads(db.execute("SELECT examples_json FROM job").fetchone()[0]).get("kind") == "none"
                ):
                    db.execute("UPDATE job SET examples_json = ?", (json.dumps(record.examples, sort_keys=True),))
            position = db.execute("SELECT COALESCE(MAX(position), -1) FROM recipes").fetchone()[0]
            for name, params in record.recipes.items():
                if db.execute("SELECT 1 FROM recipes WHERE name = ?", (name,)).fetchone() is None:
                    position += 1
                    db.execute(
                        "INSERT INTO recipes VALUES (?, ?, ?)", (name, json.dumps(params, sort_keys=True), position)
                    )

    # -- units, renders and examples work --------------------------------------------------
    def add_renders(self, pairs: Iterable[tuple]) -> None:
        """Insert the ``(unit, recipe)`` pairs: their units (``.layer``, ``.layer_index``, ``.layer_type``,
        ``.channel``) and one render each (a recipe that cannot take a unit's layer has no pair)."""
        pairs = list(pairs)
        units = list(dict.fromkeys(unit for unit, _ in pairs))
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO units (layer, layer_index, layer_type, channel) VALUES (?, ?, ?, ?)",
                [(u.layer, u.layer_index, u.layer_type, u.channel) for u in units],
            )
            db.executemany(
                "INSERT OR IGNORE INTO renders (unit_id, recipe) SELECT id, ? FROM units WHERE layer = ? AND channel = ?",
                [(recipe, u.layer, u.channel) for u, recipe in pairs],
            )

    def drop_unfinished(self, layer_recipes: Iterable[tuple[str, str]]) -> int:
        """Remove the renders of ``(layer, recipe)`` that are not done (an older atlas planned renders of
        layers a recipe cannot take; they could only fail); returns how many were removed."""
        with self._transaction() as db:
            removed = sum(
                db.execute(
                    "DELETE FROM renders WHERE recipe = ? AND status != 'done' AND unit_id IN "
                    "(SELECT id FROM units WHERE layer = ?)",
                    (recipe, layer),
                ).rowcount
                for layer, recipe in layer_recipes
            )
            db.execute("DELETE FROM refused WHERE work = 'renders' AND id NOT IN (SELECT id FROM renders)")
            return removed

    def add_example_items(self, items: Iterable, batch: int = 5000) -> int:
        """Record the example items (``.number``, ``.source``, ``.box``) if none are recorded yet; returns the count."""
        with self._transaction() as db:
            known = db.execute("SELECT COUNT(*) FROM example_items").fetchone()[0]
            if known:
                return known
            count = 0
            rows = []
            for item in items:
                rows.append((item.number, item.source, json.dumps(item.box) if item.box is not None else None))
                if len(rows) >= batch:
                    db.executemany("INSERT INTO example_items VALUES (?, ?, ?)", rows)
                    count += len(rows)
                    rows = []
            db.executemany("INSERT INTO example_items VALUES (?, ?, ?)", rows)
            return count + len(rows)

    def example_items(self, first: int, count: int) -> list[tuple[int, str, Optional[tuple]]]:
        """Items ``first`` … ``first + count − 1``: ``(number, source, box)``."""
        return [
            (number, source, tuple(json.loads(box)) if box else None)
            for number, source, box in self._db.execute(
                "SELECT id, source, box_json FROM example_items WHERE id >= ? AND id < ? ORDER BY id",
                (first, first + count),
            )
        ]

    def add_example_work(self, layers: Sequence[tuple[str, str]], chunks: int) -> None:
        """One row per (layer, chunk) for ``layers`` (``(name, output tensor)``) not yet known."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO example_work (layer, output, chunk) VALUES (?, ?, ?)",
                [(name, output, chunk) for name, output in layers for chunk in range(chunks)],
            )

    def select(self, pairs: Iterable[tuple], example_layers: Sequence[str] = ()) -> int:
        """Restrict claims and counts of this connection to the renders of these ``(unit, recipe)`` pairs and
        the examples work of these layers; returns the renders."""
        with self._transaction() as db:
            db.execute("DELETE FROM temp.selected_renders")
            db.execute("DELETE FROM temp.selected_layers")
            db.executemany(
                "INSERT OR IGNORE INTO temp.selected_renders (id) SELECT renders.id FROM renders "
                "JOIN units ON units.id = renders.unit_id WHERE layer = ? AND channel = ? AND recipe = ?",
                [(u.layer, u.channel, recipe) for u, recipe in pairs],
            )
            db.executemany(
                "INSERT OR IGNORE INTO temp.selected_layers VALUES (?)", [(name,) for name in example_layers]
            )
            return db.execute("SELECT COUNT(*) FROM temp.selected_renders").fetchone()[0]

    def select_all(self) -> int:
        with self._transaction() as db:
            db.execute("DELETE FROM temp.selected_renders")
            db.execute("DELETE FROM temp.selected_layers")
            db.execute("INSERT INTO temp.selected_renders (id) SELECT id FROM renders")
            db.execute("INSERT OR IGNORE INTO temp.selected_layers SELECT DISTINCT layer FROM example_work")
            return db.execute("SELECT COUNT(*) FROM temp.selected_renders").fetchone()[0]

    def counts(self) -> dict[str, int]:
        """Selected renders by status."""
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM renders JOIN temp.selected_renders USING (id) GROUP BY status"
        ).fetchall()
        return {status: count for status, count in rows}

    def example_counts(self) -> dict[str, int]:
        """Selected examples work by status."""
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM example_work JOIN temp.selected_layers USING (layer) GROUP BY status"
        ).fetchall()
        return {status: count for status, count in rows}

    def claimable(self, max_attempts: int) -> int:
        """Selected renders and examples work that a claim could take now."""
        renders = self._db.execute(
            f"SELECT COUNT(*) FROM renders JOIN temp.selected_renders USING (id) WHERE {_retryable('renders')}",
            (max_attempts,),
        ).fetchone()[0]
        examples = self._db.execute(
            "SELECT COUNT(*) FROM example_work JOIN temp.selected_layers USING (layer) "
            f"WHERE {_retryable('example_work')}",
            (max_attempts,),
        ).fetchone()[0]
        return renders + examples

    def heartbeat(self, every_s: float = 5.0) -> None:
        now = time.time()
        if now - self._last_heartbeat >= every_s:
            with self._transaction() as db:
                db.execute("UPDATE owners SET heartbeat = ? WHERE owner = ?", (now, self.owner))
            self._last_heartbeat = now

    def recover_abandoned(self) -> int:
        """Hand back work claimed by processes that are gone (dead pid on this host, or silent too long)."""
        host = socket.gethostname()
        with self._transaction() as db:
            owners = {row[0]: row for row in db.execute("SELECT owner, host, pid, heartbeat FROM owners")}
            claimed_by = {
                row[0]
                for table in _WORK_TABLES
                for row in db.execute(f"SELECT DISTINCT owner FROM {table} WHERE status = 'running'")
            }
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
                for table in _WORK_TABLES:
                    # the attempt did not fail on its own: it is not counted against the work
                    recovered += db.execute(
                        f"UPDATE {table} SET status = 'pending', owner = NULL, worker = NULL, started = NULL, "
                        "attempts = MAX(attempts - 1, 0) WHERE status = 'running' AND owner IS ?",
                        (owner,),
                    ).rowcount
                db.execute("DELETE FROM owners WHERE owner IS ?", (owner,))
        return recovered

    def _take(self, db, table: str, ids: Sequence[int], worker: str) -> None:
        now = time.time()
        db.executemany(
            f"UPDATE {table} SET status = 'running', owner = ?, worker = ?, attempts = attempts + 1, "
            "started = ?, finished = NULL, error = NULL WHERE id = ?",
            [(self.owner, worker, now, work_id) for work_id in ids],
        )

    def claim_renders(self, max_units: int, worker: str, max_attempts: int) -> Optional[RenderClaim]:
        """Claim up to ``max_units`` selected renders of one layer and one recipe (pending, or failed with
        attempts left), in layer, recipe and channel order."""
        claimable = _retryable("renders", "r")
        with self._transaction() as db:
            first = db.execute(
                "SELECT u.layer, u.layer_index, r.recipe FROM renders r JOIN temp.selected_renders s ON s.id = r.id "
                f"JOIN units u ON u.id = r.unit_id JOIN recipes p ON p.name = r.recipe WHERE {claimable} "
                "ORDER BY u.layer_index, p.position, u.channel LIMIT 1",
                (max_attempts,),
            ).fetchone()
            if first is None:
                return None
            layer, layer_index, recipe = first
            rows = db.execute(
                "SELECT r.id, u.channel FROM renders r JOIN temp.selected_renders s ON s.id = r.id "
                f"JOIN units u ON u.id = r.unit_id WHERE u.layer = ? AND r.recipe = ? AND {claimable} "
                "ORDER BY u.channel LIMIT ?",
                (layer, recipe, max_attempts, max_units),
            ).fetchall()
            self._take(db, "renders", [row[0] for row in rows], worker)
        return RenderClaim(layer, layer_index, recipe, tuple(r[0] for r in rows), tuple(r[1] for r in rows))

    def claim_examples(self, worker: str, max_attempts: int) -> Optional[ExampleClaim]:
        """Claim every selected layer's examples work of the first chunk that has some left."""
        claimable = _retryable("example_work")
        with self._transaction() as db:
            first = db.execute(
                f"SELECT chunk FROM example_work JOIN temp.selected_layers USING (layer) WHERE {claimable} "
                "ORDER BY chunk LIMIT 1",
                (max_attempts,),
            ).fetchone()
            if first is None:
                return None
            rows = db.execute(
                "SELECT example_work.id, example_work.layer, output FROM example_work "
                f"JOIN temp.selected_layers USING (layer) WHERE chunk = ? AND {claimable} ORDER BY example_work.id",
                (first[0], max_attempts),
            ).fetchall()
            self._take(db, "example_work", [row[0] for row in rows], worker)
        return ExampleClaim(first[0], tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows))

    def mark_render_done(
        self,
        render_id: int,
        *,
        worker: str,
        seconds: float,
        activation: Optional[float],
        dead: bool,
        image_path: str,
        image_sha256: str,
        curve: Sequence[float],
        options: Optional[Mapping] = None,
    ) -> bool:
        """Record a finished render (its image already in place); ``False`` if this process no longer holds it."""
        with self._transaction() as db:
            return (
                db.execute(
                    "UPDATE renders SET status = 'done', worker = ?, finished = ?, seconds = ?, activation = ?, "
                    "dead = ?, image_path = ?, image_sha256 = ?, curve_json = ?, options_json = ?, error = NULL "
                    "WHERE id = ? AND owner = ? AND status = 'running'",
                    (
                        worker,
                        time.time(),
                        seconds,
                        activation,
                        int(bool(dead)),
                        image_path,
                        image_sha256,
                        json.dumps([float(v) for v in curve]),
                        json.dumps(dict(options or {}), sort_keys=True),
                        render_id,
                        self.owner,
                    ),
                ).rowcount
                == 1
            )

    def mark_examples_done(
        self,
        work_ids: Sequence[int],
        chunk: int,
        layers: Mapping[str, LayerExamples],
        *,
        worker: str,
        seconds: float,
        read: int,
        unreadable: Sequence[tuple[int, str]],
        converted: int,
        network_seconds: float = 0.0,
    ) -> int:
        """Merge a chunk's summaries into their layers' and mark its work done, in one transaction.

        Only rows this process still holds are merged (a chunk is never counted twice); returns how many.
        """
        with self._transaction() as db:
            held = db.execute(
                f"SELECT id, layer FROM example_work WHERE id IN ({','.join('?' * len(work_ids))}) "
                "AND owner = ? AND status = 'running'",
                (*work_ids, self.owner),
            ).fetchall()
            for _, layer in held:
                part = layers.get(layer)
                row = db.execute("SELECT state, chunks FROM layer_examples WHERE layer = ?", (layer,)).fetchone()
                if part is None:  # every item of the chunk was unreadable
                    merged = LayerExamples.from_bytes(row[0]) if row else None
                else:
                    merged = part if row is None else LayerExamples.from_bytes(row[0]).merge(part)
                if merged is not None:
                    db.execute(
                        "INSERT OR REPLACE INTO layer_examples VALUES (?, ?, ?)",
                        (layer, merged.to_bytes(), (row[1] if row else 0) + 1),
                    )
            now = time.time()
            db.executemany(
                "UPDATE example_work SET status = 'done', worker = ?, finished = ?, seconds = ?, error = NULL "
                "WHERE id = ?",
                [(worker, now, seconds, work_id) for work_id, _ in held],
            )
            if held:
                db.execute(
                    "INSERT OR REPLACE INTO example_chunks VALUES (?, ?, ?, ?, ?, ?)",
                    (chunk, read, len(unreadable), converted, seconds, network_seconds),
                )
                db.executemany(
                    "INSERT OR REPLACE INTO example_skipped VALUES (?, ?)",
                    [(item, reason[:300]) for item, reason in unreadable],
                )
        return len(held)

    def mark_failed(self, table: str, ids: Sequence[int], error: str, *, refused: bool = False) -> None:
        """Record a failed attempt (its count is the attempts made); ``refused``: the package refused the
        work (a ``DeepDreamError``), so it is not claimed again, whatever attempts are left."""
        if table not in _WORK_TABLES:
            raise ValueError(table)
        with self._transaction() as db:
            db.executemany(
                f"UPDATE {table} SET status = 'failed', finished = ?, error = ? "
                "WHERE id = ? AND owner = ? AND status = 'running'",
                [(time.time(), error[:2000], work_id, self.owner) for work_id in ids],
            )
            if refused:
                db.executemany(
                    f"INSERT OR IGNORE INTO refused (work, id) SELECT ?, id FROM {table} "
                    "WHERE id = ? AND owner = ? AND status = 'failed'",
                    [(table, work_id, self.owner) for work_id in ids],
                )

    def release_all(self) -> int:
        """Give back all work this process holds (interrupted: a signal can land between a claim
        and its bookkeeping, so the owner column, not the caller's list, says what is held)."""
        with self._transaction() as db:
            return sum(
                db.execute(
                    f"UPDATE {table} SET status = 'pending', owner = NULL, worker = NULL, started = NULL, "
                    "attempts = MAX(attempts - 1, 0) WHERE owner = ? AND status = 'running'",
                    (self.owner,),
                ).rowcount
                for table in _WORK_TABLES
            )

    def reset_renders(self, render_ids: Sequence[int], reason: str) -> None:
        """Send done renders back to be rendered again (their image is missing or corrupt)."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE renders SET status = 'pending', attempts = 0, owner = NULL, error = ? WHERE id = ?",
                [(reason, render_id) for render_id in render_ids],
            )
            db.executemany(
                "DELETE FROM refused WHERE work = 'renders' AND id = ?", [(render_id,) for render_id in render_ids]
            )

    def render_rows(self, where: str = "", parameters: Sequence = ()) -> list[sqlite3.Row]:
        """Render rows joined with their unit, in layer, recipe and channel order (``where``: an SQL condition)."""
        return _render_rows(self._db, where, parameters)


_RENDER_QUERY = (
    "SELECT r.*, u.layer, u.layer_index, u.layer_type, u.channel FROM renders r "
    "JOIN units u ON u.id = r.unit_id JOIN recipes p ON p.name = r.recipe {where} "
    "ORDER BY u.layer_index, p.position, u.channel"
)


def _render_rows(connection: sqlite3.Connection, where: str = "", parameters: Sequence = ()) -> list:
    previous = connection.row_factory
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(_RENDER_QUERY.format(where=f"WHERE {where}" if where else ""), parameters).fetchall()
    finally:
        connection.row_factory = previous


@dataclass
class Snapshot:
    """Everything the gallery shows, read without writing (one consistent read transaction)."""

    job: JobRecord
    renders: list[dict]
    layer_examples: dict  # layer → LayerExamples
    example_chunks: dict  # chunk → (read, unreadable, converted)
    example_work: dict  # layer → {status: count}
    items: dict  # item number → (source, box) for the items the layers' top-k name


def read_snapshot(folder: str | os.PathLike) -> Snapshot:
    """The state of the atlas in ``folder`` for the gallery (read-only; leaves no file behind)."""
    connection = _read_only_connection(database_path(folder))
    try:
        connection.execute("BEGIN")
        job = _job_from(connection)
        renders = [dict(row) for row in _render_rows(connection)]
        layer_examples = {
            layer: LayerExamples.from_bytes(state)
            for layer, state in connection.execute("SELECT layer, state FROM layer_examples")
        }
        chunks = {
            row[0]: tuple(row[1:])
            for row in connection.execute("SELECT chunk, read, unreadable, converted FROM example_chunks")
        }
        work: dict = {}
        for layer, status, count in connection.execute(
            "SELECT layer, status, COUNT(*) FROM example_work GROUP BY layer, status"
        ):
            work.setdefault(layer, {})[status] = count
        wanted = sorted({int(i) for summary in layer_examples.values() for i in summary.items.ravel() if i >= 0})
        items = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            for number, source, box in connection.execute(
                f"SELECT id, source, box_json FROM example_items WHERE id IN ({','.join('?' * len(part))})", part
            ):
                items[number] = (source, tuple(json.loads(box)) if box else None)
        connection.execute("COMMIT")
    finally:
        connection.close()
    return Snapshot(job, renders, layer_examples, chunks, work, items)
