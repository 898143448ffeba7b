"""Stripe on its official SDK: PaymentIntents, saved payment methods, signed webhooks.

``api_base`` points the SDK elsewhere (tests use a local stand-in; never the network).
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import stripe

from mercato.outbound import checked_transport
from mercato.payments.providers import (
    DECLINED,
    PROCESSING,
    REQUIRES_ACTION,
    SUCCEEDED,
    Intent,
    PaymentRequest,
    ProviderError,
    ProviderUnreachable,
    RefundAnswer,
    WebhookEvent,
    WebhookRejected,
)

# Stripe's statuses in Mercato's words.
REFUND_STATUSES = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "failed",
}
# The payment method (its card: brand, last4, fingerprint; billing_details) and the
# latest charge (its outcome: Radar's risk_level and risk_score) come with the intent.
EXPAND = ["payment_method", "latest_charge"]
STATUSES = {
    "succeeded": SUCCEEDED,
    "requires_action": REQUIRES_ACTION,
    "processing": PROCESSING,
    "requires_capture": SUCCEEDED,
    "requires_payment_method": "requires_payment_method",
    "requires_confirmation": "requires_confirmation",
    "canceled": DECLINED,
}


class _CheckedHttpClient(stripe.HTTPXClient):
    """Stripe's httpx client, connecting only where Mercato may call (an API base other
    than Stripe's own is the merchant's word)."""

    def __init__(self):
        super().__init__(allow_sync_methods=True)
        self._client = httpx.Client(transport=checked_transport())


class StripeProvider:
    name = "stripe"

    def __init__(
        self, secret_key: str, webhook_secret: str | None = None, api_base: str | None = None
    ):
        options = {"max_network_retries": 2}
        if api_base:
            options["base_addresses"] = {"api": api_base}
            options["http_client"] = _CheckedHttpClient()
        self.client = stripe.StripeClient(secret_key, **options)
        self.webhook_secret = webhook_secret

    def create_intent(self, request: PaymentRequest) -> Intent:
        params = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "description": request.description,
            "metadata": request.metadata or {},
        }
        # The market's methods, or those enabled in the Stripe Dashboard (one or the other:
        # Stripe takes payment_method_types or automatic_payment_methods, not both).
        if request.payment_method_types:
            params["payment_method_types"] = list(request.payment_method_types)
        else:
            params["automatic_payment_methods"] = {"enabled": True, "allow_redirects": "always"}
        params.update(self._saving(request))
        return self._intent(
            self._call(
                lambda: self.client.v1.payment_intents.create(
                    params, {"idempotency_key": request.idempotency_key}
                )
            )
        )

    def update_intent(self, intent_ref: str, request: PaymentRequest) -> Intent:
        params = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "metadata": request.metadata or {},
            **self._saving(request),
        }
        if request.payment_method_types:
            params["payment_method_types"] = list(request.payment_method_types)
        # Stripe's way to clear a field is an empty value.
        params.setdefault("setup_future_usage", "")
        return self._intent(
            self._call(lambda: self.client.v1.payment_intents.update(intent_ref, params))
        )

    def _saving(self, request: PaymentRequest) -> dict:
        """Customer and future-usage parameters: a method is kept only when asked."""
        customer = request.customer_ref
        if request.save_method and customer is None:
            customer = self._call(
                lambda: self.client.v1.customers.create(
                    {}, {"idempotency_key": request.idempotency_key + ":customer"}
                )
            ).id
        params = {"customer": customer} if customer else {}
        if request.save_method:
            params["setup_future_usage"] = "off_session"
        return params

    def confirm(
        self, intent_ref: str, payment_method: str, *, return_url: str, idempotency_key: str
    ) -> Intent:
        try:
            found = self.client.v1.payment_intents.confirm(
                intent_ref,
                {
                    "payment_method": payment_method,
                    "return_url": return_url,
                    "expand": EXPAND,
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.CardError as exc:
            # A decline is an answer, not a failure: the intent says what happened.
            return Intent(
                intent_ref,
                DECLINED,
                0,
                "",
                failure_code=exc.code,
                failure_message=exc.user_message or "Your card was declined.",
            )
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe refused the request: {exc.user_message or exc}") from None
        return self._intent(found)

    def retrieve(self, intent_ref: str) -> Intent:
        return self._intent(
            self._call(
                lambda: self.client.v1.payment_intents.retrieve(intent_ref, {"expand": EXPAND})
            )
        )

    def capture(self, intent_ref: str, amount: int | None = None) -> Intent:
        params = {"amount_to_capture": amount} if amount is not None else {}
        return self._intent(
            self._call(lambda: self.client.v1.payment_intents.capture(intent_ref, params))
        )

    def cancel(self, intent_ref: str) -> Intent:
        return self._intent(
            self._call(lambda: self.client.v1.payment_intents.cancel(intent_ref, {}))
        )

    def refund(self, intent_ref: str, amount: int, idempotency_key: str) -> RefundAnswer:
        made = self._call(
            lambda: self.client.v1.refunds.create(
                {"payment_intent": intent_ref, "amount": amount},
                {"idempotency_key": idempotency_key},
            )
        )
        return _refund_answer(made.to_dict())

    def refund_status(self, refund_ref: str) -> RefundAnswer:
        found = self._call(lambda: self.client.v1.refunds.retrieve(refund_ref))
        return _refund_answer(found.to_dict())

    def transfer(
        self,
        amount: int,
        currency: str,
        destination: str,
        idempotency_key: str,
        *,
        transfer_group: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        """A Connect transfer from the platform's balance to a connected account (POST
        /v1/transfers); its id (tr_...). ProviderError carries Stripe's refusal (nothing
        moved); ProviderUnreachable an unknown outcome, retried with the same key."""
        params: dict = {
            "amount": amount,
            "currency": currency.lower(),
            "destination": destination,
            "metadata": metadata or {},
        }
        if transfer_group:
            params["transfer_group"] = transfer_group
        if description:
            params["description"] = description
        try:
            made = self._call(
                lambda: self.client.v1.transfers.create(
                    params, {"idempotency_key": idempotency_key}
                )
            )
        except ProviderError as exc:
            if isinstance(exc.__context__, stripe.IdempotencyError):
                # The same key still in flight elsewhere: its outcome is not known yet.
                raise ProviderUnreachable(str(exc)) from None
            raise
        return made.id

    def parse_webhook(self, payload: bytes, headers: dict[str, str]) -> WebhookEvent:
        if not self.webhook_secret:
            raise WebhookRejected("No Stripe webhook secret is configured.")
        try:
            event = stripe.Webhook.construct_event(
                payload, headers.get("stripe-signature"), self.webhook_secret
            )
        except (ValueError, stripe.SignatureVerificationError):
            raise WebhookRejected("The Stripe webhook signature does not verify.") from None
        obj = event.data.object.to_dict()
        is_intent = obj.get("object") == "payment_intent"
        status = STATUSES.get(obj.get("status")) if is_intent else None
        if event.type == "payment_intent.payment_failed":
            # The intent is back to requires_payment_method: a voucher or code that lapsed
            # unpaid, a redirect the buyer failed.
            status = DECLINED
        return WebhookEvent(
            event.id,
            event.type,
            obj.get("id") if is_intent else None,
            status,
            # refund.updated, refund.failed, charge.refund.updated carry the refund.
            _refund_answer(obj) if obj.get("object") == "refund" else None,
        )

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _call(request):
        try:
            return request()
        except (stripe.APIConnectionError, stripe.APIError) as exc:
            raise ProviderUnreachable(f"Stripe did not answer: {exc.user_message or exc}") from None
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe refused the request: {exc.user_message or exc}") from None

    @staticmethod
    def _intent(found) -> Intent:
        pi = found.to_dict()
        status = STATUSES.get(pi["status"], pi["status"])
        error = pi.get("last_payment_error") or {}
        if pi["status"] == "requires_payment_method" and error:
            status = DECLINED
        next_action = pi.get("next_action") or {}
        redirect = (next_action.get("redirect_to_url") or {}).get("url")
        method = pi.get("payment_method")
        method_ref = method if isinstance(method, str) else (method or {}).get("id")
        label = fingerprint = billing_country = None
        if isinstance(method, dict) and method.get("card"):
            card = method["card"]
            label = f"{card.get('brand', 'card').title()} •••• {card.get('last4', '')}"
            fingerprint = card.get("fingerprint")
        if isinstance(method, dict):
            address = (method.get("billing_details") or {}).get("address") or {}
            billing_country = address.get("country")
        # Radar's evaluation is on the charge (docs/platforms/stripe.md, "Fraud signals").
        charge = pi.get("latest_charge")
        outcome = (charge.get("outcome") if isinstance(charge, dict) else None) or {}
        level = outcome.get("risk_level")
        score = outcome.get("risk_score")
        method_type = method.get("type") if isinstance(method, dict) else None
        # A voucher or code the buyer pays elsewhere: Boleto's boleto_display_details,
        # Pix's pix_display_qr_code; each says until when and where its instructions are.
        shown = next_action.get(next_action.get("type") or "") or {}
        pay_by = shown.get("expires_at") if isinstance(shown, dict) else None
        return Intent(
            pi["id"],
            status,
            pi["amount"],
            pi["currency"].upper(),
            failure_code=error.get("code"),
            failure_message=error.get("message"),
            next_action_url=redirect,
            payment_method_ref=method_ref,
            payment_method_label=label,
            customer_ref=pi.get("customer"),
            client_secret=pi.get("client_secret"),
            method_type=method_type,
            pay_by=datetime.fromtimestamp(pay_by, UTC) if pay_by else None,
            instructions_url=(
                shown.get("hosted_voucher_url") or shown.get("hosted_instructions_url")
            )
            if pay_by
            else None,
            instructions=(shown.get("number") or shown.get("data")) if pay_by else None,
            card_fingerprint=fingerprint,
            billing_country=billing_country,
            risk_level=level if level not in (None, "not_assessed", "unknown") else None,
            risk_score=score if isinstance(score, int) else None,
        )


def _refund_answer(refund: dict) -> RefundAnswer:
    """Stripe's refund statuses: pending, requires_action, succeeded, failed, canceled. A
    succeeded card refund can still fail later (its charge.refund.updated says so)."""
    stripe_status = refund.get("status")
    status = REFUND_STATUSES.get(stripe_status, "pending")
    if status != "failed":
        return RefundAnswer(refund["id"], status)
    return RefundAnswer(refund["id"], status, refund.get("failure_reason") or stripe_status)
