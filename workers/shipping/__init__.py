"""Shipping service: owns shipments, their carrier and tracking numbers; runs the simulated carrier."""
