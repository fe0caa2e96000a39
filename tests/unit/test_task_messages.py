"""What a task message shows of its arguments to monitoring (Celery's kwargsrepr)."""

from __future__ import annotations

from service.runtime import kwargs_summary


def test_a_task_message_shows_lists_by_their_length_and_the_rest_as_they_are() -> None:
    summary = kwargs_summary({"tenant_id": "t-1", "user_ids": ["a"] * 1000, "actor": None})
    assert summary == "{'tenant_id': 't-1', 'user_ids': '<1000 items>', 'actor': None}"


def test_a_long_summary_is_cut_to_what_celery_would_keep() -> None:
    assert len(kwargs_summary({"note": "x" * 5000})) == 1024
