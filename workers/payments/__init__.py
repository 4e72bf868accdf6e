"""Payments service: owns the payment transactions attached to orders (tokens only, never card numbers)."""
