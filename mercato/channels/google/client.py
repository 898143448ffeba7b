"""Google Merchant API client (PLATFORMS.md §2.3): one productInput per item (an insert is
an upsert); verdicts from the processed product's item-level issues."""

from __future__ import annotations

import base64

import httpx

from mercato.channels.adapter import Outcome, Upsert, platform_issue
from mercato.channels.google.mapping import summary
from mercato.channels.http import AuthExpired, PlatformError, send
from mercato.channels.items import Target

# Merchant Center issue severities -> ours.
SEVERITY = {"DISAPPROVED": "error", "DEMOTED": "warning", "NOT_IMPACTED": "warning"}


class Client:
    kind = "google"

    def __init__(self, target: Target, credentials: dict[str, str], http: httpx.Client):
        settings = target.settings
        self.account = settings.get("account_id")
        self.data_source = settings.get("data_source_id")
        if not (self.account and self.data_source):
            raise PlatformError("the Google channel needs account_id and data_source_id settings")
        self.language, self.label = target.language, target.country
        self.http = http
        self.headers = {"Authorization": f"Bearer {credentials.get('access_token', '')}"}
        self.prefix = f"/products/v1/accounts/{self.account}"

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        response = send(self.http, method, self.prefix + path, headers=self.headers, **kwargs)
        if response.status_code in (401, 403):
            raise AuthExpired(
                response.json().get("error", {}).get("message", "unauthorised"),
                response.status_code,
            )
        if response.status_code >= 400 and response.status_code != 404:
            raise PlatformError(
                f"Google: {response.json().get('error', {}).get('message')}", response.status_code
            )
        return response

    def _name(self, offer_id: str) -> str:
        if any(c in offer_id for c in "/%~"):
            # Unpadded base64url, as the Merchant API asks for such offer ids.
            offer_id = base64.urlsafe_b64encode(offer_id.encode()).decode().rstrip("=")
        return f"{self.language}~{self.label}~{offer_id}"

    def push(self, upserts: list[Upsert], deletes: list[str]) -> list[Outcome]:
        source = f"accounts/{self.account}/dataSources/{self.data_source}"
        outcomes = []
        for upsert in upserts:
            response = self._call(
                "POST", "/productInputs:insert", json=upsert.payload, params={"dataSource": source}
            )
            outcomes.append(
                Outcome(upsert.item_id, "pending", ref=upsert.item_id)
                if response.status_code < 400
                else Outcome(
                    upsert.item_id,
                    "rejected",
                    [platform_issue("item", response.json()["error"]["message"])],
                )
            )
        for item_id in deletes:
            self._call(
                "DELETE", f"/productInputs/{self._name(item_id)}", params={"dataSource": source}
            )
        return outcomes

    def poll(self, ref: str, item_ids: list[str]) -> list[Outcome]:
        outcomes = []
        for item_id in item_ids:
            response = self._call("GET", f"/products/{self._name(item_id)}")
            if response.status_code == 404:
                continue  # not processed yet
            issues = [
                platform_issue(
                    i.get("attribute", "item"),
                    i["description"],
                    SEVERITY.get(i["severity"], "warning"),
                )
                for i in response.json()["productStatus"]["itemLevelIssues"]
            ]
            verdict = (
                "rejected"
                if any(i["severity"] == "error" for i in issues)
                else "warning"
                if issues
                else "approved"
            )
            outcomes.append(Outcome(item_id, verdict, issues))
        return outcomes

    def remote_items(self, expected: list[str]) -> dict[str, dict]:
        out, token = {}, None
        while True:
            params = {"pageSize": 250, **({"pageToken": token} if token else {})}
            body = self._call("GET", "/products", params=params).json()
            for product in body.get("products", []):
                out[product["offerId"]] = summary(product)
            token = body.get("nextPageToken")
            if not token:
                return out
