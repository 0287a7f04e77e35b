"""Onboard a customer tenant end to end through the portal's API, as a SaaS sign-up flow would.

    register the tenant -> issue a consent link -> (the customer admin consents) -> wait until
    the portal has verified the consent -> assign the whole tenant on an ACS resource -> sync
    -> ask whether one of its users can get an ACS token.

Plain httpx, nothing of the portal imported. Against the demo (``make run``, cloudsim):

    PORTAL_API_TOKEN=acsp_... python examples/onboard.py --portal http://127.0.0.1:8000 \\
        --customer-admin admin@fabrikam.example --cloudsim-ca var/cloudsim/ca.pem

``--customer-admin`` plays the customer's admin on cloudsim's consent page (demo only); without
it the script prints the link for a person to open and waits. Each POST carries an
``Idempotency-Key`` derived from the sign-up, so running the script again (a retried sign-up)
creates nothing twice. Errors are RFC 9457 problem details; the script prints them and stops.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

import httpx

DONE = {"succeeded", "partial", "failed"}


class ApiProblem(Exception):
    def __init__(self, response: httpx.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            body = {"title": response.text[:200]}
        self.status, self.type = response.status_code, body.get("type", "")
        detail = body.get("detail") or body.get("title", "")
        errors = "".join(f"\n  - {e}" for e in body.get("errors", []))
        super().__init__(f"{response.status_code} {self.type}: {detail}{errors}")


def call(api: httpx.Client, method: str, path: str, *, key: str = "", **kwargs) -> dict:
    headers = kwargs.pop("headers", {})
    if key:
        headers["Idempotency-Key"] = key
    for _attempt in range(5):
        response = api.request(method, path, headers=headers, **kwargs)
        if response.status_code == 429 or (
            response.status_code == 409 and "idempotency-in-progress" in response.text
        ):
            time.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        if response.status_code >= 400:
            raise ApiProblem(response)
        return response.json() if response.content else {}
    raise ApiProblem(response)


def register(api: httpx.Client, domain: str) -> dict:
    try:
        return call(
            api, "POST", "tenants/", key=f"signup-{domain}-register", json={"tenant": domain}
        )
    except ApiProblem as problem:
        if "already registered" not in str(problem):
            raise
    found = call(api, "GET", "tenants/", params={"q": domain})["results"]
    return next(t for t in found if t["primary_domain"] == domain)


def play_customer_admin(link: str, upn: str, ca_file: str) -> None:
    """Demo only: open the link, continue to cloudsim's consent page and accept as ``upn``."""
    with httpx.Client(verify=ca_file, follow_redirects=False, timeout=30) as browser:
        landing = browser.get(link)
        landing.raise_for_status()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', landing.text)
        if csrf is None:
            raise SystemExit(f"The consent link's page has no form: {landing.text[:300]}")
        onward = browser.post(link, data={"csrfmiddlewaretoken": csrf.group(1)})
        microsoft = onward.headers["location"]
        browser.get(microsoft).raise_for_status()
        answer = browser.post(microsoft, data={"user": upn, "action": "approve"})
        back = browser.get(answer.headers["location"])
        outcome = re.search(r"<h1[^>]*>(.*?)</h1>", back.text, re.S)
        print(
            f"  customer admin {upn}: {outcome.group(1).strip() if outcome else back.status_code}"
        )


