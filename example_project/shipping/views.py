"""Dispatch pages: the board of parcels on the road and tracking-number search, as JSON."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404

from shipping.models import Shipment
from shop.views import PAGE_SIZE, wants_fix


def board(request: HttpRequest) -> JsonResponse:
    """Parcels shipped but not delivered, newest first, with carrier and recipient."""
    shipments = Shipment.objects.filter(delivered_at__isnull=True).order_by("-shipped_at")
    if wants_fix(request):
        shipments = shipments.select_related("carrier", "order__customer")
    rows = []
    for shipment in shipments[:PAGE_SIZE]:
        rows.append(
            {
                "tracking_number": shipment.tracking_number,
                "shipped_at": shipment.shipped_at.isoformat(),
                "carrier": shipment.carrier.name,
                "recipient": shipment.order.customer.name,
            }
        )
    return JsonResponse({"in_transit": rows})


def track(request: HttpRequest) -> JsonResponse:
    """Look a parcel up by the tracking number a customer pasted."""
    number = request.GET.get("number", "").strip().upper()
    shipments = Shipment.objects.all()
    if wants_fix(request):
        shipments = shipments.select_related("carrier", "order")
    shipment = get_object_or_404(shipments, tracking_number=number)
    return JsonResponse(
        {
            "tracking_number": shipment.tracking_number,
            "carrier": shipment.carrier.name,
            "url": shipment.carrier.tracking_url.format(number=shipment.tracking_number),
            "order": shipment.order_id,
            "order_status": shipment.order.status,
            "shipped_at": shipment.shipped_at.isoformat(),
            "delivered_at": shipment.delivered_at and shipment.delivered_at.isoformat(),
        }
    )
