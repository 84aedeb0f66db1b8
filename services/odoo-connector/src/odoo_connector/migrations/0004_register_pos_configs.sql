-- The pos.config a tenant's new registers are cloned from; NULL means its first active one.
ALTER TABLE odoo_settings ADD COLUMN template_pos_config_id integer;

-- Every name a register's pos.config was created under: after an answer lost between Odoo's
-- commit and our record, the connector looks for an unclaimed pos.config of one of these names.
CREATE TABLE pos_config_creates (
    register_id      uuid PRIMARY KEY,
    names            text[]      NOT NULL,
    first_attempt_at timestamptz NOT NULL DEFAULT now()
);
