"""Checkout input and output shapes. Amounts are integer minor units of its currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from mercato.checkout.limits import MAX_UNITS_PER_LINE
from mercato.offers.combining import MAX_CODES

Text255 = Annotated[str, Field(max_length=255)]
Country = Annotated[str, Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LineInput(_Input):
    sku: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    variant_id: str | None = None
    quantity: Annotated[int, Field(ge=1, le=MAX_UNITS_PER_LINE)]

    @model_validator(mode="after")
    def _one_reference(self):
        if (self.sku is None) == (self.variant_id is None):
            raise ValueError("give either sku or variant_id")
        return self


class AttributionInput(_Input):
    """Where the buyer came from: from a link's utm_*, ch, ref and post parameters."""

    source: Annotated[str, Field(max_length=100)] | None = None
    campaign: Text255 | None = None
    content_id: Text255 | None = None
    creator: Text255 | None = None
    conversation_id: Annotated[str, Field(max_length=40)] | None = None
    utm: dict[str, Annotated[str, Field(max_length=255)]] = {}
    # The A/B arm the buyer was shown ("<experiment id>:<arm>"), set by the storefront.
    experiment: Annotated[str, Field(max_length=60)] | None = None


class AddressInput(_Input):
    name: Text255
    line1: Text255
    line2: Text255 | None = None
    city: Text255
    region: Text255 | None = Field(None, description="State, province or county")
    postal_code: Annotated[str, Field(max_length=32)] | None = None
    country: Country


Code = Annotated[str, Field(max_length=64)]


class _Codes(_Input):
    """The discount codes given: ``discount_codes`` (several, combined by their offers'
    rules), or the older ``discount_code`` (one)."""

    discount_codes: Annotated[list[Code], Field(max_length=MAX_CODES)] | None = Field(
        None,
        description=f"Discount codes, at most {MAX_CODES}, applied together when each "
        "offer combines with the others' (product, order, shipping); replaces the codes "
        "applied, an empty list removes them",
    )
    discount_code: Code | None = Field(
        None, description="One code (kept for older clients): as discount_codes=[code]"
    )

    @model_validator(mode="after")
    def _one_way(self):
        if self.discount_codes is not None and self.discount_code is not None:
            raise ValueError("give discount_codes or discount_code, not both")
        return self

    def given_codes(self) -> list[str] | None:
        """The codes asked for (an empty list removes them), or None: left as they are."""
        if self.discount_codes is not None:
            return [c for c in self.discount_codes if c]
        if self.discount_code is not None:
            return [self.discount_code] if self.discount_code else []
        return None

    def code_field(self, index: int) -> tuple[str | int, ...]:
        """Where a refused code was given, as the error names it."""
        return ("discount_code",) if self.discount_code is not None else ("discount_codes", index)


class BuyerDetails(_Input):
    """The buyer's details: given when the checkout starts (an app that knows them), or
    afterwards with ``PATCH``; each checked for its country, totals redone."""

    email: EmailStr | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    shipping_address: AddressInput | None = None
    shipping_rate: Annotated[str, Field(max_length=64)] | None = None
    tax_id: Annotated[str, Field(max_length=32)] | None = Field(
        None,
        description="The buyer's VAT number, buying as a business (checked for the "
        "address's country; an empty string removes it)",
    )


class CheckoutCreate(BuyerDetails, _Codes):
    lines: Annotated[list[LineInput], Field(min_length=1, max_length=50)]
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = Field(
        None, description="Default: the currency of the buyer's country, else the store's"
    )
    country: Country | None = Field(
        None,
        description="Where the buyer is, for currency, shipping and tax before an address is given",
    )
    locale: Annotated[str, Field(max_length=20)] = "en"
    market: Annotated[str, Field(max_length=32)] | None = Field(
        None,
        description="The market to shop in (its currency, prices and taxes); default: the "
        "market of the buyer's country, if any",
    )
    attribution: AttributionInput = AttributionInput()


class CheckoutUpdate(BuyerDetails, _Codes):
    remember: bool | None = Field(None, description="Save address and payment method for next time")
    marketing_opt_in: bool | None = Field(
        None,
        description="The buyer ticked the box agreeing to marketing by email (unticked by "
        "default); recorded with its words when the order is placed",
    )
    personalisation_opt_in: bool | None = Field(
        None,
        description="The buyer ticked the box agreeing to products picked for them from "
        "what they buy (unticked by default); recorded with its words when the order is placed",
    )


class CheckoutComplete(_Input):
    payment_method: Annotated[str, Field(min_length=1, max_length=255)] = Field(
        description="The provider's token (e.g. tok_visa in the sandbox), 'saved' for "
        "the returning buyer's saved method, or a local method type the checkout's market "
        "offers (ideal, bancontact, klarna, pix, boleto)"
    )
    expected_total: Annotated[int, Field(ge=0)] = Field(
        description="The total the buyer was shown, in minor units: if the checkout's total "
        "differs, nothing is charged and the answer is 409 total-changed with the new total"
    )
    attempt_key: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        None, description="Default: the Idempotency-Key header"
    )
    device_id: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        None,
        description="The buyer's device as the app knows it (an install id): counted by "
        "fraud screening, like the shop's own cookie on the web",
    )


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LinePublic(_Output):
    variant_id: str
    sku: str | None
    title: str
    variant_title: str | None
    image_url: str | None
    quantity: int
    unit_price: int
    discount: int
    tax: int


class DiscountPublic(_Output):
    code: str
    amount: int
    free_shipping: bool = False


class ShippingOption(_Output):
    code: str
    name: str
    days: str
    price: int


class CheckoutPublic(_Output):
    id: str
    status: Literal["open", "completed", "expired"]
    currency: str
    locale: str
    expires_at: datetime
    email: str | None
    phone: str | None
    shipping_address: dict[str, Any] | None
    shipping_rate: str | None
    shipping_options: list[ShippingOption]
    discount_code: str | None = Field(description="The first code applied (older clients)")
    discount_codes: list[str] = []
    discounts: list[DiscountPublic] = Field(
        [], description="Each code applied and what it takes off the items"
    )
    attribution: dict[str, Any]
    lines: list[LinePublic]
    subtotal: int
    discount_total: int
    shipping_total: int
    tax_total: int
    tax_name: str | None
    taxes_included: bool
    total: int
    market: str | None = None
    fx_rate: str | None = Field(None, description="Units of the currency per base unit")
    fx_date: str | None = None
    duties_total: int = 0
    duties_mode: Literal["ddp", "dap"] | None = Field(
        None, description="ddp: duties are in the total; dap: payable on delivery"
    )
    duties_known: bool = True
    tax_reason: str | None = None
    tax_id: str | None = None
    saved_payment_method: str | None
    order_id: str | None
    order_number: int | None


class CheckoutCreated(CheckoutPublic):
    token: str = Field(description="The checkout's secret; shown once, keep it")


class CompletionPublic(BaseModel):
    # waiting: a voucher or code (Boleto, Pix) the buyer pays elsewhere; the order is
    # placed when the provider says paid.
    status: Literal["completed", "requires_action", "processing", "waiting"]
    order_id: str | None = None
    order_number: int | None = None
    # The order's own status: "cancelled" when it was refused after paying (fraud rules),
    # its payment refunded.
    order_status: str | None = None
    next_action_url: str | None = None
    message: str | None = None
