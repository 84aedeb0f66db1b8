"""A small ORM with Odoo's public model methods, field semantics and error texts."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from odoo_emulator.errors import (
    invalid_field,
    missing_error,
    validation_error,
    value_error,
)
from odoo_emulator.store import Row, Table

if TYPE_CHECKING:
    from odoo_emulator.behaviour import Behaviour
    from odoo_emulator.registry import Registry
    from odoo_emulator.store import Database

RELATIONAL = frozenset({"many2one", "one2many", "many2many"})
X2MANY = frozenset({"one2many", "many2many"})
MAGIC_FIELDS = frozenset(
    {"id", "display_name", "create_date", "write_date", "create_uid", "write_uid"}
)
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
NEGATIVE_OPERATORS = {"!=": "=", "not in": "in", "not like": "like", "not ilike": "ilike"}
TERM_OPERATORS = frozenset(
    {
        "=",
        "!=",
        "<=",
        "<",
        ">",
        ">=",
        "=?",
        "=like",
        "=ilike",
        "like",
        "not like",
        "ilike",
        "not ilike",
        "in",
        "not in",
        "child_of",
        "parent_of",
        "any",
        "not any",
    }
)

Compute = Callable[["Model", Row], Any]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a model, with just the attributes the emulator's behaviour depends on."""

    name: str
    type: str
    string: str
    relation: str | None = None
    inverse_name: str | None = None
    required: bool = False
    readonly: bool = False
    store: bool = True
    index: bool = False
    default: Any = None
    selection: tuple[tuple[str, str], ...] | None = None
    compute: Compute | None = None
    ondelete: str = "set null"
    # _inherits: the many2one on this model through which the value lives on the parent.
    delegated_to: str | None = None
    delegated_model: str | None = None
    # A many2many whose relation rows are kept on (model, field) of the other side.
    mirror_of: tuple[str, str] | None = None

    @property
    def stored_here(self) -> bool:
        return (
            self.store
            and self.compute is None
            and self.delegated_to is None
            and self.mirror_of is None
            and self.type != "one2many"
        )

    def description(self) -> dict[str, Any]:
        """The `fields_get` entry of this field."""
        info: dict[str, Any] = {
            "type": self.type,
            "string": self.string,
            "required": self.required,
            "readonly": self.readonly or (self.compute is not None and self.mirror_of is None),
            "store": self.store and self.compute is None,
            "searchable": True,
            "sortable": self.store and self.compute is None and self.type not in X2MANY,
            "manual": False,
            "company_dependent": False,
            "depends": [],
            "help": "",
        }
        if self.relation:
            info["relation"] = self.relation
            info["domain"] = []
            info["context"] = {}
        if self.type == "one2many":
            info["relation_field"] = self.inverse_name
        if self.selection is not None:
            info["selection"] = [list(item) for item in self.selection]
        return info


def public(api: str, versions: tuple[int, ...] | None = None) -> Callable[[F], F]:
    """Mark a method as callable over RPC; `api` is Odoo's decorator kind (model, records)."""

    def mark(func: F) -> F:
        func._rpc_api = api  # type: ignore[attr-defined]
        func._rpc_versions = versions  # type: ignore[attr-defined]
        return func

    return mark


def now_string() -> str:
    return datetime.now(UTC).strftime(DATETIME_FORMAT)


@dataclass
class Env:
    """What one RPC call runs with: the database, the user, the context, the server's version."""

    registry: Registry
    db: Database
    uid: int
    context: dict[str, Any]
    behaviour: Behaviour
    logs: list[str] = field(default_factory=list)
    _models: dict[str, Model] = field(default_factory=dict)

    def __getitem__(self, model: str) -> Model:
        instance = self._models.get(model)
        if instance is None:
            instance = self.registry.model_class(model)(self)
            self._models[model] = instance
        return instance

    def __contains__(self, model: str) -> bool:
        return self.registry.has_model(model)

    @property
    def version(self) -> int:
        return self.behaviour.version

    def release(self) -> None:
        self._models.clear()

    def log(self, message: str) -> None:
        """What Odoo would only write to its server log (the call log keeps it)."""
        self.logs.append(message)

    def with_context(self, **changes: Any) -> Env:
        return Env(
            self.registry, self.db, self.uid, {**self.context, **changes}, self.behaviour, self.logs
        )


