"""The pages the demo, the docs and the benchmarks drive, as ``(name, path)`` pairs.

Each path works on a freshly seeded shop at any scale; appending ``fixed=1`` to the query
string gives the tuned variant of the same page. The module imports no models, so test
runners and tools can read it without configuring the shop.
"""

from __future__ import annotations

DEMO_EMAIL = "ada.lovelace@example.com"
"""E-mail of customer 1 at every scale, so the page list can look a customer up."""
DEMO_SKU = "ADA-000001"
"""SKU of product 1 at every scale."""
DEMO_TRACKING = "1ZADA0000000000001"
"""Tracking number of shipment 1 at every scale."""

PAGES: list[tuple[str, str]] = [
    ("orders", "/orders/?status=paid"),
    ("order_detail", "/orders/1/"),
    ("order_audit", "/orders/audit/?status=failed"),
    ("products", "/products/"),
    ("product_detail", f"/products/{DEMO_SKU}/"),
    ("customers_dashboard", "/customers/dashboard/"),
    ("customer_lookup", f"/customers/lookup/?email={DEMO_EMAIL}"),
    ("shipping_board", "/shipping/board/"),
    ("shipment_track", f"/shipping/track/?number={DEMO_TRACKING}"),
]


def fixed_url(path: str) -> str:
    """``path`` with ``fixed=1`` added to its query string."""
    return f"{path}{'&' if '?' in path else '?'}fixed=1"
