"""The invitation use cases on a fake unit of work: no Flask, no database.

The link a worker would send is made here the way the worker makes it (the lifecycle
aggregate's claim, then `mark_sent`), without the delivery pipeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from service.domain import AccountType, Role, Scope
from service.domain.errors import Conflict, NotFound, ValidationFailed
from service.domain.invitations import (
    IllegalTransition,
    InvitationGone,
    InvitationStatus,
    InvitedGrant,
)
from service.mail import template as templates
from service.persistence.base import new_id, utcnow
from service.persistence.invitation_models import Invitation
from service.persistence.scim_models import ScimUser
from service.services import assignments, invitation_rows, invitations
from service.services.propagation import RECOMPUTE_USER
from service.settings import Settings
from tests.fakes.unit_of_work import FakeUnitOfWork

TENANT = "tenant-a"
OTHER_TENANT = "tenant-b"
DEFAULTS = Settings(secret_key="test-secret-key-not-for-production")
SEND = invitations.SEND_TASK


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def person(uow: FakeUnitOfWork, email: str, *, active: bool = True) -> ScimUser:
    """A user the tenant's IdP provisioned earlier."""
    now = utcnow()
    user = ScimUser(
        id=new_id(),
        tenant_id=TENANT,
        user_name=email,
        user_name_lower=email.lower(),
        external_id=None,
        display_name=email.split("@")[0],
        active=active,
        document={"userName": email, "emails": [{"value": email, "primary": True}]},
        created=now,
        last_modified=now,
        version=1,
    )
    uow.scim.users[user.id] = user
    return user


def invite(uow: FakeUnitOfWork, user: ScimUser) -> Invitation:
    return invitations.create_invitation(
        uow, TENANT, actor="admin", defaults=DEFAULTS, user_id=user.id
    )


def sent(invitation: Invitation) -> str:
    """What the worker does to it: claim, derive the link, hand it over; the link."""
    now = utcnow()
    state = invitation.lifecycle()
    state.claim("worker-1", now, invitations.rules(DEFAULTS, 168), invitations.new_nonce())
    assert state.token_nonce is not None
    token = invitations.derive_token(
        DEFAULTS.secret_key, state.id, state.send_round, state.token_nonce
    )
    state.token_hash = invitations.hash_token(token)
    state.mark_sent("worker-1", now)
    invitation.keep(state)
    return token


# Inviting ---------------------------------------------------------------------------


def test_an_invitation_records_its_send_task_and_an_audit_event(uow: FakeUnitOfWork) -> None:
    user = person(uow, "ada@example.com")
    made = invite(uow, user)
    assert (made.status, made.email, made.user_id) == ("pending", "ada@example.com", user.id)
    assert made.expires_at - utcnow() > timedelta(hours=DEFAULTS.invitation_ttl_hours - 1)
    assert uow.tasks() == [SEND]
    assert uow.emitted[0].object_id == made.id
    assert uow.audit.actions() == ["invitation.create"]
    assert uow.commits == 1
    assert uow.invitations.get(TENANT, made.id) is made


def test_a_user_with_a_live_invitation_is_not_invited_twice(uow: FakeUnitOfWork) -> None:
    user = person(uow, "ada@example.com")
    first = invite(uow, user)
    with pytest.raises(Conflict) as refused:
        invite(uow, user)
    assert refused.value.code == "already_invited"
    assert first.id in refused.value.message
    assert uow.tasks() == [SEND]
    assert uow.audit.actions() == ["invitation.create"]
    assert uow.rollbacks == 1


def test_a_user_whose_invitation_ran_out_is_invited_again(uow: FakeUnitOfWork) -> None:
    user = person(uow, "ada@example.com")
    old = invite(uow, user)
    sent(old)
    old.expires_at = utcnow() - timedelta(minutes=1)
    new = invite(uow, user)
    assert old.status == "expired"
    assert new.status == "pending"
    assert uow.tasks() == [SEND, SEND]


def test_an_unknown_user_or_one_without_an_address_is_not_invited(uow: FakeUnitOfWork) -> None:
    with pytest.raises(NotFound):
        invitations.create_invitation(
            uow, TENANT, actor="admin", defaults=DEFAULTS, user_id="nobody"
        )
    nameless = person(uow, "no-address")
    nameless.document = {"userName": "no-address"}
    with pytest.raises(Exception, match="no email address"):
        invite(uow, nameless)
    assert uow.emitted == []
    assert uow.audit.actions() == []


