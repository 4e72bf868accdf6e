"""The demo catalog seeded on the first run: believable goods, a few nearly gone, one sold out."""

from __future__ import annotations

from typing import NamedTuple


class DemoProduct(NamedTuple):
    sku: str
    name: str
    description: str
    price_cents: int
    opening_stock: int


DEMO_PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct("MUG-ENAMEL-350", "Enamel camp mug", "350 ml, speckled blue enamel over steel.", 1450, 40),
    DemoProduct("KETTLE-GOOSE-1L", "Gooseneck kettle", "1 litre stovetop kettle for slow pour-over.", 4900, 12),
    DemoProduct("GRINDER-HAND-C2", "Hand coffee grinder", "Conical steel burrs, 25 g hopper.", 6500, 3),
    DemoProduct("DRIPPER-CER-02", "Ceramic dripper", "Size 02 cone dripper, white porcelain.", 2200, 25),
    DemoProduct("FILTER-PAPER-100", "Paper filters (100)", "Unbleached size 02 filters.", 650, 120),
    DemoProduct("BEANS-ETH-250", "Ethiopia Guji beans", "250 g, washed, light roast: peach and jasmine.", 1390, 30),
    DemoProduct("BEANS-COL-250", "Colombia Huila beans", "250 g, medium roast: caramel and red apple.", 1190, 2),
    DemoProduct("SCALE-01G", "Brew scale", "0.1 g resolution with a built-in timer.", 3800, 8),
    DemoProduct("TEAPOT-CAST-800", "Cast-iron teapot", "800 ml tetsubin with enamelled interior.", 7200, 5),
    DemoProduct("TEA-SENCHA-100", "Sencha green tea", "100 g loose leaf, first flush.", 1600, 18),
    DemoProduct("CANISTER-STEEL", "Airtight canister", "Holds 500 g of beans; one-way valve.", 2450, 1),
    DemoProduct("CARAFE-GLASS-600", "Glass carafe", "600 ml borosilicate server.", 2900, 0),
)
