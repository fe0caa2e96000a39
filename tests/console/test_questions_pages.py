"""The console's Questions pages: Explain (why a user has, or lacks, an area at a level
on a scope, with the chains) and Who can (the users holding it, paged as the service
pages them). Plain GET forms; a refused question names its field; another tenant's
users and scopes are not found."""

from __future__ import annotations

import re
from html import unescape

from tests.console.conftest import Console
from tests.console.model_seed import Globex, Reeport
from tests.console.model_seed import admin as admin  # the fixtures
from tests.console.model_seed import directory as directory
from tests.console.model_seed import globex as globex
from tests.console.model_seed import reeport as reeport


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def answer_of(page: str) -> str:
    return text(page.split('id="answer"')[1].split(">", 1)[1].split("</section>")[0])


def test_the_explain_form_offers_the_tenant_s_areas_and_scopes(
    console: Console, reeport: Reeport, globex: Globex
) -> None:
    page = console.get("/console/explain").get_data(as_text=True)
    assert '<option value="reporting/edit">Edit (reporting/edit)</option>' in page
    assert f'<option value="{reeport.report_2}">Reeport Org &gt; Folder 2 &gt; Report 2' in page
    assert 'id="answer"' not in page
    assert globex.scope not in page


def test_explain_names_the_chain_that_grants_it(console: Console, reeport: Reeport) -> None:
    asked = {"user": "bob@reeport.example", "area": "reporting/edit", "level": "granted",
             "scope": reeport.report_2}  # fmt: skip
    response = console.get("/console/explain", query_string=asked)
    assert response.status_code == 200
    answer = answer_of(response.get_data(as_text=True))
    assert answer.startswith(" Yes: bob@reeport.example holds reporting/edit at granted there")
    assert f"Granted by Through Role Held at Level group(s) {reeport.editors}" in answer
    assert f"mapping {reeport.editors_mapping} Edit reporting/edit" in answer
    assert "Reeport Org > Folder 2 (inherited) granted" in answer


def test_explain_says_why_not(console: Console, reeport: Reeport) -> None:
    asked = {"user": "ann@reeport.example", "area": "reporting/edit", "level": "granted",
             "scope": reeport.folder_1}  # fmt: skip
    answer = answer_of(console.get("/console/explain", query_string=asked).get_data(as_text=True))
    assert answer.startswith(" No: ann@reeport.example lacks reporting/edit at granted there")
    assert "no assignment reaches it" in answer
    assert "Level held there none" in answer


def test_a_refused_question_names_the_field(console: Console, reeport: Reeport) -> None:
    no_user = console.get(
        "/console/explain",
        query_string={"area": "reporting/edit", "level": "granted", "scope": reeport.org},
    )
    assert no_user.status_code == 422
    assert 'id="user-error"' in no_user.get_data(as_text=True)
    bad_level = console.get(
        "/console/who-can",
        query_string={"area": "reporting/edit", "level": "superuser", "scope_id": reeport.org},
    )
    assert bad_level.status_code == 422
    assert 'id="level-error"' in bad_level.get_data(as_text=True)


def test_another_tenant_s_user_and_scope_are_not_found(
    console: Console, reeport: Reeport, globex: Globex
) -> None:
    theirs = {"user": "spy@globex.example", "area": "reporting/view", "level": "granted",
              "scope": reeport.org}  # fmt: skip
    refused = console.get("/console/explain", query_string=theirs)
    assert refused.status_code == 404
    assert 'id="user-error"' in refused.get_data(as_text=True)
    their_scope = console.get(
        "/console/who-can",
        query_string={"area": "reporting/view", "level": "granted", "scope_id": globex.scope},
    )
    assert their_scope.status_code == 404
    body = their_scope.get_data(as_text=True)
    assert 'id="scope_id-error"' in body and "Globex Secret Org" not in body


def test_who_can_lists_the_users_with_their_chains(console: Console, reeport: Reeport) -> None:
    asked = {"area": "reporting/view", "level": "granted", "scope_id": reeport.report_1}
    response = console.get("/console/who-can", query_string=asked)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    answer = answer_of(page)
    users = sorted(
        re.findall(r"(\w+)@reeport\.example", page.split('id="who-can"')[1].split("</table>")[0])
    )
    assert users == ["ann", "cat", "eve"]  # Viewers at the org, and Eve's manage at the report
    assert "group 'Viewers'" in answer and "direct assignment" in answer
    assert "users on this page, the last" in answer.replace("user(s)", "users")


def test_who_can_pages_with_the_service_s_cursor(console: Console, reeport: Reeport) -> None:
    asked = {"area": "reporting/view", "level": "granted", "scope_id": reeport.report_1,
             "limit": "2"}  # fmt: skip
    first = console.get("/console/who-can", query_string=asked).get_data(as_text=True)
    link = re.search(r'<a href="(/console/who-can\?[^"]+)">Next page</a>', first)
    assert link, "a page that is not the last links the next"
    second = console.get(unescape(link.group(1))).get_data(as_text=True)
    seen = re.findall(r"(\w+)@reeport\.example</a>", first + second)
    assert sorted(seen) == ["ann", "cat", "eve"]
