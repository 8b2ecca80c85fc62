"""Test support: the Slack Web API emulator (`tests.support.slack_emulator`), signed Slack request
builders (`tests.support.signing`), pytest fixtures (`tests.support.fixtures`) and a client for an
emulator in another process (`tests.support.emulator_client`). See tests/support/README.md."""
