"""Moved: tenants' services live in ``tenants/actions/`` by idea (registration and lifecycle,
the consent protocol, customer groups), and ``enqueue_verification`` in ``tenants/tasks.py``.

These names stay importable from here only while branches written against the old module are
merged; new code imports the module of its idea. Nothing is defined here.
"""

from tenants.actions.consent import (  # noqa: F401
    ACS_CLIENTS_SCOPE_BASE,
    ACS_CLIENTS_SCOPES,
    STATE_SALT,
    CallbackRejected,
    CallbackResult,
    IssuedLink,
    LinkUnavailable,
    build_admin_consent_url,
    callback_url,
    email_consent_link,
    find_link,
    hash_token,
    issue_consent_link,
    link_url,
    open_consent_link,
    read_state,
    record_consent_callback,
    record_user_test,
    reissue_consent_link,
    revoke_consent_link,
    start_admin_consent,
)
from tenants.actions.groups import (  # noqa: F401
    STANDARD_NO_GRAPH,
    add_customer_group,
    remove_customer_group,
)
from tenants.actions.registration import (  # noqa: F401
    delete_tenant,
    finish_offboarding,
    offboarding_left,
    register_tenant,
    start_offboarding,
    update_tenant,
)
from tenants.errors import InvalidTransition, TenantError  # noqa: F401
from tenants.lifecycle import CONSENTING  # noqa: F401
from tenants.tasks import enqueue_verification  # noqa: F401
