"""Deterministic rows for every table of the shop.

The generator knows nothing about databases: it yields plain tuples, which
``shop.seeding`` streams into PostgreSQL with COPY or into SQLite with ``bulk_create``.
Both backends therefore receive identical data for a given scale and seed, which is what
lets benchmarks, the demo and the tests compare runs.

Every table draws from its own ``random.Random`` seeded with ``"<seed>:<table>"``, so a
change to one table's recipe leaves the other tables' data alone. Times are offsets from a
fixed base, never the clock.
"""

from __future__ import annotations

import random
import uuid
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import models

from accounts.models import Address, Customer, Profile
from catalog.models import Category, Product, Review, Tag
from orders.models import LegacyOrderLog, Order, OrderItem
from shipping.models import Carrier, Shipment
from shop.pages import DEMO_EMAIL, DEMO_SKU, DEMO_TRACKING
from shop.vocabulary import (
    ADJECTIVES,
    CARRIERS,
    CITIES,
    DOMAINS,
    FIRST_NAMES,
    KINDS,
    LAST_NAMES,
    LOG_MESSAGES,
    NOUNS,
    ROOTS,
    STREETS,
    TAGS,
    WORDS,
)

Row = tuple[Any, ...]

BASE_TIME = datetime(2023, 1, 1, tzinfo=UTC)
SECOND = 1_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
SPAN = 730 * DAY
"""The seeded history: two years, in microseconds like every time offset here."""


@dataclass(frozen=True)
class Sizes:
    """Row targets; scale 1 is about 50 MB on PostgreSQL, rows grow linearly with scale."""

    customers: int
    products: int
    reviews: int
    orders: int

    @classmethod
    def for_scale(cls, scale: float) -> Sizes:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")

        def scaled(base: int) -> int:
            return max(2, round(base * scale))

        return cls(
            customers=scaled(10_000),
            products=scaled(2_500),
            reviews=scaled(15_000),
            orders=scaled(21_000),
        )


@dataclass(frozen=True)
class TableRows:
    """One table's rows: ``fields`` are the model's attribute names in row order."""

    model: type[models.Model]
    fields: tuple[str, ...]
    rows: Iterator[Row]


