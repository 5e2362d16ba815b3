"""Fingerprinted static files: `/assets/v/<version>/<path>`, cached by browsers
and proxies for a year and never revalidated, so a resident's second page is
one request (the page itself).

One version for the whole static folder, taken from the content of every file
at start-up: a deploy that changes any file changes every URL. That costs a
full re-download after a deploy (about 35 KB compressed) and buys correctness
for the references *inside* the files — app.js imports
`../govuk/govuk-frontend.min.js` relatively, which resolves under the same
version, so nothing is ever served stale under an immutable URL.

A request for another version (a page rendered by the previous deploy, still
open in a browser) gets today's file with a short cache lifetime, never an
immutable one. The unversioned `/assets/<path>` stays for what the GOV.UK CSS
refers to by absolute path (fonts, images)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, Response, send_from_directory, url_for

from .security import public

IMMUTABLE = "public, max-age=31536000, immutable"
# A page from another deploy: cache briefly so the next deploy's files win.
STALE = "public, max-age=300"

# The site icon, inline: no request at all, on any page. A speech bubble on the
# page's text colour (not the GOV.UK crown: this is not a GOV.UK service).
FAVICON = (
    "data:image/svg+xml,"
    "%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E"
    "%3Crect width='32' height='32' rx='6' fill='%230b0c0c'/%3E"
    "%3Cpath d='M7 8h18v12H14l-6 5v-5H7z' fill='%23fff'/%3E%3C/svg%3E"
)


def static_version(folder: Path) -> str:
    """A digest of every file's path and content under `folder`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def register_assets(app: Flask) -> None:
    folder = Path(app.static_folder or "static")
    version = static_version(folder)
    app.config["ASSET_VERSION"] = version

    @app.route("/assets/v/<version_seen>/<path:filename>", endpoint="asset")
    @public
    def asset(version_seen: str, filename: str) -> Response:
        response = send_from_directory(folder, filename, max_age=0)
        response.headers["Cache-Control"] = IMMUTABLE if version_seen == version else STALE
        return response

    def asset_url(filename: str) -> str:
        return url_for("asset", version_seen=version, filename=filename)

    def favicon() -> str:
        return FAVICON

    globals_: dict[str, Any] = {"asset_url": asset_url, "favicon_url": favicon}
    app.jinja_env.globals.update(globals_)
