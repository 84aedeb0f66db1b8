"""Every model the emulator knows, in the order their tables are created."""

from __future__ import annotations

from odoo_emulator.models.account import (
    AccountAccount,
    AccountBankStatementLine,
    AccountCashRounding,
    AccountFiscalPosition,
    AccountJournal,
    AccountMove,
    AccountMoveLine,
    AccountTax,
    AccountTaxRepartitionLine,
)
from odoo_emulator.models.base import (
    IrModelData,
    IrSequence,
    PosCategory,
    ProductCategory,
    ProductPricelist,
    ProductProduct,
    ProductTemplate,
    ResCompany,
    ResCountry,
    ResCurrency,
    ResPartner,
    ResUsers,
    StockPickingType,
    StockWarehouse,
    UomUom,
)
from odoo_emulator.models.pos_close_session_wizard import PosCloseSessionWizard
from odoo_emulator.models.pos_config import PosConfig
from odoo_emulator.models.pos_order import PosOrder, PosOrderLine, PosPackOperationLot
from odoo_emulator.models.pos_payment import PosPayment, PosPaymentMethod
from odoo_emulator.models.pos_session import PosSession
from odoo_emulator.orm import Model

ALL_MODELS: tuple[type[Model], ...] = (
    ResCurrency,
    ResCountry,
    ResCompany,
    ResPartner,
    ResUsers,
    UomUom,
    IrSequence,
    IrModelData,
    AccountAccount,
    AccountTax,
    AccountTaxRepartitionLine,
    AccountJournal,
    AccountMove,
    AccountMoveLine,
    AccountBankStatementLine,
    AccountFiscalPosition,
    AccountCashRounding,
    StockWarehouse,
    StockPickingType,
    ProductPricelist,
    ProductCategory,
    PosCategory,
    ProductTemplate,
    ProductProduct,
    PosPaymentMethod,
    PosConfig,
    PosSession,
    PosOrder,
    PosOrderLine,
    PosPayment,
    PosPackOperationLot,
    PosCloseSessionWizard,
)
