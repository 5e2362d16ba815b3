"""Conventions of the code's shape that a reader relies on, kept true by
tests: services never commit (the request or command owns the transaction),
only services write the audit log (the one that makes a change records it),
and no module grows past about 650 lines unless it is one cohesive thing,
said so here."""

from __future__ import annotations

import ast
from pathlib import Path

import consult

PACKAGE = Path(consult.__file__).parent
MAX_LINES = 650

# Modules allowed over MAX_LINES, each one cohesive thing; the reason says why
# splitting it would scatter rather than clarify. A module that shrinks below
# the limit should leave this list.
LARGE_MODULES = {
    "analysis/weighting.py": "one algorithm (raking with trimming and its diagnostics), pure",
    "models.py": "the schema, read as one picture of the tables and their relations",
    "question_bank.py": "the bank's loader and validator: one file format, one set of rules",
    "services/answers.py": "one answer per question type, parsed and stored: a table of types",
    "services/frames.py": "one reader: stored answers to the wide frame every result and "
    "export reads (the SQL that numbers codes and the numpy that places them belong together)",
    "services/demo_responses.py": "one generator of a biased demo sample, parameter tables mostly",
    "services/importing.py": "one import (responses from a spreadsheet), validated all or nothing",
    "services/question_results.py": "one result per question type, a table of types",
    "services/report.py": "one document (the partnership report), section by section",
    "services/xlsform.py": "one format both ways: the export and the import share the mapping",
}


def _python_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _commits(tree: ast.AST) -> list[int]:
    """Lines that call `<anything>.commit()`: a session's or a connection's."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_services_never_commit():
    """Services change objects and flush; the view (through UnitOfWork) or the
    command commits. A service that commits cannot be composed with another:
    the first one's commit would make half of a change permanent."""
    found = []
    for path in sorted((PACKAGE / "services").rglob("*.py")):
        for line in _commits(ast.parse(path.read_text(encoding="utf-8"))):
            found.append(f"{path.relative_to(PACKAGE)}:{line}")
    assert found == []


def test_the_commit_check_bites():
    source = "def save(x):\n    x.flush()\n    db.session.commit()\n"
    assert _commits(ast.parse(source)) == [3]


def _audit_records(tree: ast.AST) -> list[int]:
    """Lines that call `record` from services.audit, imported by name
    (`from ..services.audit import record [as r]`) or through the module
    (`from ..services import audit` then `audit.record(...)`)."""
    names: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                if module.endswith("services.audit") and alias.name == "record":
                    names.add(alias.asname or alias.name)
                elif module.endswith("services") and alias.name == "audit":
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.endswith("services.audit") and alias.asname:
                    modules.add(alias.asname)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id in names)
            or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in modules
            )
        )
    ]


def test_only_services_write_the_audit_log():
    """A view or a command asks a service for a change, and that service
    records it: the event is written wherever the change is made from (a
    page, a command, a job), and a view cannot forget it. The commands
    (cli*.py) are held to it too: they are entry points like the views."""
    found = []
    for path in _python_modules():
        name = path.relative_to(PACKAGE).as_posix()
        if name.startswith("services/"):
            continue
        for line in _audit_records(ast.parse(path.read_text(encoding="utf-8"))):
            found.append(f"{name}:{line}")
    assert found == [], f"move these audit records into the service that makes the change: {found}"


def test_the_audit_check_bites():
    by_name = "from ..services.audit import record as note\ndef save(x):\n    note('a')\n"
    by_module = (
        "from ..services import audit\ndef save(x):\n    x.record()\n    audit.record('a')\n"
    )
    unrelated = "def save(x):\n    x.record()\n    record('a')\n"
    assert _audit_records(ast.parse(by_name)) == [3]
    assert _audit_records(ast.parse(by_module)) == [4]
    assert _audit_records(ast.parse(unrelated)) == []


def test_no_module_is_large_without_a_reason():
    too_large = []
    for path in _python_modules():
        name = path.relative_to(PACKAGE).as_posix()
        with path.open(encoding="utf-8") as file:
            lines = sum(1 for _ in file)
        if lines > MAX_LINES and name not in LARGE_MODULES:
            too_large.append(f"{name}: {lines} lines")
    assert too_large == [], (
        f"split these by concern, or add them to LARGE_MODULES with the reason: {too_large}"
    )


def test_every_large_module_has_a_reason():
    assert all(reason.strip() for reason in LARGE_MODULES.values())
    assert all((PACKAGE / name).exists() for name in LARGE_MODULES)


def test_a_unit_of_work_commits_or_keeps_the_refusal(app_context):
    """The view's one owner of the transaction: a finished block is
    committed; a refused one is rolled back and its message kept for the
    page; any other error is not swallowed."""
    import pytest
    import sqlalchemy as sa

    from consult.extensions import db
    from consult.models import Partnership
    from consult.services import ServiceError
    from consult.services.accounts import create_partnership
    from consult.unit_of_work import UnitOfWork

    def names() -> set[str]:
        return set(db.session.scalars(sa.select(Partnership.slug)))

    with UnitOfWork() as work:
        create_partnership("kept", "Kept CSP")
    assert work.ok and work.error is None
    db.session.remove()  # another request: only committed rows remain
    assert "kept" in names()

    with UnitOfWork() as refused:
        create_partnership("dropped", "Dropped CSP")
        raise ServiceError("Enter a name", field="name")
    assert not refused.ok
    assert refused.error is not None
    assert (refused.error.field, refused.error.message) == ("name", "Enter a name")
    assert "dropped" not in names()

    with pytest.raises(KeyError), UnitOfWork():
        raise KeyError("not a refusal")
