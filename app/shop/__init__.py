"""The shop: its pages, the cart, checkout (validation, then placing the order) and staff's requests."""
