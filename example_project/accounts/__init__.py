"""Customers of the shop, their addresses and loyalty profiles."""
