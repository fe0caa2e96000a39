"""The console's provisioning log: every SCIM operation with its IdP, outcome and
reason, found through a plain GET form of filters, a page at a time, and in a real
browser an IdP's rejected request found by its reason."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.console.conftest import OKTA, BrowserConsole, Console, Demo, scim

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ROW = re.compile(r'<tr data-entry-id="[^"]+">(.*?)</tr>', re.S)


def rows(page: str) -> list[str]:
    """The table's rows as the text a person reads, one line each."""
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in ROW.findall(page)
    ]


def test_the_log_shows_each_operation_with_its_idp_outcome_and_reason(
    demo: Demo, console: Console
) -> None:
    page = console.get("/console/provisioning")
    assert page.status_code == 200
    shown = [row.split(" UTC ")[1] for row in rows(page.get_data(as_text=True))]
    assert shown[0] == (
        "Okta create User rejected 400 invalidValue: "
        "Field 'userName' is required but value is missing, null or empty"
    )
    assert shown[1] == f"Entra ID create Group Finance editors {demo.editors} applied —"
    assert [row.split(" ")[:4] for row in shown[2:]] == [["Entra", "ID", "create", "User"]] * 2


def test_the_filter_form_narrows_the_log_and_keeps_what_was_chosen(
    demo: Demo, console: Console
) -> None:
    page = console.get(
        "/console/provisioning",
        query_string={"outcome": "applied", "resource_type": "User", "reason_contains": ""},
    ).get_data(as_text=True)
    shown = rows(page)
    assert [row.split(" UTC ")[1] for row in shown] == [
        f"Entra ID create User grace@acme.test {demo.grace} applied —",
        f"Entra ID create User ada@acme.test {demo.ada} applied —",
    ]
    assert '<option value="applied" selected>' in page
    assert '<option value="User" selected>' in page
    found = rows(
        console.get("/console/provisioning", query_string={"reason_contains": "USERNAME"}).get_data(
            as_text=True
        )
    )
    assert len(found) == 1 and "rejected" in found[0]


def test_a_bad_filter_is_shown_beside_its_field(demo: Demo, console: Console) -> None:
    response = console.get("/console/provisioning", query_string={"outcome": "exploded"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="outcome-error">[^<]*Must be one of', page)
    assert 'aria-invalid="true" aria-describedby="outcome-error"' in page


def test_the_log_pages_fifty_at_a_time_and_the_pager_keeps_the_filters(
    console: Console, client: FlaskClient, tenant: TenantKeys
) -> None:
    for number in range(51):
        refused = scim(client, tenant, "PATCH", f"/Users/missing-{number}", {}, OKTA)
        assert refused.status_code in (400, 404)
    first = console.get("/console/provisioning", query_string={"outcome": "rejected"})
    page = first.get_data(as_text=True)
    assert len(rows(page)) == 50
    assert "51 operations; page 1 of 2" in page
    older = re.search(r'<a href="([^"]+)" rel="next">Older</a>', page)
    assert older is not None
    second = console.get(html.unescape(older.group(1))).get_data(as_text=True)
    assert len(rows(second)) == 1
    assert "page 2 of 2" in second and 'rel="prev"' in second
    assert '<option value="rejected" selected>' in second


def test_a_tenant_sees_only_its_own_operations(
    demo: Demo, make_console: Callable[[str], Console], make_tenant: Callable[[str], TenantKeys]
) -> None:
    other = make_tenant("globex")
    page = make_console(other.admin).get("/console/provisioning").get_data(as_text=True)
    assert rows(page) == []
    assert "No SCIM operation yet" in page


def test_an_idps_rejected_request_is_found_by_its_reason_in_the_browser(
    demo: Demo, signed_in_page: BrowserConsole
) -> None:
    page = signed_in_page.page
    page.get_by_role("link", name="Provisioning log").click()
    page.wait_for_url(re.compile(r"/console/provisioning$"))
    assert page.title() == "Provisioning log · rolecall console"
    page.get_by_label("Reason contains").fill("required")
    page.get_by_label("Outcome").select_option(label="rejected")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"reason_contains=required"))
    found = page.locator("#provisioning-log tbody tr")
    assert found.count() == 1
    text = found.inner_text()
    assert "Okta" in text and "rejected" in text
    assert "400 invalidValue: Field 'userName' is required" in text
    assert page.get_by_label("Reason contains").input_value() == "required"
