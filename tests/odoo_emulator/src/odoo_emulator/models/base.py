"""The non-POS models a POS connector reads or references: company, partners, products, journals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from odoo_emulator.errors import user_error, validation_error
from odoo_emulator.orm import (
    Env,
    Field,
    Model,
    boolean,
    char,
    floating,
    integer,
    many2many,
    many2one,
    one2many,
    public,
    selection,
    text,
)
from odoo_emulator.store import Row


def _company(model: Model) -> int:
    return 1


class ResCurrency(Model):
    _name = "res.currency"
    _description = "Currency"
    _order = "active desc, name"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Currency", required=True),
            char("full_name", "Name"),
            char("symbol", "Symbol", required=True),
            floating("rounding", "Rounding Factor", default=0.01),
            integer("decimal_places", "Decimal Places", default=2),
            selection(
                "position",
                "Symbol Position",
                [("after", "After Amount"), ("before", "Before Amount")],
                default="after",
            ),
            boolean("active", "Active", default=True),
        ]


class ResCountry(Model):
    _name = "res.country"
    _description = "Country"
    _order = "name"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [char("name", "Country Name", required=True), char("code", "Country Code")]


class ResCompany(Model):
    _name = "res.company"
    _description = "Companies"
    _order = "sequence, name"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Company Name", required=True),
            integer("sequence", "Sequence", default=10),
            many2one("currency_id", "res.currency", "Currency", required=True),
            many2one("partner_id", "res.partner", "Partner", required=True),
            many2one("country_id", "res.country", "Country"),
            char("email", "Email"),
            char("phone", "Phone"),
            char("vat", "Tax ID"),
            boolean("active", "Active", default=True),
            *_company_accounting_fields(version),
        ]


def _company_accounting_fields(version: int) -> list[Field]:
    """The defaults a chart of accounts sets on the company, and 18's price-included default."""
    fields = [
        many2one(
            "account_default_pos_receivable_account_id",
            "account.account",
            "Default PoS Receivable Account",
        ),
        many2one(
            "default_cash_difference_income_account_id",
            "account.account",
            "Cash Difference Income",
        ),
        many2one(
            "default_cash_difference_expense_account_id",
            "account.account",
            "Cash Difference Expense",
        ),
        many2one(
            "account_journal_suspense_account_id", "account.account", "Journal Suspense Account"
        ),
    ]
    if version == 18:
        fields.append(
            selection(
                "account_price_include",
                "Default Sales Price Include",
                [("tax_included", "Tax Included"), ("tax_excluded", "Tax Excluded")],
                required=True,
                default="tax_excluded",
            )
        )
    return fields


class ResPartner(Model):
    _name = "res.partner"
    _description = "Contact"
    _order = "complete_name ASC, id DESC"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Name", index=True),
            char("complete_name", "Complete Name", compute=lambda m, r: m.display_name_of(r)),
            char("ref", "Reference", index=True),
            char("email", "Email"),
            char("phone", "Phone"),
            char("mobile", "Mobile"),
            char("vat", "Tax ID"),
            char("barcode", "Barcode"),
            char("street", "Street"),
            char("street2", "Street2"),
            char("city", "City"),
            char("zip", "Zip"),
            many2one("country_id", "res.country", "Country"),
            boolean("is_company", "Is a Company", default=False),
            many2one("parent_id", "res.partner", "Related Company", index=True),
            one2many("child_ids", "res.partner", "parent_id", "Contact"),
            many2one("company_id", "res.company", "Company", index=True),
            char("lang", "Language", default="en_US"),
            selection(
                "type",
                "Address Type",
                [
                    ("contact", "Contact"),
                    ("invoice", "Invoice Address"),
                    ("delivery", "Delivery Address"),
                    ("other", "Other Address"),
                ],
                default="contact",
            ),
            text("comment", "Notes"),
            integer("customer_rank", "Customer Rank", default=0),
            boolean("active", "Active", default=True),
            one2many("pos_order_ids", "pos.order", "partner_id", "POS Order"),
            integer(
                "pos_order_count",
                "POS Order Count",
                compute=lambda m, r: len(
                    m.env.db.table("pos.order").ids_where("partner_id", r["id"])
                ),
            ),
        ]

    def display_name_of(self, row: Row) -> str:
        name = row.get("name") or ""
        parent_id = row.get("parent_id")
        if parent_id and not row.get("is_company"):
            parent = self.table.get(parent_id)
            if parent is not None:
                return f"{parent.get('name') or ''}, {name}"
        return name

    def _check_unlink(self, ids: list[int]) -> None:
        if not self.env.behaviour.partner_unlink_guard:
            return
        orders = self.env.db.table("pos.order")
        if any(orders.ids_where("partner_id", i) for i in ids):
            raise validation_error(
                "You cannot delete a customer that has point of sales orders. "
                "You can archive it instead."
            )


