"""In-memory tables of one Odoo database, with an undo journal that makes each call atomic."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]


class Table:
    """The stored rows of one model, keyed by id, with hash indexes on a few columns."""

    __slots__ = ("indexes", "journal", "model", "next_id", "rows")

    def __init__(self, model: str, indexed: Iterable[str], journal: Journal) -> None:
        self.model = model
        self.rows: dict[int, Row] = {}
        self.next_id = 1
        self.indexes: dict[str, dict[Any, set[int]]] = {name: {} for name in indexed}
        self.journal = journal

    def allocate_id(self) -> int:
        # Like a Postgres sequence, an id handed out is never reused even if the call rolls back.
        new_id = self.next_id
        self.next_id += 1
        return new_id

    def get(self, record_id: Any) -> Row | None:
        return self.rows.get(record_id)

    def insert(self, record_id: int, row: Row) -> None:
        self.journal.remember(self, record_id, None)
        self._store(record_id, row)

    def update(self, record_id: int, values: Row) -> None:
        """Replace some columns; a column set to None is removed (rows are sparse)."""
        old = self.rows[record_id]
        self.journal.remember(self, record_id, old)
        new = dict(old)
        for key, value in values.items():
            if value is None:
                new.pop(key, None)
            else:
                new[key] = value
        self._store(record_id, new)

    def update_untracked(self, record_id: int, values: Row) -> None:
        """Change a row outside the journal, for counters that never roll back (as sequences)."""
        self._store(record_id, {**self.rows[record_id], **values})

    def delete(self, record_id: int) -> None:
        old = self.rows.get(record_id)
        if old is None:
            return
        self.journal.remember(self, record_id, old)
        self._unindex(record_id, old)
        del self.rows[record_id]

    def ids_where(self, column: str, value: Any) -> set[int]:
        return self.indexes[column].get(value, set())

    def restore(self, record_id: int, row: Row | None) -> None:
        current = self.rows.get(record_id)
        if current is not None:
            self._unindex(record_id, current)
            del self.rows[record_id]
        if row is not None:
            self._store(record_id, row)

    def _store(self, record_id: int, row: Row) -> None:
        # Rows are never mutated in place, so the journal can keep the old dict as the undo copy.
        current = self.rows.get(record_id)
        if current is not None:
            self._unindex(record_id, current)
        self.rows[record_id] = row
        for column, index in self.indexes.items():
            value = row.get(column)
            if value is not None:
                index.setdefault(value, set()).add(record_id)

    def _unindex(self, record_id: int, row: Row) -> None:
        for column, index in self.indexes.items():
            value = row.get(column)
            if value is not None:
                ids = index.get(value)
                if ids is not None:
                    ids.discard(record_id)
                    if not ids:
                        del index[value]


@dataclass
class Journal:
    """Old versions of the rows a call touched, so that an error can put them all back."""

    active: bool = False
    entries: list[tuple[Table, int, Row | None]] = field(default_factory=list)
    seen: set[tuple[str, int]] = field(default_factory=set)

    def remember(self, table: Table, record_id: int, old: Row | None) -> None:
        if not self.active:
            return
        key = (table.model, record_id)
        if key in self.seen:
            return
        self.seen.add(key)
        self.entries.append((table, record_id, old))

    def rollback(self) -> None:
        for table, record_id, old in reversed(self.entries):
            table.restore(record_id, old)
        self.clear()

    def clear(self) -> None:
        self.entries.clear()
        self.seen.clear()


@dataclass
class Credentials:
    """Passwords and API keys, kept out of the readable res.users rows as Odoo keeps them."""

    passwords: dict[int, str] = field(default_factory=dict)
    api_keys: dict[str, int] = field(default_factory=dict)

    def accepts(self, uid: int, secret: str) -> bool:
        if not isinstance(secret, str) or not secret:
            return False
        return self.passwords.get(uid) == secret or self.api_keys.get(secret) == uid


class Database:
    """One Odoo database: a table per model, credentials and the call-level journal."""

    def __init__(self, name: str, indexed_columns: dict[str, tuple[str, ...]]) -> None:
        self.name = name
        self.journal = Journal()
        self.tables = {
            model: Table(model, columns, self.journal) for model, columns in indexed_columns.items()
        }
        self.credentials = Credentials()

    def table(self, model: str) -> Table:
        return self.tables[model]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing, like the one Postgres transaction Odoo runs each RPC call in."""
        self.journal.clear()
        self.journal.active = True
        try:
            yield
        except BaseException:
            self.journal.rollback()
            raise
        finally:
            self.journal.active = False
            self.journal.clear()
