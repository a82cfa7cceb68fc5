"""Customer service pages: an HTML dashboard and a JSON lookup by e-mail."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from accounts.models import Customer
from shop.views import PAGE_SIZE, wants_fix


def dashboard(request: HttpRequest) -> HttpResponse:
    """Newest active customers with their order count, points and cities."""
    fixed = wants_fix(request)
    customers = Customer.objects.filter(is_active=True).order_by("-created_at", "-pk")
    if fixed:
        customers = (
            Customer.objects.filter(pk__in=customers.values("pk")[:PAGE_SIZE])
            .order_by("-created_at", "-pk")
            .select_related("profile")
            .prefetch_related("addresses")
            .annotate(order_count=Count("orders"))
        )
    customers = list(customers[:PAGE_SIZE])
    if not fixed:
        for customer in customers:
            customer.order_count = customer.orders.count()
    return render(request, "accounts/dashboard.html", {"customers": customers})


def lookup(request: HttpRequest) -> JsonResponse:
    """Find a customer by e-mail, the support desk's first step on every ticket."""
    fixed = wants_fix(request)
    email = request.GET.get("email", "").strip().lower()
    customers = Customer.objects.select_related("profile") if fixed else Customer.objects.all()
    customer = get_object_or_404(customers, email=email)
    orders = customer.orders.order_by("-created_at", "-pk")[:10]
    if fixed:
        orders = orders.annotate(item_count=Count("items"))
    recent = []
    for order in orders:
        recent.append(
            {
                "id": order.pk,
                "status": order.status,
                "total": str(order.total),
                "items": order.item_count if fixed else order.items.count(),
            }
        )
    return JsonResponse(
        {
            "name": customer.name,
            "email": customer.email,
            "loyalty_points": customer.profile.loyalty_points,
            "cities": [address.city for address in customer.addresses.all()],
            "orders": recent,
        }
    )
