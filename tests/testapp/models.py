"""A small library schema with every relation kind the detectors must understand."""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Publisher(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Author(models.Model):
    name = models.CharField(max_length=100)
    bio = models.TextField(blank=True, default="")
    mentor = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return self.name


class AuthorProfile(models.Model):
    author = models.OneToOneField(Author, on_delete=models.CASCADE, related_name="profile")
    website = models.CharField(max_length=200, blank=True, default="")

    def __str__(self) -> str:
        return self.website


class Tag(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.name


class Comment(models.Model):
    body = models.TextField()
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveIntegerField()
    target = GenericForeignKey("content_type", "object_id")

    def __str__(self) -> str:
        return self.body


class Book(models.Model):
    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=100)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    publisher = models.ForeignKey(Publisher, null=True, blank=True, on_delete=models.SET_NULL)
    tags = models.ManyToManyField(Tag, blank=True)
    related = models.ManyToManyField("self", blank=True, symmetrical=False)
    comments = GenericRelation(Comment)

    def __str__(self) -> str:
        return self.title


class Shelf(models.Model):
    name = models.CharField(max_length=50)
    books = models.ManyToManyField(Book, through="Placement", related_name="shelves")

    def __str__(self) -> str:
        return self.name


class Placement(models.Model):
    shelf = models.ForeignKey(Shelf, on_delete=models.CASCADE)
    book = models.ForeignKey(Book, on_delete=models.CASCADE)
    position = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.shelf_id}:{self.book_id}"


class Review(models.Model):
    """Compares and hashes through a relation: detectors must never call ``==`` / ``hash``."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    stars = models.IntegerField(default=3)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Review):
            return NotImplemented
        return self.book.title == other.book.title and self.stars == other.stars

    def __hash__(self) -> int:
        return hash((self.book.title, self.stars))

    def __str__(self) -> str:
        return f"{self.book.title}: {self.stars}"
