"""Meta's catalog contract, read from the generated field, parameter and enum lists of the
official ``facebook-business`` SDK (PLATFORMS.md §1.1, §1.3): the item fields and their
types and enums (``ProductItem``), the parameters of ``items_batch`` and of
``check_batch_request_status`` (``ProductCatalog``), and the fields of a batch status
(``CheckBatchRequestStatus``). The SDK's own ``TypeChecker`` judges values."""

from __future__ import annotations

import json

from facebook_business import apiconfig
from facebook_business.adobjects.checkbatchrequeststatus import CheckBatchRequestStatus
from facebook_business.adobjects.productcatalog import ProductCatalog
from facebook_business.adobjects.productitem import ProductItem
from facebook_business.adobjects.productset import ProductSet
from facebook_business.typechecker import TypeChecker

SDK_GRAPH_VERSION = apiconfig.ads_api_config["API_VERSION"]

# items_batch ``data`` takes the feed attribute names (PLATFORMS.md §1.3 example); the
# ones that differ from the SDK's Graph field names, and the field each one fills [I].
FEED_NAMES = {
    "id": "retailer_id",
    "title": "name",
    "link": "url",
    "image_link": "image_url",
    "additional_image_link": "additional_image_urls",
    "mpn": "manufacturer_part_number",
    "item_group_id": "retailer_product_group_id",
    "google_product_category": "category",
}
METHODS = ("CREATE", "UPDATE", "DELETE")
# Parameters every Graph call may carry besides its own.
GRAPH_PARAMS = ("access_token", "appsecret_proof", "fields")


def _values(enum_class) -> set[str]:
    return {v for k, v in vars(enum_class).items() if not k.startswith("_")}


def _enums(cls) -> dict[str, set[str]]:
    return {name: _values(getattr(cls, name)) for name in cls._get_field_enum_info()}


def _checker(request) -> TypeChecker:
    """The SDK's checker of a request's parameters; its enum lists are taken from the enum
    class's ``__dict__``, which also holds the module name and descriptors: only the
    (upper-case) values are kept."""
    checker = request._param_checker
    return TypeChecker(
        checker._type_check_info,
        {
            name: {v for v in values if isinstance(v, str) and v.isupper()}
            for name, values in checker._enum_data.items()
        },
    )


ITEM = TypeChecker(
    {
        **ProductItem._field_types,
        **{feed: ProductItem._field_types[graph] for feed, graph in FEED_NAMES.items()},
    },
    _enums(ProductItem),
)
BATCH = _checker(ProductCatalog("0").create_items_batch(pending=True))
LOCALIZED_BATCH = _checker(ProductCatalog("0").create_localized_items_batch(pending=True))
STATUS_PARAMS = _checker(ProductCatalog("0").get_check_batch_request_status(pending=True))
STATUS_FIELDS = frozenset(_values(CheckBatchRequestStatus.Field))
# Fields a read of the catalog itself may name.
CATALOG_FIELDS = frozenset(_values(ProductCatalog.Field))
# Fields a read (``?fields=``) of its items may name.
READ_FIELDS = frozenset(ProductItem._field_types)
# Product sets: the parameters of creating one on a catalog and of updating one.
PRODUCT_SET_CREATE = _checker(ProductCatalog("0").create_product_set(pending=True))
PRODUCT_SET_UPDATE = _checker(ProductSet("0").api_update(pending=True))
# A product set's filter: {field: {operator: value}}, or "and"/"or" over a list of such
# rules. The operators, as Meta's product set guide names them [I].
FILTER_OPERATORS = frozenset(
    {
        "eq",
        "neq",
        "lt",
        "lte",
        "gt",
        "gte",
        "contains",
        "not_contains",
        "i_contains",
        "i_not_contains",
        "starts_with",
        "i_starts_with",
        "is_any",
        "is_not_any",
    }
)


def _pair_errors(checker: TypeChecker, values: dict, what: str) -> list[str]:
    errors = []
    for key, value in values.items():
        if not checker.is_valid_key(key):
            errors.append(f"(#100) {key} is not a valid {what}")
        elif not checker.is_type(checker.get_type(key), value):
            errors.append(f"(#100) Invalid value for {key}: {value!r} ({checker.get_type(key)})")
    return errors


