"""Upload bombs: the worker's peak memory above idle, and the time, while it
refuses the hostile spreadsheets of issue 13.

Run from the repository root:  python bench/bench_upload_bombs.py

Each case runs in a fresh Python process (a worker), so its resident set
size is its own: the child builds the app on an in-memory SQLite database,
signs an officer in, posts one small genuine file to warm every import up,
records its idle RSS, resets the kernel's high-water mark
(/proc/self/clear_refs) and posts the hostile file through the real upload
form (Flask's test client, the whole request). The peak is the kernel's
VmHWM afterwards, checked against a 2 ms sampler.

Cases, each to the translation import and to the XLSForm import:
* the 1.5 KB dimension bomb (one cell, <dimension ref="A1:XFD1048576"/>);
* a 1.9 MB zip bomb (about 560 MB of rows), honest headers;
* the same bomb with its zip headers rewritten to claim 30 MB, under the
  reader's caps, so only the streamed reading protects the worker.

Reference, measured in the same run: openpyxl's read-only reader (what the
imports used before) on a scaled-down dimension bomb (A1:ALL2000, 2 million
padded cells); the full A1:XFD1048576 would need about 137 GB.

Targets (DESIGN.md): each refusal under 2 s and under 50 MB above idle.
Prints PASS or MISS; never fails for being slow.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 2.0
TARGET_MB = 50.0
OFFICER = "officer@bench.example"
PASSWORD = "a long bench passphrase, 2026"


def rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_kb()
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_kb())
            time.sleep(0.002)


def measure(action) -> dict:  # type: ignore[no-untyped-def]
    import gc

    gc.collect()
    idle = rss_kb()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        hwm_reset = True
    except OSError:
        hwm_reset = False
    sampler = Sampler()
    sampler.start()
    started = time.perf_counter()
    outcome = action()
    seconds = time.perf_counter() - started
    sampler.running = False
    sampler.join()
    peak = max(sampler.peak, rss_kb("VmHWM") if hwm_reset else 0)
    return {
        "seconds": seconds,
        "idle_mb": idle / 1024,
        "above_idle_mb": max(0, peak - idle) / 1024,
        "outcome": outcome,
        "hwm": hwm_reset,
    }


def child(case: str, route: str, path: str) -> None:
    """One worker: set up, warm up, then refuse the file at `path`."""
    import re

    from consult import create_app
    from consult.extensions import db
    from consult.models import Role
    from consult.services.accounts import create_partnership, create_user
    from consult.services.surveys import add_question, add_section, create_survey
    from consult.services.translation import export_xlsx
    from consult.services.xlsform import export_xlsform

    content = Path(path).read_bytes()
    if route == "openpyxl":
        from openpyxl import load_workbook

        def old_reader() -> str:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
            return f"{len(rows)} rows x {len(rows[0])} columns"

        print(json.dumps(measure(old_reader)))
        return

    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
        partnership = create_partnership("bench", "Bench")
        create_user(OFFICER, PASSWORD, partnership=partnership, role=Role.OFFICER)
        survey = create_survey(
            partnership, slug="bench", title={"en": "Bench"}, languages=["en", "ur"]
        )
        section = add_section(survey, "main", {"en": "Main"})
        add_question(survey, section, key="comment", type="text", prompt={"en": "Anything?"})
        db.session.commit()
        survey_id = survey.id
        genuine = {"translations": export_xlsx(survey), "xlsform": export_xlsform(survey)}
    client = app.test_client()
    signed = client.post("/sign-in", data={"email": OFFICER, "password": PASSWORD})
    assert signed.status_code == 302, signed.status_code
    url = (
        f"/manage/surveys/{survey_id}/translations/import"
        if route == "translations"
        else "/manage/surveys/import-xlsform"
    )

    def post(data: bytes, slug: str) -> tuple[int, str]:
        response = client.post(
            url,
            data={"slug": slug, "file": (io.BytesIO(data), "upload.xlsx")},
            content_type="multipart/form-data",
        )
        body = response.get_data(as_text=True)
        problems = re.findall(r"<li>([^<]*)</li>", body)
        found = [p for p in problems if "row" in p or "workbook" in p or "sheet" in p]
        return response.status_code, (found[0] if found else body[:80]).strip()

    post(genuine[route], "warm-up")  # imports, caches and pools warmed before idle is read
    print(json.dumps(measure(lambda: post(content, "hostile"))))


def dimension_bomb_reference() -> bytes:
    from bench.hostile_files import SHEET_TAIL, sheet_head, xlsx

    return xlsx(
        sheet_head("A1:ALL2000")
        + '<row r="2000"><c r="ALL2000" t="inlineStr"><is><t>x</t></is></c></row>'
        + SHEET_TAIL
    )


def run(case: str, route: str, content: bytes) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as handle:
        handle.write(content)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", case, route, handle.name],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=600,
        )
    finally:
        os.unlink(handle.name)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from bench.hostile_files import dimension_bomb, zip_bomb

    cases = [
        ("1.5 KB dimension bomb", dimension_bomb),
        ("1.9 MB zip bomb", zip_bomb),
        ("1.9 MB zip bomb, lying headers", lambda sheet: zip_bomb(sheet, lie=True)),
    ]
    print(
        f"{'case':34} {'import':12} {'size':>9} {'status':>6} {'time s':>7} {'MB>idle':>8}  result"
    )
    worst_time = worst_mb = 0.0
    for name, make in cases:
        for route, sheet in (("translations", "translations"), ("xlsform", "survey")):
            content = make(sheet)
            result = run(name, route, content)
            if "error" in result:
                print(f"{name:34} {route:12} ERROR {result['error']}")
                continue
            status, message = result["outcome"]
            worst_time = max(worst_time, result["seconds"])
            worst_mb = max(worst_mb, result["above_idle_mb"])
            ok = (
                status == 400
                and result["seconds"] < TARGET_SECONDS
                and result["above_idle_mb"] < TARGET_MB
            )
            print(
                f"{name:34} {route:12} {len(content):>9,} {status:>6} {result['seconds']:>7.3f} "
                f"{result['above_idle_mb']:>8.1f}  {'PASS' if ok else 'MISS'}: {message[:70]}"
            )
    reference = run("reference", "openpyxl", dimension_bomb_reference())
    if "error" in reference:
        print(f"reference: openpyxl failed: {reference['error']}")
    else:
        print(
            f"reference: openpyxl read-only on a dimension bomb of A1:ALL2000 "
            f"({reference['outcome']}): {reference['seconds']:.2f} s, "
            f"{reference['above_idle_mb']:.1f} MB above idle"
        )
        # Memory and time of the padding grow with the declared cells.
        scale = (1_048_576 * 16_384) / (2000 * 1000)
        old_gb = reference["above_idle_mb"] * scale / 1024
        old_s = reference["seconds"] * scale
        print(
            f"reference extrapolated to the 1.5 KB bomb's A1:XFD1048576: about {old_gb:,.0f} GB "
            f"and {old_s:,.0f} s; the safe reader's worst refusal above used "
            f"{worst_mb:.1f} MB ({old_gb * 1024 / max(worst_mb, 0.1):,.0f}x less) "
            f"in {worst_time:.2f} s"
        )
    print(f"targets: under {TARGET_SECONDS} s and under {TARGET_MB:.0f} MB above idle each")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
    else:
        main()
