"""Registers' rules, pure and free of I/O: `inputs` (what valid input is), `edits` (PATCH and
If-Match), `tenants` (tiers and who sees which tenant), `shops`, `sync` (a register's Odoo sync
machine) and `tokens` (who may issue which token, for how long)."""
