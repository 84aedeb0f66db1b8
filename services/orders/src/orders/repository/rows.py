"""Records to the domain's frozen rows, and pages of them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Generic, TypeVar

import asyncpg

from shared.pagination import encode_cursor

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


RowT = TypeVar("RowT", bound="DataclassInstance")
ItemT = TypeVar("ItemT")
KeyT = TypeVar("KeyT", bound=Hashable)


def typed(cls: type[RowT], record: asyncpg.Record) -> RowT:
    """The record's columns that `cls` has fields for; the others (seq, version...) stay behind."""
    names = {f.name for f in fields(cls)}
    return cls(**{key: value for key, value in record.items() if key in names})


def typed_or_none(cls: type[RowT], record: asyncpg.Record | None) -> RowT | None:
    return typed(cls, record) if record is not None else None


@dataclass(frozen=True)
class Page(Generic[ItemT]):
    """Rows newest first, and the seq to read on before when there are more."""

    items: list[ItemT]
    next_before_seq: int | None

    @property
    def next_cursor(self) -> str | None:
        return encode_cursor(self.next_before_seq) if self.next_before_seq is not None else None


def grouped(rows: Iterable[ItemT], key: Callable[[ItemT], KeyT]) -> dict[KeyT, list[ItemT]]:
    """Rows by their owner's id, each list in the order read; a missing key gives []."""
    result: dict[KeyT, list[ItemT]] = defaultdict(list)
    for row in rows:
        result[key(row)].append(row)
    return result


def page_of(cls: type[RowT], records: list[asyncpg.Record], limit: int) -> Page[RowT]:
    """`records` were fetched with `limit + 1`, so one more than a page says there are more."""
    shown = records[:limit]
    more = len(records) > limit
    return Page([typed(cls, r) for r in shown], shown[-1]["seq"] if more else None)