class ShopData:
    """Produces the shop's tables in dependency order.

    Later tables read facts recorded while earlier ones were generated (prices, order
    totals and dates), so each table's rows must be consumed completely, in the order
    :meth:`tables` yields them, before asking for the next table.
    """

    def __init__(self, scale: float, seed: int = 42) -> None:
        self.sizes = Sizes.for_scale(scale)
        self.seed = seed
        self.prices: list[Decimal] = []
        self.price_cents = array("q")
        self.order_totals = array("q")
        self.order_times = array("q")
        self.order_statuses = bytearray()

    def tables(self) -> Iterator[TableRows]:
        recipes: list[tuple[type[models.Model], Callable[[], Iterator[Row]]]] = [
            (Customer, self.customers),
            (Address, self.addresses),
            (Profile, self.profiles),
            (Category, self.categories),
            (Tag, self.tags),
            (Product, self.products),
            (Product.tags.through, self.product_tags),
            (Review, self.reviews),
            (OrderItem, self.order_items),
            (Order, self.orders),
            (Carrier, self.carriers),
            (Shipment, self.shipments),
            (LegacyOrderLog, self.order_log),
        ]
        for model, recipe in recipes:
            fields = tuple(field.attname for field in model._meta.concrete_fields)
            yield TableRows(model, fields, recipe())

    def _rng(self, table: str) -> random.Random:
        return random.Random(f"{self.seed}:{table}")

    def customers(self) -> Iterator[Row]:
        rng = self._rng("customers")
        count = self.sizes.customers
        for pk in range(1, count + 1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}{pk}@{rng.choice(DOMAINS)}".lower()
            if pk == 1:
                first, last, email = "Ada", "Lovelace", DEMO_EMAIL
            phone = f"+{rng.randint(30, 49)} {rng.randrange(10**8, 10**9)}"
            joined = SPAN * (pk - 1) // count + rng.randrange(HOUR)
            created = BASE_TIME + timedelta(microseconds=joined)
            yield (pk, email, f"{first} {last}", phone, rng.random() > 0.05, created)

    def addresses(self) -> Iterator[Row]:
        rng = self._rng("addresses")
        pk = 0
        for customer_id in range(1, self.sizes.customers + 1):
            for number in range(1 + (rng.random() < 0.4) + (rng.random() < 0.1)):
                pk += 1
                city, country = rng.choice(CITIES)
                line1 = f"{rng.randint(1, 240)} {rng.choice(STREETS)} Street"
                postcode = f"{rng.randrange(10000, 99999)}"
                yield (pk, customer_id, line1, city, postcode, country, number == 0)

    def profiles(self) -> Iterator[Row]:
        rng = self._rng("profiles")
        for pk in range(1, self.sizes.customers + 1):
            birth = date(1950, 1, 1) + timedelta(days=rng.randrange(20_000))
            yield (
                pk,
                pk,
                rng.randrange(0, 5000, 5),
                birth if rng.random() < 0.7 else None,
                rng.random() < 0.3,
                "" if rng.random() < 0.8 else " ".join(rng.choices(WORDS, k=12)),
            )

    def categories(self) -> Iterator[Row]:
        yield from ((pk, name, None) for pk, name in enumerate(ROOTS, start=1))
        pk = len(ROOTS)
        for parent_id, root in enumerate(ROOTS, start=1):
            for kind in KINDS:
                pk += 1
                yield (pk, f"{root} {kind}", parent_id)

    def tags(self) -> Iterator[Row]:
        return ((pk, name) for pk, name in enumerate(TAGS, start=1))

    def products(self) -> Iterator[Row]:
        rng = self._rng("products")
        leaf_ids = range(len(ROOTS) + 1, len(ROOTS) * (len(KINDS) + 1) + 1)
        statuses = ("active",) * 16 + ("draft",) * 2 + ("archived",) * 2
        count = self.sizes.products
        for pk in range(1, count + 1):
            cents = rng.randrange(199, 49_999, 10)
            price = Decimal(cents).scaleb(-2)
            self.price_cents.append(cents)
            self.prices.append(price)
            letters = "".join(rng.choices("ABCDEFGHJKLMNPRSTUVWXYZ", k=3))
            sku = DEMO_SKU if pk == 1 else f"{letters}-{pk:06d}"
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {pk}"
            description = " ".join(rng.choices(WORDS, k=rng.randint(5, 25)))
            created = BASE_TIME + timedelta(microseconds=SPAN * (pk - 1) // count)
            category_id = rng.choice(leaf_ids)
            yield (pk, category_id, name, sku, description, price, rng.choice(statuses), created)

    def product_tags(self) -> Iterator[Row]:
        rng = self._rng("product_tags")
        tag_ids = range(1, len(TAGS) + 1)
        pk = 0
        for product_id in range(1, self.sizes.products + 1):
            for tag_id in sorted(rng.sample(tag_ids, rng.randint(0, 5))):
                pk += 1
                yield (pk, product_id, tag_id)

    def reviews(self) -> Iterator[Row]:
        rng = self._rng("reviews")
        products, customers = self.sizes.products, self.sizes.customers
        ratings = (1, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5)
        for pk in range(1, self.sizes.reviews + 1):
            product_id = int(products * rng.random() ** 2) + 1
            body = " ".join(rng.choices(WORDS, k=rng.randint(6, 40))).capitalize() + "."
            at = SPAN * (product_id - 1) // products
            at += rng.randrange(SPAN - at + 1)
            created = BASE_TIME + timedelta(microseconds=at)
            customer_id = rng.randint(1, customers)
            yield (pk, product_id, customer_id, rng.choice(ratings), body, created)

    def order_items(self) -> Iterator[Row]:
        rng = self._rng("order_items")
        products, prices, cents = self.sizes.products, self.prices, self.price_cents
        quantities = (1, 1, 1, 1, 1, 2, 2, 3)
        totals = self.order_totals
        pk = 0
        for order_id in range(1, self.sizes.orders + 1):
            total = 0
            for _ in range(rng.randint(1, 5)):
                pk += 1
                index = int(products * rng.random() ** 2)
                quantity = rng.choice(quantities)
                total += quantity * cents[index]
                yield (pk, order_id, index + 1, quantity, prices[index])
            totals.append(total)

    def orders(self) -> Iterator[Row]:
        rng = self._rng("orders")
        count, customers = self.sizes.orders, self.sizes.customers
        statuses = list(Order.Status.values)
        codes = {status: code for code, status in enumerate(statuses)}
        for pk in range(1, count + 1):
            at = SPAN * (pk - 1) // count + rng.randrange(10 * 60 * SECOND)
            age = 1 - pk / count
            if age < 0.02:
                status = rng.choice(("pending", "pending", "paid", "paid", "shipped"))
            elif age < 0.05:
                status = rng.choice(("paid", "shipped", "shipped", "delivered", "cancelled"))
            else:
                status = rng.choice(("delivered",) * 17 + ("cancelled", "refunded", "shipped"))
            self.order_times.append(at)
            self.order_statuses.append(codes[status])
            customer_id = rng.randint(1, max(1, int(customers * pk / count)))
            total = Decimal(self.order_totals[pk - 1]).scaleb(-2)
            yield (pk, customer_id, status, BASE_TIME + timedelta(microseconds=at), total)

    def carriers(self) -> Iterator[Row]:
        for pk, (name, code) in enumerate(CARRIERS, start=1):
            slug = name.lower().replace(" ", "")
            yield (pk, name, code, f"https://track.{slug}.example/{{number}}")

    def shipments(self) -> Iterator[Row]:
        rng = self._rng("shipments")
        statuses = list(Order.Status.values)
        shipped, delivered = statuses.index("shipped"), statuses.index("delivered")
        carrier_weights = (30, 25, 15, 10, 8, 6, 4, 2)
        carrier_ids = range(1, len(CARRIERS) + 1)
        pk = 0
        for index, status in enumerate(self.order_statuses):
            if status not in (shipped, delivered):
                continue
            pk += 1
            (carrier_id,) = rng.choices(carrier_ids, carrier_weights)
            code = CARRIERS[carrier_id - 1][1]
            tracking = DEMO_TRACKING if pk == 1 else f"1Z{code}{rng.getrandbits(52):016d}"
            sent = self.order_times[index] + rng.randrange(HOUR, 3 * DAY)
            arrived = sent + rng.randrange(DAY, 6 * DAY)
            yield (
                pk,
                index + 1,
                carrier_id,
                tracking,
                BASE_TIME + timedelta(microseconds=sent),
                BASE_TIME + timedelta(microseconds=arrived) if status == delivered else None,
            )

    def order_log(self) -> Iterator[Row]:
        rng = self._rng("order_log")
        random_bits = rng.getrandbits
        count = self.sizes.orders
        statuses = ("ok",) * 30 + ("retry",) * 2 + ("failed",)
        pk = 0
        for index, at in enumerate(self.order_times):
            archived = index < count * 0.7
            for sequence_no in range(1, rng.randint(2, 6) + 1):
                pk += 1
                at += rng.randrange(5 * SECOND, 2 * HOUR)
                status = rng.choice(statuses)
                yield (
                    pk,
                    index + 1,
                    status != "retry",
                    rng.randint(1, 3) if status != "ok" else 1,
                    rng.randrange(10),
                    rng.randrange(200, 90_000),
                    archived,
                    BASE_TIME + timedelta(microseconds=at),
                    status == "failed",
                    sequence_no,
                    str(uuid.UUID(int=random_bits(128), version=4)),
                    rng.randint(1, 12),
                    None,
                    status,
                    LOG_MESSAGES[min(sequence_no, len(LOG_MESSAGES)) - 1],
                )
