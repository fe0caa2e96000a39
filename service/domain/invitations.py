"""The invitation lifecycle: its statuses, and which change may happen when.

An invitation is one email to one person with a single-use link. Its lifecycle::

    pending --claim--> sending --mark_sent--> sent --accept--> accepted
       ^                 |   \\--fail--> failed
       +--defer/release--+
    pending or sent, past its expiry  --expire-->  expired
    anything but accepted or revoked  --revoke-->  revoked
    sent, expired or failed           --resend-->  pending (a new round: a new link)

`pending`, `sending` and `sent` are *live*: the invitation can still reach its person,
and a tenant holds at most one live invitation per user.

Delivery is claimed, not just started: a worker `claim`s a pending invitation under
its own name (the *holder*) with a lease, sends, and settles as that holder
(`mark_sent`, `fail`, `defer`, `release`). A settle by anyone who no longer holds the
claim raises `ClaimLost` and changes nothing, so a revoke or another worker's takeover
always wins over a late settle. A claim another holder keeps under a running lease
raises `ClaimHeld`, so two workers never send one message at the same time; a claim
whose holder died (the same holder asking again, or the lease over) is taken over.

Every change takes the time it happens (`now`) from the caller; nothing here reads a
clock, a database or a setting.

An invitation may also say *where* it invites to (`InvitedGrant`, seed 003: invite "at
the Organization, Folder, or Report level"): a role at a scope, which accepting it
grants. `invited_grant` decides it when the invitation is made.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from service.domain.errors import Conflict, DomainError, ValidationFailed
from service.domain.roles import Role, check_grantable
from service.domain.scopes import ScopeTree

REASON_LIMIT = 2000


class InvitationStatus(StrEnum):
    """Stored by value (the `invitations.status` column holds these strings)."""

    PENDING = "pending"  # waiting for a worker
    SENDING = "sending"  # a worker holds it and may be handing it to the mail server
    SENT = "sent"  # the mail server took it
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"
    FAILED = "failed"


PENDING = InvitationStatus.PENDING
SENDING = InvitationStatus.SENDING
SENT = InvitationStatus.SENT
ACCEPTED = InvitationStatus.ACCEPTED
EXPIRED = InvitationStatus.EXPIRED
REVOKED = InvitationStatus.REVOKED
FAILED = InvitationStatus.FAILED

LIVE = frozenset({PENDING, SENDING, SENT})
# Whose link can still be accepted (until its expiry): a claim released or being
# settled keeps the link the person may hold already.
ACCEPTABLE = LIVE
# Whose expiry is checked: a `sending` one belongs to the worker that holds it.
EXPIRING = frozenset({PENDING, SENT})
# What an admin may do with an invitation, by its status: revoke any not settled yet;
# resend one that is no longer queued (one queued is sent already, soon).
REVOCABLE = frozenset(InvitationStatus) - {ACCEPTED, REVOKED}
RESENDABLE = frozenset({SENT, EXPIRED, FAILED})

GONE_MESSAGES = {
    ACCEPTED: "This invitation has been used already.",
    EXPIRED: "This invitation has expired. Ask the person who invited you to send a new one.",
    REVOKED: "This invitation was withdrawn.",
    FAILED: "This invitation is no longer valid. Ask for a new one.",
}


# Errors ---------------------------------------------------------------------------


class InvitationGone(DomainError):
    """The link was valid once but no longer is (used, expired, revoked, failed)."""

    status: ClassVar[int] = 410

    def __init__(self, why: InvitationStatus) -> None:
        super().__init__(f"invitation_{why.value}", GONE_MESSAGES[why])
        self.why = why


class IllegalTransition(Conflict):
    """The invitation's status does not allow this change."""


class ClaimHeld(IllegalTransition):
    """Another holder's claim is still running: come back when its lease ends."""

    def __init__(self, holder: str | None, retry_after: timedelta) -> None:
        super().__init__("claim_held", f"The invitation is being sent by {holder}")
        self.holder = holder
        self.retry_after = retry_after


class ClaimLost(IllegalTransition):
    """The settling holder no longer holds the claim (revoked, accepted, or taken over)."""

    def __init__(self, holder: str, status: InvitationStatus) -> None:
        super().__init__("claim_lost", f"{holder} no longer holds the invitation ({status})")
        self.status = status


# Rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRules:
    """How long a link lives, how long a claim is kept, and how failures are retried."""

    ttl: timedelta
    lease: timedelta
    max_attempts: int  # transient failures before it fails for good
    retry_base: timedelta
    max_backoff: timedelta = timedelta(minutes=15)

    def backoff(self, failures: int) -> timedelta:
        """The wait after the `failures`-th transient failure: doubling, capped."""
        return min(self.retry_base * 2 ** max(failures - 1, 0), self.max_backoff)


