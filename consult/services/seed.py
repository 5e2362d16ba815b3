"""The demo: a partnership with Leicester's Census 2021 margins, three
accounts, and the `feeling-safe` resident survey built from the standard
question bank. Running it twice changes nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources

from sqlalchemy import select

from ..extensions import db
from ..i18n import LANGUAGES
from ..models import Partnership, Role, Section, Survey, SurveyStatus, User
from .accounts import create_partnership, create_user
from .benchmarks import current_benchmarks, import_benchmarks
from .demo_responses import seed_demo_responses
from .outreach import seed_demo_channels
from .surveys import add_bank_question, add_section, create_survey

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Community Safety Partnership"
DEMO_SURVEY = "feeling-safe"
DEMO_ACCOUNTS = (
    ("admin@demo.example", Role.ADMIN, "Demo Administrator"),
    ("officer@demo.example", Role.OFFICER, "Demo Officer"),
    ("viewer@demo.example", Role.VIEWER, "Demo Viewer"),
)

SECTION_TITLES: dict[str, dict[str, str]] = {
    "feeling_safe": {
        "en": "Feeling safe",
        "gu": "સુરક્ષિત અનુભવવું",
        "pa": "ਸੁਰੱਖਿਅਤ ਮਹਿਸੂਸ ਕਰਨਾ",
        "ur": "محفوظ محسوس کرنا",
        "pl": "Poczucie bezpieczeństwa",
        "so": "Dareenka badbaadada",
        "bn": "নিরাপদ বোধ করা",
        "ar": "الشعور بالأمان",
    },
    "crime_and_asb": {
        "en": "Crime and anti-social behaviour",
        "gu": "ગુનો અને અસામાજિક વર્તન",
        "pa": "ਅਪਰਾਧ ਅਤੇ ਸਮਾਜ-ਵਿਰੋਧੀ ਵਿਹਾਰ",
        "ur": "جرائم اور سماج دشمن رویہ",
        "pl": "Przestępczość i zachowania aspołeczne",
        "so": "Dambiyada iyo dabeecadaha bulsho-diidka",
        "bn": "অপরাধ ও সমাজবিরোধী আচরণ",
        "ar": "الجريمة والسلوك المعادي للمجتمع",
    },
    "confidence": {
        "en": "The police and the council",
        "gu": "પોલીસ અને કાઉન્સિલ",
        "pa": "ਪੁਲਿਸ ਅਤੇ ਕੌਂਸਲ",
        "ur": "پولیس اور کونسل",
        "pl": "Policja i rada miasta",
        "so": "Booliska iyo golaha deegaanka",
        "bn": "পুলিশ ও কাউন্সিল",
        "ar": "الشرطة والمجلس",
    },
    "priorities": {
        "en": "What should come first",
        "gu": "પહેલા શું થવું જોઈએ",
        "pa": "ਪਹਿਲਾਂ ਕੀ ਹੋਣਾ ਚਾਹੀਦਾ ਹੈ",
        "ur": "پہلے کیا ہونا چاہیے",
        "pl": "Co powinno być najważniejsze",
        "so": "Waxa ay tahay in la horumariyo",
        "bn": "কোনটি আগে হওয়া উচিত",
        "ar": "ما الذي يجب أن يأتي أولاً",
    },
    "about_you": {
        "en": "About you",
        "gu": "તમારા વિશે",
        "pa": "ਤੁਹਾਡੇ ਬਾਰੇ",
        "ur": "آپ کے بارے میں",
        "pl": "O Panu/Pani",
        "so": "Adiga kugu saabsan",
        "bn": "আপনার সম্পর্কে",
        "ar": "عنك",
    },
    "special": {
        "en": "More about you (optional)",
        "gu": "તમારા વિશે વધુ (વૈકલ્પિક)",
        "pa": "ਤੁਹਾਡੇ ਬਾਰੇ ਹੋਰ (ਵਿਕਲਪਿਕ)",
        "ur": "آپ کے بارے میں مزید (اختیاری)",
        "pl": "Więcej o Panu/Pani (nieobowiązkowe)",
        "so": "Wax badan oo adiga kugu saabsan (ikhtiyaari)",
        "bn": "আপনার সম্পর্কে আরও (ঐচ্ছিক)",
        "ar": "المزيد عنك (اختياري)",
    },
}

SURVEY_TITLE = {
    "en": "How safe do you feel? Community safety survey",
    "gu": "તમે કેટલું સુરક્ષિત અનુભવો છો? સમુદાય સુરક્ષા સર્વે",
    "pa": "ਤੁਸੀਂ ਕਿੰਨਾ ਸੁਰੱਖਿਅਤ ਮਹਿਸੂਸ ਕਰਦੇ ਹੋ? ਭਾਈਚਾਰਕ ਸੁਰੱਖਿਆ ਸਰਵੇਖਣ",
    "ur": "آپ کتنا محفوظ محسوس کرتے ہیں؟ کمیونٹی سیفٹی سروے",
    "pl": "Jak bezpiecznie się Pan/Pani czuje? Ankieta o bezpieczeństwie w okolicy",
    "so": "Intee in le'eg ayaad badbaado dareentaa? Sahanka badbaadada bulshada",
    "bn": "আপনি কতটা নিরাপদ বোধ করেন? কমিউনিটি নিরাপত্তা জরিপ",
    "ar": "ما مدى شعورك بالأمان؟ استبيان سلامة المجتمع",
}
SURVEY_INTRO = {
    "en": "Tell the partnership how safe you feel and what it should do first. It takes about 10 minutes. Your answers are anonymous.",
    "gu": "ભાગીદારીને જણાવો કે તમે કેટલું સુરક્ષિત અનુભવો છો અને તેણે પહેલા શું કરવું જોઈએ. આમાં લગભગ 10 મિનિટ લાગે છે. તમારા જવાબો અનામી છે.",
    "pa": "ਭਾਈਵਾਲੀ ਨੂੰ ਦੱਸੋ ਕਿ ਤੁਸੀਂ ਕਿੰਨਾ ਸੁਰੱਖਿਅਤ ਮਹਿਸੂਸ ਕਰਦੇ ਹੋ ਅਤੇ ਉਸਨੂੰ ਪਹਿਲਾਂ ਕੀ ਕਰਨਾ ਚਾਹੀਦਾ ਹੈ। ਇਸ ਵਿੱਚ ਲਗਭਗ 10 ਮਿੰਟ ਲੱਗਦੇ ਹਨ। ਤੁਹਾਡੇ ਜਵਾਬ ਗੁਮਨਾਮ ਹਨ।",
    "ur": "شراکت داری کو بتائیں کہ آپ کتنا محفوظ محسوس کرتے ہیں اور اسے پہلے کیا کرنا چاہیے۔ اس میں تقریباً 10 منٹ لگتے ہیں۔ آپ کے جوابات گمنام ہیں۔",
    "pl": "Prosimy powiedzieć partnerstwu, jak bezpiecznie się Pan/Pani czuje i czym powinno zająć się najpierw. Zajmie to około 10 minut. Pana/Pani odpowiedzi są anonimowe.",
    "so": "U sheeg iskaashiga sida aad badbaado u dareento iyo waxa ay tahay inuu marka hore sameeyo. Waxay qaadanaysaa ilaa 10 daqiiqo. Jawaabahaagu waa qarsoodi.",
    "bn": "অংশীদারিত্বকে জানান আপনি কতটা নিরাপদ বোধ করেন এবং তাদের প্রথমে কী করা উচিত। এতে প্রায় ১০ মিনিট লাগে। আপনার উত্তরগুলি বেনামী।",
    "ar": "أخبر الشراكة بمدى شعورك بالأمان وما الذي يجب أن تفعله أولاً. يستغرق ذلك نحو 10 دقائق. إجاباتك مجهولة الهوية.",
}

# (section key, section kind, [(bank key, show_if)])
DEMO_LAYOUT: list[tuple[str, str, list[tuple[str, dict[str, object] | None]]]] = [
    ("feeling_safe", "standard", [("safe_after_dark", None), ("safe_day", None), ("worry", None)]),
    (
        "crime_and_asb",
        "standard",
        [("asb", None), ("victim_last_year", None), ("contact_police", None)],
    ),
    (
        "confidence",
        "standard",
        [("police_job", None), ("police_council_dealing", None), ("police_agree", None)],
    ),
    (
        "priorities",
        "standard",
        [
            ("priorities", None),
            ("priorities_other", {"question": "priorities", "in": ["something_else"]}),
            ("comments", None),
        ],
    ),
    (
        "about_you",
        "about_you",
        [
            ("age_band", None),
            ("sex", None),
            ("gender_identity", None),
            ("area", None),
            ("years_in_area", None),
            ("tenure", None),
            ("english_proficiency", None),
        ],
    ),
    (
        "special",
        "special",
        [
            ("ethnic_group", None),
            ("religion", None),
            ("disability", None),
            ("sexual_orientation", None),
        ],
    ),
]


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)


def margins_csv() -> bytes:
    return resources.files("consult").joinpath("data/leicester_census2021_margins.csv").read_bytes()


def seed_demo(password: str | None = None, responses: bool = True) -> SeedReport:
    """`responses=False` leaves out the few thousand demo responses (tests that
    do not read results need not pay for them)."""
    report = SeedReport()
    partnership = db.session.scalars(select(Partnership).filter_by(slug=DEMO_SLUG)).first()
    if partnership is None:
        partnership = create_partnership(DEMO_SLUG, DEMO_NAME)
        report.created.append(f"partnership {DEMO_SLUG}")
    if current_benchmarks(partnership.id) is None:
        import_benchmarks(partnership, margins_csv(), note="ONS Census 2021, Leicester (E06000016)")
        report.created.append("benchmarks v1 (Leicester, Census 2021)")
    for email, role, name in DEMO_ACCOUNTS:
        if db.session.scalars(select(User).filter_by(email=email)).first() is None:
            secret = password or secrets.token_urlsafe(12)
            create_user(email, secret, partnership=partnership, role=role, name=name)
            report.created.append(f"user {email} ({role.value})")
            report.passwords[email] = secret
    if db.session.scalars(select(Survey).filter_by(slug=DEMO_SURVEY)).first() is None:
        build_demo_survey(partnership)
        report.created.append(f"survey /s/{DEMO_SURVEY}")
    if responses:
        survey = db.session.scalars(select(Survey).filter_by(slug=DEMO_SURVEY)).one()
        added = seed_demo_responses(survey)
        if added:
            report.created.append(f"{added} demo responses (biased, as inspections found)")
        if seed_demo_channels(survey):
            report.created.append("2 outreach channels (a youth council, a community centre)")
    return report


def build_demo_survey(partnership: Partnership) -> Survey:
    survey = create_survey(
        partnership,
        slug=DEMO_SURVEY,
        title=SURVEY_TITLE,
        languages=list(LANGUAGES),
        intro=SURVEY_INTRO,
    )
    for section_key, kind, entries in DEMO_LAYOUT:
        section: Section = add_section(survey, section_key, SECTION_TITLES[section_key], kind=kind)
        for bank_key, show_if in entries:
            add_bank_question(survey, section, bank_key, show_if=show_if)
    survey.status = SurveyStatus.OPEN
    survey.opens_at = datetime.now(UTC) - timedelta(days=30)
    survey.closes_at = datetime.now(UTC) + timedelta(days=365)
    survey.retention_until = date.today() + timedelta(days=730)
    return survey
