"""Settings come from the environment alone, with embedded defaults that production refuses."""

from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError


def test_the_embedded_defaults_need_no_server() -> None:
    settings = Settings.from_env({})
    assert settings.database_is_sqlite
    assert settings.cache_in_memory
    assert settings.tasks_eager


def test_variables_switch_to_real_backends() -> None:
    settings = Settings.from_env(
        {
            "ROLECALL_DATABASE_URL": "postgresql://db/rolecall",
            "ROLECALL_REDIS_URL": "redis://cache:6379/0",
            "ROLECALL_BROKER_URL": "redis://cache:6379/1",
        }
    )
    assert settings.database_url == "postgresql://db/rolecall"
    assert not settings.cache_in_memory
    assert not settings.tasks_eager


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ("ROLECALL_REDIS_URL", "ROLECALL_REDIS_URL"),
        ("ROLECALL_BROKER_URL", "ROLECALL_BROKER_URL"),
        ("ROLECALL_DATABASE_URL", "ROLECALL_DATABASE_URL"),
        ("ROLECALL_SECRET_KEY", "ROLECALL_SECRET_KEY"),
    ],
)
def test_production_refuses_each_embedded_default(missing: str, variable: str) -> None:
    environ = {
        "ROLECALL_ENV": "production",
        "ROLECALL_DATABASE_URL": "postgresql://db/rolecall",
        "ROLECALL_REDIS_URL": "redis://cache:6379/0",
        "ROLECALL_BROKER_URL": "redis://cache:6379/1",
        "ROLECALL_SECRET_KEY": "s3cret",
    }
    del environ[missing]
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(environ)


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(SettingsError, match="ROLECALL_ENV"):
        Settings.from_env({"ROLECALL_ENV": "staging"})


@pytest.mark.parametrize(
    ("environ", "inline"),
    [
        ({}, True),  # tasks run in-process: the request sends its own work
        ({"ROLECALL_BROKER_URL": "redis://cache:6379/1"}, False),  # `rolecall relay` sends
        ({"ROLECALL_BROKER_URL": "redis://cache:6379/1", "ROLECALL_OUTBOX_RELAY": "inline"}, True),
        ({"ROLECALL_OUTBOX_RELAY": "PROCESS"}, False),
    ],
)
def test_who_sends_the_outbox_follows_the_broker_unless_set(
    environ: dict[str, str], inline: bool
) -> None:
    assert Settings.from_env(environ).sends_outbox_inline is inline


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ROLECALL_OUTBOX_RELAY", "sometimes"), ("ROLECALL_RELAY_INTERVAL_SECONDS", "0")],
)
def test_relay_settings_are_validated(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_the_questions_deadline_is_two_seconds_unless_set_and_never_zero() -> None:
    assert Settings.from_env({}).questions_deadline_ms == 2000
    assert Settings.from_env({"ROLECALL_QUESTIONS_DEADLINE_MS": "500"}).questions_deadline_ms == 500
    with pytest.raises(SettingsError, match="ROLECALL_QUESTIONS_DEADLINE_MS"):
        Settings.from_env({"ROLECALL_QUESTIONS_DEADLINE_MS": "0"})


def test_a_request_may_shorten_the_questions_deadline_but_never_lengthen_it() -> None:
    settings = Settings.from_env({"ROLECALL_QUESTIONS_DEADLINE_MS": "500"})
    assert settings.questions_deadline_s() == 0.5
    assert settings.questions_deadline_s(200) == 0.2
    assert settings.questions_deadline_s(5000) == 0.5
