"""Storefront catalogue pages, as JSON."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404

from catalog.models import Product, Review
from shop.views import PAGE_SIZE, wants_fix


def product_list(request: HttpRequest) -> JsonResponse:
    """Newest active products with their tags and a digest of their reviews."""
    products = Product.objects.filter(status=Product.Status.ACTIVE).order_by("-created_at", "-pk")
    category = request.GET.get("category")
    if category:
        products = products.filter(category_id=category)
    if wants_fix(request):
        products = products.select_related("category").prefetch_related("tags", "reviews")
    rows = []
    for product in products[:PAGE_SIZE]:
        reviews = list(product.reviews.all())
        rows.append(
            {
                "sku": product.sku,
                "name": product.name,
                "price": str(product.price),
                "category": product.category.name,
                "tags": [tag.name for tag in product.tags.all()],
                "reviews": len(reviews),
                "rating": _average_rating(reviews),
                "latest_review": _latest(reviews),
            }
        )
    return JsonResponse({"products": rows})


def product_detail(request: HttpRequest, sku: str) -> JsonResponse:
    """One product by SKU, the way shoppers and partner feeds link to it."""
    fixed = wants_fix(request)
    products = Product.objects.select_related("category") if fixed else Product.objects.all()
    product = get_object_or_404(products, sku=sku)
    reviews = product.reviews.order_by("-created_at", "-pk")[:20]
    if fixed:
        reviews = reviews.select_related("customer")
    return JsonResponse(
        {
            "sku": product.sku,
            "name": product.name,
            "category": product.category.name,
            "price": str(product.price),
            "status": product.status,
            "reviews": [
                {"rating": review.rating, "author": review.customer.name, "body": review.body}
                for review in reviews
            ],
        }
    )


def _average_rating(reviews: list[Review]) -> float | None:
    if not reviews:
        return None
    return round(sum(review.rating for review in reviews) / len(reviews), 2)


def _latest(reviews: list[Review]) -> str | None:
    if not reviews:
        return None
    return max(reviews, key=lambda review: (review.created_at, review.pk)).body
