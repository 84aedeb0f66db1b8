"""Registers HTTP routes: parse, call one handler, map its errors. Nothing else."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response

from registers.domain.sync import SyncState
from registers.handlers import RegisterHandlers
from registers.http_models import (
    CategoryCreate,
    CategoryPage,
    CategoryPatch,
    CategoryPublic,
    CustomerCreate,
    CustomerPage,
    CustomerPatch,
    CustomerPublic,
    PaymentMethodCreate,
    PaymentMethodPage,
    PaymentMethodPatch,
    PaymentMethodPublic,
    ProductCreate,
    ProductPage,
    ProductPatch,
    ProductPublic,
    RegisterCatalog,
    RegisterCreate,
    RegisterPage,
    RegisterPatch,
    RegisterPublic,
    ShopCreate,
    ShopPage,
    ShopPatch,
    ShopPublic,
    TenantCreate,
    TenantPage,
    TenantPatch,
    TenantPublic,
    TokenCreate,
    TokenIssued,
    TokenPage,
)
from registers.settings import RegistersSettings
from shared.actor import Actor
from shared.auth import Claims, Role, allow_roles
from shared.dead_letters.api import dead_letters_router
from shared.errors import install_domain_error_handler
from shared.http_fields import Text
from shared.http_service import Lifespan, create_service_app, service_readiness

router = APIRouter(prefix="/v1")


def _handlers(request: Request) -> RegisterHandlers:
    handlers: RegisterHandlers = request.app.state.handlers
    return handlers


def _actor(claims: Claims) -> Actor:
    return Actor.from_claims(claims)


HandlersDep = Annotated[RegisterHandlers, Depends(_handlers)]
ActorDep = Annotated[Actor, Depends(_actor)]
Limit = Annotated[int, Query(ge=1, le=250)]
IfMatch = Annotated[str | None, Header(description='The ETag of your last read, such as "3"')]

# Who may call each route (README, "Who may do what"); tenant scope is the handlers'.
PLATFORM = Depends(allow_roles(Role.PLATFORM_ADMIN))
BACK_OFFICE = Depends(allow_roles(Role.MANAGER, Role.ADMIN))
TENANT_READERS = Depends(allow_roles(Role.MANAGER, Role.ADMIN, Role.PLATFORM_ADMIN))
ADMIN = Depends(allow_roles(Role.ADMIN))
ADMINS = Depends(allow_roles(Role.ADMIN, Role.PLATFORM_ADMIN))
SELLERS = Depends(allow_roles(Role.CASHIER, Role.MANAGER, Role.ADMIN))
IfNoneMatch = Annotated[
    str | None, Header(description="The catalog's ETag from your last read: 304 if unchanged")
]


def _tagged(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


# Tenants.


@router.post("/tenants", status_code=201, dependencies=[PLATFORM])
async def create_tenant(
    body: TenantCreate, response: Response, actor: ActorDep, handlers: HandlersDep
) -> TenantPublic:
    tenant = await handlers.create_tenant(actor, body)
    _tagged(response, tenant.version)
    return tenant


@router.get("/tenants", dependencies=[TENANT_READERS])
async def list_tenants(
    actor: ActorDep, handlers: HandlersDep, cursor: str | None = None, limit: Limit = 50
) -> TenantPage:
    return await handlers.list_tenants(actor, cursor, limit)


@router.get("/tenants/{tenant_id}", dependencies=[TENANT_READERS])
async def get_tenant(
    tenant_id: UUID, response: Response, actor: ActorDep, handlers: HandlersDep
) -> TenantPublic:
    tenant = await handlers.get_tenant(actor, tenant_id)
    _tagged(response, tenant.version)
    return tenant


@router.patch("/tenants/{tenant_id}", dependencies=[ADMINS])
async def patch_tenant(
    tenant_id: UUID,
    body: TenantPatch,
    response: Response,
    actor: ActorDep,
    handlers: HandlersDep,
    if_match: IfMatch = None,
) -> TenantPublic:
    tenant = await handlers.patch_tenant(actor, tenant_id, body, if_match)
    _tagged(response, tenant.version)
    return tenant


# Shops.


@router.post("/shops", status_code=201, dependencies=[ADMIN])
async def create_shop(
    body: ShopCreate, response: Response, actor: ActorDep, handlers: HandlersDep
) -> ShopPublic:
    shop = await handlers.create_shop(actor, body)
    _tagged(response, shop.version)
    return shop


@router.get("/shops", dependencies=[BACK_OFFICE])
async def list_shops(
    actor: ActorDep, handlers: HandlersDep, cursor: str | None = None, limit: Limit = 50
) -> ShopPage:
    return await handlers.list_shops(actor, cursor, limit)


@router.get("/shops/{shop_id}", dependencies=[BACK_OFFICE])
async def get_shop(
    shop_id: UUID, response: Response, actor: ActorDep, handlers: HandlersDep
) -> ShopPublic:
    shop = await handlers.get_shop(actor, shop_id)
    _tagged(response, shop.version)
    return shop


@router.patch("/shops/{shop_id}", dependencies=[ADMIN])
async def patch_shop(
    shop_id: UUID,
    body: ShopPatch,
    response: Response,
    actor: ActorDep,
    handlers: HandlersDep,
    if_match: IfMatch = None,
) -> ShopPublic:
    shop = await handlers.patch_shop(actor, shop_id, body, if_match)
    _tagged(response, shop.version)
    return shop


# Registers.


@router.post("/shops/{shop_id}/registers", status_code=201, dependencies=[ADMIN])
async def create_register(
    shop_id: UUID,
    body: RegisterCreate,
    response: Response,
    actor: ActorDep,
    handlers: HandlersDep,
) -> RegisterPublic:
    register = await handlers.create_register(actor, shop_id, body)
    _tagged(response, register.version)
    return register


@router.get("/registers", dependencies=[BACK_OFFICE])
async def list_registers(
    actor: ActorDep,
    handlers: HandlersDep,
    shop_id: UUID | None = None,
    sync_state: SyncState | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> RegisterPage:
    return await handlers.list_registers(
        actor, shop_id=shop_id, sync_state=sync_state, cursor=cursor, limit=limit
    )


@router.get("/registers/{register_id}", dependencies=[BACK_OFFICE])
async def get_register(
    register_id: UUID, response: Response, actor: ActorDep, handlers: HandlersDep
) -> RegisterPublic:
    register = await handlers.get_register(actor, register_id)
    _tagged(response, register.version)
    return register


@router.patch("/registers/{register_id}", dependencies=[ADMIN])
async def patch_register(
    register_id: UUID,
    body: RegisterPatch,
    response: Response,
    actor: ActorDep,
    handlers: HandlersDep,
    if_match: IfMatch = None,
) -> RegisterPublic:
    register = await handlers.patch_register(actor, register_id, body, if_match)
    _tagged(response, register.version)
    return register


@router.post("/registers/{register_id}/retry-sync", dependencies=[ADMIN])
async def retry_sync(
    register_id: UUID, response: Response, actor: ActorDep, handlers: HandlersDep
) -> RegisterPublic:
    register = await handlers.retry_sync(actor, register_id)
    _tagged(response, register.version)
    return register


# Payment methods.


@router.post("/payment-methods", status_code=201, dependencies=[ADMIN])
async def create_payment_method(
    body: PaymentMethodCreate, response: Response, actor: ActorDep, handlers: HandlersDep
) -> PaymentMethodPublic:
    method = await handlers.create_payment_method(actor, body)
    _tagged(response, method.version)
    return method


@router.get("/payment-methods", dependencies=[BACK_OFFICE])
async def list_payment_methods(
    actor: ActorDep, handlers: HandlersDep, cursor: str | None = None, limit: Limit = 50
) -> PaymentMethodPage:
    return await handlers.list_payment_methods(actor, cursor, limit)


@router.get("/payment-methods/{payment_method_id}", dependencies=[BACK_OFFICE])
async def get_payment_method(
    payment_method_id: UUID, response: Response, actor: ActorDep, handlers: HandlersDep
) -> PaymentMethodPublic:
    method = await handlers.get_payment_method(actor, payment_method_id)
    _tagged(response, method.version)
    return method


@router.patch("/payment-methods/{payment_method_id}", dependencies=[ADMIN])
async def patch_payment_method(
    payment_method_id: UUID,
    body: PaymentMethodPatch,
    response: Response,
    actor: ActorDep,
    handlers: HandlersDep,
    if_match: IfMatch = None,
) -> PaymentMethodPublic:
    method = await handlers.patch_payment_method(actor, payment_method_id, body, if_match)
    _tagged(response, method.version)
    return method


# The catalog.


@router.post("/product-categories", status_code=201, dependencies=[ADMIN])
async def create_category(
    body: CategoryCreate, response: Response, actor: ActorDep, handlers: HandlersDep
) -> CategoryPublic:
    category = await handlers.create_category(actor, body)
    _tagged(response, category.version)
    return category


@router.get("/product-categories", dependencies=[BACK_OFFICE])
async def list_categories(
    actor: ActorDep, handlers: HandlersDep, cursor: str | None = None, limit: Limit = 50
) -> CategoryPage:
    return await handlers.list_categories(actor, cursor, limit)


@router.get("/product-categories/{category_id}", dependencies=[BACK_OFFICE])
async def get_category(
    category_id: UUID, response: Response, actor: ActorDep, handlers: HandlersDep
) -> CategoryPublic:
    category = await handlers.get_category(actor, category_id)
    _tagged(response, category.version)
    return category


@router.patch("/product-categories/{category_id}", dependencies=[ADMIN])
async def patch_category(
    category_id: UUID,
    body: CategoryPatch,
    response: Response,
    actor: ActorDep,
    handlers: HandlersDep,
    if_match: IfMatch = None,
) -> CategoryPublic:
    category = await handlers.patch_category(actor, category_id, body, if_match)
    _tagged(response, category.version)
    return category


@router.post("/products", status_code=201, dependencies=[ADMIN])
async def create_product(
    body: ProductCreate, response: Response, actor: ActorDep, handlers: HandlersDep
) -> ProductPublic:
    product = await handlers.create_product(actor, body)
    _tagged(response, product.version)
    return product


@router.get("/products", dependencies=[BACK_OFFICE])
async def list_products(
    actor: ActorDep,
    handlers: HandlersDep,
    category_id: UUID | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> ProductPage:
    return await handlers.list_products(
        actor, category_id=category_id, active=active, cursor=cursor, limit=limit
    )


@router.get("/products/{product_id}", dependencies=[BACK_OFFICE])
async def get_product(
    product_id: UUID, response: Response, actor: ActorDep, handlers: HandlersDep
) -> ProductPublic:
    product = await handlers.get_product(actor, product_id)
    _tagged(response, product.version)
    return product


@router.patch("/products/{product_id}", dependencies=[ADMIN])
async def patch_product(
    product_id: UUID,
    body: ProductPatch,
    response: Response,
    actor: ActorDep,
    handlers: HandlersDep,
    if_match: IfMatch = None,
) -> ProductPublic:
    product = await handlers.patch_product(actor, product_id, body, if_match)
    _tagged(response, product.version)
    return product


@router.get(
    "/catalog",
    dependencies=[SELLERS],
    response_model=RegisterCatalog,
    responses={304: {"description": "Unchanged since the ETag sent in If-None-Match"}},
)
async def get_catalog(
    response: Response,
    actor: ActorDep,
    handlers: HandlersDep,
    register_id: UUID | None = None,
    if_none_match: IfNoneMatch = None,
) -> RegisterCatalog | Response:
    catalog, etag = await handlers.register_catalog(actor, register_id, if_none_match)
    # A cache may keep the catalog but must ask again, so a tablet sees a change at its next poll.
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if catalog is None:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return catalog


# Customers.


@router.post("/customers", status_code=201, dependencies=[SELLERS])
async def create_customer(
    body: CustomerCreate, response: Response, actor: ActorDep, handlers: HandlersDep
) -> CustomerPublic:
    customer = await handlers.create_customer(actor, body)
    _tagged(response, customer.version)
    return customer


@router.get("/customers", dependencies=[SELLERS])
async def list_customers(
    actor: ActorDep,
    handlers: HandlersDep,
    search: Annotated[Text | None, Query(min_length=1, max_length=100)] = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> CustomerPage:
    return await handlers.list_customers(
        actor, search=search, active=active, cursor=cursor, limit=limit
    )


@router.get("/customers/{customer_id}", dependencies=[SELLERS])
async def get_customer(
    customer_id: UUID, response: Response, actor: ActorDep, handlers: HandlersDep
) -> CustomerPublic:
    customer = await handlers.get_customer(actor, customer_id)
    _tagged(response, customer.version)
    return customer


@router.patch("/customers/{customer_id}", dependencies=[BACK_OFFICE])
async def patch_customer(
    customer_id: UUID,
    body: CustomerPatch,
    response: Response,
    actor: ActorDep,
    handlers: HandlersDep,
    if_match: IfMatch = None,
) -> CustomerPublic:
    customer = await handlers.patch_customer(actor, customer_id, body, if_match)
    _tagged(response, customer.version)
    return customer


# Tokens.


@router.post("/tokens", status_code=201, dependencies=[ADMINS])
async def issue_token(body: TokenCreate, actor: ActorDep, handlers: HandlersDep) -> TokenIssued:
    return await handlers.issue_token(actor, body)


@router.get("/tokens", dependencies=[ADMINS])
async def list_tokens(
    actor: ActorDep, handlers: HandlersDep, cursor: str | None = None, limit: Limit = 50
) -> TokenPage:
    return await handlers.list_tokens(actor, cursor, limit)


@router.delete("/tokens/{token_id}", status_code=204, dependencies=[ADMINS])
async def revoke_token(token_id: UUID, actor: ActorDep, handlers: HandlersDep) -> Response:
    await handlers.revoke_token(actor, token_id)
    return Response(status_code=204)


def build_app(settings: RegistersSettings, lifespan: Lifespan) -> FastAPI:
    app = create_service_app(title="Registers", lifespan=lifespan, readiness=service_readiness)
    install_domain_error_handler(app)
    app.include_router(router)
    app.include_router(dead_letters_router(settings))
    return app
