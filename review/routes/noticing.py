"""Notices: from confirmed hits per host to a checked, sent and tracked notice; contacts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from notices.contacts import from_directory, from_security_txt, load_directory
from notices.regimes import REGIMES, FieldSpec, Regime, regime
from notices.render import deadline, reference
from notices.storage import CONTACT_LEVELS, NOTICE_STATES, Contact, Notice
from notices.tracking import NoticeError, RecipientError
from review import queue
from review.auth import Legal
from review.metrics import metrics
from review.web import audit, redirect, render, services
from store.base import StoreError
from store.hitquery import HitQuery

router = APIRouter()
# Every field of every regime by name; a name shared by regimes is the same kind of field.
ALL_FIELDS: dict[str, FieldSpec] = {f.name: f for r in REGIMES.values() for f in r.fields}


def _form_error(request: Request, session: Legal, detail: str, back: str) -> Response:
    """A refused form field (an address that is not one e-mail address...): HTTP 422 with
    the reason and a link back to the form, nothing stored. ``detail`` is escaped by the
    template; ``back`` is a local path."""
    return render(
        request,
        session,
        "error.html",
        status=422,
        title="Not saved: check the form",
        detail=detail,
        back=back if back.startswith("/") and not back.startswith("//") else "/notices",
    )


def _notice(request: Request, notice_id: int) -> Notice:
    try:
        return services(request).notices.get_notice(notice_id)
    except StoreError:
        raise HTTPException(404, "no such notice") from None


def _ready(request: Request) -> dict[str, list]:
    """Confirmed hits per host that no notice names yet."""
    s = services(request)
    noticed = {u.hit_id for n in s.notices.notices() for u in n.urls}
    out: dict[str, list] = {}
    for hit in s.hits.find_hits(HitQuery(statuses=("confirmed",), limit=5000, order="newest")):
        if hit.id not in noticed:
            out.setdefault(hit.site, []).append(hit)
    return dict(sorted(out.items()))


@router.get("/notices", response_class=HTMLResponse)
def notices_page(request: Request, session: Legal, status: str = "", host: str = "") -> Response:
    s = services(request)
    statuses = (status,) if status in NOTICE_STATES else ()
    notices = s.notices.notices(host or None, statuses)
    audit(request, session, "view notices", host, status)
    return render(
        request,
        session,
        "notices.html",
        notices=notices,
        ready=_ready(request),
        state=status,
        host=host,
        states=NOTICE_STATES,
        deadlines={n.id: deadline(n) for n in notices},
        reference=reference,
        regimes=REGIMES,
    )


@router.get("/notices/new", response_class=HTMLResponse)
def new_notice(request: Request, session: Legal, host: str) -> Response:
    s = services(request)
    hits = _ready(request).get(host, [])
    contacts = s.notices.contacts(host)
    if not contacts and s.settings.provider_directory:
        for c in from_directory(host, load_directory(s.settings.provider_directory), s.now()):
            s.notices.save_contact(c)
        contacts = s.notices.contacts(host)
    audit(request, session, "view new notice", host)
    return render(
        request,
        session,
        "notice_new.html",
        host=host,
        hits=hits,
        contacts=contacts,
        regimes=REGIMES,
        levels=CONTACT_LEVELS,
    )


@router.post("/notices")
async def create_notice(request: Request, session: Legal) -> Response:
    form = await request.form()
    s = services(request)
    host = str(form.get("host", ""))
    ids = [str(v) for v in form.getlist("hit")]
    hits = [h for h in _ready(request).get(host, []) if h.id in ids]
    recipient = str(form.get("recipient", "")).strip()
    level = "host"
    for c in s.notices.contacts(host):
        if c.email == recipient:
            level = c.level
    try:
        notice = s.desk.draft(
            host,
            hits,
            str(form.get("regime", "dsa")),
            recipient,
            level,
            session.user.username,
            queue.settings(s)["notifier"],
            {h.id: queue.confirmation(s, h.id) for h in hits},
        )
    except RecipientError as exc:
        return _form_error(request, session, str(exc), f"/notices/new?host={quote(host)}")
    except (NoticeError, ValueError) as exc:
        return redirect(f"/notices/new?host={host}", f"Not created: {exc}")
    audit(request, session, "draft notice", str(notice.id), f"{host} {len(hits)} URLs")
    return redirect(f"/notices/{notice.id}", "Draft created. Check the fields, then send.")


def edited_fields(
    stored: Mapping[str, Any], shown: Regime, form: Mapping[str, Any]
) -> dict[str, Any]:
    """The draft's fields after a save of the edit form that showed ``shown``'s fields:
    every stored field stays (also those of another regime, so that switching the regime
    and back loses nothing), the text fields the form carries replace theirs (line
    breaks as ``\n``), and the form's checkboxes are ticked or not (a checkbox that is
    not ticked is not posted, so only those of ``shown`` can be read)."""
    values = dict(stored)
    for name, spec in ALL_FIELDS.items():
        if spec.kind != "checkbox" and name in form:
            values[name] = str(form[name]).replace("\r\n", "\n").strip()
    for spec in shown.fields:
        if spec.kind == "checkbox":
            values[spec.name] = form.get(spec.name) == "on"
    return values


SHORT_NAMES = {"dsa": "DSA", "takeitdown": "TAKE IT DOWN", "dmca": "DMCA"}


def kept_fields(notice: Notice) -> list[str]:
    """Labels of the filled-in fields of the other regimes that the draft keeps (hidden
    while its regime does not use them, shown again when it is switched back), each
    with the regimes that use it: ``Signature (TAKE IT DOWN, DMCA)``."""
    current = {f.name for f in regime(notice.regime).fields}
    labels: dict[str, str] = {}
    users: dict[str, list[str]] = {}
    for reg in REGIMES.values():
        for spec in reg.fields:
            if spec.name in current or notice.fields.get(spec.name) in ("", False, None):
                continue
            labels.setdefault(spec.name, spec.label)
            users.setdefault(spec.name, []).append(SHORT_NAMES.get(reg.key, reg.key))
    return [f"{labels[name]} ({', '.join(users[name])})" for name in labels]


@router.get("/notices/{notice_id}", response_class=HTMLResponse)
def notice_page(request: Request, session: Legal, notice_id: int) -> Response:
    s = services(request)
    notice = _notice(request, notice_id)
    reg = regime(notice.regime)
    desk = s.desk
    audit(request, session, "view notice", str(notice_id))
    all_notices = s.notices.notices(notice.host)
    return render(
        request,
        session,
        "notice.html",
        notice=notice,
        reg=reg,
        regimes=REGIMES,
        problems=desk.problems(notice),
        preview=desk.text(notice),
        events=s.notices.events(notice_id),
        contacts=s.notices.contacts(notice.host),
        deadline=deadline(notice),
        reference=reference(notice),
        children=[n for n in all_notices if n.parent_id == notice.id],
        parent=desk.parent(notice),
        levels=CONTACT_LEVELS,
        kept=kept_fields(notice),
    )


@router.post("/notices/{notice_id}")
async def save_notice(request: Request, session: Legal, notice_id: int) -> Response:
    """Save the edit form; with a regime chosen, switch to it. Nothing typed is lost:
    the form's values are saved first, and fields the new regime does not use are kept
    with the draft (:func:`edited_fields`)."""
    form = await request.form()
    notice = _notice(request, notice_id)
    try:
        reg = regime(str(form.get("regime", notice.regime)))
    except ValueError as exc:
        return _form_error(request, session, str(exc), f"/notices/{notice_id}")
    # The fields the form showed: those of the regime it was rendered for.
    shown = REGIMES.get(str(form.get("form_regime", "")), reg)
    values = edited_fields(notice.fields, shown, form)
    try:
        services(request).desk.update_draft(
            notice_id,
            session.user.username,
            values,
            str(form.get("recipient", notice.recipient)),
            reg.key,
        )
    except RecipientError as exc:
        return _form_error(request, session, str(exc), f"/notices/{notice_id}")
    except NoticeError as exc:
        return redirect(f"/notices/{notice_id}", f"Not saved: {exc}")
    audit(request, session, "edit notice", str(notice_id))
    if reg.key != shown.key:
        return redirect(
            f"/notices/{notice_id}",
            f"Saved and switched to {reg.title}. The fields only {shown.title} uses are kept "
            "with the draft and come back if you switch back.",
        )
    return redirect(f"/notices/{notice_id}", "Saved.")


def _confirm_page(
    request: Request, session: Legal, notice: Notice, status: int = 200, changed: str = ""
) -> Response:
    desk = services(request).desk
    return render(
        request,
        session,
        "notice_send.html",
        status=status,
        notice=notice,
        reg=regime(notice.regime),
        reference=reference(notice),
        problems=desk.problems(notice),
        changed=changed,
    )


@router.post("/notices/{notice_id}/send")
async def send_notice(request: Request, session: Legal, notice_id: int) -> Response:
    """Two steps: the first POST only shows what would be sent (recipient, regime, URL
    count) with a "Send now" button; the second, carrying ``confirm=send`` and the values
    confirmed, sends, unless the draft changed in between (then it asks again, HTTP 409)."""
    form = await request.form()
    s = services(request)
    notice = _notice(request, notice_id)
    if notice.status != "draft":
        return redirect(f"/notices/{notice_id}", f"Not sent: notice {notice_id} was sent already")
    if form.get("confirm") != "send":
        audit(request, session, "confirm send notice", str(notice_id), notice.recipient)
        return _confirm_page(request, session, notice)
    confirmed = (str(form.get("recipient")), str(form.get("regime")), str(form.get("urls")))
    if confirmed != (notice.recipient, notice.regime, str(len(notice.urls))):
        return _confirm_page(
            request,
            session,
            notice,
            409,
            "The draft changed since you confirmed it: check the recipient, regime and URLs again.",
        )
    try:
        notice = s.desk.send(notice_id, session.user.username, s.mailer)
    except NoticeError as exc:
        metrics(request).notices.labels("failed").inc()
        audit(request, session, "send notice failed", str(notice_id), str(exc))
        return redirect(f"/notices/{notice_id}", f"Not sent: {exc}")
    metrics(request).notices.labels("sent").inc()
    audit(request, session, "send notice", str(notice_id), notice.recipient)
    return redirect(f"/notices/{notice_id}", f"Sent to {notice.recipient}.")


@router.get("/notices/{notice_id}/pdf")
def notice_pdf(request: Request, session: Legal, notice_id: int) -> Response:
    notice = _notice(request, notice_id)
    audit(request, session, "export notice pdf", str(notice_id))
    name = reference(notice) + ("-DRAFT" if notice.status == "draft" else "")
    return Response(
        services(request).desk.pdf(notice),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


@router.get("/notices/{notice_id}/eml")
def notice_eml(request: Request, session: Legal, notice_id: int) -> Response:
    s = services(request)
    notice = _notice(request, notice_id)
    try:
        eml = s.desk.eml(notice, s.mailer.sender)
    except RecipientError as exc:  # stored before the address rule: fix the draft first
        return _form_error(request, session, str(exc), f"/notices/{notice_id}")
    audit(request, session, "export notice eml", str(notice_id))
    return Response(
        eml,
        media_type="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="{reference(notice)}.eml"'},
    )


@router.post("/notices/{notice_id}/ack")
def acknowledge(
    request: Request,
    session: Legal,
    notice_id: int,
    note: Annotated[str, Form()] = "",
) -> Response:
    _notice(request, notice_id)
    try:
        services(request).desk.acknowledge(notice_id, session.user.username, note)
    except NoticeError as exc:
        return redirect(f"/notices/{notice_id}", str(exc))
    audit(request, session, "acknowledge notice", str(notice_id), note)
    return redirect(f"/notices/{notice_id}", "Marked as acknowledged.")


@router.post("/notices/{notice_id}/recheck")
def recheck(request: Request, session: Legal, notice_id: int) -> Response:
    s = services(request)
    _notice(request, notice_id)
    summary = s.desk.recheck(s.rechecker, session.user.username, [notice_id])
    audit(request, session, "recheck notice", str(notice_id), str(summary))
    return redirect(
        f"/notices/{notice_id}",
        f"Re-checked {summary.checked} URLs: {summary.removed} newly gone, "
        f"{summary.reappeared} back online, {summary.errors} without answer.",
    )


@router.post("/notices/{notice_id}/follow-up")
def follow_up(
    request: Request,
    session: Legal,
    notice_id: int,
    recipient: Annotated[str, Form()],
) -> Response:
    s = services(request)
    notice = _notice(request, notice_id)
    contact = next((c for c in s.notices.contacts(notice.host) if c.email == recipient), None)
    level = contact.level if contact else notice.level
    reason = "reminder" if level == notice.level else "escalation"
    try:
        child = s.desk.follow_up(notice, level, recipient, session.user.username, reason)
    except RecipientError as exc:
        return _form_error(request, session, str(exc), f"/notices/{notice_id}")
    except NoticeError as exc:
        return redirect(f"/notices/{notice_id}", str(exc))
    audit(request, session, f"draft {reason}", str(child.id), f"of notice {notice_id}")
    return redirect(f"/notices/{child.id}", f"Draft {reason} created.")


# -- contacts ---------------------------------------------------------------------------------
@router.get("/contacts", response_class=HTMLResponse)
def contacts_page(request: Request, session: Legal, host: str = "") -> Response:
    s = services(request)
    audit(request, session, "view contacts", host)
    hosts = sorted(set(s.hits.hit_counts("site")) | {c.host for c in s.notices.contacts()})
    return render(
        request,
        session,
        "contacts.html",
        contacts=s.notices.contacts(host or None),
        host=host,
        hosts=hosts,
        levels=CONTACT_LEVELS,
    )


@router.post("/contacts")
def add_contact(
    request: Request,
    session: Legal,
    host: Annotated[str, Form()],
    level: Annotated[str, Form()],
    email: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/contacts",
) -> Response:
    s = services(request)
    try:
        contact = s.notices.save_contact(
            Contact(host.strip().lower(), level, email.strip(" "), name, "manual", note, s.now())
        )
    except ValueError as exc:  # not one e-mail address, an unknown level
        return _form_error(
            request, session, str(exc), back if back.startswith("/") else "/contacts"
        )
    audit(request, session, "add contact", contact.host, f"{contact.level} {contact.email}")
    return redirect(
        back if back.startswith("/") else "/contacts", f"Contact {contact.email} saved."
    )


@router.post("/contacts/discover")
def discover(
    request: Request,
    session: Legal,
    host: Annotated[str, Form()],
    back: Annotated[str, Form()] = "/contacts",
) -> Response:
    s = services(request)
    host = host.strip().lower()
    sample = s.hits.find_hits(HitQuery(sites=(host,), limit=1, order="newest"))
    base = sample[0].image_url if sample else f"https://{host}/"
    found, summary = from_security_txt(base, s.fetcher, s.now())
    if s.settings.provider_directory:
        found += from_directory(host, load_directory(s.settings.provider_directory), s.now())
    for contact in found:
        s.notices.save_contact(contact)
    audit(request, session, "discover contacts", host, summary)
    target = back if back.startswith("/") else "/contacts"
    return redirect(target, f"{len(found)} contact(s) found. {summary}")


@router.post("/contacts/{contact_id}/delete")
def delete_contact(
    request: Request,
    session: Legal,
    contact_id: int,
    back: Annotated[str, Form()] = "/contacts",
) -> Response:
    services(request).notices.delete_contact(contact_id)
    audit(request, session, "delete contact", str(contact_id))
    return redirect(back if back.startswith("/") else "/contacts", "Contact deleted.")
