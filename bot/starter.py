"""A new clinic's starter knowledge base: `run.py init DIR --title "..."` writes one that passes `check`."""
from __future__ import annotations

import json
from pathlib import Path

from bot.text import collapse_space

STARTER = Path(__file__).resolve().parent / "defaults" / "starter"
FILES = ("sources.yaml", "entries.yaml", "regression.yaml", "synonyms.yaml", "triage.yaml", "locales.yaml",
         "settings.yaml")
MAX_TITLE_CHARS = 200


class StarterError(Exception):
    """The starter knowledge base cannot be written where asked; the message says why in plain words."""


def write_starter(directory: str | Path, title: str) -> list[Path]:
    """Write a starter knowledge base for a leaflet with this title into a new (or empty) directory."""
    directory = Path(directory)
    title = collapse_space(title or "")
    if not title:
        raise StarterError('give the leaflet\'s title: --title "Iron infusions: a guide for patients"')
    if len(title) > MAX_TITLE_CHARS:
        raise StarterError(f"the title has {len(title)} characters; keep it under {MAX_TITLE_CHARS}")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise StarterError(f"{directory} already exists and is not empty: choose a new folder, so that nothing "
                           "there is overwritten")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name in FILES:
            text = (STARTER / name).read_text(encoding="utf-8")
            # A JSON string is a valid YAML double-quoted one; prose inside a folded block takes the title as is.
            text = text.replace("__TITLE_QUOTED__", json.dumps(title, ensure_ascii=False))
            text = text.replace("__TITLE__", title.replace('"', "'"))
            path = directory / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise StarterError(f"cannot write to {directory}: {exc.strerror or exc}") from exc
    return written
