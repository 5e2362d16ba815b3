"""A simulated resident: reads a survey page's HTML form the way a browser
would and fills it in, so the load benchmark and the tests walk the real
journey without knowing the runner's field names.

Pure standard library: the tests import it with Flask's test client, the
benchmark with an HTTP client."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    hidden: dict[str, str] = field(default_factory=dict)
    radios: dict[str, list[str]] = field(default_factory=dict)
    checkboxes: dict[str, list[str]] = field(default_factory=dict)
    selects: dict[str, list[str]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # name -> input type or inputmode
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (name, value)

    @property
    def fields(self) -> list[str]:
        return [*self.radios, *self.checkboxes, *self.selects, *self.texts]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind == "hidden":
                form.hidden[name] = a.get("value", "")
            elif kind == "radio":
                form.radios.setdefault(name, []).append(a.get("value", "on"))
            elif kind == "checkbox":
                form.checkboxes.setdefault(name, []).append(a.get("value", "on"))
            elif kind in ("submit", "button"):
                form.buttons.append((name, a.get("value", "")))
            else:
                form.texts[name] = a.get("inputmode") or kind
        elif tag == "textarea" and name:
            form.texts[name] = "textarea"
        elif tag == "select" and name:
            self._select = name
            form.selects[name] = []
        elif tag == "option" and self._select is not None:
            form.selects[self._select].append(a.get("value", ""))
        elif tag == "button":
            form.buttons.append((name, a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def main_form(html: str) -> Form | None:
    """The form that moves the journey on: a POST form with a CSRF token, not
    the language switcher or sign-out."""
    candidates = [f for f in forms(html) if f.method == "post" and "csrf_token" in f.hidden]
    if not candidates:
        return None
    # The page's own form has answer fields or a start/continue button; the
    # widest one wins.
    return max(candidates, key=lambda f: (len(f.fields), len(f.buttons)))


NUMERIC = {"numeric", "decimal", "number"}


def fill(
    form: Form, rng: random.Random | None = None, text: str = "A resident's comment"
) -> dict[str, list[str]]:
    """Answers a resident might give: one radio per group, one tick per
    checkbox group, distinct choices in a set of drop-downs (a ranking), a
    number in numeric boxes and some words in text boxes."""
    rng = rng or random.Random(0)
    data: dict[str, list[str]] = {k: [v] for k, v in form.hidden.items()}
    for name, values in form.radios.items():
        # Prefer a real answer over "Prefer not to say"/"Don't know", which
        # are usually last; consent is asked yes-first.
        data[name] = [
            values[0] if rng.random() < 0.5 else rng.choice(values[: max(1, len(values) - 1)])
        ]
    for name, values in form.checkboxes.items():
        data[name] = [values[0]]
    used: set[str] = set()
    for name, values in form.selects.items():
        options = [v for v in values if v and v not in used]
        if options:
            chosen = options[0] if rng.random() < 0.5 else rng.choice(options)
            used.add(chosen)
            data[name] = [chosen]
    for name, kind in form.texts.items():
        data[name] = [str(rng.randint(1, 30)) if kind in NUMERIC else text]
    for name, value in form.buttons:
        if name and value not in ("save", "later"):
            data[name] = [value]
            break
    return data


@dataclass
class Walk:
    steps: list[tuple[str, str, int]] = field(default_factory=list)  # (method, url, status)
    reference: str | None = None
    final_html: str = ""


def reference_in(html: str) -> str | None:
    marker = 'id="reference"'
    at = html.find(marker)
    if at < 0:
        return None
    start = html.find(">", at) + 1
    return html[start : html.find("<", start)].strip() or None


def walk_flask(
    client,
    slug: str,
    rng: random.Random | None = None,
    *,
    text: str = "A resident's comment",
    max_steps: int = 80,
) -> Walk:  # type: ignore[no-untyped-def]
    """The complete journey through a Flask test client: start, every
    question, consent, check, submit, done."""
    rng = rng or random.Random(0)
    result = Walk()
    url = f"/s/{slug}"
    for _ in range(max_steps):
        page = client.get(url)
        result.steps.append(("GET", url, page.status_code))
        html = page.get_data(as_text=True)
        form = main_form(html) if page.status_code == 200 else None
        if form is None:
            result.final_html = html
            result.reference = reference_in(html)
            return result
        posted = client.post(form.action or url, data=fill(form, rng, text))
        result.steps.append(("POST", form.action or url, posted.status_code))
        if posted.status_code not in (302, 303):
            result.final_html = posted.get_data(as_text=True)
            return result
        url = posted.headers["Location"]
    return result
