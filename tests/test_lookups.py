"""``pk__any_of``: the same rows as ``pk__in``, whatever the database (one array on PostgreSQL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import User


@pytest.fixture
def users(make_user):
    return [make_user(f"u{i}@contoso.example") for i in range(5)]


def test_any_of_selects_exactly_the_listed_rows(users):
    wanted = [users[0].pk, users[3].pk, users[3].pk, 10**9]  # a repeat and an unknown id
    got = sorted(User.objects.filter(pk__any_of=wanted).values_list("pk", flat=True))
    assert got == sorted({users[0].pk, users[3].pk})
    assert User.objects.filter(pk__any_of=[str(users[1].pk)]).get() == users[1]


def test_any_of_an_empty_list_matches_nothing_and_updates_nothing(users):
    assert User.objects.filter(pk__any_of=[]).update(first_name="x") == 0
    assert not User.objects.filter(first_name="x").exists()


def test_any_of_sends_one_parameter_for_any_number_of_ids_on_postgresql(users):
    ids = [u.pk for u in users] + list(range(10**6, 10**6 + 2000))
    with CaptureQueriesContext(connection) as queries:
        assert User.objects.filter(pk__any_of=ids).count() == len(users)
    sql = queries.captured_queries[-1]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and " IN (" not in sql
    else:
        assert " IN (" in sql
