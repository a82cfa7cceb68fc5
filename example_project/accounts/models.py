"""Customer data, modelled the way a young shop models it: lookups by e-mail everywhere."""

from __future__ import annotations

from django.db import models


class Customer(models.Model):
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    line1 = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=16)
    country = models.CharField(max_length=2)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_default", "pk"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return f"{self.line1}, {self.city}"


class Profile(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="profile")
    loyalty_points = models.IntegerField(default=0)
    birth_date = models.DateField(null=True, blank=True)
    newsletter = models.BooleanField(default=False)
    bio = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"profile of {self.customer_id}"