class ResUsers(Model):
    _name = "res.users"
    _description = "User"
    _order = "name, login"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Name", required=True),
            char("login", "Login", required=True, index=True),
            many2one("partner_id", "res.partner", "Related Partner"),
            many2one("company_id", "res.company", "Company", required=True, default=_company),
            many2many("company_ids", "res.company", "Companies"),
            char("tz", "Timezone", default="Europe/Brussels"),
            char("lang", "Language", default="en_US"),
            boolean("share", "Share User", default=False),
            boolean("active", "Active", default=True),
        ]

    @public("model")
    def context_get(self) -> dict[str, Any]:
        row = self.row(self.env.uid)
        return {
            "lang": row.get("lang") or "en_US",
            "tz": row.get("tz") or False,
            "uid": self.env.uid,
        }


class UomUom(Model):
    _name = "uom.uom"
    _description = "Product Unit of Measure"
    _order = "factor DESC, id"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Unit of Measure", required=True),
            floating("factor", "Ratio", default=1.0),
            floating("rounding", "Rounding Precision", default=0.01),
            boolean("active", "Active", default=True),
        ]


class IrSequence(Model):
    _name = "ir.sequence"
    _description = "Sequence"
    _order = "name"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Name", required=True),
            char("code", "Sequence Code", index=True),
            char("prefix", "Prefix"),
            integer("padding", "Sequence Size", default=0),
            integer("number_next", "Next Number", default=1),
            integer("number_increment", "Step", default=1),
            selection(
                "implementation",
                "Implementation",
                [("standard", "Standard"), ("no_gap", "No gap")],
                default="standard",
            ),
            many2one("company_id", "res.company", "Company"),
            boolean("active", "Active", default=True),
        ]

    def next_value(self, sequence_id: int) -> str:
        """The next name; like a Postgres sequence it is not given back when the call rolls back."""
        row = self.row(sequence_id)
        number = row.get("number_next") or 1
        self.table.update_untracked(
            sequence_id, {"number_next": number + (row.get("number_increment") or 1)}
        )
        prefix = (row.get("prefix") or "").replace("%(year)s", str(datetime.now(UTC).year))
        return f"{prefix}{str(number).zfill(row.get('padding') or 0)}"

    def next_by_code(self, code: str) -> str:
        ids = sorted(self.table.ids_where("code", code))
        if not ids:
            return "/"
        return self.next_value(ids[0])


def sequences(env: Env) -> IrSequence:
    return cast(IrSequence, env["ir.sequence"])


class IrModelData(Model):
    _name = "ir.model.data"
    _description = "Model Data"
    _order = "module, model, name"
    _rec_name = "complete_name"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "External Identifier", required=True, index=True),
            char("module", "Module", required=True, default=""),
            char("model", "Model Name", required=True),
            integer("res_id", "Record ID"),
            boolean("noupdate", "Non Updatable", default=False),
            char(
                "complete_name",
                "Complete ID",
                compute=lambda m, r: f"{r.get('module') or ''}.{r.get('name') or ''}",
            ),
        ]


