"""Shipments, tracked by a number customers paste into a search box."""

from __future__ import annotations

from django.db import models


class Carrier(models.Model):
    name = models.CharField(max_length=100)
    code = models.CharField(max_length=8)
    tracking_url = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Shipment(models.Model):
    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="shipment")
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="shipments")
    tracking_number = models.CharField(max_length=40)
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.tracking_number
