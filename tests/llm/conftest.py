"""Make the `openai_fake` fixture available even before the root conftest imports it."""

from tests.fakes.openai_fixtures import openai_fake  # noqa: F401
