"""The simulators are tested with the channel fixtures."""

from tests.channels.conftest import make_channel, make_products  # noqa: F401
