"""The run store's SQLite file: its schema and migrations, safe creation, connections, and fault messages.

``cert_core.runs.store.RunStore`` (the queries) is a ``StoreFile``. Guarantees:

* **Faults are told, not thrown.** Every SQLite failure (a read-only or damaged file, ``/dev/null``, a busy
  lock) is a ``StoreError`` (a ValueError) naming the file and what to do. The store never initialises or writes into a file that
  is not a run store: a new store is created under a temporary name and linked into place, so an
  existing zero-byte file or another application's SQLite file is refused.

The schema version lives in ``PRAGMA user_version``; a file from a newer version is refused and an
older one is migrated in place (version 1 -> 2 adds the nullable columns sigma and root_radius,
2 -> 3 adds samples).
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import sqlite3
import stat
import threading
import time

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '', spec TEXT NOT NULL, total INTEGER NOT NULL,
    status TEXT NOT NULL, device TEXT NOT NULL DEFAULT '', notes TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '', versions TEXT NOT NULL DEFAULT '{}',
    cancel INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, started REAL, finished REAL);
CREATE TABLE IF NOT EXISTS examples (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    label INTEGER NOT NULL, prediction INTEGER NOT NULL, radius REAL NOT NULL, p_lower REAL NOT NULL,
    correct INTEGER NOT NULL, base_prediction INTEGER NOT NULL, seconds REAL NOT NULL,
    rank INTEGER NOT NULL DEFAULT 0, finished_at REAL NOT NULL, sigma REAL, root_radius REAL, samples REAL,
    PRIMARY KEY (run_id, idx));
CREATE TABLE IF NOT EXISTS workers (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, rank INTEGER NOT NULL,
    world_size INTEGER NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, heartbeat REAL NOT NULL,
    PRIMARY KEY (run_id, rank));
"""
_MIGRATIONS = {1: ("ALTER TABLE examples ADD COLUMN sigma REAL",            # version 1 -> 2
                   "ALTER TABLE examples ADD COLUMN root_radius REAL"),
               2: ("ALTER TABLE examples ADD COLUMN samples REAL",)}                    # version 2 -> 3


class StoreError(ValueError):
    """The run store file cannot be used; the message names the file and what to do."""


_OURS = {"runs", "examples", "workers", "sqlite_sequence"}
_ELSEWHERE = "use another store (--store FILE, or the CERT_EXPLORER_RUNS variable)"


class StoreFile:
    """One run store file at ``path``, created (safely) if missing, checked and migrated to ``SCHEMA_VERSION`` when
    opened. ``connect`` opens a short-lived connection (``write``: one ``BEGIN IMMEDIATE`` transaction)."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"The run store folder {self.path.parent} cannot be created ({exc}); {_ELSEWHERE}.") from None
        if not self.path.exists() and not self.path.is_symlink():
            self._create()
        self._check_file()
        with self.connect() as con:
            self._migrate(con)

    def _create(self) -> None:
        """A new store: built under a temporary name, then linked into place only if nothing is there yet, so a
        crash never leaves a half-made file and a file someone else just made is never overwritten."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.new")
        try:
            con = sqlite3.connect(tmp, isolation_level=None)
            try:
                con.executescript(_SCHEMA + f";PRAGMA user_version = {SCHEMA_VERSION};")
            finally:
                con.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass                          # another process created it meanwhile: use theirs
            except OSError:                   # no hard links here (some network or FAT file systems)
                if not self.path.exists():
                    os.replace(tmp, self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"The run store {self.path} cannot be created ({exc}); make its folder writable or "
                             f"{_ELSEWHERE}.") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _check_file(self) -> None:
        try:
            info = self.path.stat()
        except OSError as exc:
            raise StoreError(f"The run store {self.path} cannot be read ({exc}); {_ELSEWHERE}.") from None
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"The run store {self.path} is not a regular file (a device, folder or pipe); {_ELSEWHERE}.")
        wal = self.path.with_name(self.path.name + "-wal")
        if info.st_size == 0 and not (wal.exists() and wal.stat().st_size > 0):
            raise StoreError(f"{self.path} is an empty file, not a run store; nothing was written into it. Delete it "
                             f"(a new store is then created there) or {_ELSEWHERE}.")

    def _explain(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc).lower()
        if "readonly" in text or "read-only" in text or "read only" in text:
            what = "is read-only: make the file and its folder writable, or " + _ELSEWHERE
        elif "not a database" in text:
            what = "is not a run store (not a SQLite file, or its header is damaged); nothing was written into it: " + _ELSEWHERE
        elif "malformed" in text or "corrupt" in text:
            what = (f"is damaged: move it aside (`sqlite3 {self.path} .recover` may save finished runs) and start "
                    f"a new store, or " + _ELSEWHERE)
        elif "locked" in text or "busy" in text:
            what = "is locked by another program for over a minute: try again later, or " + _ELSEWHERE
        else:
            what = "cannot be used: check the file and its folder (disk full? permissions?), or " + _ELSEWHERE
        return StoreError(f"The run store {self.path} {what} (SQLite said: {exc}).")

    @contextlib.contextmanager
    def connect(self, write: bool = False):
        try:
            con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._explain(exc) from None
        try:
            con.execute("PRAGMA foreign_keys = ON")
            # WAL + NORMAL: a commit survives any process crash or kill (power loss may drop the last ones)
            con.execute("PRAGMA synchronous = NORMAL")
            if write:
                con.execute("BEGIN IMMEDIATE")   # take the write lock now: no upgrade deadlocks
            yield con
            if write:
                con.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                if con.in_transaction:
                    con.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._explain(exc) from None
            raise
        finally:
            con.close()

    def _migrate(self, con) -> None:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version > SCHEMA_VERSION:
            raise StoreError(f"The run store {self.path} has schema version {version}, newer than this "
                             f"program's {SCHEMA_VERSION}; update the program or use another store.")
        if (version == 0 and tables - _OURS) or (version > 0 and not {"runs", "examples", "workers"} <= tables):
            raise StoreError(f"{self.path} is a SQLite file of another application (tables: "
                             f"{', '.join(sorted(tables)) or 'none'}), not a run store; nothing was written into it. "
                             f"{_ELSEWHERE[0].upper() + _ELSEWHERE[1:]}.")
        if version > SCHEMA_VERSION:
            raise StoreError(f"The run store {self.path} has schema version {version}, newer than this "
                             f"program's {SCHEMA_VERSION}; update the program or use another store.")
        _use_wal(con)
        if version == SCHEMA_VERSION:
            return
        con.execute("BEGIN IMMEDIATE")
        try:     # re-read under the lock: another process may have created or migrated the file meanwhile
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:      # IF NOT EXISTS: a crashed creation may have left some tables
                statements = [t for t in _SCHEMA.split(";") if t.strip()]
            else:
                statements = [t for v in range(version, SCHEMA_VERSION) for t in _MIGRATIONS[v]]
            for statement in statements:
                con.execute(statement)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def _use_wal(con, attempts: int = 100) -> None:
    """Switch the file to write-ahead logging (persistent: readers never block the writer). The switch needs the
    file to itself, and SQLite answers "database is locked" at once, without its busy timeout, while another opener
    holds it (four threads opening an old store together met this), so it is retried for up to ~10 s."""
    for attempt in range(attempts):
        try:
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1)
