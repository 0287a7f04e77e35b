"""The tenant state machine: the table itself, and random lives walked through the services.

The stateful test plays an operator, Microsoft's consent answers (in the query shapes Entra
sends) and checks through Graph against cloudsim, in random order, and after every step checks
the invariants of issue 13.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids
from tenants import errors, graph, graph_auth, lifecycle, tasks
from tenants.actions import consent, registration
from tenants.lifecycle import Event
from tenants.models import ConsentCheck, ConsentLink, CustomerTenant, TenantStatus

README = Path(__file__).resolve().parents[2] / "README.md"
# What the machine events come from; operator refusals are TenantError with a clear message.
MOVES_FROM_TASKS = {
    Event.CHECK_PASSED,
    Event.CHECK_FAILED,
    Event.CHECK_REVOKED,
    Event.CHECK_UNKNOWN,
}


def test_every_status_has_a_row_and_every_check_result_a_move():
    assert set(lifecycle.TABLE) == set(TenantStatus.values)
    for status, moves in lifecycle.TABLE.items():
        assert set(moves) >= MOVES_FROM_TASKS, status  # a task can never hit a missing move
        for to in moves.values():
            assert to is None or to in TenantStatus.values


def test_the_readme_diagram_is_the_table():
    assert lifecycle.mermaid() in README.read_text()


# Microsoft's answers at the consent callback (docs/microsoft/consent-endpoint.md).
ANSWERS = {
    "granted": {
        "admin_consent": "True",
        "tenant": ids.FABRIKAM_TENANT_ID,
        "scope": "https://communication.azure.com/clients/VoIP",
    },
    "declined": {
        "error": "access_denied",
        "error_subcode": "cancel",
        "error_description": "AADSTS65004: User declined to consent to access the app.\r\n"
        "Trace ID: 1\r\nCorrelation ID: 2\r\nTimestamp: 2026-12-01 10:00:00Z",
    },
    # Entra sends admin_consent=True with an error too; it is never a grant.
    "failed": {
        "admin_consent": "True",
        "error": "invalid_client",
        "error_description": "AADSTS650052: The app is trying to access a service "
        "'2a04943b-b6a7-4f65-8786-2bb6131b59f6' that your organization lacks a service "
        "principal for.",
    },
}


class TenantLife(RuleBasedStateMachine):
    """One Fabrikam, from registration on. ``self.cs`` is cloudsim (Microsoft)."""

    cs = None
    actor = None

    def __init__(self) -> None:
        super().__init__()
        self.cs.reset()
        self.cs.clear_faults()
        graph.reset_token_caches()
        CustomerTenant.objects.all().delete()  # audit events stay (they keep their labels)
        self.tenant = registration.register_tenant(
            actor=self.actor, tenant_ref=ids.FABRIKAM_TENANT_ID
        )
        self.states: list[str] = []  # signed states the portal sent to Microsoft
        self.tokens: list[str] = []

    def _step(self, call) -> None:
        """Run one service or task; it writes at most one audit event, and one per move."""
        before_status = CustomerTenant.objects.get(pk=self.tenant.pk).status
        first = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        try:
            call()
        except errors.TenantError as refused:  # a refusal: a clear message, nothing moved
            assert str(refused)
        events = list(AuditEvent.objects.filter(id__gt=first))
        assert len(events) <= 1, [e.action for e in events]
        after = CustomerTenant.objects.get(pk=self.tenant.pk).status
        if after != before_status:
            assert len(events) == 1
            assert events[0].details["status"]["to"] == after
            assert events[0].details["status"]["from"] == before_status

    # --- the operator ------------------------------------------------------------------------
    @rule(level=st.sampled_from(["deep", "standard"]))
    def issue_link(self, level: str) -> None:
        def issue():
            issued = consent.issue_consent_link(actor=self.actor, tenant=self.tenant, level=level)
            self.tokens.append(issued.token)

        self._step(issue)

    @precondition(lambda self: self.tokens)
    @rule(data=st.data())
    def revoke_a_link(self, data) -> None:
        token = data.draw(st.sampled_from(self.tokens))
        link = ConsentLink.objects.get(token_hash=consent.hash_token(token))
        self._step(lambda: consent.revoke_consent_link(actor=self.actor, link=link))

    @rule()
    def verify_now(self) -> None:
        graph.reset_token_caches()  # each check asks Microsoft afresh, as a new worker would
        self._step(lambda: tasks.verify_tenant(self.tenant.pk, "manual"))

    @rule()
    def offboard(self) -> None:
        self._step(lambda: registration.start_offboarding(actor=self.actor, tenant=self.tenant))

    @rule()
    def finish_offboarding(self) -> None:
        self._step(lambda: registration.finish_offboarding(actor=self.actor, tenant=self.tenant))

    # --- the customer admin at Microsoft -----------------------------------------------------
    @precondition(lambda self: self.tokens)
    @rule(data=st.data())
    def admin_continues_to_microsoft(self, data) -> None:
        token = data.draw(st.sampled_from(self.tokens))

        def start():
            url = consent.start_admin_consent(token=token)
            self.states.append(parse_qs(urlsplit(url).query)["state"][0])

        self._step(start)

    @precondition(lambda self: self.states)
    @rule(data=st.data(), answer=st.sampled_from(sorted(ANSWERS)))
    def microsoft_answers(self, data, answer: str) -> None:
        self._answer(data.draw(st.sampled_from(self.states)), answer)  # latest, older, replay

    def _answer(self, state: str, answer: str) -> None:
        if answer == "granted":  # Microsoft records the grant before it redirects back
            self.cs.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
        params = {**ANSWERS[answer], "state": state}
        self._step(lambda: consent.record_consent_callback(params=params))

    @precondition(lambda self: self.tokens)
    @rule(data=st.data())
    def admin_accepts_a_link(self, data) -> None:
        """The common journey in one step: open a link, accept at Microsoft, come back."""
        sent = len(self.states)
        self.admin_continues_to_microsoft(data)
        if len(self.states) > sent:  # the link could still be used
            self._answer(self.states[-1], "granted")

    @rule()
    def admin_removes_the_enterprise_app(self) -> None:
        self.cs.admin("DELETE", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")

    @rule()
    def microsoft_is_unavailable_once(self) -> None:
        self.cs.set_fault("503", service="login", times=1)

    # --- invariants --------------------------------------------------------------------------
    @invariant()
    def status_is_a_state_of_the_table(self) -> None:
        tenant = CustomerTenant.objects.get(pk=self.tenant.pk)
        assert tenant.status in lifecycle.TABLE

    @invariant()
    def an_offboarded_tenant_has_no_assignment_left(self) -> None:
        tenant = CustomerTenant.objects.get(pk=self.tenant.pk)
        if tenant.status == TenantStatus.OFFBOARDED:
            assert not registration.offboarding_left(tenant)
            assert not ConsentLink.objects.filter(
                tenant=tenant, revoked_at=None, used_at=None
            ).exists()

    @invariant()
    def verified_only_after_a_passing_check_with_no_later_failing_one(self) -> None:
        tenant = CustomerTenant.objects.get(pk=self.tenant.pk)
        if tenant.status == TenantStatus.VERIFIED:
            last = ConsentCheck.objects.filter(tenant=tenant, unknown=False).first()
            assert last is not None and last.ok


@pytest.mark.integration
@pytest.mark.django_db
def test_random_lives_of_a_tenant_keep_the_invariants(microsoft, operator_user, monkeypatch):
    monkeypatch.setattr(graph_auth, "MAX_ATTEMPTS", 1)  # an unavailable Microsoft answers at once
    TenantLife.cs = microsoft
    TenantLife.actor = Actor.operator(operator_user)
    run_state_machine_as_test(
        TenantLife,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            derandomize=False,
        ),
    )
