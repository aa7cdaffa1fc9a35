"""The chat's pages and the embeddable widget loader."""
from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("pages", __name__)
