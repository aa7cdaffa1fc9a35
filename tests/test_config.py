"""Settings come from one table of FAQBOT_* variables; a bad value names the variable and what it must be."""
from __future__ import annotations

import pytest

from bot.config import SETTINGS, ConfigError, load_settings


def test_defaults_load_from_an_empty_environment():
    settings = load_settings(environ={})
    assert settings.reply_cache == 4096 and settings.reload_seconds == 0.25 and settings.allowed_origins == ()


@pytest.mark.parametrize("variable, value, says", [
    ("FAQBOT_REPLY_CACHE", "-1", "0 or more"),
    ("FAQBOT_REPLY_CACHE", "lots", "must be a whole number"),
    ("FAQBOT_MAX_BODY_BYTES", "16k", "must be a whole number"),
    ("FAQBOT_RELOAD_SECONDS", "soon", "must be a number"),
    ("FAQBOT_RATE_PER_MINUTE", "0", "above 0"),
    ("FAQBOT_RELOAD_SECONDS", "-0.5", "above 0"),
    ("FAQBOT_LIVE_RELOAD", "maybe", "true or false"),
    ("FAQBOT_ALLOWED_ORIGINS", "clinic.example", "is not an origin"),
])
def test_a_bad_value_names_the_variable(variable, value, says):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={variable: value})
    assert variable in str(caught.value) and repr(value) in str(caught.value) and says in str(caught.value)


def test_default_places_are_the_shipped_knowledge_and_the_working_directory(tmp_path, monkeypatch):
    from conftest import KNOWLEDGE
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.knowledge.resolve() == KNOWLEDGE.resolve(), "in a checkout the shipped base is knowledge/"
    assert settings.data_dir == tmp_path / "data", "records go where the bot runs, never into the code"
    assert load_settings(environ={"FAQBOT_DATA_DIR": "records"}).data_dir == tmp_path / "records"


@pytest.mark.parametrize("value", ["https://clinic.example/path", "https://", "ftp://clinic.example",
                                   "https://user@clinic.example", "https://clinic.example:99999",
                                   "https://clinic.example?x=1", "https://clinic example", "https://clinic.example#top",
                                   "https://clinic.example/,javascript:alert(1)", "https://<script>"])
def test_allowed_origins_must_each_be_an_origin(value):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"FAQBOT_ALLOWED_ORIGINS": value})
    assert "FAQBOT_ALLOWED_ORIGINS" in str(caught.value) and "is not an origin" in str(caught.value)


def test_allowed_origins_are_kept_in_the_form_browsers_send():
    raw = " https://Clinic.Example/ ,http://127.0.0.1:8000,"
    assert load_settings(environ={"FAQBOT_ALLOWED_ORIGINS": raw}).allowed_origins == (
        "https://clinic.example", "http://127.0.0.1:8000")
    assert load_settings(environ={"FAQBOT_ALLOWED_ORIGINS": "*"}).allowed_origins == ("*",)


def test_zero_turns_the_reply_cache_off():
    assert load_settings(environ={"FAQBOT_REPLY_CACHE": "0"}).reply_cache == 0


def test_an_unknown_override_is_refused():
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings({"reply_cahce": 10}, environ={})


def test_every_setting_is_in_the_readme():
    from bot.config import PREFIX
    from conftest import PROJECT
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    missing = [PREFIX + s.name.upper() for s in SETTINGS if f"`{PREFIX}{s.name.upper()}`" not in readme]
    assert missing == []
