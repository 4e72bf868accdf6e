"""Orders service: owns the orders, their lines, status history and attached payment state."""
