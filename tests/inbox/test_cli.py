"""`mercato inbox`: connect a number, read and answer conversations from the terminal."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from mercato.cli import app
from tests.inbox.conftest import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    notification,
    now,
    signed,
    text_message,
)

runner = CliRunner()


def mercato(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_connect_list_show_reply_and_resolve(client, engine, sessions):
    connected = mercato(
        "inbox",
        "connect-whatsapp",
        "--name",
        "shop",
        "--phone-number-id",
        PHONE_NUMBER_ID,
        "--access-token",
        "t",
        "--app-secret",
        APP_SECRET,
        "--verify-token",
        "v",
    )
    assert connected.exit_code == 0, connected.output
    path = re.search(r"/webhooks/whatsapp/ibx_\w+", connected.output).group(0)
    raw, headers = signed(notification([text_message("wamid.CLI1", "Do you ship to Lyon?", now())]))
    assert client.post(path, content=raw, headers=headers).status_code == 200

    listed = mercato("inbox", "list", "--unread")
    assert listed.exit_code == 0 and "Ada Buyer" in listed.output
    conversation = re.search(r"cnv_\w+", listed.output).group(0)
    shown = mercato("inbox", "show", conversation)
    assert "Do you ship to Lyon?" in shown.output
    replied = mercato("inbox", "reply", conversation, "Yes, in 2 days.")
    assert replied.exit_code == 0 and "Queued" in replied.output
    assert "Yes, in 2 days." in mercato("inbox", "show", conversation).output
    assert mercato("inbox", "resolve", conversation).exit_code == 0
    assert "resolved" in mercato("inbox", "list").output


def test_bad_options_are_named(engine):
    refused = mercato(
        "inbox",
        "connect-whatsapp",
        "--name",
        "shop",
        "--phone-number-id",
        "not-digits",
        "--access-token",
        "t",
        "--app-secret",
        "s",
        "--verify-token",
        "v",
    )
    assert refused.exit_code == 1
    assert "phone_number_id" in refused.output
