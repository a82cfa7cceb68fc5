"""Back-office order screens, as JSON."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404

from catalog.models import Product
from orders.models import LegacyOrderLog, Order
from shop.views import PAGE_SIZE, wants_fix


def order_list(request: HttpRequest) -> JsonResponse:
    """Newest orders in one status: the screen the warehouse keeps open all day."""
    status = request.GET.get("status", Order.Status.PAID)
    orders = Order.objects.filter(status=status).order_by("-created_at")
    if wants_fix(request):
        orders = orders.select_related("customer")
    rows = []
    for order in orders[:PAGE_SIZE]:
        rows.append(
            {
                "id": order.pk,
                "created_at": order.created_at.isoformat(),
                "total": str(order.total),
                "customer": order.customer.name,
                "email": order.customer.email,
            }
        )
    return JsonResponse({"status": status, "orders": rows})


def order_detail(request: HttpRequest, order_id: int) -> JsonResponse:
    """One order with its lines and the latest entries of its processing log."""
    fixed = wants_fix(request)
    orders = Order.objects.select_related("customer") if fixed else Order.objects.all()
    order = get_object_or_404(orders, pk=order_id)
    items = list(order.items.order_by("pk"))
    products = Product.objects.in_bulk([item.product_id for item in items]) if fixed else {}
    lines = []
    for item in items:
        product = products[item.product_id] if fixed else Product.objects.get(pk=item.product_id)
        lines.append(
            {
                "sku": product.sku,
                "name": product.name,
                "quantity": item.quantity,
                "unit_price": str(item.unit_price),
            }
        )
    log = order.log_entries.order_by("-logged_at", "-pk")[:10]
    return JsonResponse(
        {
            "id": order.pk,
            "status": order.status,
            "customer": order.customer.name,
            "total": str(order.total),
            "lines": lines,
            "log": [{"at": entry.logged_at.isoformat(), "message": entry.message} for entry in log],
        }
    )


def order_audit(request: HttpRequest) -> JsonResponse:
    """Newest entries of the legacy order log in one state, for the payments team."""
    status = request.GET.get("status", LegacyOrderLog.Status.FAILED)
    entries = LegacyOrderLog.objects.filter(status=status).order_by("-logged_at")
    if wants_fix(request):
        entries = entries.select_related("order")
    rows = []
    for entry in entries[:PAGE_SIZE]:
        rows.append(
            {
                "event": entry.event_uuid,
                "logged_at": entry.logged_at.isoformat(),
                "attempts": entry.attempt_count,
                "priority": entry.priority,
                "payload_bytes": entry.payload_bytes,
                "channel": entry.channel_id,
                "legacy_ref": entry.legacy_ref,
                "order": entry.order_id,
                "order_status": entry.order.status,
            }
        )
    return JsonResponse({"status": status, "entries": rows})
