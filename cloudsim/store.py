"""State of the simulated cloud: a small document store on SQLite.

Every object (user, group, service principal, grant, ACS assignment, ...) is one JSON
document keyed by (kind, scope, id); scope is a tenant id, or an ACS resource name for
assignments. One connection guarded by a lock: the server is threaded, SQLite is not.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Doc = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, scope TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (kind, scope, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    def __init__(self, path: Path | str) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._in_tx = False

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Group writes atomically; nested calls join the outer transaction."""
        with self._lock:
            if self._in_tx:
                yield self
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._in_tx = True
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._in_tx = False

    # meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # objects ----------------------------------------------------------------------------
    def get(self, kind: str, scope: str, id_: str) -> Doc | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc FROM objects WHERE kind=? AND scope=? AND id=?", (kind, scope, id_)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def get_many(self, kind: str, scope: str, ids: Iterable[str]) -> dict[str, Doc]:
        """The documents of ``ids`` that exist, by id, in one query per 500 ids."""
        wanted, found = list(ids), {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT id, doc FROM objects WHERE kind=? AND scope=? AND id IN ({marks})",  # noqa: S608 (placeholders only)
                    (kind, scope, *chunk),
                ).fetchall()
                found.update((id_, json.loads(doc)) for id_, doc in rows)
        return found

    def delete_many(self, kind: str, scope: str, ids: Iterable[str]) -> None:
        with self.transaction():
            self._db.executemany(
                "DELETE FROM objects WHERE kind=? AND scope=? AND id=?",
                [(kind, scope, id_) for id_ in ids],
            )

    def put(self, kind: str, scope: str, id_: str, doc: Doc) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO objects(kind, scope, id, doc) VALUES (?, ?, ?, ?)",
                (kind, scope, id_, json.dumps(doc)),
            )

    def put_many(self, kind: str, scope: str, docs: Iterable[tuple[str, Doc]]) -> None:
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO objects(kind, scope, id, doc) VALUES (?, ?, ?, ?)",
                [(kind, scope, id_, json.dumps(doc)) for id_, doc in docs],
            )

    def delete(self, kind: str, scope: str, id_: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM objects WHERE kind=? AND scope=? AND id=?", (kind, scope, id_)
            )
        return cur.rowcount > 0

    def list(self, kind: str, scope: str) -> list[Doc]:
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM objects WHERE kind=? AND scope=? ORDER BY id", (kind, scope)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def page(self, kind: str, scope: str, after: str, limit: int) -> list[Doc]:
        """Keyset page: documents whose id sorts after `after`, in id order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM objects WHERE kind=? AND scope=? AND id>? ORDER BY id LIMIT ?",
                (kind, scope, after, limit),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, kind: str, scope: str) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM objects WHERE kind=? AND scope=?", (kind, scope)
            ).fetchone()[0]

    def scopes(self, kind: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT scope FROM objects WHERE kind=? ORDER BY scope", (kind,)
            ).fetchall()
        return [r[0] for r in rows]

    def clear(self) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM objects")
            self._db.execute("DELETE FROM meta WHERE key NOT LIKE 'key:%'")
