"""SMTP with the standard library: STARTTLS (the default), implicit TLS, or none (a
local relay); certificates verified against the system's trust store."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from mercato.config import Settings


class MailNotSent(Exception):
    """The server could not be reached or refused the message; try again later."""


def send(settings: Settings, message: EmailMessage) -> str:
    """Hand ``message`` to the configured SMTP server; returns what the server said."""
    context = ssl.create_default_context()
    try:
        if settings.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout
            )
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=context)
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            refused = smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(f"{type(exc).__name__}: {exc}"[:500]) from None
    if refused:
        raise MailNotSent(f"refused: {refused}"[:500])
    return f"accepted by {settings.smtp_host}:{settings.smtp_port}"