def test_inviting_a_new_address_makes_the_user_through_the_scim_use_case(
    uow: FakeUnitOfWork,
) -> None:
    made = invitations.create_invitation(
        uow, TENANT, actor="admin", defaults=DEFAULTS, email="new@example.com", name="New Person"
    )
    user = uow.users.get(TENANT, made.user_id or "")
    assert user is not None and user.user_name == "new@example.com"
    assert made.email == "new@example.com"
    assert uow.audit.actions() == ["scim.user.create", "invitation.create"]
    assert SEND in uow.tasks()
    assert uow.commits == 1


def test_the_tenants_expiry_setting_sets_how_long_a_link_lives(uow: FakeUnitOfWork) -> None:
    got = invitations.update_tenant_settings(uow, TENANT, {"ttl_hours": 2}, "admin", DEFAULTS)
    assert got.ttl_hours == 2
    assert invitations.tenant_settings(uow, TENANT, DEFAULTS) == got
    made = invite(uow, person(uow, "ada@example.com"))
    assert timedelta(hours=1) < made.expires_at - utcnow() <= timedelta(hours=2)
    assert uow.audit.actions() == ["invitation.settings.update", "invitation.create"]


def test_provisioned_users_are_invited_once_and_only_when_the_tenant_asks(
    uow: FakeUnitOfWork,
) -> None:
    active = person(uow, "on@example.com")
    inactive = person(uow, "off@example.com", active=False)
    ids = [active.id, inactive.id]
    assert invitations.invite_on_provision(uow, TENANT, ids, "scim", DEFAULTS) == []
    invitations.update_tenant_settings(uow, TENANT, {"invite_scim_users": True}, "a", DEFAULTS)
    made = invitations.invite_on_provision(uow, TENANT, ids, "scim", DEFAULTS)
    assert [(i.user_id, i.inviter_name) for i in made] == [
        (active.id, invitations.PROVISIONING_INVITER)
    ]
    assert invitations.invite_on_provision(uow, TENANT, ids, "scim", DEFAULTS) == []
    assert uow.tasks() == [SEND]


# Revoking and resending ----------------------------------------------------------------


def test_revoking_a_sent_invitation_makes_its_link_gone(uow: FakeUnitOfWork) -> None:
    made = invite(uow, person(uow, "ada@example.com"))
    token = sent(made)
    assert invitations.view_token(uow, token).state == "open"
    invitations.revoke(uow, TENANT, made.id, "admin")
    assert made.status == "revoked" and made.revoked_at is not None
    assert invitations.view_token(uow, token).state == "revoked"
    with pytest.raises(InvitationGone) as gone:
        invitations.accept(uow, token)
    assert gone.value.why is InvitationStatus.REVOKED
    assert uow.audit.actions() == ["invitation.create", "invitation.revoke"]
    assert [row.invitation_id for row in uow.invitations.settled_job_rows] == [made.id]
    assert made.id in uow.invitations.locked


def test_a_revoked_invitation_cannot_be_resent(uow: FakeUnitOfWork) -> None:
    made = invite(uow, person(uow, "ada@example.com"))
    invitations.revoke(uow, TENANT, made.id, "admin")
    with pytest.raises(IllegalTransition) as refused:
        invitations.resend(uow, TENANT, made.id, "admin", DEFAULTS)
    assert refused.value.code == "not_resendable"
    assert made.status == "revoked"
    assert uow.tasks() == [SEND]
    with pytest.raises(IllegalTransition):
        invitations.revoke(uow, TENANT, made.id, "admin")


def test_resending_starts_a_new_round_and_the_old_link_stops_working(
    uow: FakeUnitOfWork,
) -> None:
    made = invite(uow, person(uow, "ada@example.com"))
    old_link = sent(made)
    invitations.resend(uow, TENANT, made.id, "admin", DEFAULTS)
    assert (made.status, made.send_round, made.token_hash) == ("pending", 2, None)
    with pytest.raises(NotFound):
        invitations.view_token(uow, old_link)
    new_link = sent(made)
    assert new_link != old_link
    assert invitations.accept(uow, new_link).status == "accepted"
    assert uow.tasks() == [SEND, SEND]
    assert uow.audit.actions() == ["invitation.create", "invitation.resend", "invitation.accept"]


def test_an_invitation_queued_already_is_not_resent(uow: FakeUnitOfWork) -> None:
    made = invite(uow, person(uow, "ada@example.com"))
    with pytest.raises(IllegalTransition, match="queued"):
        invitations.resend(uow, TENANT, made.id, "admin", DEFAULTS)
    assert uow.tasks() == [SEND]


def test_an_expired_invitation_is_not_resent_over_a_newer_live_one(uow: FakeUnitOfWork) -> None:
    user = person(uow, "ada@example.com")
    old = invite(uow, user)
    sent(old)
    old.expires_at = utcnow() - timedelta(minutes=1)
    newer = invite(uow, user)
    with pytest.raises(Conflict, match=newer.id):
        invitations.resend(uow, TENANT, old.id, "admin", DEFAULTS)


