"""The list rows' cheap filters write what Django's ``date`` filter and ``{% url %}`` wrote."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.urls import reverse


@pytest.mark.parametrize(
    ("django", "ours"),
    [('"c"', ""), ('"Y-m-d"', ':"%Y-%m-%d"'), ('"Y-m-d H:i"', ':"%Y-%m-%d %H:%M"')],
)
@pytest.mark.parametrize(
    "value",
    [datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC), datetime(2026, 12, 1, 23, 59, tzinfo=UTC)],
)
def test_utc_writes_what_the_date_filter_wrote(django, ours, value):
    theirs = Template("{{ v|date:" + django + " }}").render(Context({"v": value}))
    mine = Template("{% load rows %}{{ v|utc" + ours + " }}").render(Context({"v": value}))
    assert mine == theirs


def test_utc_of_nothing_is_empty():
    assert Template("{% load rows %}[{{ v|utc }}]").render(Context({"v": None})) == "[]"


def test_object_url_is_the_route_of_the_id(db):
    html = Template("{% load rows %}{{ pk|object_url:'tenants:detail' }}").render(
        Context({"pk": 42})
    )
    assert html == reverse("tenants:detail", args=[42])
