"""The trader-agent fixtures (environment for the agent subprocess) shared with tests/agent."""

from tests.agent.conftest import agent_env  # noqa: F401
