"""Looks up the contract for an event's (type, version)."""

from __future__ import annotations

from shared.events import contracts
from shared.events.envelope import EventData, EventEnvelope


class UnknownEventVersionError(Exception):
    """An event whose type we consume arrived in a version we cannot read: poison."""


def _all_contracts() -> dict[tuple[str, int], type[EventData]]:
    found: dict[tuple[str, int], type[EventData]] = {}
    for value in vars(contracts).values():
        if isinstance(value, type) and issubclass(value, EventData) and "event_type" in vars(value):
            found[(value.event_type, value.event_version)] = value
    return found


CONTRACTS = _all_contracts()


def parse_data(envelope: EventEnvelope) -> EventData:
    """The envelope's data as its contract type, or UnknownEventVersionError/ValidationError."""
    contract = CONTRACTS.get((envelope.type, envelope.version))
    if contract is None:
        raise UnknownEventVersionError(
            f"no contract for {envelope.type} version {envelope.version}"
        )
    return contract.model_validate(envelope.data)
