"""A local stand-in for the parts of Stripe's API Mercato uses, on 127.0.0.1.

It answers as Stripe documents: form-encoded requests, JSON objects, Idempotency-Key
replays, card errors as 402. Test payment methods: pm_card_visa succeeds,
pm_card_chargeDeclined is declined, pm_card_authenticationRequired needs 3-D Secure,
pm_card_riskLevelElevated succeeds with Radar's risk level elevated
(https://docs.stripe.com/radar/testing). With ``expand[]=latest_charge`` a paid intent
carries its charge and the charge's ``outcome`` (risk_level, risk_score); an expanded
payment method its card's ``fingerprint`` (one per card).

``payment_method_types`` are kept on the intent and refused, as Stripe refuses them, when
the currency does not take one or when automatic_payment_methods comes too; a browser
confirming with ``payment_method_data[type]`` of a redirect method (ideal) gets a
redirect_to_url next action, of a delayed one (boleto, pix) its voucher or code to show.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from mercato.payments import methods

CARDS = {
    "pm_card_visa": ("visa", "4242"),
    "pm_card_chargeDeclined": ("visa", "0002"),
    "pm_card_authenticationRequired": ("visa", "3184"),
    "pm_card_riskLevelElevated": ("visa", "9235"),
}
# Radar's outcome of each test card's charge: (risk_level, risk_score).
RISK = {"pm_card_riskLevelElevated": ("elevated", 70)}
# Stripe's test card numbers, as a browser's Stripe.js sends them in payment_method_data.
NUMBERS = {
    "4242424242424242": "pm_card_visa",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000002760003184": "pm_card_authenticationRequired",
}
OPEN = ("requires_payment_method", "requires_confirmation", "requires_action")
# The signing secret of the webhook endpoint of a shop paying through the stand-in.
WEBHOOK_SECRET = "whsec_test_secret"


class StripeStandIn:
    def __init__(self):
        # A test that clears ``answering`` holds confirmations until it sets it again
        # (a slow bank); ``confirming`` is set once one is held.
        self.answering = threading.Event()
        self.answering.set()
        self.confirming = threading.Event()
        self.intents: dict[str, dict] = {}
        self.replies: dict[str, tuple[int, dict]] = {}
        self.refunds: list[dict] = []
        self.methods: dict[str, str] = {}  # a local method's payment method -> its type
        # Connect: the platform's available balance per currency, the connected accounts
        # it may send to, the transfers made; ``lose_answers`` transfer answers are lost
        # on the way back (the transfer is made, the caller hears a 500).
        self.balance: dict[str, int] = {"usd": 10_000_000}
        self.accounts: set[str] = {"acct_1Creator"}
        self.transfers: list[dict] = []
        self.lose_answers = 0
        self.sent: dict[str, dict] = {}  # idempotency key -> the parameters first sent
        # The status a new refund starts in (Stripe: card refunds may start pending, and
        # one that succeeded may still fail later; tests move them with ``refund_becomes``).
        self.refund_status = "succeeded"
        # Called with (method, path) as each request arrives (tests: what is locked then).
        self.on_request = None
        self.requests: list[tuple[str, str, dict, dict]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def charges(self) -> int:
        return sum(1 for i in self.intents.values() if i["status"] == "succeeded")

    def refunded(self, intent_id: str) -> int:
        # A failed or canceled refund gave nothing back: its amount may be refunded again.
        return sum(
            r["amount"]
            for r in self.refunds
            if r["payment_intent"] == intent_id and r["status"] not in ("failed", "canceled")
        )

    def refund_becomes(self, status: str, failure_reason: str | None = None) -> dict:
        """The last refund moves on (as Stripe's do, days later); the refund object."""
        refund = self.refunds[-1]
        refund.update(status=status, failure_reason=failure_reason)
        return dict(refund)

    def finish_authentication(self, intent_id: str) -> None:
        self.intents[intent_id].update(status="succeeded", next_action=None)

    # ------------------------------------------------------------ Stripe's answers

    def answer(
        self, method: str, path: str, form: dict, headers: dict | None = None
    ) -> tuple[int, dict]:
        headers = headers or {}
        parts = path.strip("/").split("/")
        if parts == ["v1", "transfers"] and method == "POST":
            return self._transfer(form)
        if parts == ["v1", "customers"]:
            return 200, {"id": f"cus_{len(self.requests)}", "object": "customer"}
        if parts[:2] == ["v1", "refunds"] and len(parts) == 3 and method == "GET":
            found = next((r for r in self.refunds if r["id"] == parts[2]), None)
            if found is None:
                return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
            return 200, found
        if parts == ["v1", "refunds"]:
            # Stripe refunds only a succeeded charge, and never more than it has left.
            intent = self.intents.get(form["payment_intent"])
            if intent is None or intent["status"] != "succeeded":
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "This PaymentIntent does not have a successful charge "
                        "to refund.",
                    }
                }
            amount = int(form.get("amount") or intent["amount"])
            if amount > intent["amount"] - self.refunded(intent["id"]):
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "charge_already_refunded"
                        if self.refunded(intent["id"]) >= intent["amount"]
                        else "amount_too_large",
                        "message": "The refund amount is greater than what remains.",
                    }
                }
            refund = {
                "id": f"re_{len(self.requests)}",
                "object": "refund",
                "payment_intent": intent["id"],
                "amount": amount,
                "status": self.refund_status,
                "failure_reason": None,
            }
            self.refunds.append(refund)
            return 200, refund
        if parts[:2] == ["v1", "payment_intents"]:
            types = [v for k, v in sorted(form.items()) if k.startswith("payment_method_types[")]
            refused = self._refused_types(types, form)
            if refused is not None:
                return 400, refused
            if len(parts) == 2:
                number = len(self.intents) + 1
                intent = {
                    "id": f"pi_{number}",
                    "object": "payment_intent",
                    "client_secret": f"pi_{number}_secret_{number * 7919}",
                    "amount": int(form["amount"]),
                    "currency": form["currency"],
                    "status": "requires_payment_method",
                    "customer": form.get("customer"),
                    "setup_future_usage": form.get("setup_future_usage"),
                    "payment_method": None,
                    "next_action": None,
                    "last_payment_error": None,
                    "metadata": {},
                    "payment_method_types": types or ["card"],
                }
                self.intents[intent["id"]] = intent
                return 200, intent
            intent = self.intents.get(parts[2])
            if intent is None:
                return 404, {
                    "error": {"type": "invalid_request_error", "message": "No such payment_intent"}
                }
            # A browser holds only the publishable key and the intent's client secret.
            auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
            publishable = auth.startswith("Bearer pk_") or form.get("key", "").startswith("pk_")
            if publishable and (form.get("client_secret") != intent["client_secret"]):
                return 401, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "The client_secret does not match.",
                    }
                }
            action = parts[3] if len(parts) > 3 else None
            if action is None and method == "POST":
                if intent["status"] not in OPEN:
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "payment_intent_unexpected_state",
                            "message": f"This PaymentIntent's status is {intent['status']}",
                        }
                    }
                for field in ("amount", "currency", "customer", "setup_future_usage"):
                    if field in form:
                        value = form[field] or None
                        intent[field] = int(value) if field == "amount" else value
                if types:
                    intent["payment_method_types"] = types
                return 200, intent
            if action == "confirm" and intent["status"] not in OPEN:
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "payment_intent_unexpected_state",
                        "message": f"This PaymentIntent's status is {intent['status']}",
                    }
                }
            local = form.get("payment_method_data[type]")
            if action == "confirm" and local and local != "card":
                return self._confirm_local(intent, local, form)
            if action == "confirm":
                number = form.get("payment_method_data[card][number]")
                pm = (
                    NUMBERS.get(number, "pm_card_chargeDeclined")
                    if number
                    else form["payment_method"]
                )
                if pm == "pm_card_chargeDeclined":
                    intent["last_payment_error"] = {
                        "code": "card_declined",
                        "message": "Your card was declined.",
                    }
                    return 402, {
                        "error": {
                            "type": "card_error",
                            "code": "card_declined",
                            "message": "Your card was declined.",
                            "payment_intent": intent,
                        }
                    }
                intent["payment_method"] = pm
                if pm == "pm_card_authenticationRequired":
                    intent["status"] = "requires_action"
                    intent["next_action"] = {
                        "type": "redirect_to_url",
                        "redirect_to_url": {
                            "url": f"{self.url}/3ds/{intent['id']}",
                            "return_url": form["return_url"],
                        },
                    }
                else:
                    intent["status"] = "succeeded"
            elif action == "capture":
                intent["status"] = "succeeded"
            elif action == "cancel":
                # Stripe cancels only an intent that has taken no money.
                if intent["status"] in ("succeeded", "canceled"):
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "payment_intent_unexpected_state",
                            "message": f"This PaymentIntent's status is {intent['status']}",
                        }
                    }
                intent["status"] = "canceled"
            return 200, self._expanded(intent, form)
        return 404, {"error": {"type": "invalid_request_error", "message": "Unknown path"}}

    def _transfer(self, form: dict) -> tuple[int, dict]:
        """POST /v1/transfers as Stripe answers it (docs.stripe.com/api/transfers/create):
        amount a positive integer, currency and destination required; the destination a
        connected account; the available balance in that currency must cover it."""

        def refused(param: str | None, message: str, code: str | None = None):
            error = {"type": "invalid_request_error", "message": message}
            if param:
                error["param"] = param
            if code:
                error["code"] = code
            return 400, {"error": error}

        for required in ("amount", "currency", "destination"):
            if not form.get(required):
                return refused(required, f"Missing required param: {required}.")
        if not form["amount"].isdigit() or int(form["amount"]) <= 0:
            return refused("amount", "Invalid positive integer")
        if form["destination"] not in self.accounts:
            return refused(
                "destination",
                f"No such destination: '{form['destination']}'",
                "resource_missing",
            )
        amount, currency = int(form["amount"]), form["currency"].lower()
        if self.balance.get(currency, 0) < amount:
            # Past validation: Stripe keeps this answer for the idempotency key.
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "balance_insufficient",
                    "message": "Insufficient funds in Stripe account.",
                }
            }
        self.balance[currency] -= amount
        transfer = {
            "id": f"tr_{len(self.transfers) + 1}",
            "object": "transfer",
            "amount": amount,
            "currency": currency,
            "destination": form["destination"],
            "transfer_group": form.get("transfer_group"),
            "description": form.get("description"),
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
            },
            "reversed": False,
            "amount_reversed": 0,
        }
        self.transfers.append(transfer)
        return 200, transfer

    def _refused_types(self, types: list[str], form: dict) -> dict | None:
        def error(message: str) -> dict:
            return {
                "error": {
                    "type": "invalid_request_error",
                    "param": "payment_method_types",
                    "message": message,
                }
            }

        if types and any(k.startswith("automatic_payment_methods") for k in form):
            return error(
                "You may only specify one of these parameters: automatic_payment_methods, "
                "payment_method_types."
            )
        currency = form.get("currency")
        for name in types:
            known = methods.METHODS.get(name)
            if known is None:
                return error(f"The payment method type provided: {name} is invalid.")
            if currency and known.currencies and currency.upper() not in known.currencies:
                return error(methods.refusal(name, currency, int(form.get("amount") or 0)))
        return None

    def _confirm_local(self, intent: dict, local: str, form: dict) -> tuple[int, dict]:
        """A browser confirming a local method, as Stripe answers it."""
        if local not in intent["payment_method_types"]:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "message": f"The PaymentMethod type {local} is not in this "
                    "PaymentIntent's payment_method_types.",
                }
            }
        refused = methods.refusal(local, intent["currency"], intent["amount"])
        if refused:
            return 400, {"error": {"type": "invalid_request_error", "message": refused}}
        intent["payment_method"] = f"pm_{local}_{intent['id']}"
        intent["status"] = "requires_action"
        if methods.flow_of(local) == methods.REDIRECT:
            intent["next_action"] = {
                "type": "redirect_to_url",
                "redirect_to_url": {
                    "url": f"{self.url}/authorize/{intent['id']}",
                    "return_url": form.get("return_url"),
                },
            }
        else:
            kind = "boleto_display_details" if local == "boleto" else "pix_display_qr_code"
            days = 3 if local == "boleto" else 1
            intent["next_action"] = {
                "type": kind,
                kind: {
                    "expires_at": int(time.time()) + days * 86400,
                    "hosted_voucher_url" if local == "boleto" else "hosted_instructions_url": (
                        f"{self.url}/voucher/{intent['id']}"
                    ),
                    "number" if local == "boleto" else "data": f"0123 {intent['id']}",
                },
            }
        self.methods[intent["payment_method"]] = local
        return 200, intent

    def settle(self, intent_id: str, paid: bool) -> dict:
        """A voucher or code paid (or lapsed): the intent as its webhook carries it."""
        intent = self.intents[intent_id]
        intent["next_action"] = None
        if paid:
            intent["status"] = "succeeded"
        else:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "code": "payment_method_expired",
                "message": "The voucher expired unpaid.",
            }
        return dict(intent)

    def _expanded(self, intent: dict, form: dict) -> dict:
        out = dict(intent)
        expand = {v for k, v in form.items() if k.startswith("expand[")}
        pm = intent["payment_method"]
        local = self.methods.get(pm or "")
        if "payment_method" in expand and local:
            out["payment_method"] = {
                "id": pm,
                "object": "payment_method",
                "type": local,
            }
        elif "payment_method" in expand and pm:
            brand, last4 = CARDS.get(pm, ("visa", "4242"))
            out["payment_method"] = {
                "id": pm,
                "object": "payment_method",
                "type": "card",
                "card": {
                    "brand": brand,
                    "last4": last4,
                    "fingerprint": hashlib.sha256(last4.encode()).hexdigest()[:16],
                },
            }
        if "latest_charge" in expand and intent["status"] == "succeeded":
            level, score = RISK.get(pm, ("normal", 10))
            out["latest_charge"] = {
                "id": "ch_" + intent["id"].removeprefix("pi_"),
                "object": "charge",
                "outcome": {"risk_level": level, "risk_score": score, "type": "authorized"},
            }
        return out

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method):
                if standin.on_request is not None:
                    standin.on_request(method, self.path.partition("?")[0])
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                query = self.path.partition("?")[2]
                form = {k: v[0] for k, v in parse_qs(raw or query, keep_blank_values=True).items()}
                path = self.path.partition("?")[0]
                key = self.headers.get("Idempotency-Key")
                if path.endswith("/confirm") and not standin.answering.is_set():
                    standin.confirming.set()
                    standin.answering.wait()
                with standin.lock:
                    standin.requests.append((method, path, form, dict(self.headers)))
                    transfer = path == "/v1/transfers"
                    if key and (method, key) in standin.replies:
                        status, body = standin.replies[(method, key)]
                        if transfer and standin.sent.get(key) != form:
                            # Stripe: a key sent again with other parameters is refused.
                            status, body = (
                                400,
                                {
                                    "error": {
                                        "type": "idempotency_error",
                                        "message": "Keys for idempotent requests can only be "
                                        "used with the same parameters they were first used with.",
                                    }
                                },
                            )
                    else:
                        status, body = standin.answer(method, path, form, dict(self.headers))
                        # Stripe saves no answer to a request that failed validation.
                        if key and not (transfer and "param" in body.get("error", {})):
                            standin.replies[(method, key)] = (status, body)
                            standin.sent[key] = form
                    if transfer and standin.lose_answers > 0:
                        standin.lose_answers -= 1
                        status, body = 500, {"error": {"type": "api_error", "message": "lost"}}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def log_message(self, *args):
                pass

        return Handler


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header, as Stripe computes it."""
    timestamp = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
