"""whatsapp adapter (Cloud API): webhooks, mapping, client. Facts: docs/platforms/whatsapp.md."""
