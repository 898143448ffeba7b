"""Google Merchant API products v1 client (docs/platforms/google.md): one productInput per
item (an insert is an upsert); verdicts from the processed product's status.

Each insert is its own request, so a 400 there is that item's rejection, not the end of the
push. Registration (401 naming the GCP project) and permission (403) refusals are set-up
problems, told apart from expired credentials, which google-auth refreshes by itself.
"""

from __future__ import annotations

import base64

import httpx

from mercato.channels.adapter import Outcome, Upsert, platform_issue
from mercato.channels.google import auth
from mercato.channels.google.mapping import feed_label, summary
from mercato.channels.http import AuthExpired, PlatformError, SetupError, send
from mercato.channels.target import Target

# Merchant Center issue severities -> ours.
SEVERITY = {"DISAPPROVED": "error", "DEMOTED": "warning", "NOT_IMPACTED": "warning"}
# Products a listing page holds at most.
PAGE_SIZE = 1000
# How Google words the refusal of a GCP project not registered with the account.
NOT_REGISTERED = "is not registered with the merchant account"


def product_name(language: str, label: str, offer_id: str) -> str:
    """The `{product}` segment of a resource name: contentLanguage~feedLabel~offerId, the
    whole segment always sent as unpadded base64url (safe whatever the offer id holds)."""
    raw = f"{language}~{label}~{offer_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def required_settings(settings: dict) -> list[str]:
    return [k for k in ("account_id", "data_source_id") if not settings.get(k)]