@dataclass(frozen=True)
class Claimed:
    """What a claim did: whose dead claim it took over (None for a pending one), and
    whether it started a new round (a new link, valid for the TTL from now)."""

    reclaimed_from: str | None
    new_round: bool


# The message -----------------------------------------------------------------------

LINK_FIELD = "accept_url"
# A person reads one body or the other, so each must carry the link.
LINKED_PARTS = ("text", "html")


def require_link(parts: Mapping[str, str]) -> None:
    """Refuse a template whose text or HTML body does not place the link: an invitation
    without it cannot be accepted. `$$accept_url` is a literal, not the field."""
    for part in LINKED_PARTS:
        if LINK_FIELD not in string.Template(parts[part]).get_identifiers():
            raise ValidationFailed(
                "missing_accept_url",
                f"The {part} must contain ${LINK_FIELD} (or ${{{LINK_FIELD}}}), the link "
                "that accepts the invitation",
                field=part,
            )


# Where it invites to ----------------------------------------------------------------


@dataclass(frozen=True)
class InvitedGrant:
    """What accepting an invitation grants: a role at a scope. At an account the person
    also joins the account (`assign_account`), since under seed 001 a grant at an
    account is for the account's members."""

    role_key: str
    scope_id: str
    assign_account: bool = False


class GrantOutcome(StrEnum):
    """What became of an invitation's grant when it was accepted (stored by value)."""

    GRANTED = "granted"
    HELD_ALREADY = "held_already"  # the person held that role there already
    REFUSED = "refused"  # the accept stands; the grant was not made, and says why


def default_role_for(
    scope_id: str,
    defaults: Mapping[str, Role],
    tree: ScopeTree,
    product: str | None = None,
) -> str | None:
    """The ref of the role an invitation to ``scope_id`` that names no role grants.

    Seed 003: View "is the default access right which applies to any User when
    invited", a setting of the reporting tool: each product has its own default role
    (``defaults``, by ref). The invitation's ``product`` picks its default; without one,
    the one default that may be granted at the scope is it (a usage-analytics product
    scope is no place for the reporting tool's View), and when several may, the
    invitation must say which (ValidationFailed naming ``product``). An unknown scope
    rules none out, so that the scope is what the invitation is refused for.
    """
    if product is not None:
        return next((ref for ref, role in defaults.items() if role.product == product), None)
    scope = tree.find(scope_id)
    fitting = sorted(
        ref for ref, role in defaults.items() if scope is None or role.is_grantable_at(scope, tree)
    )
    if len(fitting) > 1:
        products = ", ".join(defaults[ref].product for ref in fitting)
        raise ValidationFailed(
            "product_required",
            f"products {products} each have a default role that fits here: name the "
            "product (or the role) to invite with",
            "product",
        )
    return fitting[0] if fitting else None


def invited_grant(
    scope_id: str | None,
    role_key: str | None,
    *,
    default_role_key: str | None,
    roles: Mapping[str, Role],
    tree: ScopeTree,
) -> InvitedGrant | None:
    """Where an invitation naming `scope_id` and `role_key` (either may be None) invites
    to, or None when it names neither; raises ValidationFailed naming the field.

    A scope without a role gets the default role (seed 003: View "is the default access
    right which applies to any User when invited"); a role needs a scope to be granted
    at; the role must exist and be grantable at the scope, as for any assignment."""
    if scope_id is None:
        if role_key is not None:
            raise ValidationFailed(
                "scope_required", f"role {role_key!r} needs a scope_id to be granted at", "scope_id"
            )
        return None
    key = role_key or default_role_key
    if key is None:
        raise ValidationFailed(
            "role_required",
            "name a role: there is no default role to invite with",
            "role",
        )
    role = roles.get(key)
    if role is None:
        raise ValidationFailed("unknown_role", f"role {key!r} does not exist", "role")
    scope = check_grantable(role, scope_id, tree)
    return InvitedGrant(role.ref, scope.id, assign_account=scope.is_account)


# The aggregate --------------------------------------------------------------------


