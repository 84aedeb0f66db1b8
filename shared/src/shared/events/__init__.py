"""Event envelope and the contracts services exchange through `pos.events`."""
