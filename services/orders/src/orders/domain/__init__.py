"""Orders' plain types and rules, with no I/O: `amounts` (line arithmetic, business dates, refund
parts), `model` (the aggregates' rows), `sale`, `refund`, `session` (cash) and `history` (Odoo's
imported history), `identity` (derived ids, request fingerprints)."""
