"""An admin's edit of a register: the fields it changes, and what that means for its Odoo sync."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from registers.domain.edits import changed_fields
from registers.domain.sync import SyncMove, SyncStatus, after_patch
from registers.domain.tenants import Tier


class EditedRegister(Protocol):
    @property
    def active(self) -> bool: ...

    @property
    def version(self) -> int: ...

    @property
    def sync_status(self) -> SyncStatus: ...


@dataclass(frozen=True)
class RegisterEdit:
    edits: dict[str, Any]
    sync: SyncMove

    @property
    def changes_nothing(self) -> bool:
        return not self.edits and not self.sync.moved

    def fields(self, now: datetime) -> dict[str, Any]:
        """The register fields the edit sets: its own, and its sync move's."""
        return self.edits | self.sync.fields(now)

    @property
    def changed(self) -> tuple[str, ...]:
        """What the edit changed, as the register's events name it."""
        return (*sorted(self.edits), *self.sync.changed)


def edit_register(register: EditedRegister, tier: Tier, sent: Mapping[str, Any]) -> RegisterEdit:
    """A PATCH as sent: its `odoo_pos_config_id` links a pos.config (a sync move), and a rename
    or (de)activation queues what Odoo needs; fields sent unchanged are no edit."""
    wanted = dict(sent)
    adopt = wanted.pop("odoo_pos_config_id", None)
    edits = changed_fields(register, wanted)
    before = register.sync_status
    after = after_patch(
        before,
        tier,
        adopt=adopt,
        edited=edits.keys(),
        active=edits.get("active", register.active),
        version=register.version + 1,
    )
    return RegisterEdit(edits, SyncMove(before, after))
