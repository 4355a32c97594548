"""The legal regimes a removal notice can be sent under, and what each requires.

A regime lists its fields (what the sender fills in), the fixed statements it must
carry, and :meth:`Regime.problems` -- the check that runs before a notice may be sent.
The URLs themselves come from the confirmed hits and are checked here too.

- ``dsa``: EU Digital Services Act, Art. 16(2) (a)-(d).
- ``takeitdown``: US TAKE IT DOWN Act, notice-and-removal process (removal within 48
  hours of a valid request).
- ``dmca``: US 17 U.S.C. 512(c)(3)(A) (i)-(vi).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str
    kind: str = "text"  # text, textarea, email, checkbox
    help: str = ""
    statement: str = ""  # for a checkbox: the sentence the notice then carries


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str


NOTIFIER = (
    FieldSpec("notifier_name", "Notifier name"),
    FieldSpec("notifier_org", "Organisation", help="e.g. the hotline or law firm"),
    FieldSpec("notifier_email", "Notifier e-mail", "email"),
    FieldSpec("notifier_phone", "Telephone"),
    FieldSpec("notifier_address", "Postal address", "textarea"),
)


@dataclass(frozen=True, slots=True)
class Regime:
    key: str
    title: str
    basis: str
    fields: tuple[FieldSpec, ...]
    deadline_hours: int | None  # a legal removal clock from sending, if the regime has one

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    def problems(self, values: Mapping[str, Any], urls: Sequence[str]) -> list[Problem]:
        """Everything that stops this notice from being valid; empty when it may be sent."""
        out: list[Problem] = []
        if not urls:
            out.append(Problem("urls", "the notice names no URL"))
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                out.append(Problem("urls", f"not an exact http(s) URL: {url}"))
        text = {k: str(v).strip() for k, v in values.items() if not isinstance(v, bool)}

        def need(name: str, message: str) -> None:
            if not text.get(name):
                out.append(Problem(name, message))

        def ticked(name: str, message: str) -> None:
            if values.get(name) is not True:
                out.append(Problem(name, message))

        email = text.get("notifier_email", "")
        if email and not _EMAIL.match(email):
            out.append(Problem("notifier_email", f"not an e-mail address: {email}"))
        if self.key == "dsa":
            need("explanation", "Art. 16(2)(a): a substantiated explanation is required")
            if values.get("csam_offence") is not True:
                need("notifier_name", "Art. 16(2)(c): the notifier's name is required")
                need("notifier_email", "Art. 16(2)(c): the notifier's e-mail is required")
            ticked("bona_fide", "Art. 16(2)(d): the bona fide statement must be confirmed")
        elif self.key == "takeitdown":
            need("signature", "a physical or electronic signature is required")
            need("depicted_person", "name the identifiable individual (or 'the undersigned')")
            need("identification", "identify the intimate visual depiction")
            ticked("non_consent", "the good-faith statement of non-consent must be confirmed")
            if not (email or text.get("notifier_phone") or text.get("notifier_address")):
                out.append(Problem("notifier_email", "contact information is required"))
        elif self.key == "dmca":
            need("signature", "(i) a physical or electronic signature is required")
            need("work", "(ii) identify the copyrighted work claimed to be infringed")
            need("identification", "(iii) identify the infringing material")
            if not email:
                out.append(Problem("notifier_email", "(iv) an e-mail address is required"))
            if not (text.get("notifier_address") or text.get("notifier_phone")):
                out.append(Problem("notifier_address", "(iv) an address or telephone is required"))
            ticked("good_faith", "(v) the good-faith statement must be confirmed")
            ticked("accuracy", "(vi) the accuracy and authority statement must be confirmed")
        return out


DSA = Regime(
    "dsa",
    "EU Digital Services Act: notice of illegal content",
    "Regulation (EU) 2022/2065 (Digital Services Act), Article 16",
    (
        FieldSpec(
            "explanation",
            "Why the content is illegal (Art. 16(2)(a))",
            "textarea",
            "a sufficiently substantiated explanation",
        ),
        *NOTIFIER,
        FieldSpec(
            "csam_offence",
            "Offence under Arts. 3-7 of Directive 2011/93/EU",
            "checkbox",
            "name and e-mail may then be omitted (Art. 16(2)(c))",
            "This notice concerns information considered to involve one of the offences "
            "referred to in Articles 3 to 7 of Directive 2011/93/EU.",
        ),
        FieldSpec(
            "bona_fide",
            "Bona fide statement (Art. 16(2)(d))",
            "checkbox",
            statement="I confirm my bona fide belief that the information and allegations "
            "contained in this notice are accurate and complete.",
        ),
    ),
    None,
)

TAKE_IT_DOWN = Regime(
    "takeitdown",
    "TAKE IT DOWN Act: removal request for a non-consensual intimate visual depiction",
    "TAKE IT DOWN Act (Pub. L. 119-12), Section 3: notice and removal process",
    (
        FieldSpec(
            "depicted_person",
            "Identifiable individual",
            help="who is depicted, or the person authorised to act for them",
        ),
        FieldSpec(
            "identification",
            "Identification of the depiction",
            "textarea",
            "information reasonably sufficient to locate it (the URLs are listed below)",
        ),
        FieldSpec(
            "non_consent",
            "Good-faith statement of non-consent",
            "checkbox",
            statement="I have a good faith belief that the intimate visual depictions "
            "identified in this request are not consensual.",
        ),
        FieldSpec("non_consent_info", "Information on the lack of consent", "textarea"),
        *NOTIFIER,
        FieldSpec("signature", "Signature", help="type the full name: /s/ Full Name"),
    ),
    48,
)

DMCA = Regime(
    "dmca",
    "DMCA notification of claimed infringement",
    "17 U.S.C. 512(c)(3)(A)",
    (
        FieldSpec("work", "(ii) The copyrighted work", "textarea"),
        FieldSpec("identification", "(iii) The infringing material", "textarea"),
        *NOTIFIER,
        FieldSpec(
            "good_faith",
            "(v) Good-faith statement",
            "checkbox",
            statement="I have a good faith belief that use of the material in the manner "
            "complained of is not authorized by the copyright owner, its agent, or the law.",
        ),
        FieldSpec(
            "accuracy",
            "(vi) Accuracy and authority statement",
            "checkbox",
            statement="The information in this notification is accurate, and under penalty "
            "of perjury, I am authorized to act on behalf of the owner of an exclusive right "
            "that is allegedly infringed.",
        ),
        FieldSpec("signature", "(i) Signature", help="type the full name: /s/ Full Name"),
    ),
    None,
)

REGIMES: dict[str, Regime] = {r.key: r for r in (DSA, TAKE_IT_DOWN, DMCA)}


def regime(key: str) -> Regime:
    try:
        return REGIMES[key]
    except KeyError:
        raise ValueError(f"unknown regime {key!r}; expected one of {sorted(REGIMES)}") from None


def default_fields(
    key: str, case_ids: Sequence[str], notifier: Mapping[str, str], confirmed: str = ""
) -> dict[str, Any]:
    """Pre-filled values for a new notice: the notifier from the settings and neutral
    wording that describes the content without depicting it. ``confirmed`` is what the
    review really recorded (:func:`notices.confirmation.phrase`, e.g. ``confirmed by two
    trained analysts``); when empty the wording claims no review."""
    cases = ", ".join(case_ids)
    review = f" and {confirmed}" if confirmed else ""
    values: dict[str, Any] = {k: notifier.get(k, "") for k in (f.name for f in NOTIFIER)}
    if key == "dsa":
        values["explanation"] = (
            "The images at the URLs below are intimate images of a real person, made or "
            "altered and published without consent. Each was matched by perceptual hash "
            "(PDQ) to the reference pictures of our case "
            f"{cases}{review}. Their publication is illegal under Union and national law."
        )
        values.update(csam_offence=False, bona_fide=False)
    elif key == "takeitdown":
        values["depicted_person"] = ""
        values["identification"] = (
            "The intimate visual depictions at the exact URLs listed below (our reference "
            f"{cases}); each was matched by perceptual hash to the depicted person's "
            f"pictures{review}."
        )
        values.update(non_consent=False, non_consent_info="", signature="")
    elif key == "dmca":
        values["work"] = f"Original photographs held under our reference {cases}."
        values["identification"] = (
            "The copies of those photographs at the exact URLs listed below, matched by "
            f"perceptual hash{review}."
        )
        values.update(good_faith=False, accuracy=False, signature="")
    return values