def test_another_tenants_invitation_is_not_found(uow: FakeUnitOfWork) -> None:
    made = invite(uow, person(uow, "ada@example.com"))
    with pytest.raises(NotFound):
        invitations.revoke(uow, OTHER_TENANT, made.id, "admin")
    with pytest.raises(NotFound):
        invitations.resend(uow, OTHER_TENANT, made.id, "admin", DEFAULTS)
    assert made.status == "pending"


# The person's side ---------------------------------------------------------------------


def test_the_links_page_shows_the_invitation_and_its_tenant(uow: FakeUnitOfWork) -> None:
    uow.invitations.tenant_names[TENANT] = "Acme"
    made = invite(uow, person(uow, "ada@example.com"))
    view = invitations.view_token(uow, sent(made))
    assert (view.invitation, view.tenant_name, view.state) == (made, "Acme", "open")
    with pytest.raises(NotFound):
        invitations.view_token(uow, "not-a-link")


def test_a_link_is_accepted_once(uow: FakeUnitOfWork) -> None:
    made = invite(uow, person(uow, "ada@example.com"))
    token = sent(made)
    assert invitations.accept(uow, token) is made
    assert made.status == "accepted" and made.accepted_at is not None
    with pytest.raises(InvitationGone) as gone:
        invitations.accept(uow, token)
    assert gone.value.why is InvitationStatus.ACCEPTED
    assert uow.audit.actions() == ["invitation.create", "invitation.accept"]
    assert uow.audit.events[-1].actor == f"invitee:{made.user_id}"


def test_accepting_an_expired_link_is_refused_and_keeps_it_expired(uow: FakeUnitOfWork) -> None:
    made = invite(uow, person(uow, "ada@example.com"))
    token = sent(made)
    made.expires_at = utcnow() - timedelta(seconds=1)
    commits = uow.commits
    with pytest.raises(InvitationGone) as gone:
        invitations.accept(uow, token)
    assert gone.value.why is InvitationStatus.EXPIRED
    assert made.status == "expired"
    assert uow.commits == commits + 1  # the expiry is kept, not rolled back
    assert uow.audit.actions() == ["invitation.create"]
    assert invitations.view_token(uow, token).state == "expired"


