"""Reach: the officer's pages for reaching the missing voices during fieldwork.
One module per page group, each registering its routes on this blueprint:

- `sample`: the sample stream (address file, reproducible draw, codes);
- `letters`: mail-merge letters and reminders for the drawn addresses;
- `channels`: tracked outreach channels (links, QR codes, posters) and targets."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reach", __name__, url_prefix="/manage/surveys")

# The view modules register their routes on `bp` when imported.
from . import channels, letters, sample  # noqa: E402,F401
