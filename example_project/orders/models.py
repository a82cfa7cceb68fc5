"""Orders and the legacy order log.

``LegacyOrderLog`` was imported from the previous platform: its columns were declared in
the order the old export listed them and with the widest types at hand, which is how such
tables look in real monoliths.
"""

from __future__ import annotations

from django.db import models


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PAID = "paid"
        SHIPPED = "shipped"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"
        REFUNDED = "refunded"

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    total = models.DecimalField(max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"order {self.pk}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="order_items"
    )
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"


class LegacyOrderLog(models.Model):
    class Status(models.TextChoices):
        OK = "ok"
        RETRY = "retry"
        FAILED = "failed"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="log_entries")
    is_processed = models.BooleanField(default=False)
    attempt_count = models.BigIntegerField(default=0)
    priority = models.SmallIntegerField(default=0)
    payload_bytes = models.BigIntegerField(default=0)
    is_archived = models.BooleanField(default=False)
    logged_at = models.DateTimeField()
    needs_review = models.BooleanField(default=False)
    sequence_no = models.BigIntegerField(default=0)
    event_uuid = models.CharField(max_length=36)
    channel_id = models.BigIntegerField(default=0)
    # The old export told NULL apart from "", so the column stays nullable.
    legacy_ref = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OK)
    message = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"log {self.event_uuid}"
