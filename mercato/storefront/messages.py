"""The shop's own words in the buyer's language: a small message table, English the
source and the fallback. Products' own texts come from the catalog's translations.

``t("Only {n} left", n=3)``: placeholders are filled after translating.
"""

from __future__ import annotations

from collections.abc import Callable

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {
        "Buy now": "Nu kopen",
        "Tax included.": "Inclusief btw.",
        "Tax calculated at checkout.": "Belasting wordt berekend bij het afrekenen.",
        "Shipping calculated at checkout.": "Verzendkosten worden berekend bij het afrekenen.",
        "Duties and import taxes included.": "Invoerrechten en -belastingen inbegrepen.",
        "In stock": "Op voorraad",
        "Sold out": "Uitverkocht",
        "Only {n} left": "Nog maar {n} over",
        "Shop in": "Winkelen in",
        "Change": "Wijzigen",
        "Subtotal": "Subtotaal",
        "Shipping": "Verzending",
        "Free": "Gratis",
        "Including {tax}": "Inclusief {tax}",
        "Tax": "Belasting",
        "Duties": "Invoerrechten",
        "Duties payable on delivery": "Invoerrechten te betalen bij levering",
        "Duties may apply on delivery": "Bij levering kunnen invoerrechten gelden",
        "Reverse charge: VAT payable by the buyer": "Btw verlegd",
        "Total": "Totaal",
        "Pay {amount}": "Betaal {amount}",
        "Contact": "Contactgegevens",
        "Email": "E-mail",
        "or phone": "of telefoon",
        "Shipping address": "Verzendadres",
        "Full name": "Volledige naam",
        "Address": "Adres",
        "Apartment, suite (optional)": "Appartement, toevoeging (optioneel)",
        "City": "Plaats",
        "State / region": "Provincie / regio",
        "Postal code": "Postcode",
        "Country": "Land",
        "VAT number (business purchases)": "Btw-nummer (zakelijke aankopen)",
        "Shipping method": "Verzendmethode",
        "Update totals": "Totaal bijwerken",
        "Discount code": "Kortingscode",
        "Apply": "Toepassen",
        "Remove": "Verwijderen",
        "Free shipping": "Gratis verzending",
        "Add another code": "Nog een code toevoegen",
        "Add another discount code": "Nog een kortingscode toevoegen",
        "Payment": "Betaling",
        "Qty {n}": "Aantal {n}",
        "Thank you!": "Bedankt!",
        "Total paid": "Totaal betaald",
        "Order cancelled": "Bestelling geannuleerd",
        "Refunded": "Terugbetaald",
        "Choose how to pay": "Kies hoe je betaalt",
        "Card": "Kaart",
        "You pay on your bank's page and come back here.": (
            "Je betaalt op de pagina van je bank en komt daarna hier terug."
        ),
        "Waiting for your payment": "Wachten op je betaling",
        "Pay {amount} with {method} by {when}.": "Betaal {amount} met {method} vóór {when}.",
        "Your items stay reserved until then. This page updates by itself.": (
            "Je artikelen blijven tot dan gereserveerd. Deze pagina werkt zichzelf bij."
        ),
        "Open the payment instructions": "Open de betaalinstructies",
    },
    "de": {
        "Buy now": "Jetzt kaufen",
        "Tax included.": "Inkl. MwSt.",
        "Tax calculated at checkout.": "Steuern werden an der Kasse berechnet.",
        "Shipping calculated at checkout.": "Versand wird an der Kasse berechnet.",
        "In stock": "Auf Lager",
        "Sold out": "Ausverkauft",
        "Only {n} left": "Nur noch {n} verfügbar",
        "Subtotal": "Zwischensumme",
        "Shipping": "Versand",
        "Free": "Kostenlos",
        "Including {tax}": "Inkl. {tax}",
        "Tax": "Steuer",
        "Duties": "Zölle",
        "Total": "Gesamt",
        "Pay {amount}": "{amount} bezahlen",
        "Shipping address": "Lieferadresse",
        "Payment": "Zahlung",
    },
    "fr": {
        "Buy now": "Acheter",
        "Tax included.": "TVA incluse.",
        "Tax calculated at checkout.": "Taxes calculées au paiement.",
        "Shipping calculated at checkout.": "Livraison calculée au paiement.",
        "In stock": "En stock",
        "Sold out": "Épuisé",
        "Subtotal": "Sous-total",
        "Shipping": "Livraison",
        "Free": "Gratuit",
        "Including {tax}": "Dont {tax}",
        "Tax": "Taxes",
        "Duties": "Droits de douane",
        "Total": "Total",
        "Pay {amount}": "Payer {amount}",
        "Shipping address": "Adresse de livraison",
        "Payment": "Paiement",
    },
    "pt": {
        "Buy now": "Comprar agora",
        "Subtotal": "Subtotal",
        "Shipping": "Frete",
        "Free": "Grátis",
        "Total": "Total",
        "Pay {amount}": "Pagar {amount}",
        "Shipping address": "Endereço de entrega",
        "Payment": "Pagamento",
        "Thank you!": "Obrigado!",
        "Total paid": "Total pago",
        "Order cancelled": "Pedido cancelado",
        "Refunded": "Reembolsado",
        "Choose how to pay": "Escolha como pagar",
        "Card": "Cartão",
        "Waiting for your payment": "Aguardando seu pagamento",
        "Pay {amount} with {method} by {when}.": "Pague {amount} com {method} até {when}.",
        "Your items stay reserved until then. This page updates by itself.": (
            "Seus itens ficam reservados até lá. Esta página se atualiza sozinha."
        ),
        "Open the payment instructions": "Abrir as instruções de pagamento",
    },
}


def translator(locale: str | None) -> Callable[..., str]:
    """``t(text, **values)`` for ``locale`` ("nl_NL", "nl"): the table's words for its
    language, else the English text."""
    table = MESSAGES.get((locale or "en").replace("-", "_").split("_")[0].lower(), {})

    def t(text: str, **values) -> str:
        found = table.get(text, text)
        return found.format(**values) if values else found

    return t
