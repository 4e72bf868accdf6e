"""Warehouse service: owns stock per product (on hand, reserved), reservations and dispatches."""
