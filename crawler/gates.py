"""Age gates and cookie walls: recognising them and the way through.

Leak sites often put their pages behind an interstitial that asks "Are you 18 or
older?" or for consent to cookies, and show the page once a cookie says the question was
answered. This module is the pure part: :func:`find_gate` looks at a fetched HTML page
and returns how to answer it (a link to follow or a form to submit, as a
:class:`scrapy.Request`), or None when the page is not a gate. The spider
(:mod:`crawler.spider`) sends that request in the target's own cookie jar, then asks for
the page again; rendered pages are answered in the browser by
:func:`crawler.browser.pass_gate` with the same patterns.

A page is a gate when its text asks a gate question (:data:`QUESTION`) and it has a
control whose own text starts with an answer (:data:`ANSWER`: "I am 18", "Enter",
"Accept", "Soy mayor de edad", "Entrar", "Aceptar", ...). Answers that decline ("No,
I am under 18", "Salir") never match: the pattern is anchored at the control's first
word. A way through is only taken to the target's own hosts (the page's host or its
allowed domains) over http(s); the address guard still applies to the request.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from scrapy import FormRequest, Request
from scrapy.http import TextResponse

# The question a gate asks, somewhere in its text (English and Spanish).
QUESTION = re.compile(
    r"\b("
    r"(are|if) you (over |at least )?(18|21)|(18|21) (years|or older|\+)|over (18|21)\b"
    r"|age (verification|check|gate)|verify (your|that you are of) age|adults? only"
    r"|adult content|legal age|of age\b|date of birth"
    r"|mayor(es)? de (edad|18)|edad legal|solo (para )?adultos|contenido (para )?adultos"
    r"|tienes (18|21)|verificaci[oó]n de edad"
    r"|cookies?|consent|consentimiento|privacy choices|privacidad"
    r")",
    re.I,
)
# The first words of a control that answers yes.
ANSWER = re.compile(
    r"^\s*("
    r"(yes,?\s*)?i('m| am) (over |at least )?(18|21|an adult|of (legal )?age)"
    r"|yes\b|enter\b|i agree|agree\b|accept\b|allow( all)?\b|continue\b(?!\s+reading)|ok\b|got it"
    r"|(s[ií],?\s*)?soy mayor|(s[ií],?\s*)?tengo (18|21)|entrar\b|aceptar?\b|acepto\b"
    r"|de acuerdo|permitir|continuar\b|s[ií]\b"
    r")",
    re.I,
)
MAX_TEXT = 20_000  # characters of a page's text searched for the question
MAX_LABEL = 40  # characters of an answer's label
MAX_TAIL_WORDS = 4  # words after the answer ("I am 18 | or older - Enter")
_TEXT = "//body//text()[not(ancestor::script) and not(ancestor::style)]"
# The buttons that submit a form, and the fields a browser sends with it.
_CLICKABLE = (
    'descendant::input[re:test(@type, "^(submit|image)$", "i")]'
    '|descendant::button[not(@type) or re:test(@type, "^submit$", "i")]'
)
_FIELDS = (
    "descendant::input[@name and not(re:test(@type,"
    ' "^(submit|image|button|reset|file)$", "i"))]'
    "|descendant::textarea[@name]|descendant::select[@name]"
)
_RE_NS = {"re": "http://exslt.org/regular-expressions"}


def page_text(response: TextResponse) -> str:
    """The title and visible text of a page, whitespace folded, at most MAX_TEXT chars."""
    title = " ".join(response.xpath("//title//text()").getall())
    body = " ".join(response.xpath(_TEXT).getall())
    return " ".join(f"{title} {body}".split())[:MAX_TEXT]


def asks(text: str) -> bool:
    """Whether ``text`` asks a gate question."""
    return QUESTION.search(text) is not None


def answers(label: str) -> bool:
    """Whether a control labelled ``label`` answers a gate's question with yes."""
    label = " ".join(label.split())
    found = ANSWER.match(label) if len(label) <= MAX_LABEL else None
    return found is not None and len(re.findall(r"\w+", label[found.end() :])) <= MAX_TAIL_WORDS


def own_host(url: str, page_url: str, allowed_domains: tuple[str, ...]) -> bool:
    """Whether ``url`` is http(s) on the page's host or one of the target's domains."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    if host == (urlsplit(page_url).hostname or "").lower():
        return True
    return any(host == d or host.endswith("." + d) for d in allowed_domains)


def form_request(form: Any, button: Any, action: str) -> Request:
    """The request a browser sends when ``button`` of ``form`` (selectors) is clicked:
    the form's named fields (checked boxes only, a select's selected or first option)
    and the button's own name and value, as a query (GET) or an urlencoded body (POST).
    Built here because Scrapy 2.19 deprecates ``FormRequest.from_response`` in favour
    of the separate form2request package, which is not a dependency of ours."""
    fields: list[tuple[str, str]] = []
    for field in form.xpath(_FIELDS, namespaces=_RE_NS):
        name, tag = field.attrib["name"], field.root.tag
        kind = (field.attrib.get("type") or "text").lower()
        if tag == "input" and kind in ("checkbox", "radio"):
            if "checked" in field.attrib:
                fields.append((name, field.attrib.get("value", "on")))
        elif tag == "select":
            options = field.xpath(".//option[@selected]") or field.xpath(".//option[1]")
            if options:
                option = options[0]
                value = option.attrib.get("value")
                fields.append(
                    (name, value if value is not None else option.xpath("string()").get())
                )
        elif tag == "textarea":
            fields.append((name, field.xpath("string()").get() or ""))
        else:
            fields.append((name, field.attrib.get("value", "")))
    if button.attrib.get("name"):
        fields.append((button.attrib["name"], button.attrib.get("value", "")))
    if (form.attrib.get("method") or "get").lower() == "post":
        return FormRequest(action.split("#")[0], formdata=fields, dont_filter=True)
    url = action.split("#")[0].split("?")[0]
    return Request(f"{url}?{urlencode(fields)}" if fields else url, dont_filter=True)


def find_gate(response: TextResponse, allowed_domains: tuple[str, ...] = ()) -> Request | None:
    """The request that answers the gate ``response`` shows (a form submitted with its
    yes-button, else a yes-link followed), or None if it is no gate or has no way
    through on the target's own hosts. Pure: sends nothing. The request has no callback
    and no meta; the caller adds its own."""
    if not asks(page_text(response)):
        return None
    for form in response.xpath("//form"):
        action = urljoin(response.url, form.xpath("@action").get() or response.url)
        if not own_host(action, response.url, allowed_domains):
            continue
        for button in form.xpath(_CLICKABLE, namespaces=_RE_NS):
            if button.root.tag == "input":
                label = button.xpath("@value").get() or ""
            else:
                label = " ".join(button.xpath(".//text()").getall())
            if answers(label):
                return form_request(form, button, action)
    for link in response.xpath("//a[@href]"):
        label = " ".join(link.xpath(".//text()").getall()) or link.xpath("@title").get() or ""
        if not answers(label):
            continue
        url = urljoin(response.url, link.xpath("@href").get() or "").split("#")[0]
        if url != response.url and own_host(url, response.url, allowed_domains):
            return Request(url, dont_filter=True)
    return None