class StockWarehouse(Model):
    _name = "stock.warehouse"
    _description = "Warehouse"
    _order = "sequence,id"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Warehouse", required=True),
            char("code", "Short Name", required=True),
            integer("sequence", "Sequence", default=10),
            many2one("company_id", "res.company", "Company", required=True, default=_company),
            many2one("pos_type_id", "stock.picking.type", "Point of Sale Operation Type"),
            boolean("active", "Active", default=True),
        ]


class StockPickingType(Model):
    _name = "stock.picking.type"
    _description = "Picking Type"
    _order = "sequence, id"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Operation Type", required=True),
            selection(
                "code",
                "Type of Operation",
                [
                    ("incoming", "Receipt"),
                    ("outgoing", "Delivery"),
                    ("internal", "Internal Transfer"),
                ],
                required=True,
            ),
            char("sequence_code", "Sequence Prefix", required=True),
            integer("sequence", "Sequence", default=10),
            many2one("warehouse_id", "stock.warehouse", "Warehouse"),
            many2one("company_id", "res.company", "Company", required=True, default=_company),
            boolean("active", "Active", default=True),
        ]


class ProductPricelist(Model):
    _name = "product.pricelist"
    _description = "Pricelist"
    _order = "sequence asc, id asc"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
            char("name", "Pricelist Name", required=True),
            integer("sequence", "Sequence", default=16),
            many2one("currency_id", "res.currency", "Currency", required=True, default=lambda m: 1),
            many2one("company_id", "res.company", "Company"),
            boolean("active", "Active", default=True),
        ]
        if version in (16, 17):
            fields.append(
                selection(
                    "discount_policy",
                    "Discount Policy",
                    [
                        ("with_discount", "Discount included in the price"),
                        ("without_discount", "Show public price & discount to the customer"),
                    ],
                    default="with_discount",
                )
            )
        return fields


class ProductCategory(Model):
    _name = "product.category"
    _description = "Product Category"
    _order = "complete_name"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Name", required=True),
            char("complete_name", "Complete Name", compute=lambda m, r: r.get("name") or ""),
            many2one("parent_id", "product.category", "Parent Category", index=True),
            many2one("property_account_income_categ_id", "account.account", "Income Account"),
        ]


class PosCategory(Model):
    _name = "pos.category"
    _description = "Point of Sale Category"
    _order = "sequence, name"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Category Name", required=True),
            many2one("parent_id", "pos.category", "Parent Category", index=True),
            integer("sequence", "Sequence"),
        ]


def _product_type_fields(version: int) -> list[Field]:
    """16/17 have detailed_type; 18 dropped it for is_storable (odoo-api.md 6.2)."""
    if version == 18:
        return [
            selection(
                "type",
                "Product Type",
                [("consu", "Goods"), ("service", "Service"), ("combo", "Combo")],
                required=True,
                default="consu",
            ),
            boolean("is_storable", "Track Inventory", default=False),
        ]
    detailed = [("consu", "Consumable"), ("service", "Service"), ("product", "Storable Product")]
    if version == 17:
        detailed.append(("combo", "Combo"))
    return [
        selection("detailed_type", "Product Type", detailed, required=True, default="consu"),
        selection("type", "Type", detailed, required=True, default="consu"),
    ]


