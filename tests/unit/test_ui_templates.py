"""app/ui: translation catalogs, language negotiation and the server-rendered pages (strict CSP; the only script
is the wallet page's external wallet.js)."""

import json
import re
import string
from functools import partial
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from app.ui import i18n
from app.ui.i18n import SUPPORTED, catalogs, direction, negotiate, translate

UI_DIR = Path(i18n.__file__).parent
TEMPLATE_DIR = UI_DIR / "templates"
CSS_FILE = UI_DIR / "static" / "idbb.css"
TEMPLATES = sorted(p.name for p in TEMPLATE_DIR.glob("*.html"))
PAGES = ("error.html", "login.html", "otp.html", "consent.html", "wallet.html", "logout.html", "offer.html")

CLAIMS = (
    "name given_name family_name middle_name preferred_username nickname gender birthdate email email_verified "
    "phone_number phone_number_verified picture address locale zoneinfo"
).split()
SCOPES = ("offline_access", "profile", "email", "phone", "address")
ERROR_KEYS = (
    "error.unknown_client",
    "error.bad_redirect_uri",
    "error.expired",
    "error.bad_request",
    "error.csrf",
    "error.too_many_requests",
)
LOGIN_ERROR_KEYS = ("login.failed", "login.blocked", "otp.failed", "otp.send_failed")
#: Keys the views pass in as variables (t(error_key), claim and scope labels) rather than literal t("...") calls.
DYNAMIC_KEYS = {f"claim.{c}" for c in CLAIMS} | {f"scope.{s}" for s in SCOPES} | set(ERROR_KEYS) | set(LOGIN_ERROR_KEYS)
LITERAL_T_CALL = re.compile(r"""\bt\(\s*(["'])([^"']+)\1\s*[,)]""")

EVIL = '<script>alert("x")</script>'


def jinja_env() -> Environment:
    # StrictUndefined: a template using a variable the contract does not promise fails here.
    return Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=StrictUndefined)


def base_context(locale: str) -> dict:
    return {
        "locale": locale,
        "direction": direction(locale),
        "t": partial(translate, locale),
        "csrf": "csrf-token-123",
        "txn": "txn 42&x",
        "css_url": "/ui/static/idbb.css",
        "script_url": "/ui/static/wallet.js",
    }


SAMPLES = {
    "error.html": {"error_key": "error.unknown_client"},
    "login.html": {
        "client_name": "Tax Office",
        "client_logo": "/logos/tax.png",
        "methods": ["pin", "otp", "wallet"],
        "login_hint": "1234567890",
        "error_key": "login.failed",
    },
    "otp.html": {"identifier": "ID-99887766", "error_key": "otp.failed"},
    "consent.html": {
        "client_name": "Tax Office",
        "client_logo": None,
        "essential_claims": ["name", "birthdate"],
        "voluntary_claims": ["email", "phone_number"],
        "scopes": ["offline_access"],
    },
    "wallet.html": {
        "client_name": "Tax Office",
        "client_logo": None,
        "link_code": "ABCDEFGHJKMNPQR",
        "link_code_groups": ["ABCDE", "FGHJK", "MNPQR"],
        "expire_date_time": "2030-01-02T03:04:05.678Z",
        "deep_link": "idbb-wallet://wla-auth?linkCode=ABCDEFGHJKMNPQR&linkExpireDateTime=2030-01-02T03%3A04%3A05.678Z",
        "deep_link_template": "idbb-wallet://wla-auth?linkCode={linkCode}&linkExpireDateTime={expireDateTime}",
        "qr_svg": Markup('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29" class="qr-code"></svg>'),
        "issuer": "https://idbb.test",
        "xsrf": "xsrf-token-456",
        "server_now": 1893553445000,
        "txn_expires": 1893554045000,
        "linked_ttl": 300,
        "countdown": "1:00",
    },
    "offer.html": {
        "qr_svg": Markup('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29" class="qr-code"></svg>'),
        "offer_uri": "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fidbb.test%2Fcredential-offer%2Fx",
        "tx_code_length": 6,
        "expires": "2030-01-02 03:04 UTC",
    },
    "logout.html": {
        "done": False,
        "hidden": {"client_id": "tax", "post_logout_redirect_uri": "https://tax.example/bye", "state": "s1"},
    },
}


def render(name: str, locale: str = "en", **overrides) -> str:
    return jinja_env().get_template(name).render({**base_context(locale), **SAMPLES[name], **overrides})