class Client:
    kind = "google"

    def __init__(self, target: Target, credentials: dict[str, str], http: httpx.Client):
        settings = target.settings
        missing = required_settings(settings)
        if missing:
            raise SetupError(f"the Google channel needs the {' and '.join(missing)} setting")
        self.account = str(settings["account_id"])
        self.data_source = f"accounts/{self.account}/dataSources/{settings['data_source_id']}"
        self.language = target.language
        self.label = feed_label(target)
        self.country = target.country
        self.http = http
        try:
            self.auth = auth.authorizer(target.channel_id, credentials)
        except auth.ConfigError as exc:
            raise SetupError(f"Google credentials: {exc}") from None
        self.prefix = f"/products/v1/accounts/{self.account}"

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One call; a 401 that is not a registration problem is tried once more with a
        freshly minted token before the credentials count as refused."""
        for force in (False, True):
            headers = {"Authorization": self.auth.header(self.http, force=force)}
            response = send(self.http, method, path, headers=headers, **kwargs)
            if response.status_code != 401:
                break
            message = _message(response)
            if NOT_REGISTERED in message:
                raise SetupError(
                    f"Google: the Google Cloud project of these credentials is not registered "
                    f"with Merchant Center account {self.account}. Register it once "
                    f"(developerRegistration:registerGcp, see the README), wait 5 minutes and "
                    f"retry. Google said: {message}",
                    401,
                )
        else:
            raise AuthExpired(f"Google refused the access token: {message}", 401)
        if response.status_code == 403:
            raise SetupError(
                f"Google: no permission on Merchant Center account {self.account} (add the "
                f"service account or OAuth user to the account with Standard or Admin "
                f"access). Google said: {_message(response)}",
                403,
            )
        return response

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise PlatformError(f"Google: {_message(response)}", response.status_code)
        return response

    def push(self, upserts: list[Upsert], deletes: list[str]) -> list[Outcome]:
        outcomes = []
        for upsert in upserts:
            response = self._call(
                "POST",
                f"{self.prefix}/productInputs:insert",
                json=upsert.payload,
                params={"dataSource": self.data_source},
            )
            if response.status_code == 400:
                # This product's input was refused; the others go on.
                outcomes.append(
                    Outcome(
                        upsert.item_id, "rejected", [platform_issue("item", _message(response))]
                    )
                )
                continue
            self._checked(response)
            outcomes.append(Outcome(upsert.item_id, "pending", ref=upsert.item_id))
        for item_id in deletes:
            response = self._call(
                "DELETE",
                f"{self.prefix}/productInputs/{self._name(item_id)}",
                params={"dataSource": self.data_source},
            )
            if response.status_code != 404:  # already gone is what a delete wants
                self._checked(response)
        return outcomes

    def _name(self, offer_id: str) -> str:
        return product_name(self.language, self.label, offer_id)

    def poll(self, ref: str, item_ids: list[str]) -> list[Outcome]:
        outcomes = []
        for item_id in item_ids:
            response = self._call("GET", f"{self.prefix}/products/{self._name(item_id)}")
            if response.status_code == 404:
                continue  # not processed yet
            outcome = self.verdict(item_id, self._checked(response).json())
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def verdict(self, item_id: str, product: dict) -> Outcome | None:
        """The verdict on a processed product for this channel's country (None: still
        pending there). Empty repeated fields are left out of Google's JSON, so a missing
        issue or status list means none."""
        status = product.get("productStatus") or {}
        issues = [
            platform_issue(
                i.get("attribute") or "item",
                i.get("description") or i.get("code", ""),
                SEVERITY.get(i.get("severity", ""), "warning"),
                i.get("code"),
            )
            for i in status.get("itemLevelIssues", [])
            if self._concerns_us(i.get("applicableCountries", []))
        ]
        destinations = status.get("destinationStatuses", [])
        listed_in = {
            key: any(self.country in d.get(key, []) for d in destinations)
            for key in ("approvedCountries", "pendingCountries", "disapprovedCountries")
        }
        if any(i["severity"] == "error" for i in issues) or (
            listed_in["disapprovedCountries"] and not listed_in["approvedCountries"]
        ):
            return Outcome(item_id, "rejected", issues)
        if listed_in["pendingCountries"] and not listed_in["approvedCountries"]:
            return None  # not approved yet
        return Outcome(item_id, "warning" if issues else "approved", issues)

    def _concerns_us(self, countries: list[str]) -> bool:
        return not countries or self.country in countries

    def remote_items(self, expected: list[str]) -> dict[str, dict]:
        """The products of this channel's data source and feed label, by offer id. The
        listing has no filter: it returns the whole account, so the rest is left out here."""
        out, token = {}, None
        while True:
            params = {"pageSize": PAGE_SIZE, **({"pageToken": token} if token else {})}
            body = self._checked(self._call("GET", f"{self.prefix}/products", params=params))
            for product in body.json().get("products", []):
                if (
                    product.get("dataSource") == self.data_source
                    and product.get("feedLabel") == self.label
                    and product.get("contentLanguage") == self.language
                ):
                    out[product["offerId"]] = summary(product)
            token = body.json().get("nextPageToken")
            if not token:
                return out

    def verify(self) -> str:
        """One call proving the credentials, the registration, the permission and the
        data source: the data source is read back."""
        response = self._call("GET", f"/datasources/v1/{self.data_source}")
        if response.status_code == 404:
            raise SetupError(f"Google: no data source {self.data_source}")
        source = self._checked(response).json()
        if source.get("input") not in ("API", "FILE"):
            raise SetupError(
                f"Google: data source {self.data_source} takes its products from "
                f"{source.get('input', 'an unknown input')}, not the API: create an API data "
                f"source (Merchant Center > Settings > Data sources > Add product source > API)"
            )
        # A source limited to one feed label and language takes no other products.
        primary = source.get("primaryProductDataSource") or {}
        wanted = {"feedLabel": self.label, "contentLanguage": self.language}
        if any(primary.get(k) and primary[k] != v for k, v in wanted.items()):
            raise SetupError(
                f"Google: data source {self.data_source} only takes products with feed label "
                f"{primary.get('feedLabel')} and language {primary.get('contentLanguage')}; "
                f"this channel sends {self.label} and {self.language} (set feed_label and the "
                f"channel's language to match, or use another data source)"
            )
        return f"Merchant Center account {self.account}, data source {source.get('displayName')}"


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("message") or f"HTTP {response.status_code}"
    return f"HTTP {response.status_code}"
