"""Passwords, sessions, CSRF and roles.

Passwords are hashed with Argon2id (argon2-cffi's defaults). A session is a random token
in a signed, HttpOnly, SameSite=Strict cookie; the store keeps only its SHA-256, so a
leaked database holds no usable session. Each session has its own CSRF token, which
every state-changing request must carry (form field ``csrf`` or header
``X-CSRF-Token``). Routes declare their roles with :func:`require`; a user needs one of
them (users may hold several roles).

Sign-in is throttled per account and per client address (:class:`Throttle`): too many
failures within a window lock the key for a while, during which every attempt, even
with the right password, answers 429 with ``Retry-After``. The counts live in the
review store, so every worker sees the same lock.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, URLSafeSerializer

from review.storage import User
from store.base import StoreError

if TYPE_CHECKING:
    from review.services import Services

COOKIE = "radar_session"
_HASHER = PasswordHasher()
# A real hash to verify against when the user does not exist, so that a wrong user name
# takes as long as a wrong password.
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 12


class LoginRequired(Exception):
    """Raised for anonymous requests; the app turns it into a redirect or a 401."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class Throttle:
    """Sign-in lock-outs: ``account_failures`` failed sign-ins for one user name (known
    or not), or ``address_failures`` from one client address (higher: people behind one
    NAT share it), within ``window_minutes`` lock that key for ``lock_minutes``."""

    account_failures: int = 5
    address_failures: int = 20
    window_minutes: int = 15
    lock_minutes: int = 15

    def __post_init__(self) -> None:
        if min(self.account_failures, self.address_failures) < 1:
            raise ValueError("a lock-out needs at least one failure")
        if min(self.window_minutes, self.lock_minutes) < 1:
            raise ValueError("throttle times must be at least a minute")

    @staticmethod
    def keys(username: str, address: str) -> tuple[str, str]:
        return f"account {username.strip().lower()[:64]}", f"address {address}"

    def retry_after(self, services: Services, username: str, address: str) -> int:
        """Seconds until a sign-in as ``username`` from ``address`` is allowed again;
        0 if it is allowed now."""
        until = services.review.locked_until(self.keys(username, address), services.now())
        return 0 if until is None else max(1, math.ceil(services.seconds_until(until)))

    def failed(self, services: Services, username: str, address: str) -> list[str]:
        """Count a failed sign-in; the keys it locked (each worth an audit entry)."""
        account, by_address = self.keys(username, address)
        return services.review.record_login_failure(
            {account: self.account_failures, by_address: self.address_failures},
            services.now(),
            services.later(-self.window_minutes),
            services.later(self.lock_minutes),
        )

    def succeeded(self, services: Services, username: str) -> None:
        """A good sign-in clears the account's count (not the address's: one valid
        account must not wipe out the guesses made at others)."""
        services.review.clear_login_failures(self.keys(username, "")[0])


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf: str
    token_hash: str


def signer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="radar-session")


def start_session(request: Request, user: User) -> tuple[str, str]:
    """Create a session; return (cookie value, CSRF token)."""
    services = request.app.state.services
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    services.review.create_session(
        token_hash(token),
        user.id,
        csrf,
        services.now(),
        services.later(services.settings.session_hours * 60),
    )
    return signer(services.settings.secret_key).dumps(token), csrf


def current_session(request: Request) -> Session | None:
    if hasattr(request.state, "session"):
        cached: Session | None = request.state.session
        return cached
    services = request.app.state.services
    session = None
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            token = signer(services.settings.secret_key).loads(raw)
        except BadSignature:
            token = None
        if isinstance(token, str):
            found = services.review.get_session(token_hash(token), services.now())
            if found is not None:
                try:
                    user = services.review.user_by_id(found[0])
                except StoreError:
                    user = None
                if user is not None and user.active:
                    session = Session(user, found[1], token_hash(token))
    request.state.session = session
    return session


def require(*roles: str) -> Callable[..., Awaitable[Session]]:
    """A dependency: the session of a user holding one of ``roles`` (any signed-in user
    if none are given); checks the CSRF token on every non-GET request."""

    async def dependency(request: Request) -> Session:
        session = current_session(request)
        if session is None:
            raise LoginRequired()
        if roles and not session.user.has(*roles):
            raise HTTPException(403, f"this page is for {' or '.join(roles)} users")
        if request.method not in ("GET", "HEAD"):
            sent = request.headers.get("X-CSRF-Token")
            if sent is None:
                form = await request.form()
                value = form.get("csrf")
                sent = value if isinstance(value, str) else None
            if not sent or not hmac.compare_digest(sent, session.csrf):
                raise HTTPException(403, "the form expired or did not come from this app (CSRF)")
        return session

    dependency.roles = roles  # type: ignore[attr-defined]
    return dependency


# Handler parameter types: ``session: Analyst`` admits a signed-in analyst only.
AnyUser = Annotated[Session, Depends(require())]
Analyst = Annotated[Session, Depends(require("analyst"))]
Reviewer = Annotated[Session, Depends(require("analyst", "admin"))]
Legal = Annotated[Session, Depends(require("legal"))]
Overseer = Annotated[Session, Depends(require("legal", "admin"))]
Admin = Annotated[Session, Depends(require("admin"))]
