"""Transactional mail to buyers: made from events by the worker, sent over SMTP (or kept
in the local outbox when no SMTP server is configured), retried, each attempt logged."""
