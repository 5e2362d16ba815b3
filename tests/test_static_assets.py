"""Static files are fingerprinted and cached for a year, so a resident's
second page is one request; the site icon costs no request at all."""

from __future__ import annotations

import re

from test_respond_support import Resident, build_survey

from consult.assets import IMMUTABLE, static_version

ASSET = re.compile(r'(?:href|src)="(/assets/[^"]+)"')


def test_resident_pages_link_fingerprinted_files_cached_for_a_year(app, client):
    build_survey(app)
    resident = Resident(client)
    resident.start()
    html = client.get("/s/quick/q/safe").get_data(as_text=True)
    links = ASSET.findall(html)
    assert links, "no static files linked"
    version = app.config["ASSET_VERSION"]
    for link in links:
        assert link.startswith(f"/assets/v/{version}/"), link
        response = client.get(link)
        assert response.status_code == 200, link
        assert response.headers["Cache-Control"] == IMMUTABLE, link
        assert "no-store" not in response.headers["Cache-Control"]
    # The stylesheets and the one script: app.js imports GOV.UK Frontend
    # relatively, under the same version (preloaded, so one fetch).
    assert {link.rsplit("/", 1)[1] for link in links} >= {
        "govuk-frontend.min.css",
        "app.css",
        "app.js",
        "govuk-frontend.min.js",
    }
    script = client.get(f"/assets/v/{version}/js/app.js").get_data(as_text=True)
    assert 'from "../govuk/govuk-frontend.min.js"' in script
    # The icon is inline: no request, and not the GOV.UK crown.
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
    assert icon.startswith("data:image/svg+xml,")
    # The resident page itself is never cached.
    assert client.get("/s/quick/q/safe").headers["Cache-Control"] == "no-store"


def test_a_page_from_an_older_deploy_gets_todays_file_but_not_for_a_year(app, client):
    response = client.get("/assets/v/000000000000/css/app.css")
    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"]
    assert client.get("/assets/v/000000000000/css/nothing.css").status_code == 404
    assert client.get("/assets/v/000000000000/../config.py").status_code == 404


def test_the_version_follows_every_files_content(tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "app.css").write_text("body{}")
    (tmp_path / "js.js").write_text("x")
    first = static_version(tmp_path)
    assert static_version(tmp_path) == first
    (tmp_path / "css" / "app.css").write_text("body{ }")
    assert static_version(tmp_path) != first
