"""`run.py init` writes a starter knowledge base that passes `check` and `eval`, from defaults that know no article."""
from __future__ import annotations

from pathlib import Path

import pytest

import run
from bot.engine import build_engine
from conftest import PROJECT

ARTICLE_WORDS = ("car-t", "car t", "leukaemia", "leukemia", "living drug", "t-all", "base-edit", "riverside",
                 "haematology", "cell therapy", "24-hour")


@pytest.fixture
def starter(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FAQBOT_DATA_DIR", str(tmp_path / "data"))
    target = tmp_path / "clinic"
    assert run.main(["init", str(target), "--title", 'Knee surgery: what to expect on "day one"']) == 0
    return target


def test_init_passes_check_and_eval(starter, capsys):
    capsys.readouterr()
    assert run.main(["check", "--knowledge", str(starter)]) == 0
    out = capsys.readouterr().out
    assert "ok: 2 entries" in out and "0 warning(s)" in out
    assert run.main(["eval", "--knowledge", str(starter)]) == 0
    assert "BELOW BAR" not in capsys.readouterr().out


def test_init_writes_the_title_and_the_clinics_own_team_wording(starter):
    engine = build_engine(starter)
    (source,) = engine.knowledge.sources.values()
    assert source.title == 'Knee surgery: what to expect on "day one"'
    assert "Knee surgery" in engine.responder.welcome()["text"]
    warning = engine.responder.reply("my son has a temperature of 38.6").text
    assert "your care team" in warning and "24-hour" not in warning


@pytest.mark.parametrize("args, expected", [
    (["--title", "  "], "give the leaflet's title"),
    (["--title", "x" * 300], "keep it under"),
])
def test_init_refuses_a_bad_title(tmp_path, capsys, args, expected):
    assert run.main(["init", str(tmp_path / "k"), *args]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "k").exists()


def test_init_never_overwrites(starter, capsys):
    entries = (starter / "entries.yaml").read_bytes()
    assert run.main(["init", str(starter), "--title", "Another"]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (starter / "entries.yaml").read_bytes() == entries


@pytest.mark.parametrize("path", sorted(str(p.relative_to(PROJECT)) for p in (PROJECT / "bot" / "defaults").rglob("*.yaml"))
                         + ["web/templates/demo.html", "bot/locales.py"])
def test_defaults_demo_and_messages_know_no_article(path):
    text = (PROJECT / path).read_text(encoding="utf-8").lower()
    assert not [w for w in ARTICLE_WORDS if w in text]