class Model:
    """Odoo's BaseModel: the generic methods every model answers over RPC."""

    _name: ClassVar[str]
    _description: ClassVar[str]
    _order: ClassVar[str] = "id"
    _rec_name: ClassVar[str | None] = "name"
    _inherits: ClassVar[dict[str, str]] = {}

    def __init__(self, env: Env) -> None:
        self.env = env
        self.fields: dict[str, Field] = env.registry.fields(self._name)
        self.table: Table = env.db.table(self._name)

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        """The model's own fields in the given major version."""
        return []

    # ------------------------------------------------------------------ hooks for models

    def _prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        return vals

    def _after_create(self, ids: list[int]) -> None:
        """Constraints (Odoo's @api.constrains) and follow-up work after a create."""

    def _before_write(self, ids: list[int], vals: dict[str, Any]) -> dict[str, Any]:
        return vals

    def _after_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        """Constraints after a write."""

    def _check_unlink(self, ids: list[int]) -> None:
        """Odoo's @api.ondelete checks."""

    def display_name_of(self, row: Row) -> str:
        rec_name = self._rec_name
        if rec_name and rec_name in self.fields:
            value = self.raw(row, rec_name)
            if self.fields[rec_name].type == "many2one":
                relation = self.fields[rec_name].relation
                assert relation is not None
                return self.env[relation].display_name(value) if value else ""
            if value:
                return str(value)
        return f"{self._name},{row['id']}"

    # ------------------------------------------------------------------ record access

    def row(self, record_id: int) -> Row:
        """A record's row; reading a deleted record is a MissingError (browse(99).field)."""
        row = self.table.get(record_id) if isinstance(record_id, int) else None
        if row is None:
            raise missing_error(
                "Record does not exist or has been deleted.\n"
                f"(Record: {self._name}({record_id!r},), User: {self.env.uid})"
            )
        return row

    def exists_id(self, record_id: Any) -> bool:
        return isinstance(record_id, int) and self.table.get(record_id) is not None

    def display_name(self, record_id: int) -> str:
        row = self.table.get(record_id)
        return self.display_name_of(row) if row is not None else ""

    def raw(self, row: Row, name: str) -> Any:
        """A field's value in storage form: ids for relations, None when empty."""
        f = self.fields[name]
        if f.delegated_to is not None:
            parent_model = f.delegated_model
            assert parent_model is not None
            parent_id = row.get(f.delegated_to)
            parent = self.env[parent_model]
            parent_row = parent.table.get(parent_id) if parent_id else None
            return parent.raw(parent_row, name) if parent_row is not None else None
        if f.compute is not None:
            return f.compute(self, row)
        if f.type == "one2many":
            assert f.relation is not None
            assert f.inverse_name is not None
            return sorted(self.env.db.table(f.relation).ids_where(f.inverse_name, row["id"]))
        if f.mirror_of is not None:
            other_model, other_field = f.mirror_of
            return sorted(
                other_id
                for other_id, other_row in self.env.db.table(other_model).rows.items()
                if row["id"] in (other_row.get(other_field) or ())
            )
        if name == "display_name":
            return self.display_name_of(row)
        return row.get(name)

    def value(self, record_id: int, name: str) -> Any:
        return self.raw(self.row(record_id), name)

    def _convert_to_read(self, f: Field, value: Any, load: str | None) -> Any:
        kind = f.type
        if kind == "many2one":
            if not value:
                return False
            if load == "_classic_read":
                assert f.relation is not None
                return [value, self.env[f.relation].display_name(value)]
            return value
        if kind in X2MANY:
            if not value:
                return []
            assert f.relation is not None
            table = self.env.db.table(f.relation)
            return [i for i in value if i in table.rows]
        if kind == "boolean":
            return bool(value)
        if kind == "integer":
            return value or 0
        if kind in ("float", "monetary"):
            return float(value or 0.0)
        if value is None:
            return False
        return value

    # ------------------------------------------------------------------ value conversion

    def _convert_to_column(self, f: Field, value: Any) -> Any:
        kind = f.type
        if kind == "many2one":
            if value is False or value is None:
                return None
            if isinstance(value, list | tuple) and value:
                value = value[0]
            return int(value)
        if kind == "boolean":
            return bool(value)
        if kind == "integer":
            return int(value or 0)
        if kind in ("float", "monetary"):
            return float(value or 0.0)
        if value is False or value is None:
            return None
        if kind == "selection":
            assert f.selection is not None
            if value not in {key for key, _label in f.selection}:
                raise value_error(f"Wrong value for {self._name}.{f.name}: {value!r}")
            return value
        if kind == "datetime":
            text = value[:19] if isinstance(value, str) else value
            if isinstance(text, str) and len(text) == 10:
                text += " 00:00:00"
            return datetime.strptime(text, DATETIME_FORMAT).strftime(DATETIME_FORMAT)
        if kind == "date":
            text = value[:10] if isinstance(value, str) else value
            return datetime.strptime(text, DATE_FORMAT).strftime(DATE_FORMAT)
        if kind in ("char", "text", "html"):
            return str(value)
        return value

    def _not_null_violation(self, f: Field) -> Exception:
        return validation_error(
            "The operation cannot be completed:\n"
            "- Create/update: a mandatory field is not set.\n"
            "- Delete: another model requires the record being deleted. "
            "If possible, archive it instead.\n\n"
            f"Model: {self._description} ({self._name})\n"
            f"Field: {f.string} ({f.name})\n"
        )

    def _foreign_key_violation(self, f: Field) -> Exception:
        table = self._name.replace(".", "_")
        return validation_error(
            "The operation cannot be completed: another model requires the record being "
            "deleted. If possible, archive it instead.\n\n"
            f"Model: {self._description} ({self._name})\n"
            f"Constraint: {table}_{f.name}_fkey\n"
        )

    def _check_foreign_key(self, f: Field, value: Any) -> None:
        if value is None:
            return
        assert f.relation is not None
        if self.env.db.table(f.relation).get(value) is None:
            raise self._foreign_key_violation(f)

    def _check_fields_exist(self, vals: dict[str, Any]) -> None:
        for key in vals:
            if key not in self.fields:
                raise invalid_field(key, self._name)

    # ------------------------------------------------------------------ create

    @public("model_create")
    def create(self, vals_list: dict[str, Any] | list[dict[str, Any]]) -> int | list[int]:
        if isinstance(vals_list, dict):
            return self.create_records([vals_list])[0]
        return self.create_records(list(vals_list))

    def create_records(self, vals_list: Sequence[dict[str, Any]]) -> list[int]:
        ids = [self._create_one(dict(vals)) for vals in vals_list]
        self._after_create(ids)
        return ids

    def _create_one(self, vals: dict[str, Any]) -> int:
        self._check_fields_exist(vals)
        vals = self._prepare_create(vals)
        for name in MAGIC_FIELDS:
            vals.pop(name, None)
        for f in self.env.registry.defaults(self._name):
            if f.name not in vals:
                vals[f.name] = f.default(self) if callable(f.default) else f.default
        for parent_model, link in self._inherits.items():
            parent_vals = {
                key: vals.pop(key) for key in list(vals) if self.fields[key].delegated_to == link
            }
            if not vals.get(link):
                vals[link] = self.env[parent_model].create_records([parent_vals])[0]
            elif parent_vals:
                self.env[parent_model].write([vals[link]], parent_vals)
        columns: dict[str, Any] = {}
        relations: list[tuple[Field, Any]] = []
        for key, value in vals.items():
            f = self.fields[key]
            if f.type in X2MANY:
                relations.append((f, value))
            elif f.stored_here:
                columns[key] = self._convert_to_column(f, value)
        for f in self.env.registry.required(self._name):
            if columns.get(f.name) is None:
                raise self._not_null_violation(f)
        for f in self.env.registry.many2ones(self._name):
            self._check_foreign_key(f, columns.get(f.name))
        record_id = self.table.allocate_id()
        stamp = now_string()
        row: Row = {
            "id": record_id,
            "create_date": stamp,
            "write_date": stamp,
            "create_uid": self.env.uid,
            "write_uid": self.env.uid,
        }
        row.update((k, v) for k, v in columns.items() if v is not None)
        self.table.insert(record_id, row)
        for f, value in relations:
            self._write_x2many(record_id, f, value)
        return record_id

    # ------------------------------------------------------------------ write

    @public("records")
    def write(self, ids: list[int], vals: dict[str, Any]) -> bool:
        self.write_records(self._ids(ids), vals)
        return True

    def write_records(self, ids: list[int], vals: dict[str, Any]) -> None:
        self._check_fields_exist(vals)
        missing = [i for i in ids if self.table.get(i) is None]
        if missing:
            raise missing_error(
                "One of the records you are trying to modify has already been deleted "
                f"(Document type: {self._description}).\n\n"
                f"(Records: {missing[:6]!r}, User: {self.env.uid})"
            )
        vals = self._before_write(ids, dict(vals))
        for parent_model, link in self._inherits.items():
            parent_vals = {k: v for k, v in vals.items() if self.fields[k].delegated_to == link}
            if parent_vals:
                parent_ids = [self.table.rows[i][link] for i in ids]
                self.env[parent_model].write_records(parent_ids, parent_vals)
        columns: dict[str, Any] = {}
        relations: list[tuple[Field, Any]] = []
        for key, value in vals.items():
            f = self.fields[key]
            if key in MAGIC_FIELDS:
                continue
            if f.type in X2MANY and (f.compute is None or f.mirror_of is not None):
                relations.append((f, value))
            elif f.stored_here:
                converted = self._convert_to_column(f, value)
                if converted is None and f.required:
                    raise self._not_null_violation(f)
                if f.type == "many2one":
                    self._check_foreign_key(f, converted)
                columns[key] = converted
        if columns:
            columns["write_date"] = now_string()
            columns["write_uid"] = self.env.uid
            for record_id in ids:
                self.table.update(record_id, columns)
        for record_id in ids:
            for f, value in relations:
                self._write_x2many(record_id, f, value)
        self._after_write(ids, vals)

    def _write_x2many(self, record_id: int, f: Field, value: Any) -> None:
        assert f.relation is not None
        comodel = self.env[f.relation]
        for command in _commands(value):
            code = command[0]
            if code == 0:
                child_vals = dict(command[2] or {})
                if f.type == "one2many":
                    assert f.inverse_name is not None
                    child_vals[f.inverse_name] = record_id
                    comodel.create_records([child_vals])
                else:
                    new_id = comodel.create_records([child_vals])[0]
                    self._link_many2many(record_id, f, add=[new_id])
            elif code == 1:
                comodel.write_records([command[1]], command[2] or {})
            elif code == 2:
                comodel.unlink_records([command[1]])
                if f.type == "many2many":
                    self._link_many2many(record_id, f, remove=[command[1]])
            elif code in (3, 5, 6):
                current = set(self.raw(self.table.rows[record_id], f.name) or [])
                keep: set[int]
                if code == 3:
                    drop, keep = {command[1]}, set()
                elif code == 5:
                    drop, keep = current, set()
                else:
                    keep = set(command[2] or [])
                    drop = current - keep
                if f.type == "one2many":
                    self._release_children(f, comodel, sorted(drop))
                    self._adopt_children(record_id, f, comodel, sorted(keep - current))
                else:
                    self._set_many2many(record_id, f, (current - drop) | keep)
            elif code == 4:
                if f.type == "one2many":
                    self._adopt_children(record_id, f, comodel, [command[1]])
                else:
                    self._link_many2many(record_id, f, add=[command[1]])
            else:
                raise value_error(f"Invalid command {command!r} for field {f.name!r}")

    def _release_children(self, f: Field, comodel: Model, ids: list[int]) -> None:
        assert f.inverse_name is not None
        if not ids:
            return
        if comodel.fields[f.inverse_name].ondelete == "cascade":
            comodel.unlink_records(ids)
        else:
            comodel.write_records(ids, {f.inverse_name: False})

    def _adopt_children(self, record_id: int, f: Field, comodel: Model, ids: list[int]) -> None:
        assert f.inverse_name is not None
        if ids:
            comodel.write_records(ids, {f.inverse_name: record_id})

    def _link_many2many(
        self, record_id: int, f: Field, add: Iterable[int] = (), remove: Iterable[int] = ()
    ) -> None:
        current = set(self.raw(self.table.rows[record_id], f.name) or [])
        self._set_many2many(record_id, f, (current | set(add)) - set(remove))

    def _set_many2many(self, record_id: int, f: Field, ids: set[int]) -> None:
        assert f.relation is not None
        target = self.env.db.table(f.relation)
        for linked in ids:
            if target.get(linked) is None:
                raise self._foreign_key_violation(f)
        if f.mirror_of is not None:
            other_model, other_field = f.mirror_of
            current = set(self.raw(self.table.rows[record_id], f.name) or [])
            other = self.env[other_model]
            for other_id in ids - current:
                other.write_records([other_id], {other_field: [(4, record_id, 0)]})
            for other_id in current - ids:
                other.write_records([other_id], {other_field: [(3, record_id, 0)]})
            return
        self.table.update(record_id, {f.name: sorted(ids) or None})

    # ------------------------------------------------------------------ unlink

    @public("records")
    def unlink(self, ids: list[int]) -> bool:
        self.unlink_records(self._ids(ids))
        return True

    def unlink_records(self, ids: list[int]) -> None:
        ids = [i for i in ids if self.table.get(i) is not None]
        if not ids:
            return
        self._check_unlink(ids)
        for f in self.fields.values():
            if f.type != "one2many" or f.relation is None or f.inverse_name is None:
                continue
            if f.delegated_to is not None:
                continue  # the parent's children, not this record's
            comodel = self.env[f.relation]
            children = sorted(
                child
                for record_id in ids
                for child in comodel.table.ids_where(f.inverse_name, record_id)
            )
            if children:
                self._release_children(f, comodel, children)
        for record_id in ids:
            self.table.delete(record_id)

    # ------------------------------------------------------------------ search and read

    @public("model")
    def search(
        self,
        domain: list[Any],
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        count: bool = False,
    ) -> list[int] | int:
        if count and self.env.version == 16:
            return len(self.search_ids(domain))
        if count:
            raise TypeError("BaseModel.search() got an unexpected keyword argument 'count'")
        return self.search_ids(domain, offset, limit, order)

    def search_ids(
        self,
        domain: list[Any] | None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[int]:
        predicate, candidates = self._compile_domain(list(domain or []))
        rows = self.table.rows
        if candidates is None:
            matched = [row for row in rows.values() if predicate(row)]
        else:
            matched = [rows[i] for i in candidates if i in rows and predicate(rows[i])]
        ordered = self._sorted(matched, order)
        ids = [row["id"] for row in ordered]
        offset = offset or 0
        if limit:
            return ids[offset : offset + limit]
        return ids[offset:]

    @public("model")
    def search_count(self, domain: list[Any], limit: int | None = None) -> int:
        found = len(self.search_ids(domain))
        return min(found, limit) if limit else found

    @public("model")
    def search_read(
        self,
        domain: list[Any] | None = None,
        fields: list[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        load: str | None = "_classic_read",
    ) -> list[dict[str, Any]]:
        if fields:
            for name in fields:
                if name not in self.fields:
                    raise invalid_field(name, self._name)
        ids = self.search_ids(domain, offset, limit, order)
        return self.read_records(ids, fields, load)

    @public("records")
    def read(
        self, ids: list[int], fields: list[str] | None = None, load: str | None = "_classic_read"
    ) -> list[dict[str, Any]]:
        return self.read_records(self._ids(ids), fields, load)

    def read_records(
        self, ids: Iterable[int], fields: Sequence[str] | None, load: str | None = "_classic_read"
    ) -> list[dict[str, Any]]:
        names = list(fields) if fields else [n for n in self.fields if n != "id"]
        for name in names:
            if name not in self.fields:
                raise invalid_field(name, self._name)
        spec = [(name, self.fields[name]) for name in names if name != "id"]
        result = []
        rows = self.table.rows
        for record_id in ids:
            row = rows.get(record_id)
            if row is None:
                continue  # Odoo's read() skips records that no longer exist
            record: dict[str, Any] = {"id": record_id}
            for name, f in spec:
                record[name] = self._convert_to_read(f, self.raw(row, name), load)
            result.append(record)
        return result

    @public("model")
    def fields_get(
        self, allfields: list[str] | None = None, attributes: list[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        result = {}
        for name, f in self.fields.items():
            if allfields and name not in allfields:
                continue
            info = f.description()
            if attributes:
                info = {k: v for k, v in info.items() if k in attributes}
            result[name] = info
        return result

    @public("model")
    def name_search(
        self,
        name: str = "",
        args: list[Any] | None = None,
        operator: str = "ilike",
        limit: int = 100,
    ) -> list[list[Any]]:
        domain = list(args or [])
        if name and self._rec_name:
            domain = [*domain, (self._rec_name, operator, name)]
        ids = self.search_ids(domain, limit=limit)
        return [[i, self.display_name(i)] for i in ids]

    @public("records", versions=(16,))
    def name_get(self, ids: list[int]) -> list[list[Any]]:
        return [[i, self.display_name(i)] for i in self._ids(ids) if i in self.table.rows]

    @public("records")
    def exists(self, ids: list[int]) -> list[int]:
        return [i for i in self._ids(ids) if i in self.table.rows]

    def ensure_one(self, ids: Any) -> int:
        found = self._ids(ids)
        if len(found) != 1:
            raise value_error(
                f"Expected singleton: {self._name}{tuple(found)!r}".replace(",)", ")")
            )
        return found[0]

    @staticmethod
    def _ids(ids: Any) -> list[int]:
        if isinstance(ids, int) and not isinstance(ids, bool):
            return [ids]
        if not ids:
            return []
        return list(ids)

    # ------------------------------------------------------------------ domains

    def _compile_domain(
        self, domain: list[Any]
    ) -> tuple[Callable[[Row], bool], Iterable[int] | None]:
        if not isinstance(domain, list):
            raise value_error(f"Invalid domain {domain!r}")
        mentions_active = any(
            isinstance(t, list | tuple) and len(t) == 3 and t[0] == "active" for t in domain
        )
        if (
            "active" in self.fields
            and not mentions_active
            and self.env.context.get("active_test", True)
        ):
            domain = [*domain, ("active", "=", True)]
        position = 0

        def parse() -> Callable[[Row], bool]:
            nonlocal position
            if position >= len(domain):
                raise value_error(f"Invalid domain {domain!r}")
            token = domain[position]
            position += 1
            if token == "&":
                left, right = parse(), parse()
                return lambda row: left(row) and right(row)
            if token == "|":
                left, right = parse(), parse()
                return lambda row: left(row) or right(row)
            if token == "!":
                inner = parse()
                return lambda row: not inner(row)
            return self._compile_leaf(token)

        parts = []
        while position < len(domain):
            parts.append(parse())
        candidates = self._index_candidates(domain)

        def predicate(row: Row) -> bool:
            return all(part(row) for part in parts)

        return predicate, candidates

    def _index_candidates(self, domain: list[Any]) -> Iterable[int] | None:
        """A narrow id set from an indexed `=`/`in` leaf of a pure conjunction, if there is one."""
        if any(not isinstance(t, list | tuple) and t != "&" for t in domain):
            return None
        leaves = [t for t in domain if isinstance(t, list | tuple) and len(t) == 3]
        for left, operator, right in leaves:
            if left == "id" and operator == "=" and isinstance(right, int):
                return [right]
            if left == "id" and operator == "in" and isinstance(right, list | tuple):
                return [i for i in right if isinstance(i, int)]
            if left not in self.table.indexes or right is False or right is None:
                continue
            if operator == "=" and not isinstance(right, list | dict):
                return list(self.table.ids_where(left, right))
            if operator == "in" and isinstance(right, list | tuple):
                found: set[int] = set()
                for value in right:
                    if value is not False and value is not None:
                        found |= self.table.ids_where(left, value)
                if False not in right:
                    return found
        return None

    def _compile_leaf(self, leaf: Any) -> Callable[[Row], bool]:
        if not isinstance(leaf, list | tuple) or len(leaf) != 3:
            raise value_error(f"Invalid leaf {leaf!r}")
        left, operator, right = leaf
        leaf_repr = str(tuple(leaf))
        if left in (0, 1) and operator == "=" and right == 1:
            result = left == 1
            return lambda row: result
        if not isinstance(operator, str) or operator.lower() not in TERM_OPERATORS:
            raise value_error(f"Invalid leaf {leaf_repr}")
        operator = operator.lower()
        if not isinstance(left, str):
            raise value_error(f"Invalid leaf {leaf_repr}")
        path = left.split(".")
        if path[0] not in self.fields:
            raise value_error(f"Invalid field {self._name}.{path[0]} in leaf {leaf_repr}")
        f = self.fields[path[0]]
        if len(path) > 1:
            if f.type not in RELATIONAL:
                raise value_error(f"Invalid field {self._name}.{left} in leaf {leaf_repr}")
            assert f.relation is not None
            comodel = self.env[f.relation]
            sub_ids = set(comodel.search_ids([(".".join(path[1:]), operator, right)]))
            name = path[0]

            def through(row: Row) -> bool:
                value = self.raw(row, name)
                if isinstance(value, list):
                    return any(v in sub_ids for v in value)
                return value in sub_ids

            return through
        if operator in ("any", "not any"):
            assert f.relation is not None
            sub_ids = set(self.env[f.relation].search_ids(list(right)))

            def any_of(row: Row) -> bool:
                value = self.raw(row, left)
                values = value if isinstance(value, list) else [value]
                return any(v in sub_ids for v in values)

            return any_of if operator == "any" else (lambda row: not any_of(row))
        negated = operator in NEGATIVE_OPERATORS
        positive = NEGATIVE_OPERATORS.get(operator, operator)
        match = self._matcher(f, positive, right)

        def check(row: Row) -> bool:
            return match(self.raw(row, left))

        if negated:
            return lambda row: not check(row)
        return check

    def _matcher(self, f: Field, operator: str, right: Any) -> Callable[[Any], bool]:
        if operator == "=?":
            if right is False or right is None:
                return lambda value: True
            operator = "="
        if operator in ("child_of", "parent_of"):
            operator, right = "in", right if isinstance(right, list) else [right]
        if f.type in RELATIONAL and isinstance(right, str) and operator in ("=", "like", "ilike"):
            assert f.relation is not None
            comodel = self.env[f.relation]
            names = {
                i
                for i in comodel.table.rows
                if _text_match(comodel.display_name(i), operator, right)
            }
            return lambda value: bool(set(_as_list(value)) & names)
        if f.type in X2MANY:
            if operator == "=" and (right is False or right is None):
                return lambda value: not value
            wanted = set(_as_list(right))
            return lambda value: bool(set(value or ()) & wanted)
        if f.type == "boolean":
            if operator == "=":
                flag = bool(right)
                return lambda value: bool(value) == flag
            if operator == "in":
                flags = {bool(v) for v in right}
                return lambda value: bool(value) in flags
        if operator == "=":
            if right is False or right is None:
                return lambda value: value is None or value is False
            return lambda value: value == right
        if operator == "in":
            if not isinstance(right, list | tuple):
                right = [right]
            wanted_values = {v for v in right if v is not False and v is not None}
            with_null = any(v is False or v is None for v in right)
            return lambda value: (value in wanted_values) or (with_null and value is None)
        if operator in ("<", ">", "<=", ">="):
            compare = _COMPARISONS[operator]
            return lambda value: value is not None and right is not None and compare(value, right)
        if operator in ("like", "ilike", "=like", "=ilike"):
            if right is False or right is None:
                return lambda value: value is None
            return lambda value: value is not None and _text_match(str(value), operator, str(right))
        raise value_error(f"Invalid operator {operator!r}")

    # ------------------------------------------------------------------ ordering

    def _sorted(self, rows: list[Row], order: str | None) -> list[Row]:
        spec = order or self._order
        terms = []
        for term in spec.split(","):
            words = term.strip().split()
            if not words:
                continue
            name = words[0]
            if name not in self.fields:
                raise invalid_field(name, self._name)
            descending = len(words) > 1 and words[1].lower() == "desc"
            terms.append((name, descending))
        result = list(rows)
        for name, descending in reversed(terms):
            result.sort(key=self._sort_key(name, descending), reverse=descending)
        return result

    def _sort_key(self, name: str, descending: bool) -> Callable[[Row], tuple[int, Any]]:
        f = self.fields[name]
        stored = f.stored_here or name == "id"

        def key(row: Row) -> tuple[int, Any]:
            value = row.get(name) if stored else self.raw(row, name)
            if isinstance(value, list):
                value = value[0] if value else None
            # Postgres puts NULLs last ascending and first descending.
            if value is None or value is False:
                return (1, 0)
            return (0, value)

        return key


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if value is None or value is False:
        return []
    return [value]


def _text_match(text: str, operator: str, pattern: str) -> bool:
    if operator == "=":
        return text == pattern
    if operator == "like":
        return pattern in text
    if operator == "ilike":
        return pattern.lower() in text.lower()
    regex = fnmatch.translate(pattern.replace("%", "*").replace("_", "?"))
    flags = re.IGNORECASE if operator == "=ilike" else 0
    return re.match(regex, text, flags) is not None


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _commands(value: Any) -> list[tuple[Any, ...]]:
    """x2many write values as ORM commands; a bare id list means SET, False means CLEAR."""
    if value is False or value is None:
        return [(5, 0, 0)]
    if not isinstance(value, list | tuple):
        raise value_error(f"Invalid x2many value {value!r}")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [(6, 0, list(value))]
    commands = []
    for command in value:
        if not isinstance(command, list | tuple) or not command:
            raise value_error(f"Invalid command {command!r}")
        padded = (*command, 0, 0)[:3]
        commands.append(padded)
    return commands


def char(name: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "char", string, **kwargs)


def text(name: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "text", string, **kwargs)


def integer(name: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "integer", string, **kwargs)


def floating(name: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "float", string, **kwargs)


def monetary(name: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "monetary", string, **kwargs)


def boolean(name: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "boolean", string, **kwargs)


def datetime_field(name: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "datetime", string, **kwargs)


def date_field(name: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "date", string, **kwargs)


def selection(name: str, string: str, options: Sequence[tuple[str, str]], **kwargs: Any) -> Field:
    return Field(name, "selection", string, selection=tuple(options), **kwargs)


def many2one(name: str, relation: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "many2one", string, relation=relation, **kwargs)


def one2many(name: str, relation: str, inverse: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "one2many", string, relation=relation, inverse_name=inverse, **kwargs)


def many2many(name: str, relation: str, string: str, **kwargs: Any) -> Field:
    return Field(name, "many2many", string, relation=relation, **kwargs)
