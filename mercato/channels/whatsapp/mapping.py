"""Request bodies for ``POST /<ver>/<PHONE_NUMBER_ID>/messages`` (docs/platforms/whatsapp.md §3).

Pure functions; each refuses what Meta documents it would refuse, with
ValueError("<field>: <why>"), before anything is sent."""

from __future__ import annotations

import re

# Documented limits (characters).
TEXT_BODY_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
FOOTER_MAX = 60
HEADER_TEXT_MAX = 60
SECTION_TITLE_MAX = 24
SECTIONS_MAX = 10
PRODUCTS_MAX = 30
TEMPLATE_NAME_MAX = 512
TEMPLATE_VALUE_MAX = 1024  # a template's body is at most 1,024 characters
# Reply buttons [S, several BSP references agree]: 1 to 3, titles of 20 characters.
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
# List messages [S, several BSP references agree]: up to 10 rows in all, a row title of 24
# characters and a description of 72, a button label of 20.
LIST_ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72

# E.164: country code first, at most 15 digits; sent without the "+".
_E164 = re.compile(r"[1-9][0-9]{6,14}")


def _envelope(to: str, kind: str) -> dict:
    if not isinstance(to, str) or not _E164.fullmatch(to):
        raise ValueError("to: an E.164 number in digits only, without '+' (7-15 digits)")
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind}


def _text(field: str, value: str | None, most: int, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"{field}: required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field}: not a string")
    if len(value) > most:
        raise ValueError(f"{field}: {len(value)} characters, at most {most}")
    return value


