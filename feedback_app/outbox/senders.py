"""Gateways behind a tiny interface: `send(message) -> provider id`, raising `SendError` on failure.

E-mail goes through `SmtpSender` (smtplib) when SMTP_HOST is set, else through `ConsoleSender` (development).
SMS goes through the configured gateway of feedback_app/sms/gateways.py (Twilio, the generic HTTP gateway or the
console), whose `send` answers an `Accepted` (the provider's id and the status it gave).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

log = logging.getLogger("feedback_app.outbox")


@dataclass(frozen=True)
class OutgoingMessage:
    """What a sender needs, copied out of the outbox row (sending happens outside any transaction)."""

    id: int
    channel: str
    recipient: str
    subject: str | None
    body: str
    kind: str
    attempts: int
    agency_id: int | None = None
    entity_type: str | None = None
    entity_id: int | None = None
    sender_name: str | None = None  # SMS: the agency's registered brandname, else SMS_SENDER_NAME
    guard_checked: bool = True  # SMS: the send guard was asked when it was claimed


@dataclass(frozen=True)
class Accepted:
    """An SMS gateway took the message: its id there, and the delivery status its answer gave (queued or sent)."""

    provider_id: str
    delivery_status: str = "queued"


class SendError(Exception):
    """A send failed. `reason` is terse and never holds the recipient; `permanent` means retrying is useless;
    `error_code` is the provider's code (kept on the row when the message is given up)."""

    def __init__(self, reason: str, *, permanent: bool = False, error_code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason[:255]
        self.permanent = permanent
        self.error_code = error_code[:20] if error_code else None


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> Any: ...  # e-mail: the Message-ID; SMS: sms.gateways.Accepted


class SmtpSender:
    """Plain-text UTF-8 e-mail over SMTP (STARTTLS when asked); one connection per message."""

    def __init__(self, host: str, port: int, *, username: str = "", password: str = "", starttls: bool = True,
                 mail_from: str, timeout: float = 30) -> None:
        self.host, self.port, self.username, self.password = host, port, username, password
        self.starttls, self.mail_from, self.timeout = starttls, mail_from, timeout

    def build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Date"] = formatdate(localtime=False)
        domain = self.mail_from.rpartition("@")[2].strip(">") or None
        email["Message-ID"] = make_msgid(idstring=f"outbox{message.id}", domain=domain)
        email.set_content(message.body, subtype="plain", charset="utf-8")
        return email

    def send(self, message: OutgoingMessage) -> str | None:
        email = self.build(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _text in error.recipients.values()})
            raise SendError(f"SMTP recipient refused ({', '.join(map(str, codes))})",
                            permanent=all(500 <= c < 600 for c in codes)) from None
        except smtplib.SMTPResponseException as error:
            # The server's text may quote the address: only the class and code are kept.
            raise SendError(f"{type(error).__name__} {error.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as error:
            errno = getattr(error, "errno", None)
            raise SendError(f"{type(error).__name__}" + (f" errno {errno}" if errno else "")) from None
        return str(email["Message-ID"])


class ConsoleSender:
    """Development without SMTP_HOST: the message goes to the log, nothing leaves the machine."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or log

    def send(self, message: OutgoingMessage) -> str | None:
        self.logger.warning("outbox %s #%d (%s) to %s: %s\n%s", message.channel, message.id, message.kind,
                            message.recipient, message.subject or "", message.body)
        return f"console-{message.id}"


def email_sender(config: Any) -> Sender:
    if not config.get("SMTP_HOST"):
        return ConsoleSender()
    return SmtpSender(config["SMTP_HOST"], int(config["SMTP_PORT"]), username=config.get("SMTP_USERNAME") or "",
                      password=config.get("SMTP_PASSWORD") or "", starttls=bool(config.get("SMTP_STARTTLS")),
                      mail_from=config["MAIL_FROM"], timeout=float(config.get("SMTP_TIMEOUT_SECONDS", 30)))


class Senders:
    """One sender per channel, made when first needed."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self._made: dict[str, Sender] = {}

    def for_channel(self, channel: str) -> Sender:
        if channel not in self._made:
            if channel == "email":
                self._made[channel] = email_sender(self.config)
            elif channel == "sms":
                from ..sms.gateways import sms_gateway  # the SMS package imports this module

                self._made[channel] = sms_gateway(self.config)
            else:
                raise SendError(f"no sender for channel {channel}")
        return self._made[channel]
