"""Invitations end to end inside one process: the admin API creates them, a real SMTP
server on loopback receives them, and following the link accepts them once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from service.persistence.base import utcnow
from service.persistence.invitation_models import Invitation
from service.runtime import Runtime
from service.services import invitation_rows, invitations
from tests.conftest import TenantKeys
from tests.invitations.conftest import Inbox


def invite(admin: Callable[..., Any], email: str, name: str = "Ada Lovelace") -> dict[str, Any]:
    response = admin("POST", "/api/v1/invitations", json={"email": email, "name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_an_invitation_reaches_the_smtp_server_with_a_link_that_works_once(
    admin: Callable[..., Any], client: FlaskClient, inbox: Inbox
) -> None:
    created = invite(admin, "ada@example.com")
    assert created["status"] == "sent"
    assert created["deliveries"][0]["outcome"] == "sent"
    assert created["deliveries"][0]["smtp_code"] == 250

    [message] = inbox.to("ada@example.com")
    assert message["Subject"] == "You are invited to acme"
    assert message["Message-ID"] == f"<invitation.{created['id']}.1@acme.test>"
    assert "Ada Lovelace" in inbox.text(message)
    token = inbox.token(message)
    assert f"/invitations/{token}" in inbox.html(message)

    page = client.get(f"/invitations/{token}")
    assert page.status_code == 200
    assert b"Accept invitation" in page.data
    assert page.headers["Cache-Control"] == "no-store"

    accepted = client.post(f"/invitations/{token}/accept", json={})
    assert accepted.status_code == 200
    assert accepted.get_json()["status"] == "accepted"

    again = client.post(f"/invitations/{token}/accept", json={})
    assert again.status_code == 410
    assert again.get_json()["reason"] == "invitation_accepted"
    assert "used already" in again.get_json()["message"]
    assert b"used already" in client.get(f"/invitations/{token}").data


def test_accepting_through_the_form_answers_with_a_page(
    admin: Callable[..., Any], client: FlaskClient, inbox: Inbox
) -> None:
    invite(admin, "form@example.com")
    token = inbox.token(inbox.to("form@example.com")[0])
    page = client.post(f"/invitations/{token}/accept", data={}, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert b"You have accepted the invitation" in page.data
    reused = client.post(f"/invitations/{token}/accept", data={}, headers={"Accept": "text/html"})
    assert reused.status_code == 410
    assert b"used already" in reused.data


def test_an_unknown_token_is_404_and_never_a_500(client: FlaskClient, runtime: Runtime) -> None:
    assert client.get("/invitations/rci_nothing-like-this").status_code == 404
    assert client.get("/invitations/garbage").status_code == 404
    response = client.post("/invitations/rci_nothing/accept", json={})
    assert response.status_code == 404
    assert response.get_json()["reason"] == "unknown_invitation"


def test_an_expired_link_is_refused_with_410(
    admin: Callable[..., Any], client: FlaskClient, inbox: Inbox, runtime: Runtime
) -> None:
    created = invite(admin, "late@example.com")
    token = inbox.token(inbox.to("late@example.com")[0])
    with runtime.unit_of_work() as uow:
        session = uow.session
        session.execute(
            update(Invitation)
            .where(Invitation.id == created["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert b"has expired" in client.get(f"/invitations/{token}").data
    response = client.post(f"/invitations/{token}/accept", json={})
    assert response.status_code == 410
    assert response.get_json()["reason"] == "invitation_expired"
    assert admin("GET", f"/api/v1/invitations/{created['id']}").get_json()["status"] == "expired"


def test_revoking_kills_the_link(
    admin: Callable[..., Any], client: FlaskClient, inbox: Inbox
) -> None:
    created = invite(admin, "gone@example.com")
    token = inbox.token(inbox.to("gone@example.com")[0])
    revoked = admin("POST", f"/api/v1/invitations/{created['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.get_json()["status"] == "revoked"
    response = client.post(f"/invitations/{token}/accept", json={})
    assert response.status_code == 410
    assert response.get_json()["reason"] == "invitation_revoked"
    assert admin("POST", f"/api/v1/invitations/{created['id']}/revoke").status_code == 409


def test_a_resend_mails_a_new_link_and_the_old_one_stops_working(
    admin: Callable[..., Any], client: FlaskClient, inbox: Inbox
) -> None:
    created = invite(admin, "twice@example.com")
    first = inbox.token(inbox.to("twice@example.com")[0])
    resent = admin("POST", f"/api/v1/invitations/{created['id']}/resend")
    assert resent.status_code == 202
    assert resent.get_json()["send_round"] == 2
    assert len(inbox.to("twice@example.com")) == 2
    second = inbox.token(inbox.to("twice@example.com")[1])
    assert second != first
    assert inbox.to("twice@example.com")[1]["Message-ID"].endswith(f"{created['id']}.2@acme.test>")
    assert client.post(f"/invitations/{first}/accept", json={}).status_code == 404
    assert client.post(f"/invitations/{second}/accept", json={}).status_code == 200
    assert admin("POST", f"/api/v1/invitations/{created['id']}/resend").status_code == 409


def test_inviting_someone_with_a_live_invitation_is_a_conflict_not_a_second_mail(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    invite(admin, "once@example.com")
    again = admin("POST", "/api/v1/invitations", json={"email": "ONCE@example.com", "name": "x"})
    assert again.status_code == 409
    assert again.get_json()["reason"] == "already_invited"
    assert len(inbox.to("once@example.com")) == 1


def test_an_existing_user_is_invited_by_id_at_their_primary_email(
    admin: Callable[..., Any], client: FlaskClient, tenant: TenantKeys, inbox: Inbox
) -> None:
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "grace",
        "displayName": "Grace Hopper",
        "name": {"givenName": "Grace", "familyName": "Hopper"},
        "emails": [
            {"value": "old@example.com"},
            {"value": "grace@example.com", "primary": True},
        ],
    }
    made = client.post("/scim/v2/Users", json=user, headers=tenant.auth("scim"))
    assert made.status_code == 201, made.get_json()
    created = admin("POST", "/api/v1/invitations", json={"user_id": made.get_json()["id"]})
    assert created.status_code == 201
    assert created.get_json()["email"] == "grace@example.com"
    assert len(inbox.to("grace@example.com")) == 1
    missing = admin("POST", "/api/v1/invitations", json={"user_id": "no-such-user"})
    assert missing.status_code == 404
    neither = admin("POST", "/api/v1/invitations", json={})
    assert neither.status_code == 422


def test_a_permanent_smtp_rejection_marks_the_invitation_failed_with_the_reason(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    inbox.rejected.add("nobody@example.com")
    created = invite(admin, "nobody@example.com")
    assert created["status"] == "failed"
    assert "550" in created["failure_reason"]
    assert "No such user" in created["failure_reason"]
    assert [d["outcome"] for d in created["deliveries"]] == ["failed"]
    assert created["deliveries"][0]["smtp_code"] == 550
    assert inbox.to("nobody@example.com") == []


def test_a_greylisting_reply_is_retried_and_then_delivered(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    inbox.greylist.add("grey@example.com")
    created = invite(admin, "grey@example.com")
    assert created["status"] == "sent"
    assert [d["outcome"] for d in created["deliveries"]] == ["deferred", "sent"]
    assert created["deliveries"][0]["smtp_code"] == 451
    assert len(inbox.to("grey@example.com")) == 1


def test_a_dropped_connection_is_retried_and_delivered_once(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    inbox.drop_next = 2
    created = invite(admin, "flaky@example.com")
    assert created["status"] == "sent"
    assert [d["outcome"] for d in created["deliveries"]] == ["deferred", "deferred", "sent"]
    assert len(inbox.to("flaky@example.com")) == 1


def test_a_server_that_never_takes_it_makes_the_invitation_fail_after_the_last_attempt(
    admin: Callable[..., Any], inbox: Inbox, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        runtime, "settings", runtime.settings.with_overrides(invitation_max_attempts=3)
    )
    inbox.drop_next = 10
    created = invite(admin, "never@example.com")
    assert created["status"] == "failed"
    assert created["failure_reason"].startswith("gave up after 3 attempts")
    assert inbox.to("never@example.com") == []


def test_deprovisioning_revokes_pending_invitations(
    admin: Callable[..., Any], client: FlaskClient, inbox: Inbox, runtime: Runtime,
    tenant: TenantKeys,
) -> None:  # fmt: skip
    created = invite(admin, "leaver@example.com")
    token = inbox.token(inbox.to("leaver@example.com")[0])
    count = invitation_rows.revoke_pending_for_user(
        runtime.unit_of_work(), tenant.id, created["user_id"], "scim:deprovision"
    )
    assert count == 1
    assert client.post(f"/invitations/{token}/accept", json={}).status_code == 410
    again = invitation_rows.revoke_pending_for_user(
        runtime.unit_of_work(), tenant.id, created["user_id"], "x"
    )
    assert again == 0


def test_provisioned_users_are_invited_only_when_the_tenant_enabled_it(
    admin: Callable[..., Any], client: FlaskClient, tenant: TenantKeys, inbox: Inbox,
    runtime: Runtime,
) -> None:  # fmt: skip
    def provision(name: str) -> str:
        made = client.post(
            "/scim/v2/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name,
                "emails": [{"value": name, "primary": True}],
            },
            headers=tenant.auth("scim"),
        )
        return made.get_json()["id"]

    provision("off@example.com")
    settings = admin("PUT", "/api/v1/invitations/settings", json={"invite_scim_users": True})
    assert settings.get_json()["invite_scim_users"] is True
    on = provision("on@example.com")
    with runtime.sessions() as session:
        made = session.scalars(select(Invitation).where(Invitation.tenant_id == tenant.id)).all()
    assert [(i.user_id, i.inviter_name) for i in made] == [(on, invitations.PROVISIONING_INVITER)]
    # The worker's step is safe to run again: the live invitation stops a second one.
    again = invitations.invite_on_provision(
        runtime.unit_of_work(), tenant.id, [on], "scim", runtime.settings
    )
    assert again == []
    assert len(inbox.to("on@example.com")) == 1
    assert inbox.to("off@example.com") == []


def test_settings_are_per_tenant_and_validated(admin: Callable[..., Any], runtime: Runtime) -> None:
    got = admin("GET", "/api/v1/invitations/settings").get_json()
    assert got == {
        "ttl_hours": runtime.settings.invitation_ttl_hours,
        "invite_scim_users": False,
        "rate_limit_per_minute": runtime.settings.invitation_rate_per_minute,
    }
    changed = admin("PUT", "/api/v1/invitations/settings", json={"ttl_hours": 24})
    assert changed.get_json()["ttl_hours"] == 24
    assert admin("PUT", "/api/v1/invitations/settings", json={"ttl_hours": 0}).status_code == 422


def test_a_template_with_an_unknown_field_is_refused_when_saved(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    bad = admin(
        "PUT",
        "/api/v1/invitations/template",
        json={"subject": "Hi $display_name", "text": "Go: $accept_url $password", "html": "<p/>"},
    )
    assert bad.status_code == 422
    body = bad.get_json()
    assert "'password'" in body["message"]
    assert body["errors"] == {"text": [body["message"]]}
    attribute = admin(
        "PUT",
        "/api/v1/invitations/template",
        json={"subject": "Hi ${user.__class__}", "text": "x", "html": "x"},
    )
    assert attribute.status_code == 422


def test_a_saved_template_is_used_and_values_are_escaped_in_html(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    saved = admin(
        "PUT",
        "/api/v1/invitations/template",
        json={
            "subject": "Join $tenant_name, $given_name",
            "text": "Dear $display_name, $inviter asks you: $accept_url (until $expires_at)",
            "html": '<p>Dear $display_name</p><a href="$accept_url">go</a>',
        },
    )
    assert saved.status_code == 200
    assert "accept_url" in saved.get_json()["fields_allowed"]
    response = admin(
        "POST",
        "/api/v1/invitations",
        json={"email": "x@example.com", "name": "<b>Bob</b> & co", "inviter": "Carol"},
    )
    assert response.status_code == 201
    [message] = inbox.to("x@example.com")
    assert message["Subject"] == "Join acme, <b>Bob</b>"
    assert "Dear <b>Bob</b> & co, Carol asks you" in inbox.text(message)
    assert "Dear &lt;b&gt;Bob&lt;/b&gt; &amp; co" in inbox.html(message)


def test_tenants_never_see_each_others_invitations(
    admin: Callable[..., Any], client: FlaskClient, make_tenant: Callable[[str], TenantKeys],
    inbox: Inbox,
) -> None:  # fmt: skip
    created = invite(admin, "mine@example.com")
    other = make_tenant("globex")
    headers = other.auth("admin")
    assert client.get(f"/api/v1/invitations/{created['id']}", headers=headers).status_code == 404
    assert (
        client.post(f"/api/v1/invitations/{created['id']}/revoke", headers=headers).status_code
        == 404
    )
    assert client.get("/api/v1/invitations", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/invitations", headers=other.auth("read")).status_code == 403


def test_listing_filters_by_status_and_email_and_pages(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    inbox.rejected.add("bad@example.com")
    for address in ("a@example.com", "b@example.com", "bad@example.com"):
        invite(admin, address)
    everything = admin("GET", "/api/v1/invitations?per_page=2").get_json()
    assert everything["total"] == 3 and len(everything["items"]) == 2
    failed = admin("GET", "/api/v1/invitations?status=failed").get_json()
    assert [i["email"] for i in failed["items"]] == ["bad@example.com"]
    by_email = admin("GET", "/api/v1/invitations?email=A@example.com").get_json()
    assert [i["email"] for i in by_email["items"]] == ["a@example.com"]
    assert admin("GET", "/api/v1/invitations?status=nonsense").status_code == 422


def test_the_token_never_reaches_a_log_line(
    admin: Callable[..., Any], client: FlaskClient, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    from service.observability import JsonFormatter

    caplog.set_level(logging.INFO)
    invite(admin, "quiet@example.com")
    token = inbox.token(inbox.to("quiet@example.com")[0])
    client.get(f"/invitations/{token}")
    client.post(f"/invitations/{token}/accept", json={})
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("/invitations/" in line for line in lines)
    assert not any(token in line for line in lines)


def test_names_outside_ascii_arrive_intact(admin: Callable[..., Any], inbox: Inbox) -> None:
    saved = admin(
        "PUT",
        "/api/v1/invitations/template",
        json={
            "subject": "Willkommen, $given_name",
            "text": "$display_name $accept_url",
            "html": '<a href="$accept_url">x</a>',
        },
    )
    assert saved.status_code == 200, saved.get_json()
    invite(admin, "zoe@example.com", name="Zoë Ünal")
    [message] = inbox.to("zoe@example.com")
    assert message["Subject"] == "Willkommen, Zoë"
    assert inbox.text(message).startswith("Zoë Ünal http")
