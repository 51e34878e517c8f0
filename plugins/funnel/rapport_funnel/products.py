"""The product catalogue: what deals' lines are made of."""

from __future__ import annotations

from typing import Any

from rapport.api import gettext as _

from rapport_funnel.errors import FunnelError
from rapport_funnel.money import instance_currency, parse_amount
from rapport_funnel.tables import FunnelProduct


async def list_products(*, include_inactive: bool = False) -> list[dict[str, Any]]:
    query = FunnelProduct.select().order_by(FunnelProduct.name).order_by(FunnelProduct.id)
    if not include_inactive:
        query = query.where(FunnelProduct.active == True)  # noqa: E712
    return await query


async def get_product(product_id: int) -> dict[str, Any] | None:
    return await FunnelProduct.select().where(FunnelProduct.id == product_id).first()


async def add_product(name: str, price: str, sku: str = "", currency: str = "") -> int:
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["product_name"] = _("Name the product.")
    price_minor = parse_amount(price)
    if price_minor is None:
        errors["product_price"] = _("Enter an amount such as 12500 or 12500.50.")
    if errors:
        raise FunnelError(errors)
    rows = await FunnelProduct.insert(
        FunnelProduct(
            name=name[:200], sku=(sku or "").strip()[:60], price_minor=price_minor or 0,
            currency=(currency or instance_currency()).upper()[:3],
        )
    ).returning(FunnelProduct.id)
    return rows[0]["id"]


async def set_product_active(product_id: int, active: bool) -> None:
    await FunnelProduct.update({FunnelProduct.active: active}).where(
        FunnelProduct.id == product_id
    )
