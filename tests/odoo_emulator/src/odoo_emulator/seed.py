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
    category = env["product.category"].create_records([{"name": "All"}])[0]
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
    accounts = _seed_accounts(env, company)
    tax = env["account.tax"].create_records([{"name": "15%", "amount": 15.0}])[0]
    _book_tax_on(env, [tax], accounts["tax_received"])
    journals = env["account.journal"]
    liquidity = {
        "suspense_account_id": accounts["suspense"],
        "profit_account_id": accounts["cash_difference_gain"],
        "loss_account_id": accounts["cash_difference_loss"],
    }
    pos_journal, cash_journal, bank_journal, sale_journal = journals.create_records(
        [
            {"name": "Point of Sale", "code": "POSS", "type": "general"},
            {
                "name": "Cash",
                "code": "CSH1",
                "type": "cash",
                "default_account_id": accounts["cash"],
                **liquidity,
            },
            {
                "name": "Bank",
                "code": "BNK1",
                "type": "bank",
                "default_account_id": accounts["bank"],
                **liquidity,
            },
            {
                "name": "Customer Invoices",
                "code": "INV",
                "type": "sale",
                "default_account_id": accounts["product_sales"],
            },
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
    env["product.category"].write_records(
        [category], {"property_account_income_categ_id": accounts["product_sales"]}
    )
    sale_taxes = _seed_sale_taxes(env, accounts["tax_received"])
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
        "sale_tax_ids": {"15%": tax, **sale_taxes},
        "account_ids": accounts,
        "pos_product_ids": product_ids[:4],
        "non_pos_product_id": product_ids[4],
        "customer_ids": customer_ids,
        "users": logins,
    }


# The generic chart of accounts' codes, as a fresh Odoo company gets them.
_ACCOUNTS = (
    ("bank", "101401", "Bank", "asset_cash", False),
    ("suspense", "101402", "Bank Suspense Account", "asset_current", False),
    ("cash", "101501", "Cash", "asset_cash", False),
    ("receivable", "121000", "Account Receivable", "asset_receivable", True),
    ("pos_receivable", "101300", "Account Receivable (PoS)", "asset_receivable", True),
    ("tax_received", "251000", "Tax Received", "liability_current", False),
    ("product_sales", "400000", "Product Sales", "income", False),
    ("cash_difference_gain", "442000", "Cash Difference Gain", "income_other", False),
    ("cash_difference_loss", "642000", "Cash Difference Loss", "expense", False),
)

# Sale taxes added to the demo "15%" (which keeps id 1 and stays on the products).
_SALE_TAXES = (
    ("10% incl.", 10.0, True),
    ("10%", 10.0, False),
    ("20%", 20.0, False),
    ("20% incl.", 20.0, True),
    ("5.5%", 5.5, False),
    ("0%", 0.0, False),
)


def _seed_accounts(env: Env, company: int) -> dict[str, int]:
    ids = env["account.account"].create_records(
        [
            {"code": code, "name": name, "account_type": kind, "reconcile": reconcile}
            for _key, code, name, kind, reconcile in _ACCOUNTS
        ]
    )
    accounts = {key: account for (key, *_rest), account in zip(_ACCOUNTS, ids, strict=True)}
    env["res.company"].write_records(
        [company],
        {
            "account_default_pos_receivable_account_id": accounts["pos_receivable"],
            "default_cash_difference_income_account_id": accounts["cash_difference_gain"],
            "default_cash_difference_expense_account_id": accounts["cash_difference_loss"],
            "account_journal_suspense_account_id": accounts["suspense"],
        },
    )
    return accounts


def _book_tax_on(env: Env, tax_ids: list[int], account: int) -> None:
    """The chart template's tax accounts: the `tax` repartition lines book on Tax Received."""
    lines = env["account.tax.repartition.line"]
    field = "invoice_tax_id" if env.version == 16 else "tax_id"
    refund_field = "refund_tax_id" if env.version == 16 else "tax_id"
    found = sorted(
        line_id
        for tax_id in tax_ids
        for column in {field, refund_field}
        for line_id in lines.table.ids_where(column, tax_id)
        if lines.table.rows[line_id].get("repartition_type") == "tax"
    )
    lines.write_records(found, {"account_id": account})


def _seed_sale_taxes(env: Env, account: int) -> dict[str, int]:
    def included(flag: bool) -> dict[str, Any]:
        if env.version == 18:
            return {"price_include_override": "tax_included"} if flag else {}
        return {"price_include": flag}

    ids = env["account.tax"].create_records(
        [
            {"name": name, "amount": amount, "type_tax_use": "sale", **included(flag)}
            for name, amount, flag in _SALE_TAXES
        ]
    )
    _book_tax_on(env, ids, account)
    return {name: tax_id for (name, *_rest), tax_id in zip(_SALE_TAXES, ids, strict=True)}