@dataclass
class Invitation:
    """An invitation's lifecycle state. The fields are named as the stored columns."""

    id: str
    status: InvitationStatus
    expires_at: datetime
    send_round: int = 1
    attempts: int = 0
    transient_failures: int = 0
    token_nonce: str | None = None
    token_hash: str | None = None
    sending_by: str | None = None
    lease_until: datetime | None = None
    failure_reason: str | None = None
    sent_at: datetime | None = None
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        self.status = InvitationStatus(self.status)

    @classmethod
    def new(cls, invitation_id: str, now: datetime, ttl: timedelta) -> Invitation:
        """A pending invitation, waiting for its first claim."""
        return cls(invitation_id, PENDING, expires_at=now + ttl, updated_at=now)

    # Questions -------------------------------------------------------------------

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    def is_due_to_expire(self, now: datetime) -> bool:
        return self.status in EXPIRING and self.expires_at <= now

    def shown_status(self, now: datetime) -> InvitationStatus:
        """The status as a person sees it: a sent invitation past its expiry is expired."""
        return EXPIRED if self.status is SENT and self.expires_at <= now else self.status

    def gone_because(self, now: datetime) -> InvitationStatus | None:
        """Why the link no longer works, or None while it does."""
        if self.status in GONE_MESSAGES:
            return self.status
        if self.expires_at <= now:
            return EXPIRED
        return None

    # Delivery --------------------------------------------------------------------

    def claim(self, holder: str, now: datetime, rules: DeliveryRules, nonce: str) -> Claimed:
        """Take the invitation for sending: pending, or sending under a dead claim.

        A new round (no link yet) gets `nonce` for its link and a fresh expiry; a round
        that has a link keeps it, so a message sent again carries the same link."""
        reclaimed_from = None
        if self.status is SENDING:
            lease = self.lease_until
            if self.sending_by != holder and lease is not None and lease > now:
                raise ClaimHeld(self.sending_by, lease - now)
            reclaimed_from = self.sending_by
        elif self.status is not PENDING:
            raise IllegalTransition(
                "not_sendable", f"The invitation is {self.status}; there is nothing to send"
            )
        new_round = self.token_nonce is None
        if new_round:
            self.token_nonce = nonce
            self.expires_at = now + rules.ttl
        self.status = SENDING
        self.sending_by = holder
        self.lease_until = now + rules.lease
        self.attempts += 1
        self.updated_at = now
        return Claimed(reclaimed_from, new_round)

    def mark_sent(self, holder: str, now: datetime) -> None:
        """The mail server took the message."""
        self._check_held(holder)
        self._become(SENT, now)
        self.sent_at = now

    def fail(self, holder: str, reason: str, now: datetime) -> None:
        """The mail server refused the message for good."""
        self._check_held(holder)
        self._become(FAILED, now)
        self.failure_reason = _reason(reason)

    def defer(
        self, holder: str, reason: str, now: datetime, rules: DeliveryRules
    ) -> timedelta | None:
        """A transient failure: back to pending, and the wait before the next attempt;
        None when this was the last attempt allowed and the invitation failed."""
        self._check_held(holder)
        self.transient_failures += 1
        if self.transient_failures >= rules.max_attempts:
            self.fail(holder, f"gave up after {self.transient_failures} attempts: {reason}", now)
            return None
        self._become(PENDING, now)
        self.failure_reason = _reason(reason)
        return rules.backoff(self.transient_failures)

    def release(self, holder: str, now: datetime) -> None:
        """Hand back a claim that was not attempted (a rate limit, a dead connection)."""
        self._check_held(holder)
        self._become(PENDING, now)
        self.attempts -= 1

    # The person's side and the admin's ---------------------------------------------

    def accept(self, now: datetime) -> None:
        """Accept, once; a link that no longer works raises InvitationGone (410)."""
        why = self.gone_because(now)
        if why is not None:
            raise InvitationGone(why)
        assert self.status in ACCEPTABLE, self.status
        self._become(ACCEPTED, now)
        self.accepted_at = now

    def expire(self, now: datetime) -> None:
        if not self.is_due_to_expire(now):
            raise IllegalTransition(
                "not_expirable", f"The invitation is {self.status} until {self.expires_at}"
            )
        self._become(EXPIRED, now)

    def expire_if_due(self, now: datetime) -> bool:
        if not self.is_due_to_expire(now):
            return False
        self.expire(now)
        return True

    def revoke(self, now: datetime) -> None:
        """Withdraw it: its link stops working (a message being sent may still arrive)."""
        if self.status not in REVOCABLE:
            raise IllegalTransition(
                "not_revocable", f"The invitation is {self.status}; it cannot be revoked"
            )
        self._become(REVOKED, now)
        self.revoked_at = now

    def resend(self, now: datetime, ttl: timedelta) -> None:
        """Send again in a new round: a new link (the old one stops working), a fresh
        expiry, and a fresh count of transient failures."""
        if self.status in (PENDING, SENDING):
            raise IllegalTransition(
                "already_queued", "The invitation is queued for delivery already"
            )
        if self.status not in RESENDABLE:
            raise IllegalTransition(
                "not_resendable", f"The invitation is {self.status}; create a new one instead"
            )
        self.send_round += 1
        self.token_nonce = None
        self.token_hash = None
        self.transient_failures = 0
        self.failure_reason = None
        self.sent_at = None
        self.expires_at = now + ttl
        self._become(PENDING, now)

    # -------------------------------------------------------------------------------

    def _check_held(self, holder: str) -> None:
        if self.status is not SENDING or self.sending_by != holder:
            raise ClaimLost(holder, self.status)

    def _become(self, status: InvitationStatus, now: datetime) -> None:
        self.status = status
        self.updated_at = now
        if status is not SENDING:
            self.sending_by = None
            self.lease_until = None


def _reason(text: str) -> str:
    return text[:REASON_LIMIT]
