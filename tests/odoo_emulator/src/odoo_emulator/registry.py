"""The models of one Odoo version: classes, their fields, and what the ORM precomputes from them."""

from __future__ import annotations

from dataclasses import replace

from odoo_emulator.orm import MAGIC_FIELDS, Field, Model

_MAGIC = (
    Field("id", "integer", "ID", readonly=True),
    Field("display_name", "char", "Display Name", readonly=True, store=False),
    Field("create_date", "datetime", "Created on", readonly=True),
    Field("create_uid", "many2one", "Created by", relation="res.users", readonly=True),
    Field("write_date", "datetime", "Last Updated on", readonly=True),
    Field("write_uid", "many2one", "Last Updated by", relation="res.users", readonly=True),
)


class Registry:
    """Every model of one version; built once per server, read by every call."""

    def __init__(self, version: int, classes: list[type[Model]]) -> None:
        self.version = version
        self._classes = {cls._name: cls for cls in classes}
        self._fields: dict[str, dict[str, Field]] = {}
        for cls in classes:
            own = {f.name: f for f in cls.declare_fields(version)}
            fields = {f.name: f for f in _MAGIC}
            if version == 16:
                fields["__last_update"] = Field("__last_update", "datetime", "Last Modified on")
            fields.update(own)
            self._fields[cls._name] = fields
        for cls in classes:
            for parent, link in cls._inherits.items():
                own = self._fields[cls._name]
                for name, f in self._fields[parent].items():
                    if name in own or name in MAGIC_FIELDS or name == "__last_update":
                        continue
                    own[name] = replace(
                        f, delegated_to=link, delegated_model=parent, required=False
                    )
        self._required = {
            model: [f for f in fields.values() if f.required and f.stored_here and f.name != "id"]
            for model, fields in self._fields.items()
        }
        self._many2ones = {
            model: [f for f in fields.values() if f.type == "many2one" and f.stored_here]
            for model, fields in self._fields.items()
        }
        self._defaults = {
            model: [
                f
                for f in fields.values()
                if f.default is not None and (f.stored_here or f.type in ("one2many", "many2many"))
            ]
            for model, fields in self._fields.items()
        }
        indexed: dict[str, set[str]] = {model: set() for model in self._fields}
        for model, fields in self._fields.items():
            for f in fields.values():
                if f.index and f.stored_here:
                    indexed[model].add(f.name)
                if f.type == "one2many" and f.relation and f.inverse_name:
                    indexed[f.relation].add(f.inverse_name)
        self.indexed_columns = {model: tuple(sorted(cols)) for model, cols in indexed.items()}

    def has_model(self, model: str) -> bool:
        return model in self._classes

    def model_class(self, model: str) -> type[Model]:
        return self._classes[model]

    def model_names(self) -> list[str]:
        return sorted(self._classes)

    def fields(self, model: str) -> dict[str, Field]:
        return self._fields[model]

    def required(self, model: str) -> list[Field]:
        return self._required[model]

    def many2ones(self, model: str) -> list[Field]:
        return self._many2ones[model]

    def defaults(self, model: str) -> list[Field]:
        return self._defaults[model]