def item_errors(data: dict) -> list[str]:
    """What Meta says of one request's ``data``: unknown fields, wrong types, bad enums."""
    return _pair_errors(ITEM, data, "field of a product item")


def batch_errors(body: dict) -> list[str]:
    """The items_batch parameters; ``requests`` is a JSON array of {method, data}."""
    params = {k: v for k, v in body.items() if k not in ("requests", *GRAPH_PARAMS)}
    errors = _pair_errors(BATCH, params, "parameter of items_batch")
    if body.get("item_type") != "PRODUCT_ITEM":
        errors.append("(#100) item_type must be PRODUCT_ITEM")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        errors.append("(#100) requests must be a non-empty JSON array")
    return errors


def request_errors(request: dict) -> list[str]:
    """One entry of ``requests``: its method and the shape of its data."""
    if set(request) - {"method", "data"}:
        return [f"(#100) Unknown keys in a request: {sorted(set(request) - {'method', 'data'})}"]
    if request.get("method") not in METHODS:
        return [f"(#100) method must be one of {', '.join(METHODS)}"]
    data = request.get("data")
    if not isinstance(data, dict) or not data.get("id"):
        return ["(#100) data.id (the retailer id) is required"]
    return item_errors(data)


def localized_batch_errors(body: dict) -> list[str]:
    """The localized_items_batch parameters (the SDK's list: item_type, requests,
    allow_upsert, version)."""
    params = {k: v for k, v in body.items() if k not in ("requests", *GRAPH_PARAMS)}
    errors = _pair_errors(LOCALIZED_BATCH, params, "parameter of localized_items_batch")
    if body.get("item_type") != "PRODUCT_ITEM":
        errors.append("(#100) item_type must be PRODUCT_ITEM")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        errors.append("(#100) requests must be a non-empty JSON array")
    return errors


def status_query_errors(params: dict) -> list[str]:
    values = {k: v for k, v in params.items() if k not in GRAPH_PARAMS}
    errors = _pair_errors(STATUS_PARAMS, values, "parameter of check_batch_request_status")
    if not values.get("handle"):
        errors.append("(#100) handle is required")
    return errors


def status_response_errors(status: dict) -> list[str]:
    """A batch status (``data[0]``) holds only the SDK's fields."""
    unknown = set(status) - STATUS_FIELDS
    return [f"not a field of CheckBatchRequestStatus: {sorted(unknown)}"] if unknown else []


def filter_errors(rule) -> list[str]:
    """A product set's filter: fields of a product item, known operators, lists for
    ``is_any``/``is_not_any``, and at least one condition."""
    if not isinstance(rule, dict) or not rule:
        return ["(#100) filter must be a non-empty JSON object"]
    errors = []
    for key, value in rule.items():
        if key in ("and", "or"):
            if not isinstance(value, list) or not value:
                errors.append(f"(#100) {key} takes a non-empty list of rules")
            else:
                errors += [e for part in value for e in filter_errors(part)]
        elif key not in READ_FIELDS:
            errors.append(f"(#100) {key} is not a field of a product item")
        elif not isinstance(value, dict) or len(value) != 1:
            errors.append(f"(#100) {key} takes one {{operator: value}}")
        else:
            [(operator, operand)] = value.items()
            if operator not in FILTER_OPERATORS:
                errors.append(f"(#100) {operator} is not a filter operator")
            elif operator in ("is_any", "is_not_any") and not (
                isinstance(operand, list) and operand
            ):
                errors.append(f"(#100) {operator} takes a non-empty list")
    return errors


def product_set_errors(params: dict, creating: bool) -> list[str]:
    """The parameters of creating or updating a product set, and its filter."""
    values = {k: v for k, v in params.items() if k not in GRAPH_PARAMS}
    checker = PRODUCT_SET_CREATE if creating else PRODUCT_SET_UPDATE
    errors = []
    for key in values:
        if not checker.is_valid_key(key):
            errors.append(f"(#100) {key} is not a valid parameter of a product set")
    if creating and not values.get("name"):
        errors.append("(#100) name is required")
    if "filter" in values:
        try:
            rule = json.loads(values["filter"]) if isinstance(values["filter"], str) else None
        except ValueError:
            rule = None
        errors += filter_errors(rule) if rule is not None else ["(#100) filter is not JSON"]
    return errors
