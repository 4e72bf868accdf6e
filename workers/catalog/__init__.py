"""Catalog service: owns the products (sku, name, description, price)."""
