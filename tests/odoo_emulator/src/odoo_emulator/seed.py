"""The demo data every new database starts with: one company ready to run a point of sale."""

from __future__ import annotations

from typing import Any

from odoo_emulator.orm import Env


def seed_database(env: Env) -> dict[str, Any]:
    """Create the demo records through the ORM and return the ids and keys a test needs."""
    version = env.version
    db_name = env.db.name
    currency = env["res.currency"].create_records(
        [
            {"name": "EUR", "full_name": "Euro", "symbol": "€", "rounding": 0.01},
            {
                "name": "USD",
                "full_name": "United States dollar",
                "symbol": "$",
                "position": "before",
                "active": False,
            },
        ]
    )[0]
    country_be, _country_us = env["res.country"].create_records(
        [{"name": "Belgium", "code": "BE"}, {"name": "United States", "code": "US"}]
    )
    partners = env["res.partner"]
    company_partner = partners.create_records(
        [{"name": "My Company", "is_company": True, "country_id": country_be}]
    )[0]
    company = env["res.company"].create_records(
        [
            {
                "name": "My Company",
                "currency_id": currency,
                "partner_id": company_partner,
                "country_id": country_be,
            }
        ]
    )[0]
    partners.write_records([company_partner], {"company_id": company})
    bot_partner, admin_partner, pos_bot_partner = partners.create_records(
        [{"name": "OdooBot", "active": False}, {"name": "Mitchell Admin"}, {"name": "POS Bot"}]
    )
    customer_ids = partners.create_records(
        [
            {
                "name": "Deco Addict",
                "is_company": True,
                "email": "deco.addict82@example.com",
                "customer_rank": 1,
            },
            {
                "name": "Azure Interior",
                "is_company": True,
                "email": "azure.Interior24@example.com",
                "customer_rank": 1,
            },
        ]
    )
    users = env["res.users"]
    _odoo_bot, admin, pos_bot = users.create_records(
        [
            {"name": "OdooBot", "login": "__system__", "partner_id": bot_partner, "active": False},
            {"name": "Mitchell Admin", "login": "admin", "partner_id": admin_partner},
            {"name": "POS Bot", "login": "pos-bot", "partner_id": pos_bot_partner},
        ]
    )
    credentials = env.db.credentials
    logins: list[dict[str, Any]] = [
        {"uid": admin, "login": "admin", "password": "admin", "api_key": f"{db_name}-admin-key"},
        {
            "uid": pos_bot,
            "login": "pos-bot",
            "password": "pos-bot-password",
            "api_key": f"{db_name}-pos-bot-key",
        },
    ]
    for login in logins:
        credentials.passwords[login["uid"]] = login["password"]
        credentials.api_keys[login["api_key"]] = login["uid"]

    env["uom.uom"].create_records([{"name": "Units"}])
    env["product.category"].create_records([{"name": "All"}])
    sequences = env["ir.sequence"]
    sequences.create_records(
        [
            {"name": "POS Session", "code": "pos.session", "prefix": "POS/", "padding": 5},
            {"name": "POS order line", "code": "pos.order.line", "prefix": "", "padding": 4},
            {
                "name": "Customer Invoices",
                "code": "account.move.out_invoice",
                "prefix": "INV/%(year)s/",
                "padding": 5,
            },
            {
                "name": "Customer Credit Notes",
                "code": "account.move.out_refund",
                "prefix": "RINV/%(year)s/",
                "padding": 5,
            },
        ]
    )
    tax = env["account.tax"].create_records([{"name": "15%", "amount": 15.0}])[0]
    journals = env["account.journal"]
    pos_journal, cash_journal, bank_journal, sale_journal = journals.create_records(
        [
            {"name": "Point of Sale", "code": "POSS", "type": "general"},
            {"name": "Cash", "code": "CSH1", "type": "cash"},
            {"name": "Bank", "code": "BNK1", "type": "bank"},
            {"name": "Customer Invoices", "code": "INV", "type": "sale"},
        ]
    )
    warehouse = env["stock.warehouse"].create_records([{"name": "YourCompany", "code": "WH"}])[0]
    picking_type = env["stock.picking.type"].create_records(
        [
            {
                "name": "PoS Orders",
                "code": "outgoing",
                "sequence_code": "POS",
                "warehouse_id": warehouse,
            }
        ]
    )[0]
    env["stock.warehouse"].write_records([warehouse], {"pos_type_id": picking_type})
    pricelist = env["product.pricelist"].create_records(
        [{"name": "Public Pricelist", "currency_id": currency}]
    )[0]
    drinks, food = env["pos.category"].create_records(
        [{"name": "Drinks", "sequence": 1}, {"name": "Food", "sequence": 2}]
    )

    def product(
        name: str, code: str, price: float, category: int | None, in_pos: bool = True
    ) -> dict[str, Any]:
        vals: dict[str, Any] = {
            "name": name,
            "default_code": code,
            "list_price": price,
            "available_in_pos": in_pos,
            "taxes_id": [(6, 0, [tax])],
        }
        if category is not None:
            vals["pos_categ_id" if version == 16 else "pos_categ_ids"] = (
                category if version == 16 else [(6, 0, [category])]
            )
        return vals

    product_ids = env["product.product"].create_records(
        [
            product("Espresso", "POS-ESP", 2.5, drinks),
            product("Cappuccino", "POS-CAP", 3.2, drinks),
            product("Croissant", "POS-CRO", 1.8, food),
            product("Club Sandwich", "POS-SAN", 5.5, food),
            product("Office Chair", "FURN-001", 70.0, None, in_pos=False),
        ]
    )
    methods = env["pos.payment.method"]
    cash_method, card_method = methods.create_records(
        [
            {"name": "Cash", "journal_id": cash_journal, "sequence": 1},
            {"name": "Card", "journal_id": bank_journal, "sequence": 2},
        ]
    )
    config = env["pos.config"].create_records(
        [
            {
                "name": "Shop",
                "journal_id": pos_journal,
                "invoice_journal_id": sale_journal,
                "picking_type_id": picking_type,
                "warehouse_id": warehouse,
                "pricelist_id": pricelist,
                "available_pricelist_ids": [(6, 0, [pricelist])],
                "payment_method_ids": [(6, 0, [cash_method, card_method])],
            }
        ]
    )[0]
    xmlids = [
        ("base", "main_company", "res.company", company),
        ("base", "main_partner", "res.partner", company_partner),
        ("base", "EUR", "res.currency", currency),
        ("base", "user_admin", "res.users", admin),
        ("base", "partner_admin", "res.partner", admin_partner),
        ("uom", "product_uom_unit", "uom.uom", 1),
        ("point_of_sale", "pos_config_main", "pos.config", config),
        ("point_of_sale", "pos_category_drinks", "pos.category", drinks),
        ("point_of_sale", "pos_category_food", "pos.category", food),
        ("point_of_sale", "product_espresso", "product.product", product_ids[0]),
    ]
    env["ir.model.data"].create_records(
        [
            {"module": m, "name": n, "model": model, "res_id": res_id, "noupdate": True}
            for m, n, model, res_id in xmlids
        ]
    )
    return {
        "database": db_name,
        "company_id": company,
        "currency_id": currency,
        "pos_config_id": config,
        "cash_payment_method_id": cash_method,
        "card_payment_method_id": card_method,
        "cash_journal_id": cash_journal,
        "bank_journal_id": bank_journal,
        "pos_journal_id": pos_journal,
        "invoice_journal_id": sale_journal,
        "pricelist_id": pricelist,
        "picking_type_id": picking_type,
        "warehouse_id": warehouse,
        "tax_id": tax,
        "pos_product_ids": product_ids[:4],
        "non_pos_product_id": product_ids[4],
        "customer_ids": customer_ids,
        "users": logins,
    }
