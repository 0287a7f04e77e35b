"""``get_FOO_display()`` from a dictionary built once per field.

Django builds ``dict(make_hashable(field.flatchoices))`` on every call; for the audit log's
action (over a hundred choices) that is about 25 µs a row, and list pages call it for every
row. Models that show choice labels in lists take ``ChoiceLabels`` first in their bases.
Labels stay lazy in the dictionary, so they are translated when shown, as Django's are.
"""

from __future__ import annotations

from functools import cache

from django.utils.encoding import force_str
from django.utils.hashable import make_hashable


@cache
def _labels(field) -> dict:
    return dict(make_hashable(field.flatchoices))


class ChoiceLabels:
    def _get_FIELD_display(self, field):
        value = getattr(self, field.attname)
        return force_str(_labels(field).get(make_hashable(value), value), strings_only=True)
