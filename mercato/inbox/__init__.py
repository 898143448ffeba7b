"""The social inbox: every conversation on every messaging platform in one place, beside
the person's orders, with the platform's reply rules enforced before anything is sent.

``accounts`` connects a number or page, ``receiving`` stores what the platform's signed
webhooks bring (once per message id), ``conversations`` reads and changes threads,
``sending`` checks a reply against the platform's window (``windows``), records it and
hands it to the worker, which calls the platform with no transaction open.
"""
