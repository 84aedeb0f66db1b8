"""Registers' rules, pure and free of I/O: `inputs` (what valid input is), `edits` (PATCH and
If-Match), `tenants` (tiers and who sees which tenant), `shops`, `sync` (a register's Odoo sync
machine), `registers` (what an admin's edit of a register changes) and `tokens` (who may issue
which token, for how long)."""
