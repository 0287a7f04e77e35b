"""A resource name cannot break or split the Content-Disposition header of its export."""

from __future__ import annotations

from email.message import Message

import pytest

from assignments.models import AcsResource


def _parsed(header: str) -> Message:
    message = Message()
    message["Content-Disposition"] = header
    return message


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ['evil"; filename="x.exe', "two\r\nSet-Cookie: stolen=1", "tab\tand\\slash", "Zürich ☎"],
    ids=["quote", "crlf", "backslash", "unicode"],
)
def test_assignment_export_header_stays_one_attachment(operator_client, name):
    resource = AcsResource.objects.create(name=name, endpoint="https://one.invalid")

    response = operator_client.get(f"/resources/{resource.pk}/export.csv")

    assert response.status_code == 200
    header = response["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    assert "stolen" not in response.headers.get("Set-Cookie", "")
    parsed = _parsed(header)
    assert parsed.get_content_disposition() == "attachment"
    # A browser saves the file under the resource's name, not under a name the name injected.
    params = [key for key, _ in parsed.get_params(header="content-disposition")[1:]]
    assert len(params) == 1
    assert parsed.get_filename().startswith(name)
    assert parsed.get_filename().endswith(".csv")
