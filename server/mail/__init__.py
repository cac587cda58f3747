"""Outgoing e-mail: receipts the kiosks ask for, queued in the database and delivered by a background sender.

- :mod:`server.mail.models` — :class:`~server.mail.models.OutgoingMail`, one row per message.
- :mod:`server.mail.service` — :func:`~server.mail.service.queue_receipt` and
  :class:`~server.mail.service.MailSender` (SMTP or ``.eml`` files, retries with backoff).
- :mod:`server.mail.ingest` — the ``receipt_email`` event handler.
- :mod:`server.mail.jobs` — :class:`~server.mail.jobs.MailJob`, the sender as a server background service.
"""
