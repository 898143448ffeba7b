"""`mercato inbox`: connect a number, read and answer conversations from the terminal."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from mercato.cli import app
from mercato.sandbox import messenger as sim
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


def test_an_instagram_account_is_connected_with_its_page_and_its_comments_arrive(
    client, engine, sandbox
):
    connected = mercato(
        "inbox",
        "connect-instagram",
        "--name",
        "shop-ig",
        "--instagram-account-id",
        sim.INSTAGRAM_ID,
        "--page-id",
        sim.PAGE_ID,
        "--access-token",
        sim.ACCESS_TOKEN,
        "--app-secret",
        sim.APP_SECRET,
        "--verify-token",
        "v",
        "--human-agent",
    )
    assert connected.exit_code == 0, connected.output
    path = re.search(r"/webhooks/instagram/ibx_\w+", connected.output).group(0)
    comment = {"platform": "instagram", "sender": "42", "name": "ada.insta", "text": "price?"}
    payload = sandbox.post("/messenger/_sandbox/comments", json=comment).json()["payload"]
    raw, headers = signed(payload, sim.APP_SECRET)
    assert client.post(path, content=raw, headers=headers).json()["stored"] == 1
    assert "ada.insta" in mercato("inbox", "list").output
    without_page = mercato(
        "inbox",
        "connect-instagram",
        "--name",
        "other",
        "--instagram-account-id",
        "1",
        "--page-id",
        "",
        "--access-token",
        "t",
        "--app-secret",
        "s",
        "--verify-token",
        "v",
    )
    assert without_page.exit_code != 0 and "page_id" in without_page.output


def test_a_tiktok_shops_chats_are_connected_through_its_channel(engine, make_channel):
    channel = make_channel("tiktok")
    connected = mercato("inbox", "connect-tiktok", "--name", "tt", "--channel", channel)
    assert connected.exit_code == 0 and "read every minute" in connected.output
    refused = mercato("inbox", "connect-tiktok", "--name", "tt2", "--channel", "chn_nope")
    assert refused.exit_code != 0 and "tiktok channel" in refused.output