class Page(HTMLParser):
    """The tags of a rendered page, for structural assertions."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def by_id(self, element_id: str) -> dict[str, str | None]:
        found = [attrs for _, attrs in self.tags if attrs.get("id") == element_id]
        assert len(found) == 1, f"expected one #{element_id}, found {len(found)}"
        return found[0]

    def tag_of(self, element_id: str) -> str:
        return next(tag for tag, attrs in self.tags if attrs.get("id") == element_id)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


# ---------------------------------------------------------------- catalogs


def test_catalogs_have_identical_keys_and_placeholders():
    cats = catalogs()
    assert set(cats) == set(SUPPORTED) == {"en", "fr", "ar"}
    english = cats["en"]
    for lang in SUPPORTED:
        assert set(cats[lang]) == set(english), lang
        for key, text in cats[lang].items():
            assert text.strip(), (lang, key)
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
            expected = {f for _, f, _, _ in string.Formatter().parse(english[key]) if f is not None}
            assert fields == expected, (lang, key)
            assert all(f.isidentifier() for f in fields), (lang, key)
            assert "<" not in text and ">" not in text, (lang, key)  # text only: the templates escape it


def test_translations_are_actually_translated():
    cats = catalogs()
    same_fr = [k for k in cats["en"] if cats["fr"][k] == cats["en"][k]]
    assert same_fr == ["claim.picture"]  # "Photo" is the French word too
    arabic = re.compile("[\u0600-\u06ff]")
    assert all(arabic.search(text) for text in cats["ar"].values())


def test_every_key_used_by_the_templates_exists_in_every_catalog():
    used = set()
    for name in TEMPLATES:
        used |= {m.group(2) for m in LITERAL_T_CALL.finditer((TEMPLATE_DIR / name).read_text(encoding="utf-8"))}
    assert {"app.name", "login.title", "consent.essential", "otp.sent_generic", "wallet.scan", "logout.done"} <= used
    for lang in SUPPORTED:
        missing = (used | DYNAMIC_KEYS) - set(catalogs()[lang])
        assert not missing, (lang, sorted(missing))


def test_catalogs_are_loaded_once():
    assert catalogs() is catalogs()


# ---------------------------------------------------------------- negotiate / translate / direction

AVAILABLE = ["en", "fr", "ar"]


@pytest.mark.parametrize(
    ("ui_locales", "accept_language", "available", "expected"),
    [
        ("ar fr", "fr", AVAILABLE, "ar"),  # ui_locales wins over Accept-Language
        ("de fr-CA", "ar", AVAILABLE, "fr"),  # ui_locales in order, primary subtag match
        ("FR-ca", None, AVAILABLE, "fr"),  # case-insensitive
        (None, "fr-CA", AVAILABLE, "fr"),
        ("", "fr;q=0.5, ar;q=0.9", AVAILABLE, "ar"),  # q-values honoured
        (None, "fr-CA, en;q=0.5", AVAILABLE, "fr"),  # a subtag match at higher q beats an exact match
        (None, "de, ar;q=0.3, fr;q=0.3", AVAILABLE, "ar"),  # equal q: header order
        (None, "ar;q=0, fr;q=0.1", AVAILABLE, "fr"),  # q=0 means "not this one"
        (None, "*", ["fr", "ar"], "fr"),
        (None, "ar;q=0, *;q=0.5", ["ar", "fr"], "fr"),
        ("de", "es, it", AVAILABLE, "en"),  # nothing supported: first available
        ("de", "es", ["ar", "en"], "ar"),
        ("ar", "ar", ["en", "fr"], "en"),  # available restricts
        ("fr", None, ["de", "fr"], "fr"),  # unsupported configured languages never chosen
        (None, None, ["de", "ar"], "ar"),
        (None, None, ["de"], "en"),
        (None, "garbage;;;q=x, ,", AVAILABLE, "en"),
    ],
)
def test_negotiate(ui_locales, accept_language, available, expected):
    assert negotiate(ui_locales, accept_language, available) == expected


def test_translate_fills_placeholders_and_falls_back():
    assert translate("en", "login.title", client="Tax Office") == "Sign in to Tax Office"
    assert translate("fr", "login.title", client="Impôts") == "Se connecter à Impôts"
    assert translate("fr-CA", "login.submit") == "Se connecter"
    assert translate("de", "login.submit") == "Sign in"  # unknown language: English
    assert translate("fr", "no.such.key") == "no.such.key"  # unknown key: the key itself
    assert translate("en", "login.title") == "Sign in to "  # a missing value never raises
    assert translate("en", "login.title", client="{x} {0}") == "Sign in to {x} {0}"  # values are not format strings


def test_translate_falls_back_to_english_for_a_key_missing_in_a_catalog(monkeypatch):
    cats = {lang: dict(catalog) for lang, catalog in catalogs().items()}
    del cats["fr"]["login.submit"]
    monkeypatch.setattr(i18n, "catalogs", lambda: cats)
    assert translate("fr", "login.submit") == "Sign in"


def test_arabic_values_are_isolated_from_the_right_to_left_text():
    text = translate("ar", "login.title", client="Ministry portal")
    assert "\u2068Ministry portal\u2069" in text
    assert translate("en", "login.title", client="Ministry portal") == "Sign in to Ministry portal"


def test_direction():
    assert direction("ar") == "rtl"
    assert direction("ar-EG") == "rtl"
    assert direction("en") == direction("fr") == "ltr"


# ---------------------------------------------------------------- templates: static checks


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_have_no_script_no_inline_style_no_external_resource(name):
    source = (TEMPLATE_DIR / name).read_text(encoding="utf-8")
    if name == "wallet.html":  # the UI's one script: an external file from 'self' (CSP script-src 'self')
        assert source.count("<script") == 1
        source = source.replace('<script src="{{ script_url }}" defer></script>', "")
    assert not re.search(r"<script|<style|\sstyle\s*=|\son[a-z]+\s*=|javascript:", source, re.IGNORECASE)
    assert not re.search(r"(src|href|action)\s*=\s*[\"']?(https?:)?//", source, re.IGNORECASE)
    assert "|safe" not in source.replace(" ", "") and "Markup" not in source


def test_all_pages_exist():
    assert set(PAGES) | {"base.html", "_macros.html"} == set(TEMPLATES)


def test_stylesheet_uses_logical_properties_only():
    css = CSS_FILE.read_text(encoding="utf-8")
    assert not re.search(r"\b(margin|padding|border)-(left|right)\b", css)
    assert not re.search(r"(text-align|float|clear)\s*:\s*(left|right)", css)
    assert not re.search(r"(^|[\s;{])(left|right)\s*:", css)
    assert "@import" not in css and "url(" not in css  # nothing fetched from elsewhere


# ---------------------------------------------------------------- templates: rendering


@pytest.mark.parametrize("locale", SUPPORTED)
@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_in_every_language(name, locale):
    html = render(name, locale)
    assert html.startswith("<!doctype html>")
    assert f'<html lang="{locale}" dir="{direction(locale)}">' in html
    page = Page(html)
    assert page.find("link", rel="stylesheet", href="/ui/static/idbb.css")
    assert page.find("meta", charset="utf-8")
    assert translate(locale, "app.name") in html
    # Labels point at existing controls; ids are unique; every visible control has a label.
    ids = [a["id"] for _, a in page.tags if a.get("id")]
    assert len(ids) == len(set(ids)), ids
    labelled = {a["for"] for a in page.find("label")}
    assert labelled <= set(ids)
    for tag, attrs in page.tags:
        if tag == "input" and attrs.get("type") != "hidden":
            assert attrs.get("id") in labelled, attrs
    for form in page.find("form"):
        assert form["method"] == "post"
        assert form["action"].startswith("/")
    # The CSRF token is in every form and nothing is left untranslated.
    assert len(page.find("input", type="hidden", name="csrf", value="csrf-token-123")) == len(page.find("form"))
    text = "".join(page.text)
    assert not re.search(r"\b(login|otp|consent|claim|scope|error|wallet|logout|app)\.[a-z_]+\b", text), text


def test_arabic_is_right_to_left():
    html = render("login.html", "ar")
    assert '<html lang="ar" dir="rtl">' in html
    assert "تسجيل الدخول" in html


@pytest.mark.parametrize("name", ["login.html", "consent.html", "wallet.html"])
def test_client_name_is_escaped(name):
    html = render(name, "en", client_name=EVIL)
    assert "<script" not in html.replace('<script src="/ui/static/wallet.js" defer></script>', "")
    assert "&lt;script&gt;" in html


def test_request_values_are_escaped_in_attributes():
    html = render("login.html", login_hint='"><script>x</script>', client_logo='x" onerror="y')
    assert "<script" not in html and '" onerror=' not in html
    page = Page(html)
    assert page.by_id("identifier")["value"] == '"><script>x</script>'
    html = render("logout.html", hidden={"state": '"><b>x</b>'})
    assert "<b>" not in html
    assert Page(html).find("input", name="state")[0]["value"] == '"><b>x</b>'


def test_login_page_forms():
    page = Page(render("login.html"))
    assert page.find("img", src="/logos/tax.png", alt="Tax Office")
    assert page.by_id("error")["role"] == "alert"
    assert "The ID number or PIN is incorrect." in "".join(page.text)

    pin = page.by_id("pin-form")
    assert (pin["method"], pin["action"]) == ("post", "/authorize/login")
    assert page.find("input", type="hidden", name="txn", value="txn 42&x")
    assert page.find("input", type="hidden", name="method", value="pin")
    identifier = page.by_id("identifier")
    assert identifier["name"] == "identifier" and identifier["value"] == "1234567890"
    assert identifier["autocomplete"] == "username" and "required" in identifier
    secret = page.by_id("pin")
    assert (secret["type"], secret["name"], secret["autocomplete"]) == ("password", "secret", "current-password")
    assert "required" in secret
    assert page.by_id("pin-submit")["type"] == "submit"

    otp = page.by_id("otp-request-form")
    assert (otp["method"], otp["action"]) == ("post", "/authorize/otp")
    assert page.by_id("otp-identifier")["name"] == "identifier"
    assert page.by_id("otp-send")["type"] == "submit"

    assert page.by_id("wallet-login")["href"] == "/authorize/wallet?txn=txn%2042%26x"
    assert page.tag_of("wallet-login") == "a"


def test_login_page_shows_only_the_configured_methods_in_order():
    html = render("login.html", methods=["otp", "pin"], error_key=None, client_logo=None, login_hint="")
    page = Page(html)
    assert html.index('id="otp-request-form"') < html.index('id="pin-form"')
    assert not page.find("a", id="wallet-login") and not page.find("img")
    assert not page.find("p", id="error")
    assert page.by_id("identifier")["value"] == ""

    only_wallet = Page(render("login.html", methods=["wallet"]))
    assert not only_wallet.find("form") and only_wallet.by_id("wallet-login")

    nothing = render("login.html", methods=[])
    assert "No sign-in method is available" in nothing


@pytest.mark.parametrize("key", LOGIN_ERROR_KEYS)
def test_login_errors_are_translated(key):
    for locale in SUPPORTED:
        assert translate(locale, key) in Page(render("login.html", locale, error_key=key)).text


def test_otp_page():
    html = render("otp.html")
    page = Page(html)
    form = page.by_id("otp-form")
    assert (form["method"], form["action"]) == ("post", "/authorize/login")
    assert page.find("input", type="hidden", name="method", value="otp")
    code = page.by_id("otp")
    assert code["name"] == "secret" and code["inputmode"] == "numeric"
    assert code["autocomplete"] == "one-time-code" and code["pattern"] == "[0-9]{6}" and code["maxlength"] == "6"
    assert "required" in code
    assert page.by_id("otp-submit")["type"] == "submit"
    assert any("If this identifier is registered, a 6-digit code was sent" in text for text in page.text)
    assert page.by_id("error")["role"] == "alert"
    # The identifier never shows as text: only in hidden fields.
    assert html.count("ID-99887766") == len(page.find("input", type="hidden", name="identifier", value="ID-99887766"))
    assert "ID-99887766" not in "".join(page.text)
    assert page.by_id("otp-back")["href"] == "/authorize/resume?txn=txn%2042%26x"


def test_consent_page():
    html = render("consent.html", "fr")
    page = Page(html)
    form = page.by_id("consent-form")
    assert (form["method"], form["action"]) == ("post", "/authorize/consent")
    for claim in ("name", "birthdate"):
        box = page.by_id(f"essential-{claim}")
        assert "checked" in box and "disabled" in box and "name" not in box  # never submitted
    for claim in ("email", "phone_number"):
        box = page.by_id(f"claim-{claim}")
        assert (box["type"], box["name"], box["value"]) == ("checkbox", "claims", claim)
        assert "checked" in box and "disabled" not in box
    text = "".join(page.text)
    for label in ("Nom complet", "Date de naissance", "Adresse e-mail", "Numéro de téléphone"):
        assert label in text
    assert translate("fr", "consent.essential") in text
    assert translate("fr", "scope.offline_access") in text
    accept, decline = page.by_id("consent-accept"), page.by_id("consent-decline")
    assert (accept["name"], accept["value"], accept["type"]) == ("decision", "accept", "submit")
    assert (decline["name"], decline["value"], decline["type"]) == ("decision", "decline", "submit")


def test_consent_page_without_claims_and_with_unknown_ones():
    text = "".join(Page(render("consent.html", essential_claims=[], voluntary_claims=[], scopes=[])).text)
    assert "Tax Office will only receive an identifier for your account." in text
    page = Page(render("consent.html", essential_claims=[], voluntary_claims=["shoe_size"], scopes=["payments"]))
    assert page.by_id("claim-shoe_size")
    text = "".join(page.text)
    assert "shoe_size" in text and "payments" in text and "claim.shoe_size" not in text


@pytest.mark.parametrize("claim", CLAIMS)
def test_every_standard_claim_has_a_label(claim):
    for locale in SUPPORTED:
        assert translate(locale, f"claim.{claim}") != f"claim.{claim}"


@pytest.mark.parametrize("key", ERROR_KEYS)
def test_error_page(key):
    for locale in SUPPORTED:
        page = Page(render("error.html", locale, error_key=key))
        assert page.by_id("error")["role"] == "alert"
        assert translate(locale, key) in page.text
        assert not page.find("form")


def test_wallet_page():
    html = render("wallet.html", "en")
    page = Page(html)
    root = page.by_id("wallet")
    assert root["data-link-code"] == "ABCDEFGHJKMNPQR" and root["data-xsrf"] == "xsrf-token-456"
    assert root["data-txn"] == "txn 42&x" and root["data-issuer"] == "https://idbb.test"
    assert page.by_id("wallet-qr")["role"] == "img"
    assert page.by_id("wallet-qr")["aria-label"] == translate("en", "wallet.qr_label")
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html  # the QR code (Markup from the view) is not escaped
    assert page.by_id("wallet-code")["dir"] == "ltr"
    assert re.search(r'id="wallet-code"[^>]*><span>ABCDE</span><span>FGHJK</span><span>MNPQR</span></p>', html)
    assert page.by_id("wallet-same-device")["href"].startswith("idbb-wallet://wla-auth?linkCode=ABCDEFGHJKMNPQR&")
    assert page.by_id("wallet-back")["href"] == "/authorize/resume?txn=txn%2042%26x"
    assert page.by_id("wallet-restart")["href"] == "/authorize/resume?txn=txn%2042%26x"
    assert "hidden" in page.by_id("wallet-linked") and "hidden" in page.by_id("wallet-error")
    assert page.by_id("wallet-error")["role"] == "alert"
    assert page.find("script", src="/ui/static/wallet.js", defer=None)
    assert translate("en", "wallet.scan") in page.text


def test_logout_page():
    page = Page(render("logout.html"))
    form = page.by_id("logout-form")
    assert (form["method"], form["action"]) == ("post", "/logout")
    for name, value in SAMPLES["logout.html"]["hidden"].items():
        assert page.find("input", type="hidden", name=name, value=value)
    assert not page.find("input", name="txn")
    confirm, cancel = page.by_id("logout-confirm"), page.by_id("logout-cancel")
    assert (confirm["name"], confirm["value"]) == ("decision", "logout")
    assert (cancel["name"], cancel["value"]) == ("decision", "cancel")

    done = Page(render("logout.html", "ar", done=True, hidden={}))
    assert not done.find("form")
    assert translate("ar", "logout.done") in done.text


def test_catalog_files_are_formatted_json():
    for lang in SUPPORTED:
        raw = (UI_DIR / "translations" / f"{lang}.json").read_text(encoding="utf-8")
        data = json.loads(raw)
        assert list(data) == sorted(data), lang


def test_otp_page_says_in_general_terms_where_the_code_went():
    """No masked destination is ever shown (it would tell who is enrolled, issue 14 security #2): the page
    says in a sentence that fits every case where the code went, even if a caller passed a destination."""
    for locale in ("en", "fr", "ar"):
        html = render("otp.html", locale, destination="a***@example.org")
        sent = Page(html).by_id("otp-sent")
        assert sent is not None and "example.org" not in html
    text = "".join(Page(render("otp.html", "en")).text)
    assert "If this identifier is registered, a 6-digit code was sent" in text
    assert "code to ." not in text
