"""The invitation lifecycle (service.domain.invitations): which status may become which,
what a claim and its settle do to attempts, retries and the link, and when a link
expires. Plain objects and an explicit clock: no database, no mail server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain import Conflict, DomainError
from service.domain.invitations import (
    ACCEPTED,
    EXPIRED,
    FAILED,
    LIVE,
    PENDING,
    REVOKED,
    SENDING,
    SENT,
    ClaimHeld,
    ClaimLost,
    DeliveryRules,
    IllegalTransition,
    Invitation,
    InvitationGone,
    InvitationStatus,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
RULES = DeliveryRules(
    ttl=timedelta(hours=72),
    lease=timedelta(minutes=5),
    max_attempts=3,
    retry_base=timedelta(seconds=5),
    max_backoff=timedelta(seconds=60),
)


def later(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def pending() -> Invitation:
    return Invitation.new("inv-1", T0, RULES.ttl)


def claimed(holder: str = "task:a", at: datetime = T0) -> Invitation:
    invitation = pending()
    invitation.claim(holder, at, RULES, nonce="n1")
    return invitation


def sent(at: datetime = T0) -> Invitation:
    invitation = claimed(at=at)
    invitation.mark_sent("task:a", at)
    return invitation


def in_status(status: InvitationStatus) -> Invitation:
    """An invitation that reached `status` the ordinary way."""
    invitation = sent()
    if status is PENDING:
        return pending()
    if status is SENDING:
        return claimed()
    if status is ACCEPTED:
        invitation.accept(later(hours=1))
    elif status is EXPIRED:
        invitation.expire(later(hours=73))
    elif status is REVOKED:
        invitation.revoke(later(hours=1))
    elif status is FAILED:
        invitation = claimed()
        invitation.fail("task:a", "550 no such user", T0)
    return invitation


# Statuses -------------------------------------------------------------------------


def test_the_statuses_are_stored_by_their_lowercase_names():
    assert [s.value for s in InvitationStatus] == [
        "pending",
        "sending",
        "sent",
        "accepted",
        "expired",
        "revoked",
        "failed",
    ]
    assert Invitation("x", "sent", T0).status is SENT  # type: ignore[arg-type]


def test_pending_sending_and_sent_are_live_and_nothing_else_is():
    assert {s for s in InvitationStatus if in_status(s).is_live} == set(LIVE)
    assert set(LIVE) == {PENDING, SENDING, SENT}


def test_an_illegal_transition_is_a_conflict_the_api_answers_409():
    assert issubclass(IllegalTransition, Conflict)
    assert IllegalTransition("x", "y").status == 409
    assert InvitationGone(EXPIRED).status == 410


# A new invitation and its claim ------------------------------------------------------


def test_a_new_invitation_is_pending_with_no_link_and_expires_after_the_ttl():
    invitation = pending()
    assert invitation.status is PENDING
    assert (invitation.send_round, invitation.attempts, invitation.token_nonce) == (1, 0, None)
    assert invitation.expires_at == T0 + RULES.ttl


def test_the_first_claim_starts_the_round_with_a_link_and_a_fresh_expiry():
    invitation = pending()
    done = invitation.claim("task:a", later(hours=2), RULES, nonce="n1")
    assert done.new_round and done.reclaimed_from is None
    assert invitation.status is SENDING
    assert (invitation.sending_by, invitation.attempts, invitation.token_nonce) == (
        "task:a",
        1,
        "n1",
    )
    assert invitation.lease_until == later(hours=2) + RULES.lease
    assert invitation.expires_at == later(hours=2) + RULES.ttl


def test_a_claim_another_holder_keeps_under_a_running_lease_is_refused_with_the_wait():
    invitation = claimed("task:a")
    with pytest.raises(ClaimHeld) as held:
        invitation.claim("task:b", later(minutes=1), RULES, nonce="n2")
    assert held.value.retry_after == timedelta(minutes=4)
    assert (invitation.sending_by, invitation.attempts) == ("task:a", 1)


def test_a_dead_claim_is_taken_over_with_the_same_link_by_its_own_holder_or_after_the_lease():
    again = claimed("task:a")
    done = again.claim("task:a", later(seconds=10), RULES, nonce="other")
    assert done.reclaimed_from == "task:a" and not done.new_round
    assert (again.token_nonce, again.attempts) == ("n1", 2)

    expired_lease = claimed("task:a")
    done = expired_lease.claim("task:b", later(minutes=6), RULES, nonce="other")
    assert done.reclaimed_from == "task:a"
    assert (expired_lease.sending_by, expired_lease.token_nonce) == ("task:b", "n1")
    assert expired_lease.expires_at == T0 + RULES.ttl


@pytest.mark.parametrize("status", [SENT, ACCEPTED, EXPIRED, REVOKED, FAILED])
def test_only_a_pending_or_sending_invitation_can_be_claimed(status: InvitationStatus):
    invitation = in_status(status)
    with pytest.raises(IllegalTransition):
        invitation.claim("task:z", later(hours=100), RULES, nonce="n9")
    assert invitation.status is status


# Settling a claim -----------------------------------------------------------------


def test_the_holder_marks_it_sent_and_lets_go_of_the_claim():
    invitation = claimed()
    invitation.mark_sent("task:a", later(seconds=1))
    assert invitation.status is SENT
    assert invitation.sent_at == later(seconds=1)
    assert (invitation.sending_by, invitation.lease_until) == (None, None)


def test_a_settle_by_someone_who_no_longer_holds_the_claim_changes_nothing():
    taken_over = claimed("task:a")
    taken_over.claim("task:b", later(minutes=6), RULES, nonce="n2")
    for settle in (
        lambda inv: inv.mark_sent("task:a", later(minutes=7)),
        lambda inv: inv.fail("task:a", "550", later(minutes=7)),
        lambda inv: inv.defer("task:a", "451", later(minutes=7), RULES),
        lambda inv: inv.release("task:a", later(minutes=7)),
    ):
        with pytest.raises(ClaimLost):
            settle(taken_over)
        assert (taken_over.status, taken_over.sending_by) == (SENDING, "task:b")


def test_a_revoke_while_sending_wins_over_the_settle():
    invitation = claimed()
    invitation.revoke(later(seconds=1))
    with pytest.raises(ClaimLost) as lost:
        invitation.mark_sent("task:a", later(seconds=2))
    assert lost.value.status is REVOKED
    assert invitation.status is REVOKED and invitation.sent_at is None


def test_a_permanent_refusal_fails_it_with_the_reason():
    invitation = claimed()
    invitation.fail("task:a", "550 5.1.1 No such user" + "x" * 3000, later(seconds=1))
    assert invitation.status is FAILED
    assert invitation.failure_reason is not None
    assert invitation.failure_reason.startswith("550 5.1.1")
    assert len(invitation.failure_reason) == 2000
    assert invitation.sending_by is None


def test_a_transient_failure_puts_it_back_to_pending_with_a_doubling_capped_backoff():
    invitation = pending()
    waits = []
    for attempt in range(1, 3):
        invitation.claim("task:a", later(minutes=attempt), RULES, nonce=f"n{attempt}")
        waits.append(invitation.defer("task:a", "451 greylisted", later(minutes=attempt), RULES))
        assert invitation.status is PENDING
        assert invitation.failure_reason == "451 greylisted"
    assert waits == [timedelta(seconds=5), timedelta(seconds=10)]
    assert invitation.attempts == 2 and invitation.transient_failures == 2
    assert invitation.token_nonce == "n1", "a retry keeps the round's link"
    assert RULES.backoff(10) == RULES.max_backoff


def test_the_last_transient_failure_allowed_gives_up_and_fails_it():
    invitation = pending()
    outcomes = []
    for attempt in range(RULES.max_attempts):
        invitation.claim("task:a", later(minutes=attempt), RULES, nonce="n")
        outcomes.append(
            invitation.defer("task:a", "connection lost", later(minutes=attempt), RULES)
        )
    assert outcomes[-1] is None and None not in outcomes[:-1]
    assert invitation.status is FAILED
    assert invitation.failure_reason == "gave up after 3 attempts: connection lost"


def test_a_released_claim_is_pending_again_and_does_not_count_as_an_attempt():
    invitation = claimed()
    invitation.release("task:a", later(seconds=1))
    assert (invitation.status, invitation.attempts, invitation.sending_by) == (PENDING, 0, None)
    assert invitation.token_nonce == "n1"


# Accepting and expiring ------------------------------------------------------------


def test_a_sent_invitation_is_accepted_once():
    invitation = sent()
    invitation.accept(later(hours=1))
    assert (invitation.status, invitation.accepted_at) == (ACCEPTED, later(hours=1))
    with pytest.raises(InvitationGone) as gone:
        invitation.accept(later(hours=2))
    assert gone.value.code == "invitation_accepted"
    assert "used already" in gone.value.message


@pytest.mark.parametrize("status", [ACCEPTED, EXPIRED, REVOKED, FAILED])
def test_a_link_that_no_longer_works_is_gone_and_says_why(status: InvitationStatus):
    invitation = in_status(status)
    with pytest.raises(InvitationGone) as gone:
        invitation.accept(later(hours=1))
    assert gone.value.code == f"invitation_{status.value}"
    assert invitation.status is status


def test_a_link_past_its_expiry_is_gone_as_expired_though_not_yet_marked():
    invitation = sent()
    with pytest.raises(InvitationGone) as gone:
        invitation.accept(later(hours=72))
    assert gone.value.why is EXPIRED
    assert invitation.status is SENT
    assert invitation.gone_because(later(hours=71)) is None


def test_a_sent_invitation_past_its_expiry_shows_as_expired_before_it_is_marked():
    invitation = sent()
    assert invitation.shown_status(later(hours=71)) is SENT
    assert invitation.shown_status(later(hours=72)) is EXPIRED


def test_pending_and_sent_invitations_expire_when_due_and_a_sending_one_waits_for_its_worker():
    for invitation in (pending(), sent()):
        assert not invitation.expire_if_due(later(hours=71))
        assert invitation.expire_if_due(later(hours=72))
        assert invitation.status is EXPIRED
    sending = claimed()
    assert not sending.expire_if_due(later(hours=100))
    with pytest.raises(IllegalTransition):
        sending.expire(later(hours=100))
    assert sending.status is SENDING


# Revoking and resending ------------------------------------------------------------


@pytest.mark.parametrize("status", [PENDING, SENDING, SENT, EXPIRED, FAILED])
def test_anything_not_accepted_or_revoked_can_be_revoked(status: InvitationStatus):
    invitation = in_status(status)
    invitation.revoke(later(hours=80))
    assert (invitation.status, invitation.revoked_at) == (REVOKED, later(hours=80))
    assert invitation.sending_by is None


@pytest.mark.parametrize("status", [ACCEPTED, REVOKED])
def test_an_accepted_or_revoked_invitation_cannot_be_revoked(status: InvitationStatus):
    with pytest.raises(IllegalTransition) as refused:
        in_status(status).revoke(later(hours=2))
    assert refused.value.code == "not_revocable"


@pytest.mark.parametrize("status", [SENT, EXPIRED, FAILED])
def test_a_resend_starts_a_new_round_whose_new_link_replaces_the_old(status: InvitationStatus):
    invitation = in_status(status)
    invitation.token_hash = "hash-of-the-first-link"
    invitation.resend(later(hours=80), timedelta(hours=24))
    assert invitation.status is PENDING
    assert invitation.send_round == 2
    assert (invitation.token_nonce, invitation.token_hash) == (None, None)
    assert (invitation.transient_failures, invitation.failure_reason, invitation.sent_at) == (
        0,
        None,
        None,
    )
    assert invitation.expires_at == later(hours=104)
    invitation.claim("task:c", later(hours=81), RULES, nonce="n2")
    assert invitation.token_nonce == "n2"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (PENDING, "already_queued"),
        (SENDING, "already_queued"),
        (ACCEPTED, "not_resendable"),
        (REVOKED, "not_resendable"),
    ],
)
def test_a_queued_accepted_or_revoked_invitation_is_not_resent(status: InvitationStatus, code: str):
    invitation = in_status(status)
    with pytest.raises(IllegalTransition) as refused:
        invitation.resend(later(hours=2), timedelta(hours=24))
    assert refused.value.code == code
    assert invitation.status is status and invitation.send_round == 1


def test_every_refusal_is_a_domain_error_with_a_code():
    for status in InvitationStatus:
        for change in (
            lambda inv: inv.revoke(later(hours=1)),
            lambda inv: inv.resend(later(hours=1), timedelta(hours=1)),
            lambda inv: inv.accept(later(hours=1)),
            lambda inv: inv.claim("task:q", later(seconds=1), RULES, nonce="n"),
        ):
            try:
                change(in_status(status))
            except DomainError as error:
                assert error.code
