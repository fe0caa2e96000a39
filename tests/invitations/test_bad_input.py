"""Bad input on every invitation surface: the admin API, the link's public pages, CSV and
JSON bulk invites and `rolecall invite`. Each answer is a clear 4xx naming what was wrong
(the field, or the line and column of a file), never a 500 and never data silently lost.
Runs on the embedded defaults and, with ROLECALL_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.cli import main
from service.http.admin.paging import MAX_PAGE, MAX_PAGE_SIZE
from service.persistence.invitation_models import Invitation, JobRow
from service.runtime import Runtime
from tests.invitations.conftest import Inbox
from tests.invitations.test_cli_invite import cli_env  # noqa: F401  (a fixture)

Admin = Callable[..., Any]


def errors_of(response: Any) -> dict[str, Any]:
    """The fields a 422 names, wherever the error handler put them."""
    body = response.get_json()
    errors = body.get("errors") or {}
    return errors.get("json") or errors.get("query") or errors


def post_csv(admin: Admin, body: bytes) -> Any:
    return admin("POST", "/api/v1/invitations/bulk", data=body, content_type="text/csv")


def rows_of(runtime: Runtime, job_id: str) -> list[JobRow]:
    with runtime.unit_of_work().reading() as session:
        return list(session.scalars(select(JobRow).where(JobRow.job_id == job_id)))


def invitation_count(runtime: Runtime) -> int:
    with runtime.unit_of_work().reading() as session:
        return len(list(session.scalars(select(Invitation.id))))


# Addresses no mail can reach ----------------------------------------------------------

RESERVED = [
    "ada@[127.0.0.1]",
    "ada@hidden.onion",
    "ada@lab.test",
    "ada@host.invalid",
    "ada@printer.local",
    "ada@localhost",
    "a@x.localhost",
]


@pytest.mark.parametrize("address", RESERVED)
def test_an_invitation_to_a_reserved_domain_is_refused_naming_email(
    admin: Admin, runtime: Runtime, address: str
) -> None:
    response = admin("POST", "/api/v1/invitations", json={"email": address, "name": "Ada"})
    assert response.status_code == 422, response.get_json()
    assert "email" in errors_of(response)
    assert f"{address!r} is not a valid email address" in str(errors_of(response)["email"])
    assert invitation_count(runtime) == 0


def test_a_documentation_domain_is_a_real_address_and_is_invited(admin: Admin) -> None:
    # RFC 2606 keeps `.example` for documentation, but it is a syntactically valid
    # address the mail server can refuse on its own; SCIM accepts it too.
    response = admin("POST", "/api/v1/invitations", json={"email": "ada@lab.example"})
    assert response.status_code == 201, response.get_json()


def test_reserved_domains_in_a_csv_are_refused_row_by_row(admin: Admin, runtime: Runtime) -> None:
    response = post_csv(admin, b"email,name\nada@lab.test,Ada\nbob@localhost,Bob\nok@ok.com,Ok\n")
    assert response.status_code == 202
    rows = {row.line: row for row in rows_of(runtime, response.get_json()["id"])}
    assert rows[2].status == rows[3].status == "invalid"
    assert "ada@lab.test" in (rows[2].reason or "") and "reserved" in (rows[2].reason or "")
    assert rows[4].status == "sent"


def test_an_existing_user_whose_only_address_is_reserved_is_not_invited(
    admin: Admin, client: FlaskClient, tenant: Any
) -> None:
    # SCIM's userName is any string; one shaped like an address is used when the user
    # has no email, but only when mail could reach it.
    made = client.post(
        "/scim/v2/Users",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@lab.test"},
        headers=tenant.auth("scim"),
    )
    assert made.status_code == 201, made.get_json()
    response = admin("POST", "/api/v1/invitations", json={"user_id": made.get_json()["id"]})
    assert response.status_code == 422
    assert response.get_json()["reason"] == "no_email"
    assert "user_id" in errors_of(response)


# Strings longer than their column ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "a" * 64 + "@" + ("b" * 60 + ".") * 5 + "com"),
        ("name", "é" * 301),
        ("inviter", "x" * 201),
        ("user_id", "u" * 37),
    ],
)
def test_a_string_longer_than_its_column_is_refused_naming_the_field(
    admin: Admin, runtime: Runtime, field: str, value: str
) -> None:
    body = {"email": "ada@example.com", field: value}
    if field == "user_id":
        body = {"user_id": value}
    response = admin("POST", "/api/v1/invitations", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in errors_of(response)
    assert invitation_count(runtime) == 0


def test_a_long_one_word_name_fits_everywhere_it_is_stored(admin: Admin) -> None:
    # The first word of a name becomes the user's givenName, a narrower column than the name.
    response = admin("POST", "/api/v1/invitations", json={"email": "a@b.com", "name": "é" * 300})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["display_name"] == "é" * 300


@pytest.mark.parametrize("field", ["name", "inviter"])
def test_a_nul_in_an_invitation_field_is_refused_naming_it(admin: Admin, field: str) -> None:
    response = admin("POST", "/api/v1/invitations", json={"email": "a@b.com", field: "a\x00b"})
    assert response.status_code == 422
    assert field in errors_of(response)


def test_a_nul_in_a_template_is_refused_naming_the_part(admin: Admin) -> None:
    body = {"subject": "Hi\x00", "text": "$accept_url", "html": "<a href='$accept_url'>go</a>"}
    response = admin("PUT", "/api/v1/invitations/template", json=body)
    assert response.status_code == 422
    assert "subject" in errors_of(response)


def test_a_nul_in_the_email_filter_is_refused(admin: Admin) -> None:
    response = admin("GET", "/api/v1/invitations?email=a%00b")
    assert response.status_code == 422
    assert "email" in errors_of(response)


# Templates -------------------------------------------------------------------------------

TEMPLATE = {
    "subject": "Join $tenant_name",
    "text": "Hello $display_name, accept here: $accept_url",
    "html": '<p><a href="${accept_url}">Accept</a></p>',
}


@pytest.mark.parametrize("part", ["text", "html"])
def test_a_template_without_the_link_is_refused_naming_the_part(admin: Admin, part: str) -> None:
    body = {**TEMPLATE, part: "Hello $display_name, welcome aboard. ($$accept_url is not a field)"}
    response = admin("PUT", "/api/v1/invitations/template", json=body)
    assert response.status_code == 422, response.get_json()
    assert part in errors_of(response)
    assert "$accept_url" in response.get_json()["message"]
    # The template in force is unchanged.
    assert "$accept_url" in admin("GET", "/api/v1/invitations/template").get_json()[part]


def test_a_template_with_the_link_in_both_bodies_is_saved(admin: Admin) -> None:
    response = admin("PUT", "/api/v1/invitations/template", json=TEMPLATE)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["html"] == TEMPLATE["html"]


def test_template_parts_over_their_limit_are_refused_naming_them(admin: Admin) -> None:
    body = {**TEMPLATE, "subject": "s" * 501}
    response = admin("PUT", "/api/v1/invitations/template", json=body)
    assert response.status_code == 422
    assert "subject" in errors_of(response)


# Accepting once, whatever the database -----------------------------------------------------


def test_of_eight_concurrent_accepts_exactly_one_wins(
    admin: Admin, app: Flask, inbox: Inbox, runtime: Runtime
) -> None:
    assert (
        admin("POST", "/api/v1/invitations", json={"email": "ada@example.com"}).status_code == 201
    )
    token = inbox.token(inbox.to("ada@example.com")[0])
    start = threading.Barrier(8)
    answers: list[int] = []
    lock = threading.Lock()

    def accept() -> None:
        client = app.test_client()
        start.wait()
        status = client.post(f"/invitations/{token}/accept", json={}).status_code
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=accept) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == [200] + [410] * 7, answers
    with runtime.unit_of_work().reading() as session:
        [accepted] = session.scalars(select(Invitation.status))
    assert accepted == "accepted"


# The public pages --------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["rci_" + "x" * 500, "rci_", "rci_%E9%FF", "rci_..%5C.."])
def test_a_malformed_link_is_not_found_on_the_page_and_on_accept(
    client: FlaskClient, token: str
) -> None:
    assert client.get(f"/invitations/{token}").status_code == 404
    answer = client.post(f"/invitations/{token}/accept", json={})
    assert answer.status_code == 404
    assert answer.get_json()["reason"] == "unknown_invitation"


def test_a_revoked_link_is_gone_on_the_page_and_on_accept(
    admin: Admin, client: FlaskClient, inbox: Inbox
) -> None:
    made = admin("POST", "/api/v1/invitations", json={"email": "ada@example.com"}).get_json()
    token = inbox.token(inbox.to("ada@example.com")[0])
    assert admin("POST", f"/api/v1/invitations/{made['id']}/revoke").status_code == 200
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 410 and b"withdrawn" in page.data
    answer = client.post(f"/invitations/{token}/accept", data={"ignored": "form"})
    assert answer.status_code == 410 and b"withdrawn" in answer.data
    assert client.post(f"/invitations/{token}/accept", json={}).get_json()["reason"] == (
        "invitation_revoked"
    )


# Ids and paging on the admin API ---------------------------------------------------------


@pytest.mark.parametrize(
    "invitation_id", ["00000000-0000-0000-0000-000000000000", "nope", "x" * 300, "%FF"]
)
@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("POST", "/resend"), ("POST", "/revoke")]
)
def test_an_unknown_invitation_id_is_404_naming_id(
    admin: Admin, invitation_id: str, method: str, suffix: str
) -> None:
    response = admin(method, f"/api/v1/invitations/{invitation_id}{suffix}")
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["reason"] == "not_found"
    assert "id" in errors_of(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/invitations/rci_a%00b"),
        ("POST", "/invitations/%00/accept"),
        ("GET", "/api/v1/invitations/a%00b"),
        ("POST", "/api/v1/invitations/a%00b/resend"),
        ("POST", "/api/v1/invitations/a%00b/revoke"),
    ],
)
def test_a_nul_in_a_link_or_id_matches_no_route(admin: Admin, method: str, path: str) -> None:
    # The app's URL converter refuses NUL in every path segment, before any view runs.
    assert admin(method, path).status_code == 404


def test_another_tenants_invitation_id_is_404(
    admin: Admin, client: FlaskClient, make_tenant: Callable[[str], Any]
) -> None:
    made = admin("POST", "/api/v1/invitations", json={"email": "ada@example.com"}).get_json()
    other = make_tenant("globex")
    for suffix, method in (("", "GET"), ("/resend", "POST"), ("/revoke", "POST")):
        response = client.open(
            f"/api/v1/invitations/{made['id']}{suffix}", method=method, headers=other.auth("admin")
        )
        assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "page=99999999999999999999",
        "page=0",
        "page=-1",
        "page=2147483648",
        "per_page=99999999999999999999",
        "per_page=0",
        "page=1e3",
        "status=opened",
    ],
)
def test_paging_numbers_out_of_range_are_422_naming_them(admin: Admin, query: str) -> None:
    response = admin("GET", f"/api/v1/invitations?{query}")
    assert response.status_code == 422, response.get_json()
    assert query.split("=")[0] in errors_of(response)


def test_the_last_page_that_can_be_asked_for_is_empty_not_an_error(admin: Admin) -> None:
    response = admin("GET", f"/api/v1/invitations?page={MAX_PAGE}&per_page={MAX_PAGE_SIZE}")
    assert response.status_code == 200
    assert response.get_json()["items"] == []


@pytest.mark.parametrize(
    "body", [{"ttl_hours": 99999999999999999999}, {"rate_limit_per_minute": -1}, {"x": 1}]
)
def test_settings_out_of_range_are_422(admin: Admin, body: dict[str, Any]) -> None:
    response = admin("PUT", "/api/v1/invitations/settings", json=body)
    assert response.status_code == 422
    assert set(body) <= set(errors_of(response))


# CSV files -------------------------------------------------------------------------------


def test_a_csv_with_cr_only_line_ends_is_read_like_any_other(
    admin: Admin, runtime: Runtime
) -> None:
    response = post_csv(admin, b"email,name\rada@example.com,Ada\rbob@example.com,Bob\r")
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["totals"]["valid"] == 2


def test_a_field_over_the_csv_field_limit_is_refused_naming_its_line(admin: Admin) -> None:
    big = b"x" * (140 * 1024)
    response = post_csv(admin, b"email,name\nada@example.com,Ada\nbob@example.com," + big + b"\n")
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["reason"] == "unreadable_csv"
    assert "line 3" in response.get_json()["message"]
    assert "file" in errors_of(response)


@pytest.mark.parametrize("body", [b'{"rows": [', b"[" * 100_000 + b"]" * 100_000])
def test_json_rows_that_do_not_parse_are_400_like_every_json_body(
    admin: Admin, body: bytes
) -> None:
    response = admin("POST", "/api/v1/invitations/bulk", data=body, content_type="application/json")
    assert response.status_code == 400, response.get_json()


def test_a_file_larger_than_other_bodies_may_be_is_still_read(
    admin: Admin, runtime: Runtime
) -> None:
    # Past max_request_bytes (413 on any other endpoint) but under bulk_invite_max_bytes:
    # the file is read, and its over-long field is what is refused.
    big = b"x" * (runtime.settings.max_request_bytes + 1024)
    response = post_csv(admin, b"email,name\nada@example.com," + big + b"\n")
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["reason"] == "unreadable_csv"


def test_a_file_over_the_bulk_upload_limit_is_413(admin: Admin, runtime: Runtime) -> None:
    big = b"x" * (runtime.settings.bulk_invite_max_bytes + 1)
    response = post_csv(admin, b"email,name\nada@example.com," + big + b"\n")
    assert response.status_code == 413, response.get_json()
    assert response.get_json()["reason"] == "too_large"


def test_an_unterminated_quote_is_refused_naming_its_line(admin: Admin) -> None:
    response = post_csv(admin, b'email,name\nada@example.com,"Ada\nbob@example.com,Bob\n')
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["reason"] == "unreadable_csv"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (b"ada@example.com,A\x00da", "name"),
        (b"ad\x00a@example.com,Ada", "email"),
        (b"ada@example.com," + "é".encode() * 301, "name"),
    ],
)
def test_a_bad_value_makes_its_row_invalid_naming_line_and_column(
    admin: Admin, runtime: Runtime, row: bytes, column: str
) -> None:
    response = post_csv(admin, b"email,name\nok@example.com,Ok\n" + row + b"\n")
    assert response.status_code == 202, response.get_json()
    rows = {r.line: r for r in rows_of(runtime, response.get_json()["id"])}
    assert rows[2].status == "sent"
    assert rows[3].status == "invalid"
    assert (rows[3].reason or "").startswith(f"{column}:"), rows[3].reason
    assert "\x00" not in rows[3].email + rows[3].name


def test_role_scope_and_account_over_their_column_are_invalid_rows(
    admin: Admin, runtime: Runtime
) -> None:
    response = admin(
        "POST",
        "/api/v1/invitations/bulk",
        json={"rows": [{"email": "a@example.com", "name": "A", "role": "r" * 201, "scope": "s"}]},
    )
    assert response.status_code == 202, response.get_json()
    [row] = rows_of(runtime, response.get_json()["id"])
    assert row.status == "invalid"
    assert (row.reason or "").startswith("role:")


def test_nul_in_json_rows_is_an_invalid_row_not_a_500(admin: Admin, runtime: Runtime) -> None:
    response = admin(
        "POST", "/api/v1/invitations/bulk", json={"rows": [{"email": "a@b.com", "name": "\x00"}]}
    )
    assert response.status_code == 202, response.get_json()
    [row] = rows_of(runtime, response.get_json()["id"])
    assert row.status == "invalid" and (row.reason or "").startswith("name:")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty_file"),
        (b"\xef\xbb\xbf \n", "empty_file"),
        (b"email,name\n", "no_rows"),
        (b"name\nAda\n", "missing_header"),
        (b"email\x00,name\nada@example.com,Ada\n", "missing_header"),
        (b"email,name\nada@example.com,\xe9\n", "bad_encoding"),
        (b"\xff\xfee\x00m\x00", "bad_encoding"),
        (b"email,name" + b",extra" * 5000 + b"\n", "unknown_column"),
        (b"email,name,email\nada@example.com,Ada,ada@example.com\n", "duplicate_column"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_as_a_whole(
    admin: Admin, runtime: Runtime, body: bytes, reason: str
) -> None:
    response = post_csv(admin, body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["reason"] == reason
    assert "file" in errors_of(response)
    assert len(response.get_json()["message"]) < 1000
    assert invitation_count(runtime) == 0


def test_a_row_with_too_many_cells_is_invalid_and_says_how_many(
    admin: Admin, runtime: Runtime
) -> None:
    response = post_csv(admin, b"email,name\nada@example.com,Ada" + b",x" * 10_000 + b"\n")
    assert response.status_code == 202
    [row] = rows_of(runtime, response.get_json()["id"])
    assert row.status == "invalid" and "found 10002" in (row.reason or "")


def test_more_rows_than_a_job_takes_are_refused_before_anything_is_stored(
    admin: Admin, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        runtime, "settings", runtime.settings.with_overrides(bulk_invite_max_rows=3)
    )
    body = b"email,name\n" + b"".join(b"p%d@example.com,P\n" % n for n in range(4))
    response = post_csv(admin, body)
    assert response.status_code == 422
    assert response.get_json()["reason"] == "too_many_rows"
    assert "at most 3 rows" in response.get_json()["message"]
    json_rows = [{"email": f"p{n}@example.com", "name": "P"} for n in range(4)]
    response = admin("POST", "/api/v1/invitations/bulk", json={"rows": json_rows})
    assert response.status_code == 422
    assert response.get_json()["reason"] == "too_many_rows"
    assert invitation_count(runtime) == 0


# The CLI ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"email,name\nbob@example.com," + b"x" * (140 * 1024) + b"\n", "line 2"),
        (b"email,name\r\xff\r", "not UTF-8"),
    ],
)
def test_the_cli_refuses_an_unreadable_file_with_a_message_not_a_traceback(
    cli_env: Inbox,  # noqa: F811
    tmp_path: Path,
    content: bytes,
    expected: str,
) -> None:
    people = tmp_path / "people.csv"
    people.write_bytes(content)
    result = CliRunner().invoke(main, ["invite", "--tenant", "initech", str(people)])
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert cli_env.messages == []


def test_the_cli_reads_cr_only_files_and_refuses_reserved_domains_by_line(
    cli_env: Inbox,  # noqa: F811
    tmp_path: Path,
) -> None:
    people = tmp_path / "people.csv"
    people.write_bytes(b"email,name\rbob@lab.invalid,Bob\rann@initech.example.com,Ann\r")
    result = CliRunner().invoke(main, ["invite", "--tenant", "initech", str(people)])
    assert result.exit_code == 0, result.output
    assert "line 2: 'bob@lab.invalid' is not a valid email address" in result.stderr
    assert cli_env.recipients() == ["ann@initech.example.com"]
