"""Microsoft Graph for the portal: the one place that calls Graph (msgraph-sdk) and Entra ID (MSAL).

Every function is synchronous, keyword-only and returns plain dataclasses; each runs its
coroutines on a fresh event loop (``asyncio.run``), so Celery tasks and views can call it.
Errors are ``GraphError`` (``permanent`` says whether retrying can help). Transient failures
(429, 5xx, timeouts, dropped connections) are retried here with capped exponential backoff that
honours ``Retry-After``; the SDK's own retry middleware is switched off so the budget is ours.
The calls, their permissions and errors: docs/microsoft/graph.md.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from kiota_abstractions.api_error import APIError
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption, UrlReplaceHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core import GraphClientFactory

from portal import metrics
from portal.external import retry_after_seconds, tls_context
from tenants.graph_auth import (
    GRAPH_SCOPES,
    GraphError,
    MsalCredential,
    UserSignIn,
    acquire_app_token,
    acquire_user_token_by_password,
    finish_user_sign_in,
    forget_tenant,
    normalize_guid,
    probe_app_token,
    reset_token_caches,
    resolve_tenant,
    should_retry,
    start_user_sign_in,
)
from tenants.graph_models import (
    AppCredential,
    Application,
    AppRoleAssignment,
    Group,
    Organization,
    PermissionGrant,
    ServicePrincipal,
    SubscribedSku,
    User,
)
from tenants.names import clean_name

__all__ = [
    "AppCredential",
    "AppRoleAssignment",
    "Application",
    "GraphError",
    "Group",
    "Organization",
    "PermissionGrant",
    "ServicePrincipal",
    "SubscribedSku",
    "User",
    "UserSignIn",
    "acquire_app_token",
    "acquire_user_token_by_password",
    "create_service_principal",
    "find_service_principal",
    "finish_user_sign_in",
    "get_application",
    "get_group",
    "get_organization",
    "get_user",
    "list_app_role_assignments",
    "list_permission_grants",
    "list_subscribed_skus",
    "normalize_guid",
    "probe_app_token",
    "reset_token_caches",
    "resolve_tenant",
    "search_groups",
    "search_users",
    "start_user_sign_in",
    "user_group_ids",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_PAGES = 500  # 500 pages of up to 999 items: far beyond any tenant we serve


# --- plumbing ---------------------------------------------------------------------------------


def _client(tenant_id: str) -> GraphServiceClient:
    """A Graph client for one tenant: our CA trust, our timeout, our base URL, no SDK retries."""
    timeout = float(settings.MICROSOFT_HTTP_TIMEOUT)
    http = httpx.AsyncClient(
        verify=tls_context(),
        timeout=httpx.Timeout(timeout),
        event_hooks=metrics.async_httpx_hooks("graph"),
    )
    options = {
        RetryHandlerOption.get_key(): RetryHandlerOption(max_retries=0, should_retry=False),
        UrlReplaceHandlerOption.get_key(): UrlReplaceHandlerOption(
            enabled=True, replacement_pairs={"/users/me-token-to-replace": "/me"}
        ),
    }
    http = GraphClientFactory.create_with_default_middleware(client=http, options=options)
    graph_host = urlsplit(settings.GRAPH_BASE_URL).hostname or ""
    auth = AzureIdentityAuthenticationProvider(
        MsalCredential(tenant_id), scopes=GRAPH_SCOPES, allowed_hosts=[graph_host]
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = settings.GRAPH_BASE_URL.rstrip("/")
    return GraphServiceClient(request_adapter=adapter)


def _to_graph_error(exc: BaseException) -> GraphError:
    if isinstance(exc, GraphError):
        return exc
    if isinstance(exc, APIError):
        status = exc.response_status_code
        code, message = "", exc.message or ""
        odata = getattr(exc, "error", None)
        if odata is not None:
            code, message = odata.code or "", odata.message or message
        headers = {  # kiota gives each header as a list of values
            k: (v[0] if v else "") if isinstance(v, list | tuple) else v
            for k, v in (exc.response_headers or {}).items()
        }
        return GraphError.from_status(
            status,
            message or f"Graph answered HTTP {status}",
            code,
            retry_after=retry_after_seconds(headers),
        )
    if isinstance(exc, httpx.TimeoutException):
        return GraphError("Graph did not answer in time.", permanent=False, code="timeout")
    if isinstance(exc, httpx.TransportError):
        return GraphError(f"Cannot reach Graph: {exc}", permanent=False, code="network")
    return GraphError(f"Unexpected Graph failure: {exc!r}", permanent=True, code="unexpected")


async def _retrying(
    make_call: Callable[[], Awaitable[T]], *, what: str, idempotent: bool = True
) -> T:
    waited, attempt = 0.0, 0
    while True:
        try:
            return await make_call()
        except Exception as exc:
            error = _to_graph_error(exc)
            delay = should_retry(error, attempt, waited, idempotent=idempotent)
            if delay < 0:
                raise error from exc
            logger.warning("Graph %s failed (%s); retry in %.1fs", what, error, delay)
            await asyncio.sleep(delay)
            waited, attempt = waited + delay, attempt + 1


async def _all_pages(builder: Any, first: Callable[[], Awaitable[Any]], *, what: str) -> list:
    page = await _retrying(first, what=what)
    items = list(page.value or [])
    for _ in range(MAX_PAGES):
        next_link = page.odata_next_link
        if not next_link:
            return items
        page = await _retrying(builder.with_url(next_link).get, what=what)
        items.extend(page.value or [])
    raise GraphError(f"Graph {what}: more than {MAX_PAGES} pages", permanent=True)


def _run(tenant_id: str, work: Callable[[GraphServiceClient], Awaitable[T]]) -> T:
    """Get the token first (clear errors, retried), then run ``work`` on a fresh event loop."""
    tenant_id = str(tenant_id)
    acquire_app_token(tenant_id=tenant_id)

    async def main() -> T:
        client = _client(tenant_id)
        try:
            return await work(client)
        finally:
            await client.request_adapter._http_client.aclose()

    try:
        return _run_coroutine(main)
    except GraphError as error:
        if error.status != 401:
            raise
    # Graph refused a cached token (revoked, or signed with a rotated key): once more, fresh.
    forget_tenant(tenant_id)
    acquire_app_token(tenant_id=tenant_id)
    return _run_coroutine(main)


def _run_coroutine(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` here, or on a helper thread when this thread already runs an event loop
    (an async view, a test driving a browser): callers stay synchronous either way."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def _query(builder_cls: type, **params: Any) -> Any:
    """A GET request configuration of a generated request builder, with OData parameters."""
    name = builder_cls.__name__
    query = getattr(builder_cls, f"{name}GetQueryParameters")(**params)
    return getattr(builder_cls, f"{name}GetRequestConfiguration")(query_parameters=query)


def _quote(value: str) -> str:
    """A string literal for OData $filter (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _sp(item: Any) -> ServicePrincipal:
    return ServicePrincipal(
        id=item.id,
        app_id=item.app_id or "",
        display_name=clean_name(item.display_name),
        published_scopes={
            s.value: str(s.id) for s in (item.oauth2_permission_scopes or []) if s.value
        },
    )


def _group(item: Any) -> Group:
    return Group(
        id=item.id,
        display_name=clean_name(item.display_name),
        description=clean_name(item.description, 1024),
    )


def _user(item: Any) -> User:
    return User(
        id=item.id,
        display_name=clean_name(item.display_name),
        user_principal_name=clean_name(item.user_principal_name),
        mail=clean_name(item.mail),
    )


def _not_found_is_none(error: GraphError) -> bool:
    return error.status == 404


# --- public functions -------------------------------------------------------------------------


def get_organization(*, tenant_id: str) -> Organization:
    """Name and verified domains of the tenant (``GET /organization``)."""

    async def work(client: GraphServiceClient) -> Organization:
        page = await _retrying(lambda: client.organization.get(), what="organization")
        org = (page.value or [None])[0]
        if org is None:
            raise GraphError("Graph returned no organization.", permanent=True)
        # Names are the customer's input: cleaned and cut (tenants/names.py).
        domains = [(clean_name(d.name), d.is_default) for d in org.verified_domains or []]
        names = [name for name, _ in domains if name]
        default = next((name for name, is_default in domains if is_default and name), "")
        return Organization(
            tenant_id=str(org.id or tenant_id),
            display_name=clean_name(org.display_name),
            verified_domains=names,
            default_domain=default or (names[0] if names else ""),
        )

    return _run(tenant_id, work)


def find_service_principal(*, tenant_id: str, app_id: str) -> ServicePrincipal | None:
    """The service principal of ``app_id`` in the tenant, or None."""
    from msgraph.generated.service_principals.service_principals_request_builder import (
        ServicePrincipalsRequestBuilder as B,
    )

    async def work(client: GraphServiceClient) -> ServicePrincipal | None:
        config = _query(
            B,
            filter=f"appId eq {_quote(app_id)}",
        )
        page = await _retrying(
            lambda: client.service_principals.get(request_configuration=config),
            what="service principal lookup",
        )
        return _sp(page.value[0]) if page.value else None

    return _run(tenant_id, work)


def create_service_principal(*, tenant_id: str, app_id: str) -> ServicePrincipal:
    """Create the service principal of ``app_id`` (needs Application.ReadWrite.All)."""
    from msgraph.generated.models.service_principal import ServicePrincipal as SpModel

    async def work(client: GraphServiceClient) -> ServicePrincipal:
        created = await _retrying(
            lambda: client.service_principals.post(SpModel(app_id=app_id)),
            what="service principal creation",
            idempotent=False,
        )
        return _sp(created)

    return _run(tenant_id, work)


def list_permission_grants(
    *, tenant_id: str, client_id: str, resource_id: str
) -> list[PermissionGrant]:
    """Delegated grants from the client service principal to the resource service principal."""
    from msgraph.generated.oauth2_permission_grants import oauth2_permission_grants_request_builder

    B = oauth2_permission_grants_request_builder.Oauth2PermissionGrantsRequestBuilder

    async def work(client: GraphServiceClient) -> list[PermissionGrant]:
        config = _query(
            B,
            filter=f"clientId eq {_quote(client_id)} and resourceId eq {_quote(resource_id)}",
        )
        builder = client.oauth2_permission_grants
        items = await _all_pages(
            builder, lambda: builder.get(request_configuration=config), what="permission grants"
        )
        return [
            PermissionGrant(
                id=i.id or "",
                client_id=i.client_id or "",
                resource_id=i.resource_id or "",
                consent_type=i.consent_type or "",
                scope=i.scope or "",
            )
            for i in items
        ]

    return _run(tenant_id, work)


def list_app_role_assignments(*, sp_id: str, tenant_id: str) -> list[AppRoleAssignment]:
    """Who is assigned to the service principal ``sp_id`` (``appRoleAssignedTo``)."""

    async def work(client: GraphServiceClient) -> list[AppRoleAssignment]:
        builder = client.service_principals.by_service_principal_id(sp_id).app_role_assigned_to
        items = await _all_pages(builder, lambda: builder.get(), what="app role assignments")
        return [
            AppRoleAssignment(
                id=i.id or "",
                principal_id=str(i.principal_id or ""),
                principal_type=i.principal_type or "",
                principal_display_name=clean_name(i.principal_display_name),
                app_role_id=str(i.app_role_id or ""),
            )
            for i in items
        ]

    return _run(tenant_id, work)


def get_application(*, tenant_id: str, app_id: str) -> Application | None:
    """The app registration of ``app_id`` in its home tenant, or None."""
    from msgraph.generated.applications.applications_request_builder import (
        ApplicationsRequestBuilder as B,
    )

    async def work(client: GraphServiceClient) -> Application | None:
        config = _query(B, filter=f"appId eq {_quote(app_id)}")
        page = await _retrying(
            lambda: client.applications.get(request_configuration=config), what="application"
        )
        if not page.value:
            return None
        app = page.value[0]
        access: dict[str, dict[str, set[str]]] = {}
        for rra in app.required_resource_access or []:
            kinds = access.setdefault(rra.resource_app_id or "", {"Scope": set(), "Role": set()})
            for ra in rra.resource_access or []:
                kinds.setdefault(ra.type or "", set()).add(str(ra.id))
        return Application(
            id=app.id or "",
            app_id=app.app_id or "",
            display_name=app.display_name or "",
            sign_in_audience=app.sign_in_audience or "",
            redirect_uris=list((app.web.redirect_uris if app.web else None) or []),
            required_resource_access=access,
        )

    return _run(tenant_id, work)


def get_application_credentials(*, tenant_id: str, app_id: str) -> list[AppCredential] | None:
    """The client secrets and certificates of ``app_id``'s registration with their end dates
    (``docs/microsoft/app-credentials.md``); None when the app is not found."""
    from msgraph.generated.applications.applications_request_builder import (
        ApplicationsRequestBuilder as B,
    )

    async def work(client: GraphServiceClient) -> list[AppCredential] | None:
        config = _query(
            B,
            filter=f"appId eq {_quote(app_id)}",
            select=["id", "passwordCredentials", "keyCredentials"],
        )
        page = await _retrying(
            lambda: client.applications.get(request_configuration=config), what="application"
        )
        if not page.value:
            return None
        app = page.value[0]
        return [
            AppCredential(kind, str(c.key_id or ""), c.display_name or "", c.end_date_time)
            for kind, creds in (
                ("password", app.password_credentials),
                ("certificate", app.key_credentials),
            )
            for c in creds or []
        ]

    return _run(tenant_id, work)


def list_subscribed_skus(*, tenant_id: str) -> list[SubscribedSku]:
    """The tenant's subscriptions and the service plans each carries (``GET /subscribedSkus``,
    Organization.Read.All; docs/microsoft/tenant-lifecycle.md)."""

    async def work(client: GraphServiceClient) -> list[SubscribedSku]:
        page = await _retrying(lambda: client.subscribed_skus.get(), what="subscribed SKUs")
        return [
            SubscribedSku(
                sku_part_number=sku.sku_part_number or "",
                capability_status=sku.capability_status or "",
                service_plan_ids=frozenset(
                    str(p.service_plan_id) for p in sku.service_plans or [] if p.service_plan_id
                ),
            )
            for sku in (page.value if page else None) or []
        ]

    return _run(tenant_id, work)


def search_groups(*, tenant_id: str, query: str, top: int = 20) -> list[Group]:
    """Groups whose display name starts with ``query`` (one page of at most ``top``)."""
    from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder as B

    async def work(client: GraphServiceClient) -> list[Group]:
        params: dict[str, Any] = {"top": top, "select": ["id", "displayName", "description"]}
        if query.strip():
            params["filter"] = f"startswith(displayName,{_quote(query.strip())})"
        config = _query(B, **params)
        page = await _retrying(
            lambda: client.groups.get(request_configuration=config), what="group search"
        )
        return [_group(g) for g in (page.value or [])[:top]]

    return _run(tenant_id, work)


def get_group(*, tenant_id: str, group_id: str) -> Group | None:
    """One group by object id, or None when it does not exist."""

    async def work(client: GraphServiceClient) -> Group | None:
        try:
            item = await _retrying(lambda: client.groups.by_group_id(group_id).get(), what="group")
        except GraphError as error:
            if _not_found_is_none(error):
                return None
            raise
        return _group(item)

    return _run(tenant_id, work)


def search_users(*, tenant_id: str, query: str, top: int = 20) -> list[User]:
    """Users whose display name or user principal name starts with ``query``."""
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder as B

    async def work(client: GraphServiceClient) -> list[User]:
        params: dict[str, Any] = {
            "top": top,
            "select": ["id", "displayName", "userPrincipalName", "mail"],
        }
        if query.strip():
            q = _quote(query.strip())
            params["filter"] = f"startswith(displayName,{q}) or startswith(userPrincipalName,{q})"
        config = _query(B, **params)
        page = await _retrying(
            lambda: client.users.get(request_configuration=config), what="user search"
        )
        return [_user(u) for u in (page.value or [])[:top]]

    return _run(tenant_id, work)


def get_user(*, tenant_id: str, id_or_upn: str) -> User | None:
    """One user by object id or user principal name, or None."""

    async def work(client: GraphServiceClient) -> User | None:
        try:
            item = await _retrying(lambda: client.users.by_user_id(id_or_upn).get(), what="user")
        except GraphError as error:
            if _not_found_is_none(error):
                return None
            raise
        return _user(item)

    return _run(tenant_id, work)


def user_group_ids(*, tenant_id: str, user_id: str) -> set[str]:
    """Ids of every group the user belongs to, directly or through nested groups."""

    async def work(client: GraphServiceClient) -> set[str]:
        builder = client.users.by_user_id(user_id).transitive_member_of
        items = await _all_pages(builder, lambda: builder.get(), what="group membership")
        return {
            str(i.id)
            for i in items
            if (i.odata_type or "#microsoft.graph.group") == "#microsoft.graph.group"
        }

    return _run(tenant_id, work)
