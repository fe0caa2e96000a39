"""Bulk invites: CSV or JSON in, a job out, every row accounted for exactly."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from service.services import bulk_invites
from tests.conftest import TenantKeys
from tests.invitations.conftest import Inbox

CSV = (
    "email,name\n"
    "ada@example.com,Ada Lovelace\n"
    "not-an-email,Nobody\n"
    "grace@example.com,Grace Hopper\n"
    "ADA@example.com,Ada again\n"
    "alan@example.com,Alan Turing\n"
)


def post_csv(admin: Callable[..., Any], body: bytes | str, query: str = "") -> Any:
    data = body.encode() if isinstance(body, str) else body
    return admin("POST", f"/api/v1/invitations/bulk{query}", data=data, content_type="text/csv")


def job(admin: Callable[..., Any], job_id: str, query: str = "") -> dict[str, Any]:
    response = admin("GET", f"/api/v1/jobs/{job_id}{query}")
    assert response.status_code == 200
    return response.get_json()


def test_a_csv_invites_the_good_rows_and_reports_each_bad_one_by_line(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    response = post_csv(admin, CSV)
    assert response.status_code == 202, response.get_json()
    submitted = response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{submitted['id']}"
    errors = {row["line"]: row["reason"] for row in submitted["errors"]}
    assert errors == {
        3: "'not-an-email' is not a valid email address: An email address must have an @-sign.",
        5: "duplicate of line 2 (ADA@example.com)",
    }
    done = job(admin, submitted["id"])
    assert done["status"] == "completed"
    assert done["finished_at"] is not None
    assert done["totals"] == {
        "rows": 5, "valid": 3, "invalid": 2, "queued": 0, "processing": 0,
        "sent": 3, "failed": 0, "skipped": 0,
    }  # fmt: skip
    assert sorted(inbox.recipients()) == [
        "ada@example.com",
        "alan@example.com",
        "grace@example.com",
    ]
    assert inbox.to("ada@example.com")[0]["Subject"] == "You are invited to acme"


def test_resubmitting_the_same_file_invites_nobody_twice(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    first = post_csv(admin, CSV).get_json()
    second = post_csv(admin, CSV).get_json()
    totals = job(admin, second["id"])["totals"]
    assert totals["sent"] == 0
    assert totals["skipped"] == 3
    assert len(inbox.messages) == 3
    rows = job(admin, second["id"], "?status=skipped")["results"]
    assert {row["reason"] for row in rows} == {"already invited (sent)"}
    assert first["id"] != second["id"]


def test_a_multipart_upload_works_like_a_csv_body(admin: Callable[..., Any], inbox: Inbox) -> None:
    response = admin(
        "POST",
        "/api/v1/invitations/bulk",
        data={"file": (io.BytesIO(b"name;email\nLin;lin@example.com\n"), "people.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    assert job(admin, response.get_json()["id"])["totals"]["sent"] == 1
    assert inbox.recipients() == ["lin@example.com"]


def test_json_rows_are_numbered_from_one(admin: Callable[..., Any], inbox: Inbox) -> None:
    response = admin(
        "POST",
        "/api/v1/invitations/bulk",
        json={"rows": [{"email": "j@example.com", "name": "J"}, {"email": "bad"}, "x"]},
    )
    assert response.status_code == 202
    errors = {row["line"]: row["reason"] for row in response.get_json()["errors"]}
    assert errors == {
        2: "'bad' is not a valid email address: An email address must have an @-sign.",
        3: "each row must be an object with email and name",
    }
    assert inbox.recipients() == ["j@example.com"]


def test_all_or_nothing_invites_no_one_when_a_row_is_bad(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    response = post_csv(admin, CSV, "?all_or_nothing=true")
    assert response.status_code == 422
    message = response.get_json()["message"]
    assert "2 of 5 rows are invalid" in message
    assert "line 3: 'not-an-email' is not a valid email address" in message
    assert inbox.messages == []
    good = post_csv(admin, "email,name\nok@example.com,Ok\n", "?all_or_nothing=true")
    assert good.status_code == 202


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    body = "email,name\nzoe@example.com,Zoë\n".encode("latin-1")
    response = post_csv(admin, body)
    assert response.status_code == 422
    assert response.get_json()["reason"] == "bad_encoding"
    assert "line 2" in response.get_json()["message"]
    assert "0xeb" in response.get_json()["message"]


def test_a_file_without_a_header_is_refused(admin: Callable[..., Any], inbox: Inbox) -> None:
    response = post_csv(admin, "ada@example.com,Ada\n")
    assert response.status_code == 422
    assert response.get_json()["reason"] == "missing_header"
    lacking = post_csv(admin, "email,role\nada@example.com,viewer\n")
    assert lacking.status_code == 422
    assert "lacks the column(s) name" in lacking.get_json()["message"]
    unknown = post_csv(admin, "email,name,password\na@example.com,A,x\n")
    assert unknown.status_code == 422
    assert "'password'" in unknown.get_json()["message"]
    assert post_csv(admin, "").status_code == 422
    assert post_csv(admin, "email,name\n").status_code == 422
    assert inbox.messages == []


def test_rows_with_the_wrong_number_of_fields_are_reported(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    response = post_csv(admin, "email,name\na@example.com,A,extra\nb@example.com,B\n")
    assert response.status_code == 202
    [error] = response.get_json()["errors"]
    assert error["line"] == 2
    assert error["reason"] == "expected 2 fields (email, name), found 3"


def test_other_content_types_are_415(admin: Callable[..., Any]) -> None:
    response = admin(
        "POST", "/api/v1/invitations/bulk", data=b"<x/>", content_type="application/xml"
    )
    assert response.status_code == 415


def test_a_rejected_address_fails_its_row_and_the_others_go_through(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    inbox.rejected.add("grace@example.com")
    inbox.drop_next = 1
    submitted = post_csv(admin, CSV).get_json()
    final = job(admin, submitted["id"])
    assert final["totals"]["sent"] == 2
    assert final["totals"]["failed"] == 1
    [failed] = job(admin, submitted["id"], "?status=failed")["results"]
    assert failed["email"] == "grace@example.com"
    assert "550" in failed["reason"]
    assert sorted(inbox.recipients()) == ["ada@example.com", "alan@example.com"]


def test_a_big_job_is_cut_in_batches_and_its_results_are_paginated(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    count = bulk_invites.BATCH_SIZE * 2 + 7
    lines = "\n".join(f"p{i}@example.com,Person {i}" for i in range(count))
    submitted = post_csv(admin, f"email,name\n{lines}\n").get_json()
    final = job(admin, submitted["id"], "?per_page=50&page=5")
    assert final["totals"]["sent"] == count
    assert final["total_results"] == count
    assert [r["line"] for r in final["results"]] == list(range(202, 209))
    assert len(inbox.messages) == count
    assert len(set(inbox.recipients())) == count
    listed = admin("GET", "/api/v1/jobs").get_json()
    assert listed["items"][0]["id"] == submitted["id"]


def test_jobs_are_private_to_their_tenant(
    admin: Callable[..., Any], client: FlaskClient, make_tenant: Callable[[str], TenantKeys],
    inbox: Inbox,
) -> None:  # fmt: skip
    submitted = post_csv(admin, CSV).get_json()
    other = make_tenant("globex")
    assert (
        client.get(f"/api/v1/jobs/{submitted['id']}", headers=other.auth("admin")).status_code
        == 404
    )


def test_a_tenant_that_invites_provisioned_users_still_mails_each_row_once(
    admin: Callable[..., Any], inbox: Inbox
) -> None:
    admin("PUT", "/api/v1/invitations/settings", json={"invite_scim_users": True})
    submitted = post_csv(admin, CSV).get_json()
    totals = job(admin, submitted["id"])["totals"]
    assert (totals["sent"], totals["skipped"]) == (3, 0)
    assert sorted(inbox.recipients()) == [
        "ada@example.com",
        "alan@example.com",
        "grace@example.com",
    ]
