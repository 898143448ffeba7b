"""A believable generated catalog for the demo: apparel and home goods with sizes,
colours, images, Google categories and valid GTINs — and a few honest mistakes that the
platforms would reject (a wrong check digit, a missing colour, a title too long)."""

from __future__ import annotations

import random

from mercato.catalog.schemas import ProductCreate

DROP_SKU = "DROP-SNEAKER-42"
IMAGES = "https://cdn.example.com/demo"

# (name, product type, Google category id, options, price in cents)
LINES = [
    ("Cloud Hoodie", "Hoodies", 5322, ("Color", "Size"), 5900),
    ("Linen Shirt", "Shirts", 212, ("Color", "Size"), 4900),
    ("Everyday Tee", "T-Shirts", 212, ("Color", "Size"), 2500),
    ("Trail Shorts", "Shorts", 207, ("Color", "Size"), 3900),
    ("Merino Beanie", "Hats", 173, ("Color",), 2200),
    ("Canvas Tote", "Bags", 3032, ("Color",), 2900),
    ("Ceramic Mug", "Mugs", 2169, ("Color",), 1800),
    ("Wool Socks", "Socks", 209, ("Color", "Size"), 1400),
]
COLORS = ["Black", "Sand", "Forest", "Navy", "Clay"]
SIZES = ["S", "M", "L"]
VENDORS = ["Northwind", "Alder & Co", "Fieldhouse"]


def gtin13(body12: str) -> str:
    digits = [int(c) for c in body12]
    total = sum(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits))
    return body12 + str((10 - total % 10) % 10)


def generate(count: int = 24, seed: int = 7) -> list[ProductCreate]:
    rng = random.Random(seed)
    products = []
    serial = 400638100000
    for n in range(count):
        name, kind, category, options, price = LINES[n % len(LINES)]
        color_names = rng.sample(COLORS, 2)
        title = f"{name} {['Classic', 'Studio', 'Field', 'Everyday'][n // len(LINES) % 4]}"
        handle = title.lower().replace(" ", "-")
        variants = []
        for color in color_names:
            for size in SIZES if "Size" in options else [None]:
                serial += 1
                values = [color] + ([size] if size else [])
                variants.append(
                    {
                        "sku": f"{kind[:4].upper()}{n + 1:02d}-{color[:3].upper()}"
                        + (f"-{size}" if size else ""),
                        "option_values": values,
                        "price": price + rng.choice([0, 0, 500]),
                        "compare_at_price": price + 1500 if n % 5 == 0 else None,
                        "barcode": gtin13(str(serial)),
                        "mpn": f"MPN-{serial}",
                        "weight": "350",
                        "weight_unit": "g",
                        "image_url": f"{IMAGES}/{handle}-{color.lower()}.jpg",
                    }
                )
        products.append(
            ProductCreate(
                handle=handle,
                title=title,
                vendor=VENDORS[n % len(VENDORS)],
                product_type=kind,
                description_html=f"<p>The {title.lower()}: made to last, made to be worn.</p>"
                "<ul><li>Responsibly sourced</li><li>Free returns</li></ul>",
                status="active",
                google_category=category,
                options=list(options),
                gender="unisex",
                age_group="adult",
                tags=["demo", kind.lower()],
                media=[{"url": f"{IMAGES}/{handle}.jpg", "alt": title}],
                variants=variants,
            )
        )
    _add_mistakes(products)
    products.append(
        ProductCreate(
            handle="drop-sneaker",
            title="Limited Drop Sneaker",
            vendor="Northwind",
            product_type="Sneakers",
            description_html="<p>Only a few pairs. Live drop.</p>",
            status="active",
            google_category=187,
            options=["Size"],
            gender="unisex",
            age_group="adult",
            media=[{"url": f"{IMAGES}/drop-sneaker.jpg", "alt": "Sneaker"}],
            variants=[
                {
                    "sku": DROP_SKU,
                    "option_values": ["42"],
                    "price": 12000,
                    "barcode": gtin13("400638199999"),
                    "mpn": "DROP-42",
                    "weight": "900",  # TikTok Shop needs a package weight
                    "weight_unit": "g",
                }
            ],
        )
    )
    return products


def _add_mistakes(products: list[ProductCreate]) -> None:
    """Errors merchants really make: each is something a platform rejects."""
    wrong_digit = products[1].variants[0]
    wrong_digit.barcode = wrong_digit.barcode[:-1] + str((int(wrong_digit.barcode[-1]) + 1) % 10)
    products[3].title = products[3].title + " — " + "lightweight quick-dry " * 8
    products[5].vendor = None  # no brand: identifiers need brand + MPN or a GTIN


def fixes(products: list[ProductCreate]) -> dict[str, dict]:
    """What a merchant changes after reading the check: handle -> fields to update."""
    return {
        products[1].handle: {
            "variants": [
                {**v.model_dump(), "barcode": None} if i == 0 else v.model_dump()
                for i, v in enumerate(products[1].variants)
            ]
        },
        products[3].handle: {"title": products[3].title.split(" — ")[0]},
        products[5].handle: {"vendor": "Alder & Co"},
    }
