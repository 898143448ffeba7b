"""`mercato inbox ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from mercato.cli_support import console, parse, table, unit_of_work
from mercato.inbox import accounts, conversations, sending
from mercato.inbox.schemas import AccountCreate, ConversationUpdate, MessageCreate

app = typer.Typer(help="Conversations on the messaging platforms.", no_args_is_help=True)


@app.command("connect-whatsapp")
def connect_whatsapp(
    name: Annotated[str, typer.Option(help="A name for the number")],
    phone_number_id: Annotated[str, typer.Option(help="Meta's phone number id")],
    access_token: Annotated[str, typer.Option(help="A system user's access token")],
    app_secret: Annotated[str, typer.Option(help="The Meta app's secret (signatures)")],
    verify_token: Annotated[str, typer.Option(help="The verify token of the webhook")],
    business_account_id: Annotated[
        str | None, typer.Option(help="The WhatsApp Business Account id (its templates)")
    ] = None,
    catalog_channel: Annotated[
        str | None, typer.Option(help="The Meta channel whose catalog is linked to the number")
    ] = None,
    base_url: Annotated[str, typer.Option(help="The Graph API address")] = (
        "https://graph.facebook.com"
    ),
):
    """Connect a WhatsApp Business number; prints the webhook path to give Meta."""
    data = parse(
        AccountCreate,
        name=name,
        phone_number_id=phone_number_id,
        business_account_id=business_account_id,
        access_token=access_token,
        app_secret=app_secret,
        verify_token=verify_token,
        base_url=base_url,
        catalog_channel_id=catalog_channel,
    )
    _connect(data)


def _connect(data: AccountCreate) -> None:
    with unit_of_work() as session:
        account = accounts.create_account(session, data)
        console.print(f"Connected {account.name} ({account.id}).")
        console.print(f"Webhook: <your address>{accounts.webhook_path(account)}")


_HUMAN_AGENT = "Meta granted the app the Human Agent permission (replies up to 7 days)"


@app.command("connect-messenger")
def connect_messenger(
    name: Annotated[str, typer.Option(help="A name for the Page")],
    page_id: Annotated[str, typer.Option(help="The Facebook Page id")],
    access_token: Annotated[str, typer.Option(help="The Page access token")],
    app_secret: Annotated[str, typer.Option(help="The Meta app's secret (signatures)")],
    verify_token: Annotated[str, typer.Option(help="The verify token of the webhook")],
    human_agent: Annotated[bool, typer.Option(help=_HUMAN_AGENT)] = False,
    base_url: Annotated[str, typer.Option(help="The Graph API address")] = (
        "https://graph.facebook.com"
    ),
):
    """Connect a Facebook Page (Messenger and its posts' comments); prints the webhook
    path to give Meta."""
    _connect(
        parse(
            AccountCreate,
            platform="messenger",
            name=name,
            page_id=page_id,
            human_agent=human_agent,
            access_token=access_token,
            app_secret=app_secret,
            verify_token=verify_token,
            base_url=base_url,
        )
    )


@app.command("connect-instagram")
def connect_instagram(
    name: Annotated[str, typer.Option(help="A name for the account")],
    instagram_account_id: Annotated[str, typer.Option(help="The professional account id")],
    page_id: Annotated[str, typer.Option(help="The Facebook Page it is linked to")],
    access_token: Annotated[str, typer.Option(help="That Page's access token")],
    app_secret: Annotated[str, typer.Option(help="The Meta app's secret (signatures)")],
    verify_token: Annotated[str, typer.Option(help="The verify token of the webhook")],
    human_agent: Annotated[bool, typer.Option(help=_HUMAN_AGENT)] = False,
    base_url: Annotated[str, typer.Option(help="The Graph API address")] = (
        "https://graph.facebook.com"
    ),
):
    """Connect an Instagram professional account (DMs and its posts' comments); prints
    the webhook path to give Meta."""
    _connect(
        parse(
            AccountCreate,
            platform="instagram",
            name=name,
            instagram_account_id=instagram_account_id,
            page_id=page_id,
            human_agent=human_agent,
            access_token=access_token,
            app_secret=app_secret,
            verify_token=verify_token,
            base_url=base_url,
        )
    )


@app.command("connect-tiktok")
def connect_tiktok(
    name: Annotated[str, typer.Option(help="A name for the shop's chats")],
    channel: Annotated[str, typer.Option(help="The shop's TikTok channel (its id)")],
):
    """Read a TikTok Shop's buyer chats into the inbox (every minute, through the shop's
    channel: TikTok pushes no chat webhook)."""
    data = parse(AccountCreate, platform="tiktok", name=name, catalog_channel_id=channel)
    with unit_of_work() as session:
        account = accounts.create_account(session, data)
        console.print(f"Connected {account.name} ({account.id}); its chats are read every minute.")


@app.command("list")
def list_conversations(
    status: Annotated[str | None, typer.Option(help="open, pending, snoozed, resolved")] = None,
    unread: Annotated[bool, typer.Option(help="Only conversations with unread messages")] = False,
    limit: int = 50,
):
    """Conversations, latest activity first."""
    with unit_of_work() as session:
        page = conversations.list_conversations(
            session, status=status, unread=True if unread else None, limit=limit
        )
        rows = table("conversation", "person", "status", "unread", "last message", "window")
        for c in page.items:
            closes = c.window_closes_at
            rows.add_row(
                c.id,
                c.contact_name or c.contact_id,
                c.status,
                str(c.unread),
                f"{c.last_message_at:%Y-%m-%d %H:%M}",
                f"until {closes:%H:%M}" if closes else "templates only",
            )
    console.print(rows)


@app.command("show")
def show(conversation: str):
    """One conversation: its latest messages and the person's orders."""
    with unit_of_work() as session:
        thread = conversations.thread(session, conversation)
        console.print(f"[bold]{thread.contact_name or thread.contact_id}[/] ({thread.phone})")
        for m in thread.messages:
            arrow = "<" if m.direction == "in" else ">"
            console.print(f"{m.at:%Y-%m-%d %H:%M} {arrow} {m.text or m.kind}  [dim]{m.status}[/]")
        for o in thread.orders:
            console.print(f"order #{o.number}: {o.status}, {o.fulfillment_status}")


@app.command("reply")
def reply(conversation: str, text: str):
    """Send a text reply (within the platform's reply window)."""
    data = parse(MessageCreate, type="text", text=text, author="cli")
    with unit_of_work() as session:
        message = sending.send(session, conversation, data)
        console.print(f"Queued {message.id}; the worker sends it.")


@app.command("resolve")
def resolve(conversation: str):
    """Mark a conversation resolved (a satisfaction question follows, if set up)."""
    with unit_of_work() as session:
        conversations.update(session, conversation, ConversationUpdate(status="resolved"))
        console.print("Resolved.")
