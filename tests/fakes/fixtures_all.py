"""Every fake-server fixture in one plugin, so any test can ask for `graph_api`, `telegram_api`,
`openai_fake`."""

from tests.fakes.fixtures import connector_config, graph_api, telegram_api  # noqa: F401
from tests.fakes.openai_fixtures import openai_fake  # noqa: F401
from tests.fakes.smtp import smtp_server  # noqa: F401
