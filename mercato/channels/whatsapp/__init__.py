"""whatsapp adapter (Cloud API): webhooks, mapping, client. Facts: docs/specs/whatsapp.md."""
