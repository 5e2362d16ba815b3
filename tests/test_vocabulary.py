"""One vocabulary: demographic variables, question-type sets, statuses, kinds
and flag labels are defined in consult/vocabulary.py and nowhere else. They
were once defined several times with different contents (two CHOICE_TYPES,
flag labels worded four ways, second keying outside the response statuses)."""

from __future__ import annotations

import ast
import enum
import subprocess
import sys
from pathlib import Path

from consult import models, question_bank, vocabulary

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "consult"
HOME = PACKAGE / "vocabulary.py"

# The names only the vocabulary may define (classes or module-level values).
NAMES = {
    name
    for name, value in vars(vocabulary).items()
    if name.isupper() or (isinstance(value, type) and issubclass(value, enum.Enum))
} - {"annotations"}
# Value groups: a literal listing several of one group's values re-defines it.
GROUPS: dict[str, set[str]] = {
    "section kinds": {str(k) for k in vocabulary.SectionKind},
    "flags": set(vocabulary.FLAGS),
    "partner kinds": {code for code, _label in vocabulary.PARTNER_KINDS},
    "question types": set(vocabulary.QUESTION_TYPES),
    "demographic variables": set(vocabulary.DEMOGRAPHIC_VARIABLES),
    "response statuses": {str(s) for s in vocabulary.ResponseStatus},
    "translation statuses": {str(s) for s in vocabulary.TranslationStatus},
}


def modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p != HOME]


def definitions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in NAMES:
            found.append(f"class {node.name}")
        targets: list[ast.expr] = []
        value = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            # Naming an imported value (`SECOND_KEYING = ResponseStatus.SECOND_KEYING`)
            # is not a second definition; a literal of its own is.
            if (
                isinstance(target, ast.Name)
                and target.id.lstrip("_") in NAMES
                and not isinstance(value, ast.Name | ast.Attribute)
            ):
                found.append(f"{target.id} = …")
    for node in ast.walk(tree):
        if isinstance(node, ast.Set | ast.Tuple | ast.List | ast.Dict):
            items = node.keys if isinstance(node, ast.Dict) else node.elts
            strings = {
                i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)
            }
            for group, values in GROUPS.items():
                # Every value of a group in one literal is a copy of the group,
                # not a use of some of its values (a default, a breakdown).
                if strings >= values:
                    found.append(f"line {node.lineno}: a copy of the {group}")
    return found


def test_nothing_but_the_vocabulary_defines_its_names():
    problems = {
        str(path.relative_to(ROOT)): found for path in modules() if (found := definitions(path))
    }
    assert problems == {}


def test_the_check_bites(tmp_path):
    copy = tmp_path / "copy.py"
    copy.write_text(
        "import enum\n"
        "class SurveyStatus(enum.StrEnum):\n    DRAFT = 'draft'\n"
        "DEMOGRAPHIC_VARIABLES = ('age_band', 'sex')\n"
        "_FLAG_LABELS = {'under': 'x'}\n"
        "KINDS = ('standard', 'about_you', 'special')\n"
        "ALIAS = SurveyStatus.DRAFT\n"
    )
    found = definitions(copy)
    assert "class SurveyStatus" in found
    assert "DEMOGRAPHIC_VARIABLES = …" in found
    assert "_FLAG_LABELS = …" in found
    assert any("a copy of the section kinds" in f for f in found)
    assert len(found) == 4


def test_models_and_the_bank_use_the_vocabulary_itself():
    assert models.SurveyStatus is vocabulary.SurveyStatus
    assert models.ResponseStatus.SECOND_KEYING == "second_keying"
    assert models.DEMOGRAPHIC_VARIABLES is vocabulary.DEMOGRAPHIC_VARIABLES
    assert question_bank.DEMOGRAPHIC_VARIABLES is vocabulary.DEMOGRAPHIC_VARIABLES
    assert question_bank.QUESTION_TYPES is vocabulary.QUESTION_TYPES
    # One meaning per name: choice types are picked from; option types have options.
    assert vocabulary.CHOICE_TYPES < vocabulary.OPTION_TYPES
    assert vocabulary.OPTION_TYPES | vocabulary.FREE_TYPES == set(vocabulary.QUESTION_TYPES)
    assert not vocabulary.OPTION_TYPES & vocabulary.FREE_TYPES
    assert set(vocabulary.FLAG_LABELS) == set(vocabulary.FLAGS)


def test_importing_the_vocabulary_pulls_in_no_web_stack():
    code = (
        "import sys, consult.vocabulary, consult.question_bank\n"
        "print(','.join(m for m in ('flask', 'sqlalchemy', 'werkzeug') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == ""