def _id(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: required")
    return value


def text(to: str, body: str, *, preview_url: bool = False, reply_to: str | None = None) -> dict:
    out = _envelope(to, "text")
    out["text"] = {"body": _text("body", body, TEXT_BODY_MAX), "preview_url": bool(preview_url)}
    if reply_to is not None:
        out["context"] = {"message_id": _id("reply_to", reply_to)}
    return out


# A template's variables: {{1}}, {{2}}... (positional) or {{first_name}} (named).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def template_text(components: list, part: str) -> str | None:
    """The text of a template's HEADER (when it is text) or BODY, as Meta lists it."""
    for component in components or []:
        if isinstance(component, dict) and str(component.get("type", "")).upper() == part:
            text = component.get("text")
            return text if isinstance(text, str) else None
    return None


def placeholders(text: str | None) -> list[str]:
    """The variables of a template text in order, each once."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text or "")))


def filled(text: str, values: dict[str, str]) -> str:
    """The text as the customer reads it, the values put in."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def template_parameters(part: str, names: list[str], values: list[str]) -> dict:
    """One component of a template send: a text parameter per variable, named ones
    carrying their ``parameter_name``."""
    parameters = []
    for name, value in zip(names, values, strict=True):
        parameter = {"type": "text", "text": _text(f"{part}.{name}", value, TEMPLATE_VALUE_MAX)}
        if "\n" in value or "\t" in value or "     " in value:
            raise ValueError(
                f"{part}.{name}: a template value cannot hold a new line, a tab or more than "
                "4 spaces in a row"
            )
        if not name.isdigit():
            parameter["parameter_name"] = name
        parameters.append(parameter)
    return {"type": part, "parameters": parameters}


def template(to: str, name: str, language: str, components: list[dict] | None = None) -> dict:
    out = _envelope(to, "template")
    body: dict = {
        "name": _text("name", name, TEMPLATE_NAME_MAX),
        "language": {"code": _id("language", language)},
    }
    if components:
        if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
            raise ValueError("components: a list of objects")
        for n, component in enumerate(components):
            if not isinstance(component.get("type"), str):
                raise ValueError(f"components[{n}].type: required")
        body["components"] = components
    out["template"] = body
    return out


def product(
    to: str,
    catalog_id: str,
    retailer_id: str,
    *,
    body: str | None = None,
    footer: str | None = None,
) -> dict:
    """A single-product message; body and footer are optional for this one type."""
    out = _envelope(to, "interactive")
    interactive: dict = {"type": "product"}
    if _text("body", body, INTERACTIVE_BODY_MAX, required=False):
        interactive["body"] = {"text": body}
    if _text("footer", footer, FOOTER_MAX, required=False):
        interactive["footer"] = {"text": footer}
    interactive["action"] = {
        "catalog_id": _id("catalog_id", catalog_id),
        "product_retailer_id": _id("retailer_id", retailer_id),
    }
    out["interactive"] = interactive
    return out


def product_list(
    to: str,
    catalog_id: str,
    *,
    header: str,
    body: str,
    sections: list[tuple[str, list[str]]],
    footer: str | None = None,
) -> dict:
    """A multi-product message: a text header and a body are required; 1-10 sections of at
    least one product each, 30 products at most in all; a title on every section when
    there are several."""
    out = _envelope(to, "interactive")
    if not sections or len(sections) > SECTIONS_MAX:
        raise ValueError(f"sections: 1 to {SECTIONS_MAX} sections")
    total = sum(len(ids) for _, ids in sections)
    if total > PRODUCTS_MAX:
        raise ValueError(f"sections: {total} products, at most {PRODUCTS_MAX} in all")
    shaped = []
    for n, (title, ids) in enumerate(sections):
        section: dict = {}
        if _text(f"sections[{n}].title", title, SECTION_TITLE_MAX, required=len(sections) > 1):
            section["title"] = title
        if not ids:
            raise ValueError(f"sections[{n}].product_items: at least one product")
        section["product_items"] = [
            {"product_retailer_id": _id(f"sections[{n}].product_items[{i}]", rid)}
            for i, rid in enumerate(ids)
        ]
        shaped.append(section)
    interactive: dict = {
        "type": "product_list",
        "header": {"type": "text", "text": _text("header", header, HEADER_TEXT_MAX)},
        "body": {"text": _text("body", body, INTERACTIVE_BODY_MAX)},
    }
    if _text("footer", footer, FOOTER_MAX, required=False):
        interactive["footer"] = {"text": footer}
    interactive["action"] = {"catalog_id": _id("catalog_id", catalog_id), "sections": shaped}
    out["interactive"] = interactive
    return out


def buttons(to: str, body: str, titles: list[str]) -> dict:
    """A message with 1 to 3 reply buttons; a tap comes back as an interactive
    ``button_reply`` carrying the title (and our id: ``b1``, ``b2``, ``b3``)."""
    out = _envelope(to, "interactive")
    if not 1 <= len(titles) <= BUTTONS_MAX:
        raise ValueError(f"buttons: 1 to {BUTTONS_MAX} buttons, not {len(titles)}")
    if len(set(titles)) != len(titles):
        raise ValueError("buttons: each button needs its own title")
    out["interactive"] = {
        "type": "button",
        "body": {"text": _text("text", body, INTERACTIVE_BODY_MAX)},
        "action": {
            "buttons": [
                {
                    "type": "reply",
                    "reply": {
                        "id": f"b{n + 1}",
                        "title": _text(f"buttons[{n}]", title, BUTTON_TITLE_MAX),
                    },
                }
                for n, title in enumerate(titles)
            ]
        },
    }
    return out


def image(to: str, url: str, caption: str | None = None) -> dict:
    """An image by its public https link, with an optional caption (docs/platforms/
    whatsapp.md §3: JPEG or PNG, at most 5 MB, fetched by Meta)."""
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError("image_url: an https link Meta can fetch")
    out = _envelope(to, "image")
    out["image"] = {"link": url}
    if _text("text", caption, INTERACTIVE_BODY_MAX, required=False):
        out["image"]["caption"] = caption
    return out


def list_message(
    to: str, body: str, button: str, sections: list[tuple[str | None, list[tuple[str, str | None]]]]
) -> dict:
    """A list message: a button opening up to 10 rows in 1 to 10 sections (a title on
    every section when there are several). A pick comes back as an interactive
    ``list_reply`` carrying the row's title (and our id: ``r1``, ``r2``...)."""
    out = _envelope(to, "interactive")
    if not sections or len(sections) > SECTIONS_MAX:
        raise ValueError(f"sections: 1 to {SECTIONS_MAX} sections")
    total = sum(len(rows) for _, rows in sections)
    if total > LIST_ROWS_MAX:
        raise ValueError(f"sections: {total} rows, at most {LIST_ROWS_MAX} in all")
    shaped, number = [], 0
    for n, (title, rows) in enumerate(sections):
        if not rows:
            raise ValueError(f"sections[{n}].rows: at least one row")
        section: dict = {"rows": []}
        if _text(f"sections[{n}].title", title, SECTION_TITLE_MAX, required=len(sections) > 1):
            section["title"] = title
        for r, (row_title, description) in enumerate(rows):
            number += 1
            row = {
                "id": f"r{number}",
                "title": _text(f"sections[{n}].rows[{r}].title", row_title, ROW_TITLE_MAX),
            }
            if _text(
                f"sections[{n}].rows[{r}].description",
                description,
                ROW_DESCRIPTION_MAX,
                required=False,
            ):
                row["description"] = description
            section["rows"].append(row)
        shaped.append(section)
    out["interactive"] = {
        "type": "list",
        "body": {"text": _text("text", body, INTERACTIVE_BODY_MAX)},
        "action": {"button": _text("button", button, BUTTON_TITLE_MAX), "sections": shaped},
    }
    return out
