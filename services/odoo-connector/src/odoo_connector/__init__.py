"""The Odoo connector: consumes domain events and pushes them to each Pro tenant's Odoo."""