def wait_until_verified(api: httpx.Client, tenant: dict, timeout: float) -> dict:
    deadline, etag, seen = time.monotonic() + timeout, "", ""
    while time.monotonic() < deadline:
        response = api.get(
            f"tenants/{tenant['id']}/", headers={"If-None-Match": etag} if etag else {}
        )
        if response.status_code == 200:  # 304: unchanged since the last poll
            tenant, etag = response.json(), response.headers.get("ETag", "")
            if tenant["status"] != seen:
                seen = tenant["status"]
                print(f"  status: {seen}")
            if seen == "verified":
                return tenant
            if seen in ("declined", "revoked", "attention"):
                findings = (tenant.get("latest_check") or {}).get("findings", [])
                for f in findings:
                    print(f"    {'ok ' if f['ok'] else 'NO '} {f['check']}: {f['detail']}")
                raise SystemExit(f"Consent is {seen}: see the tenant's page in the portal.")
        time.sleep(1)
    raise SystemExit(f"Not verified within {timeout:.0f} s (status {seen}).")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portal", default=os.environ.get("PORTAL_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("PORTAL_API_TOKEN", ""))
    parser.add_argument("--domain", default="fabrikam.example", help="The customer's tenant.")
    parser.add_argument("--resource", default="contoso-acs", help="The ACS resource to assign.")
    parser.add_argument("--user", default="adele@fabrikam.example", help="For the access check.")
    parser.add_argument("--customer-admin", default="", help="Demo: consent as this admin.")
    parser.add_argument("--cloudsim-ca", default="", help="Demo: cloudsim's CA certificate.")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    if not args.token:
        parser.error("give --token or PORTAL_API_TOKEN (the portal's API tokens page issues one)")
    headers = {"Authorization": f"Bearer {args.token}", "Accept": "application/json"}
    base = args.portal.rstrip("/") + "/api/v1/"
    with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
        try:
            print(f"1. Register {args.domain}")
            tenant = register(api, args.domain)
            print(f"  tenant {tenant['id']}: {tenant['tenant_id']} ({tenant['status']})")
            if tenant["status"] != "verified":
                print("2. Issue a consent link")
                link = call(
                    api,
                    "POST",
                    f"tenants/{tenant['id']}/consent-links/",
                    key=f"signup-{args.domain}-link",
                    json={"level": "deep", "days": 7, "note": "Welcome aboard"},
                )
                if "url" in link:
                    print(f"  {link['url']}  (shown once; expires {link['expires_at']})")
                else:  # a replayed sign-up: the URL was shown the first time only
                    print(f"  link {link['id']} issued earlier (its URL is shown only once)")
                if args.customer_admin and "url" in link:
                    play_customer_admin(link["url"], args.customer_admin, args.cloudsim_ca)
                else:
                    print("  Send it to the customer's admin; waiting for their consent…")
                print("3. Wait for the portal to verify the consent")
                tenant = wait_until_verified(api, tenant, args.timeout)
            print(f"4. Assign the whole tenant on {args.resource}")
            resources = call(api, "GET", "acs-resources/")["results"]
            resource = next(r for r in resources if r["name"] == args.resource)
            try:
                assignment = call(
                    api,
                    "POST",
                    "assignments/",
                    key=f"signup-{args.domain}-assign-{resource['id']}",
                    json={
                        "resource": resource["id"],
                        "tenant": tenant["id"],
                        "principal_type": "tenant",
                    },
                )
                print(f"  assignment {assignment['id']} ({assignment['sync_state']})")
            except ApiProblem as problem:
                if "already assigned" not in str(problem):
                    raise
                print("  already assigned")
            print("5. Sync now")
            run = call(api, "POST", f"acs-resources/{resource['id']}/sync/")
            deadline = time.monotonic() + args.timeout
            while run["status"] not in DONE and time.monotonic() < deadline:
                time.sleep(1)
                run = call(api, "GET", f"sync-runs/{run['id']}/")
                print(f"  run {run['id']}: {run['status']} {run['progress_percent']}%")
            print(
                f"  created {run['created']}, updated {run['updated']}, "
                f"unchanged {run['unchanged']}, failed {run['failed']}"
            )
            for error in run["errors"]:
                print(f"  failure: {error}")
            print(f"6. Can {args.user} get an ACS token on {args.resource}?")
            report = call(
                api,
                "GET",
                "access-check/",
                params={"resource": resource["id"], "tenant": tenant["id"], "user": args.user},
            )
            for finding in report["findings"]:
                verdict = "yes" if finding["ok"] else "no "
                print(f"  {verdict}  {finding['check']}: {finding['detail']}")
            print(f"  => {'YES' if report['has_access'] else 'NO'}")
            return 0 if report["has_access"] else 1
        except ApiProblem as problem:
            print(f"The portal refused: {problem}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    raise SystemExit(main())
