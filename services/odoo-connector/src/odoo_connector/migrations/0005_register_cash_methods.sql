-- A register whose pos.config the connector created has its own cash journal and cash payment
-- method in Odoo: a cash method belongs to one pos.config only (odoo-api.md 5), so the
-- template's stays with the template and the register's cash sales go to this one.
CREATE TABLE register_cash_methods (
    register_id            uuid PRIMARY KEY,
    tenant_id              uuid NOT NULL,
    -- Reserved before the journal's create: a lost answer finds the journal again by it (codes
    -- are unique per company in Odoo), and two registers of a tenant never pick the same one.
    journal_code           text NOT NULL,
    odoo_journal_id        integer,
    odoo_payment_method_id integer,
    -- Every payment method the register's pos.config was created with (the template's
    -- non-cash ones and its own cash one).
    pos_config_method_ids  integer[],
    -- Set once the pos.config carrying the cash method is the register's: a register later
    -- linked to another pos.config does not use it.
    odoo_pos_config_id     integer,
    UNIQUE (tenant_id, journal_code)
);
