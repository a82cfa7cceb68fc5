"""Carriers and shipments of orders."""
