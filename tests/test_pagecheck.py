"""The page checker itself bites: each convention it guards fails a bad page."""

from __future__ import annotations

from pagecheck import check_page

GOOD = """<!DOCTYPE html><html lang="en" dir="ltr"><head><meta charset="utf-8"><title>Sign in – consult</title></head>
<body><h1>Sign in</h1><p id="a">x</p></body></html>"""


def test_good_page_passes():
    assert check_page(GOOD) == []


def test_two_h1s_fail():
    assert any(
        "exactly one <h1>" in p for p in check_page(GOOD.replace("<p id", "<h1>Again</h1><p id"))
    )


def test_title_must_start_with_h1():
    problems = check_page(GOOD.replace("<title>Sign in", "<title>Welcome"))
    assert any("does not start with" in p for p in problems)


def test_error_prefix_is_allowed_before_the_title():
    assert check_page(GOOD.replace("<title>Sign in", "<title>Error: Sign in")) == []


def test_duplicate_ids_fail():
    assert any(
        "duplicate ids: a" in p
        for p in check_page(GOOD.replace("</body>", '<span id="a"></span></body>'))
    )


def test_missing_lang_and_dir_fail():
    problems = check_page(GOOD.replace(' lang="en" dir="ltr"', ""))
    assert "<html> has no lang" in problems
    assert any("dir" in p for p in problems)


def test_invalid_html_fails():
    assert any("not valid HTML" in p for p in check_page(GOOD.replace("<p id", "<p <<id")))
