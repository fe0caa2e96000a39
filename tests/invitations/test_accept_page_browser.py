"""The accept page in a real headless browser (Debian's chromium, driven by Playwright):
it renders, accepting works once, and a reused or expired link says so clearly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from service.persistence.base import utcnow
from service.persistence.invitation_models import Invitation
from service.runtime import Runtime
from tests.invitations.conftest import Inbox


def invited(admin: Callable[..., Any], inbox: Inbox, email: str) -> tuple[str, str]:
    created = admin("POST", "/api/v1/invitations", json={"email": email, "name": "Rosa Parks"})
    assert created.status_code == 201
    return created.get_json()["id"], Inbox.token(inbox.to(email)[0])


def test_a_person_accepts_once_in_a_browser_and_a_second_visit_says_it_was_used(
    admin: Callable[..., Any], inbox: Inbox, live_url: str, page: Any
) -> None:
    _, token = invited(admin, inbox, "rosa@example.com")
    response = page.goto(f"{live_url}/invitations/{token}")
    assert response.status == 200
    assert page.title() == "You are invited"
    assert "Hello Rosa Parks" in page.inner_text("main")
    page.click("#accept")
    page.wait_for_selector("#result")
    assert page.title() == "Invitation accepted"
    assert "You have accepted the invitation" in page.inner_text("#result")

    again = page.goto(f"{live_url}/invitations/{token}")
    assert again.status == 410
    assert "This invitation has been used already." in page.inner_text("#result")
    assert page.locator("#accept").count() == 0


def test_an_expired_link_shows_a_clear_message_in_the_browser(
    admin: Callable[..., Any], inbox: Inbox, live_url: str, page: Any, runtime: Runtime
) -> None:
    invitation_id, token = invited(admin, inbox, "late@example.com")
    with runtime.unit_of_work() as uow:
        session = uow.session
        session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    response = page.goto(f"{live_url}/invitations/{token}")
    assert response.status == 410
    assert page.title() == "Invitation expired"
    assert "This invitation has expired" in page.inner_text("#result")


def test_a_link_reused_from_an_open_tab_is_refused_in_the_browser(
    admin: Callable[..., Any], inbox: Inbox, live_url: str, page: Any
) -> None:
    _, token = invited(admin, inbox, "tab@example.com")
    page.goto(f"{live_url}/invitations/{token}")
    # Someone accepts it elsewhere first (another tab, a forwarded mail).
    import requests

    assert requests.post(f"{live_url}/invitations/{token}/accept", json={}, timeout=5).ok
    page.click("#accept")
    page.wait_for_selector("#result")
    assert page.title() == "Invitation already used"
    assert "used already" in page.inner_text("#result")


def test_an_unknown_link_shows_not_found(live_url: str, page: Any) -> None:
    response = page.goto(f"{live_url}/invitations/rci_not-a-real-token-at-all")
    assert response.status == 404
    assert "not valid" in page.inner_text("#result")