class ProductTemplate(Model):
    _name = "product.template"
    _description = "Product"
    _order = "priority desc, name"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
            char("name", "Name", required=True, index=True),
            integer("sequence", "Sequence", default=1),
            selection("priority", "Favorite", [("0", "Normal"), ("1", "Favorite")], default="0"),
            text("description", "Description"),
            *_product_type_fields(version),
            many2one(
                "categ_id",
                "product.category",
                "Product Category",
                required=True,
                default=lambda m: 1,
            ),
            floating("list_price", "Sales Price", default=1.0),
            floating("standard_price", "Cost"),
            boolean("sale_ok", "Can be Sold", default=True),
            boolean("purchase_ok", "Can be Purchased", default=True),
            many2one("uom_id", "uom.uom", "Unit of Measure", required=True, default=lambda m: 1),
            many2one(
                "uom_po_id",
                "uom.uom",
                "Purchase Unit of Measure",
                required=True,
                default=lambda m: 1,
            ),
            many2one("company_id", "res.company", "Company", index=True),
            many2many("taxes_id", "account.tax", "Customer Taxes"),
            many2one("property_account_income_id", "account.account", "Income Account"),
            char("default_code", "Internal Reference"),
            char("barcode", "Barcode"),
            boolean("available_in_pos", "Available in POS", default=False),
            boolean("to_weight", "To Weigh With Scale", default=False),
            boolean("active", "Active", default=True),
            one2many("product_variant_ids", "product.product", "product_tmpl_id", "Products"),
        ]
        if version == 16:
            fields.append(many2one("pos_categ_id", "pos.category", "Point of Sale Category"))
        else:
            fields.append(many2many("pos_categ_ids", "pos.category", "Point of Sale Category"))
        return fields

    def _create_one(self, vals: dict[str, Any]) -> int:
        template_id = super()._create_one(vals)
        if self.env.context.get("create_product_product", True):
            self.env["product.product"].create_records([{"product_tmpl_id": template_id}])
        return template_id

    def _check_unlink(self, ids: list[int]) -> None:
        available = [i for i in ids if self.table.rows[i].get("available_in_pos")]
        _refuse_pos_product_unlink(self, available)


def _refuse_pos_product_unlink(model: Model, available_ids: list[int]) -> None:
    if not available_ids:
        return
    sessions = model.env.db.table("pos.session").rows.values()
    if not any(s.get("state") != "closed" for s in sessions):
        return
    if model.env.version == 16:
        raise user_error(
            "You cannot delete a product saleable in point of sale while a session is still opened."
        )
    raise user_error(
        "To delete a product, make sure all point of sale sessions are closed.\n\n"
        "Deleting a product available in a session would be like attempting to snatch a "
        "hamburger from a customer’s hand mid-bite; chaos will ensue as ketchup and mayo go "
        "flying everywhere!"
    )


class ProductProduct(Model):
    _name = "product.product"
    _description = "Product Variant"
    _order = "priority desc, default_code, name, id"
    _inherits = {"product.template": "product_tmpl_id"}  # noqa: RUF012

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            many2one(
                "product_tmpl_id",
                "product.template",
                "Product Template",
                required=True,
                index=True,
                ondelete="cascade",
            ),
            floating(
                "lst_price",
                "Sales Price",
                compute=lambda m, r: m.raw(r, "list_price"),
            ),
            boolean("active", "Active", default=True),
        ]

    def _create_one(self, vals: dict[str, Any]) -> int:
        if "lst_price" in vals and "list_price" not in vals:
            vals["list_price"] = vals.pop("lst_price")
        if vals.get("product_tmpl_id"):
            return super()._create_one(vals)
        quiet = self.env.with_context(create_product_product=False)
        return type(self)(quiet)._create_one_with_template(vals)

    def _create_one_with_template(self, vals: dict[str, Any]) -> int:
        return super()._create_one(vals)

    def _before_write(self, ids: list[int], vals: dict[str, Any]) -> dict[str, Any]:
        if "lst_price" in vals:
            vals["list_price"] = vals.pop("lst_price")
        return vals

    def display_name_of(self, row: Row) -> str:
        name = self.raw(row, "name") or ""
        code = self.raw(row, "default_code")
        return f"[{code}] {name}" if code else name

    def _check_unlink(self, ids: list[int]) -> None:
        available = [i for i in ids if self.raw(self.table.rows[i], "available_in_pos")]
        _refuse_pos_product_unlink(self, available)

    def unlink_records(self, ids: list[int]) -> None:
        templates = {self.table.rows[i]["product_tmpl_id"] for i in ids if i in self.table.rows}
        super().unlink_records(ids)
        # A template whose last variant is gone goes with it.
        orphans = [t for t in sorted(templates) if not self.table.ids_where("product_tmpl_id", t)]
        self.env["product.template"].unlink_records(orphans)
