"""Every domain's tables, imported once so that metadata is complete (Alembic, tests)."""

from mercato.admin import models as admin_models  # noqa: F401
from mercato.analytics import conversion_models  # noqa: F401
from mercato.analytics import models as analytics_models  # noqa: F401
from mercato.auth import models as auth_models  # noqa: F401
from mercato.catalog import models as catalog_models  # noqa: F401
from mercato.channels import models as channels_models  # noqa: F401
from mercato.checkout import models as checkout_models  # noqa: F401
from mercato.creators import models as creators_models  # noqa: F401
from mercato.customers import models as customers_models  # noqa: F401
from mercato.db import Base
from mercato.events import models as events_models  # noqa: F401
from mercato.fraud import models as fraud_models  # noqa: F401
from mercato.inbox import models as inbox_models  # noqa: F401
from mercato.inventory import models as inventory_models  # noqa: F401
from mercato.jobs import models as jobs_models  # noqa: F401
from mercato.live import models as live_models  # noqa: F401
from mercato.mail import models as mail_models  # noqa: F401
from mercato.markets import models as markets_models  # noqa: F401
from mercato.offers import models as offers_models  # noqa: F401
from mercato.orders import models as orders_models  # noqa: F401
from mercato.payments import models as payments_models  # noqa: F401
from mercato.privacy import models as privacy_models  # noqa: F401
from mercato.recommendations import models as recommendations_models  # noqa: F401
from mercato.segments import models as segments_models  # noqa: F401
from mercato.system import models as system_models  # noqa: F401
from mercato.webhooks import models as webhooks_models  # noqa: F401

metadata = Base.metadata
