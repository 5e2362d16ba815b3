"""The deployment instructions give one recommendation, the measured one:
gunicorn's sync workers, two per core. The README once served with threaded
workers while docs/operations.md recommended sync workers."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def gunicorn_commands() -> list[tuple[str, list[str]]]:
    """Every gunicorn command line in the documentation (continuation lines joined)."""
    commands = []
    for path in DOCS:
        text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
        for line in text.splitlines():
            # Only lines that run gunicorn: prose about it may hold apostrophes.
            first = line.strip().split(" ", 1)[0]
            command = first.endswith("/gunicorn") or first == "gunicorn" and " -" in line
            words = shlex.split(line.strip()) if command else []
            if words and words[0].endswith("gunicorn"):
                commands.append((path.name, words))
    return commands


def option(words: list[str], *names: str) -> str | None:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def test_every_documented_gunicorn_command_uses_sync_workers_two_per_core():
    commands = gunicorn_commands()
    assert {name for name, _words in commands} >= {"README.md", "operations.md"}
    for name, words in commands:
        assert option(words, "-k", "--worker-class") in (None, "sync"), (name, words)
        assert option(words, "--threads") is None, (name, words)
        # The measured figure: four workers on the two-core machine.
        assert option(words, "-w", "--workers") == "4", (name, words)
        assert words[-1] == "wsgi:app", (name, words)


def test_readme_and_operations_say_the_same_thing_about_workers():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for text in (readme, operations):
        assert re.search(
            r"sync workers,\s+two per (CPU )?core|two sync workers\s+per (CPU )?core",
            text,
            re.IGNORECASE,
        )
        assert "gthread" not in text.replace("4 workers x 8 threads", "")