def test_an_accept_that_loses_the_conditional_write_is_refused_as_a_used_link(
    uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = invite(uow, person(uow, "ada@example.com"))
    token = sent(made)
    write = uow.invitations.write_if_still

    def another_accept_wins_first(row: Invitation, state: Any, statuses: Any) -> bool:
        row.status = InvitationStatus.ACCEPTED.value  # what the winner's UPDATE left
        return write(row, state, statuses)

    monkeypatch.setattr(uow.invitations, "write_if_still", another_accept_wins_first)
    with pytest.raises(InvitationGone) as gone:
        invitations.accept(uow, token)
    assert gone.value.why is InvitationStatus.ACCEPTED
    assert made.accepted_at is None  # nothing of the loser was written
    assert uow.audit.actions() == ["invitation.create"]


# Templates ----------------------------------------------------------------------------


def test_a_template_must_place_the_link_in_both_bodies(uow: FakeUnitOfWork) -> None:
    linked = templates.InvitationTemplate("Hi", "Go: ${accept_url}", "<a href='$accept_url'>")
    assert invitations.put_template(uow, TENANT, linked, "admin") == linked
    for part in ("text", "html"):
        unlinked = replace(linked, **{part: "Costs $$5; $$accept_url is no link"})
        with pytest.raises(ValidationFailed) as refused:
            invitations.put_template(uow, TENANT, unlinked, "admin")
        assert (refused.value.code, refused.value.field) == ("missing_accept_url", part)
    assert invitations.get_template(uow, TENANT) == linked


def test_an_address_mail_cannot_reach_is_refused_before_a_user_is_made(
    uow: FakeUnitOfWork,
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        invitations.create_invitation(
            uow, TENANT, actor="admin", defaults=DEFAULTS, email="ada@lab.test"
        )
    assert (refused.value.code, refused.value.field) == ("invalid_email", "email")
    assert uow.scim.users == {}


# Deprovisioning ----------------------------------------------------------------------


def test_deprovisioning_revokes_the_users_live_invitations_only(uow: FakeUnitOfWork) -> None:
    leaver, stayer = person(uow, "leaver@example.com"), person(uow, "stayer@example.com")
    accepted = invite(uow, leaver)
    invitations.accept(uow, sent(accepted))
    live = invite(uow, leaver)
    link = sent(live)
    others = invite(uow, stayer)
    with uow:  # the SCIM deprovisioning's unit of work, which the revoke joins
        assert invitation_rows.revoke_pending_for_user(uow, TENANT, leaver.id, "scim") == 1
    assert (accepted.status, live.status, others.status) == ("accepted", "revoked", "pending")
    assert invitations.view_token(uow, link).state == "revoked"
    assert uow.audit.actions().count("invitation.revoke") == 1
    assert invitation_rows.revoke_pending_for_user(uow, TENANT, leaver.id, "scim") == 0


# Where it invites to ---------------------------------------------------------------------


@pytest.fixture
def reeport(uow: FakeUnitOfWork) -> FakeUnitOfWork:
    """Seed 003's organization and folder, its View (the default role) and Edit, and
    seed 001's accounts, as the assignment repository holds them."""
    repo = uow.assignments
    for scope in (
        Scope("org", "organization", "Reeport Org"),
        Scope("folder", "folder", "Folder 1", "org"),
        Scope("na", "account", "Acme North America", None, AccountType.CUSTOMER),
        Scope("boston", "account", "Acme Boston", "na", AccountType.CUSTOMER),
    ):
        repo.add_scope(TENANT, scope)
    repo.add_role(TENANT, Role("view", "View", allowed_scope_types={"organization", "folder"}))
    repo.add_role(TENANT, Role("edit", "Edit", allowed_scope_types={"organization", "folder"}))
    repo.add_role(TENANT, Role("portal_user", "Portal User", allowed_scope_types={"account"}))
    uow.invitations.default_roles_by_tenant[TENANT] = {"default": "view"}
    return uow


def invite_to(uow: FakeUnitOfWork, user: ScimUser, **where: str) -> Invitation:
    """Invite a provisioned user (the assignment repository knows them too)."""
    uow.assignments.add_user(TENANT, user.user_name, user_id=user.id)
    return invitations.create_invitation(
        uow, TENANT, actor="admin", defaults=DEFAULTS, user_id=user.id, **where
    )


def test_an_invitation_keeps_where_it_invites_to_and_view_is_the_default(
    reeport: FakeUnitOfWork,
) -> None:
    """Seed 003: View "is the default access right which applies to any User when
    invited"."""
    made = invite_to(reeport, person(reeport, "ada@example.com"), scope_id="folder")
    # Roles are kept by ref: these test roles are the default product's.
    assert made.grant() == InvitedGrant("default/view", "folder")
    assert reeport.audit.events[-1].after["role"] == "default/view"
    edit = invite_to(reeport, person(reeport, "bob@example.com"), scope_id="org", role="edit")
    assert edit.grant() == InvitedGrant("default/edit", "org")


def test_an_invitation_to_an_unknown_scope_is_refused_and_invites_no_one(
    reeport: FakeUnitOfWork,
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        invite_to(reeport, person(reeport, "ada@example.com"), scope_id="nowhere", role="edit")
    assert (refused.value.code, refused.value.field) == ("unknown_scope", "scope_id")
    assert reeport.tasks() == [] and reeport.invitations.rows == {}


def test_accepting_grants_the_role_at_the_scope_in_the_same_unit_of_work(
    reeport: FakeUnitOfWork,
) -> None:
    made = invite_to(reeport, person(reeport, "ada@example.com"), scope_id="folder", role="edit")
    commits = reeport.commits
    invitations.accept(reeport, sent(made))
    assert reeport.commits == commits + 1
    [row] = reeport.assignments.rows
    assert (row.user_id, row.scope_id, row.assign_account) == (made.user_id, "folder", False)
    assert row.created_by == f"invitee:{made.user_id}"
    assert made.grant_outcome == "granted"
    assert reeport.audit.actions()[-2:] == ["assignment.create", "invitation.accept"]
    assert reeport.audit.events[-1].after["grant_outcome"] == "granted"
    assert RECOMPUTE_USER in reeport.tasks()


def test_an_accept_the_account_rules_refuse_stands_and_the_refusal_is_recorded(
    reeport: FakeUnitOfWork,
) -> None:
    """Seed 001: a user's accounts "must not be in the same vertical hierarchy"."""
    user = person(reeport, "b@acme.example")
    made = invite_to(reeport, user, scope_id="na", role="portal_user")
    assert made.assign_account is True
    assignments.create_assignment(
        reeport, TENANT, user=user.id, role_key="portal_user", scope_id="boston",
        assign_account=True, actor="admin",
    )  # fmt: skip

    assert invitations.accept(reeport, sent(made)).status == "accepted"

    assert (made.grant_outcome, made.grant_reason is not None) == ("refused", True)
    assert [row.scope_id for row in reeport.assignments.rows] == ["boston"]
    refusal = next(e for e in reeport.audit.events if e.action == "invitation.grant_refused")
    assert refusal.after["code"] == "same_vertical_hierarchy"
    assert reeport.audit.actions()[-1] == "invitation.accept"
