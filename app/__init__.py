"""The gateway: the shop in the browser, its JSON API and live push."""
