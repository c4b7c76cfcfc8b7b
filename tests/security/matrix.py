"""The authorization matrix: every URL of the portal, every method it answers, and what each role gets.

One row per request: a method and a path (the fixtures of ``tests/security/conftest.py`` in braces; ``{app}``,
``{model}`` and ``{pk}`` run over every model the admin shows). The five columns are the roles of
``portal.catalog.permissions``: signed out; a member of team A; an owner of team A; a member of team B; a
platform SRE. A cell is the answer the role gets:

- a status code: 200/201/202/204 allowed; 401 for the API without credentials; 403 signed in but not
  allowed; 404 for what the caller may not see (a calendar feed with a wrong token); 405 a method not offered;
- ``LOGIN``: a page's redirect to the sign-in page; ``REDIRECT``: any other redirect (a page's "done");
- ``refused(text)``: a form answered again with the refusal ``text``, nothing saved;
- ``ADMIN_MODEL``: the model's admin decides (it lets SREs view everything, but add and delete only some).

``test_matrix.py`` sends every row as every role (a DRF token for the API, a session for pages and the admin)
and checks the cell; it fails when a URL pattern of the project, or a method an API view answers, has no row.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ANONYMOUS, MEMBER_A, OWNER_A, MEMBER_B, SRE = "anonymous", "member_a", "owner_a", "member_b", "sre"
ROLES = (ANONYMOUS, MEMBER_A, OWNER_A, MEMBER_B, SRE)


@dataclass(frozen=True)
class Outcome:
    status: int
    to_login: bool | None = None  # redirects: must (True) or must not (False) lead to the sign-in page
    text: str = ""  # the answer must say this

    def __str__(self) -> str:
        if self.to_login is not None:
            return "LOGIN" if self.to_login else "REDIRECT"
        return f"{self.status}" + (f" ({self.text!r})" if self.text else "")


LOGIN = Outcome(302, to_login=True)
REDIRECT = Outcome(302, to_login=False)
ADMIN_MODEL = Outcome(0)


def refused(text: str) -> Outcome:
    return Outcome(200, text=text)


Body = dict[str, Any] | Callable[[Any], dict[str, Any]] | None


@dataclass(frozen=True)
class Entry:
    method: str
    path: str
    expect: dict[str, Outcome]
    body: Body = field(default=None, compare=False)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def per_admin_model(self) -> bool:
        return "{model}" in self.path


def row(method: str, path: str, *cells, body: Body = None) -> Entry:
    assert len(cells) == len(ROLES), f"{method} {path}: one cell per role"
    expect = {
        role: cell if isinstance(cell, Outcome) else Outcome(cell) for role, cell in zip(ROLES, cells, strict=True)
    }
    return Entry(method, path, expect, body)


# --- bodies --------------------------------------------------------------------------------------------------


def service_document(world) -> dict:
    """The service's whole document with one change (PUT replaces it)."""
    from portal.catalog.documents import current_document
    from portal.catalog.models import Service

    document = current_document(Service.objects.get(pk=world.service.pk))
    for key in ("state", "revision", "created_at", "updated_at"):
        document.pop(key)
    return {**document, "description": "Replaced"}


def wizard_save(world) -> dict:
    """The service form's last step as the browser posts it: register a new service in team A."""
    from portal.catalog.forms.service import flat_from_document
    from provisioning.spec import default_document

    flat = flat_from_document(default_document(world.team_a.slug)) | {"name": "formed"}
    return {**flat, "step": "review", "action": "save"}


def wizard_edit(world) -> dict:
    """The service form's last step as the browser posts it: save a change to the service."""
    from portal.catalog.documents import current_document
    from portal.catalog.forms.service import flat_from_document
    from portal.catalog.models import Service

    flat = flat_from_document(current_document(Service.objects.get(pk=world.service.pk)))
    flat |= {"revision": str(world.service.revision), "description": "Edited in the form"}
    return {**flat, "step": "review", "action": "save"}


SPEC_FILE = {"apiVersion": "portal.io/v1", "kind": "Service", "metadata": {"name": "specified", "team": "{team_a}"}}
CATALOG_INFO = [
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "imported"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "group:default/{team_a}"},
    }
]
SCHEDULE = {
    "time_zone": "Europe/Berlin",
    "rotations": [
        {"role": "incident_commander", "members": ["{member_a}"], "shift_hours": 168, "start": "2026-01-05T09:00"},
        {"role": "resolver", "members": ["{owner_a}"], "shift_hours": 168, "start": "2026-01-05T09:00"},
    ],
}
NOT_IN_A = refused("You are not a member of team team-a")
WRONG = refused("The username and/or password you specified are not correct.")
TEAM_FORM = {"name": "Team A", "slack_channel": "#team-a", "sso_group": "team-a", "revision": "1"}

# --- the table ------------------------------------------------------------------------------------------------
# fmt: off
A = "/api/v1"
AUTOCOMPLETE = "/admin/autocomplete/?app_label=catalog&model_name=membership&field_name=user"
#                 path                                            anonymous member A  owner A   member B  SRE
MATRIX: list[Entry] = [
    # Open to everyone: the load balancer's health check, the API's shape.
    row("GET",    "/healthz",                                     200,      200,      200,      200,      200),
    row("GET",    "/api/schema/",                                 200,      200,      200,      200,      200),
    row("GET",    "/api/docs/",                                   200,      200,      200,      200,      200),
    row("GET",    "/api/schema/service-spec.json",                200,      200,      200,      200,      200),
    row("GET",    f"{A}/",                                        401,      200,      200,      200,      200),

    # Teams: everyone signed in reads (the webhook masked); owners and SREs change; nobody deletes.
    row("GET",    f"{A}/teams/",                                  401,      200,      200,      200,      200),
    row("POST",   f"{A}/teams/",                                  401,      201,      201,      201,      201,
        body={"slug": "new-team", "name": "New team"}),
    row("GET",    f"{A}/teams/{{team_a}}/",                       401,      200,      200,      200,      200),
    row("GET",    f"{A}/teams/{{team_a}}.json",                   401,      200,      200,      200,      200),
    row("PATCH",  f"{A}/teams/{{team_a}}/",                       401,      403,      200,      403,      200,
        body={"name": "Renamed"}),
    row("PATCH",  f"{A}/teams/{{team_a}}.json",                   401,      403,      200,      403,      200,
        body={"incident_webhook_url": "https://hooks.example.com/services/T9/B9/other"}),
    row("PUT",    f"{A}/teams/{{team_a}}/",                       401,      405,      405,      405,      405,
        body={"slug": "team-a", "name": "Team A"}),
    row("DELETE", f"{A}/teams/{{team_a}}/",                       401,      405,      405,      405,      405),

    # Membership: everyone signed in reads; only owners and SREs add, change and remove members.
    row("GET",    f"{A}/teams/{{team_a}}/members/",               401,      200,      200,      200,      200),
    row("POST",   f"{A}/teams/{{team_a}}/members/",               401,      403,      201,      403,      201,
        body={"username": "{newcomer}", "role": "member"}),
    row("POST",   f"{A}/teams/{{team_b}}/members/",               401,      403,      403,      403,      201,
        body={"username": "{newcomer}", "role": "owner"}),
    row("GET",    f"{A}/teams/{{team_a}}/members/{{member_a}}/",  401,      200,      200,      200,      200),
    row("PATCH",  f"{A}/teams/{{team_a}}/members/{{member_a}}/",  401,      403,      200,      403,      200,
        body={"role": "owner"}),
    row("DELETE", f"{A}/teams/{{team_a}}/members/{{member_a}}/",  401,      403,      204,      403,      204),

    # Services: everyone signed in reads; the team's members and SREs change, plan, apply and delete.
    row("GET",    f"{A}/services/",                               401,      200,      200,      200,      200),
    row("GET",    f"{A}/services.json",                           401,      200,      200,      200,      200),
    row("POST",   f"{A}/services/",                               401,      201,      201,      403,      201,
        body={"name": "fresh", "team": "{team_a}"}),
    row("GET",    f"{A}/services/{{service}}/",                   401,      200,      200,      200,      200),
    row("PUT",    f"{A}/services/{{service}}/",                   401,      200,      200,      403,      200,
        body=service_document),
    # PUT declares: it registers a service that does not exist yet, for the members of the document's team.
    row("PUT",    f"{A}/services/declared/",                      401,      201,      201,      403,      201,
        body={"team": "{team_a}"}),
    row("PATCH",  f"{A}/services/{{service}}/",                   401,      200,      200,      403,      200,
        body={"description": "Changed"}),
    # Moving a service needs membership of both teams.
    row("PATCH",  f"{A}/services/{{service}}/",                   401,      403,      403,      403,      200,
        body={"team": "{team_b}"}),
    row("DELETE", f"{A}/services/{{service}}/",                   401,      202,      202,      403,      202),
    row("GET",    f"{A}/services/{{service}}/manifests/",         401,      200,      200,      200,      200),
    row("GET",    f"{A}/services/{{service}}/analysis/",          401,      200,      200,      200,      200),
    row("POST",   f"{A}/services/{{service}}/plan/",              401,      200,      200,      403,      200),
    row("POST",   f"{A}/services/{{service}}/apply/",             401,      202,      202,      403,      202,
        body={}),
    # Only SREs force a take-over of fields another field manager owns.
    row("POST",   f"{A}/services/{{service}}/apply/",             401,      403,      403,      403,      202,
        body={"force": True}),
    row("POST",   f"{A}/services/{{service}}/drift-check/",       401,      202,      202,      403,      202),

    # Spec files: what the caller may change through the API, declared in a file.
    row("POST",   f"{A}/specs/apply/",                            401,      201,      201,      403,      201,
        body=SPEC_FILE),

    # Backstage: everyone signed in exports; team owners import into their teams, SREs into all.
    row("GET",    f"{A}/backstage/entities/",                     401,      200,      200,      200,      200),
    row("POST",   f"{A}/backstage/import/",                       401,      403,      200,      403,      200,
        body=CATALOG_INFO),

    # Scorecards: read like services, by everyone signed in.
    row("GET",    f"{A}/scorecards/",                             401,      200,      200,      200,      200),
    row("GET",    f"{A}/scorecards/?team={{team_a}}&failing=runbook&sort=-level",
                                                                  401,      200,      200,      200,      200),
    row("GET",    f"{A}/scorecards/{{service}}/",                 401,      200,      200,      200,      200),
    row("GET",    f"{A}/team-scorecards/",                        401,      200,      200,      200,      200),
    row("GET",    f"{A}/scorecard-rules/",                        401,      200,      200,      200,      200),

    # Runs: everyone signed in reads; the service's team and SREs cancel.
    row("GET",    f"{A}/runs/",                                   401,      200,      200,      200,      200),
    row("GET",    f"{A}/runs/{{run}}/",                           401,      200,      200,      200,      200),
    row("POST",   f"{A}/runs/{{run}}/cancel/",                    401,      200,      200,      403,      200),

    # Approvals: everyone signed in sees what waits; only SREs approve and reject.
    row("GET",    f"{A}/approvals/",                              401,      200,      200,      200,      200),
    row("GET",    f"{A}/approvals/{{run}}/",                      401,      200,      200,      200,      200),
    row("POST",   f"{A}/approvals/{{run}}/approve/",              401,      403,      403,      403,      202),
    row("POST",   f"{A}/approvals/{{run}}/reject/",               401,      403,      403,      403,      200,
        body={"reason": "Not this week."}),

    # The platform: everyone signed in reads its settings (secrets masked); only SREs change and apply it.
    row("GET",    f"{A}/platform/settings/",                      401,      200,      200,      200,      200),
    row("PATCH",  f"{A}/platform/settings/",                      401,      403,      403,      403,      200,
        body={"waf_rate_limit": 3000}),
    row("GET",    f"{A}/platform/manifests/",                     401,      403,      403,      403,      200),
    row("GET",    f"{A}/analysis/",                               401,      403,      403,      403,      200),
    row("POST",   f"{A}/platform/plan/",                          401,      403,      403,      403,      200),
    row("POST",   f"{A}/platform/apply/",                         401,      403,      403,      403,      202),

    # The audit log: SREs only.
    row("GET",    f"{A}/audit/",                                  401,      403,      403,      403,      200),
    row("GET",    f"{A}/audit/{{audit}}/",                        401,      403,      403,      403,      200),
    row("GET",    f"{A}/audit/export/",                           401,      403,      403,      403,      200),

    # On call: everyone signed in reads; the team's members and SREs change the schedule and its feed.
    row("GET",    f"{A}/teams/{{team_a}}/oncall/",                401,      200,      200,      200,      200),
    row("PUT",    f"{A}/teams/{{team_a}}/oncall/",                401,      200,      200,      403,      200,
        body=SCHEDULE),
    row("GET",    f"{A}/teams/{{team_a}}/oncall/now/",            401,      200,      200,      200,      200),
    row("POST",   f"{A}/teams/{{team_a}}/oncall/feed-token/",     401,      201,      201,      403,      201),
    row("DELETE", f"{A}/teams/{{team_a}}/oncall/feed-token/",     401,      204,      204,      403,      204),
    row("GET",    f"{A}/teams/{{team_a}}/oncall.ics",             401,      200,      200,      200,      200),
    # Calendar apps send no header: the feed token opens the feed; a wrong one learns nothing.
    row("GET",    f"{A}/teams/{{team_a}}/oncall.ics?token={{feed_token}}",
                                                                  200,      200,      200,      200,      200),
    row("GET",    f"{A}/teams/{{team_a}}/oncall.ics?token=wrong", 404,      200,      200,      200,      200),

    # Pages: signed-out visitors are sent to sign in; the same rules as the API.
    row("GET",    "/",                                            LOGIN,    200,      200,      200,      200),
    row("GET",    "/teams/",                                      LOGIN,    200,      200,      200,      200),
    row("GET",    "/teams/{team_a}/",                             LOGIN,    200,      200,      200,      200),
    row("GET",    "/teams/{team_a}/edit/",                        LOGIN,    403,      200,      403,      200),
    row("POST",   "/teams/{team_a}/edit/",                        LOGIN,    403,      REDIRECT, 403,      REDIRECT,
        body=TEAM_FORM),
    row("POST",   "/teams/{team_a}/members/",                     LOGIN,    403,      REDIRECT, 403,      REDIRECT,
        body={"username": "{newcomer}", "role": "member"}),
    row("GET",    "/teams/{team_a}/members/",                     LOGIN,    405,      405,      405,      405),
    row("POST",   "/teams/{team_a}/members/{member_a}/",          LOGIN,    403,      REDIRECT, 403,      REDIRECT,
        body={"role": "owner"}),
    row("POST",   "/teams/{team_a}/members/{member_a}/remove/",   LOGIN,    403,      REDIRECT, 403,      REDIRECT),
    row("GET",    "/oncall/",                                     LOGIN,    200,      200,      200,      200),
    row("GET",    "/teams/{team_a}/oncall/",                      LOGIN,    200,      200,      200,      200),
    row("POST",   "/teams/{team_a}/oncall/feed-link/",            LOGIN,    200,      200,      403,      200),
    row("GET",    "/teams/{team_a}/oncall/feed-link/",            LOGIN,    405,      405,      405,      405),
    row("GET",    "/services/",                                   LOGIN,    200,      200,      200,      200),
    row("GET",    "/scorecards/",                                 LOGIN,    200,      200,      200,      200),
    row("GET",    "/scorecards/?level=gold&sort=team",            LOGIN,    200,      200,      200,      200),
    row("POST",   "/scorecards/",                                 LOGIN,    405,      405,      405,      405),
    row("GET",    "/register/",                                   LOGIN,    200,      200,      200,      200),
    row("POST",   "/register/",                                   LOGIN,    REDIRECT, REDIRECT, NOT_IN_A, REDIRECT,
        body=wizard_save),
    row("GET",    "/services/{service}/",                         LOGIN,    200,      200,      200,      200),
    row("GET",    "/services/{service}/edit/",                    LOGIN,    200,      200,      403,      200),
    row("POST",   "/services/{service}/edit/",                    LOGIN,    REDIRECT, REDIRECT, 403,      REDIRECT,
        body=wizard_edit),
    row("GET",    "/services/{service}/delete/",                  LOGIN,    200,      200,      403,      200),
    row("POST",   "/services/{service}/delete/",                  LOGIN,    REDIRECT, REDIRECT, 403,      REDIRECT),
    row("POST",   "/services/{service}/plan/",                    LOGIN,    REDIRECT, REDIRECT, 403,      REDIRECT),
    row("GET",    "/services/{service}/plan/",                    LOGIN,    405,      405,      405,      405),
    row("POST",   "/services/{service}/apply/",                   LOGIN,    REDIRECT, REDIRECT, 403,      REDIRECT),
    row("POST",   "/services/{service}/drift-check/",             LOGIN,    REDIRECT, REDIRECT, 403,      REDIRECT),
    row("GET",    "/services/{service}/runs/",                    LOGIN,    200,      200,      200,      200),
    row("GET",    "/services/{service}/runbook/",                 LOGIN,    REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    row("GET",    "/services/{service}/dashboard/",               LOGIN,    REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    row("GET",    "/services/{service}/manifests/",               LOGIN,    200,      200,      200,      200),
    row("GET",    "/services/{service}/graph/",                   LOGIN,    200,      200,      200,      200),
    row("GET",    "/services/{service}/graph.svg",                LOGIN,    200,      200,      200,      200),
    row("GET",    "/plans/{plan}/",                               LOGIN,    200,      200,      200,      200),
    row("GET",    "/runs/{run}/",                                 LOGIN,    200,      200,      200,      200),
    row("GET",    "/runs/{run}/progress/",                        LOGIN,    200,      200,      200,      200),
    row("POST",   "/runs/{run}/cancel/",                          LOGIN,    REDIRECT, REDIRECT, 403,      REDIRECT),
    row("GET",    "/approvals/",                                  LOGIN,    403,      403,      403,      200),
    row("POST",   "/approvals/{run}/approve/",                    LOGIN,    403,      403,      403,      REDIRECT),
    row("POST",   "/approvals/{run}/reject/",                     LOGIN,    403,      403,      403,      REDIRECT,
        body={"reason": "Not this week."}),

    # The admin is the SREs' console: everyone else is refused at the door, whatever the page.
    row("GET",    "/admin/",                                      LOGIN,    403,      403,      403,      200),
    row("GET",    "/admin/login/",                                LOGIN,    403,      403,      403,      REDIRECT),
    row("POST",   "/admin/logout/",                               REDIRECT, 403,      403,      403,      REDIRECT),
    row("GET",    "/admin/password_change/",                      LOGIN,    403,      403,      403,      200),
    row("GET",    "/admin/password_change/done/",                 LOGIN,    403,      403,      403,      200),
    row("GET",    AUTOCOMPLETE,                                   LOGIN,    403,      403,      403,      200),
    row("GET",    "/admin/jsi18n/",                               LOGIN,    403,      403,      403,      200),
    # No model of the portal has get_absolute_url (the admin links pages with view_on_site): nothing to open.
    row("GET",    "/admin/r/{team_ct}/{team_pk}/",                LOGIN,    403,      403,      403,      404),
    row("GET",    "/admin/catalog/",                              LOGIN,    403,      403,      403,      200),
    row("GET",    "/admin/no-such-page/",                         LOGIN,    403,      403,      403,      404),
    row("GET",    "/admin/users/user/{newcomer_pk}/password/",    LOGIN,    403,      403,      403,      200),
    # Every model's pages: {app}, {model} and {pk} run over every model the admin shows.
    row("GET",    "/admin/{app}/{model}/",                        LOGIN,    403,      403,      403,      200),
    row("GET",    "/admin/{app}/{model}/add/",                    LOGIN,    403,      403,      403,      ADMIN_MODEL),
    row("GET",    "/admin/{app}/{model}/{pk}/",                   LOGIN,    403,      403,      403,      REDIRECT),
    row("GET",    "/admin/{app}/{model}/{pk}/change/",            LOGIN,    403,      403,      403,      200),
    row("GET",    "/admin/{app}/{model}/{pk}/history/",           LOGIN,    403,      403,      403,      200),
    row("GET",    "/admin/{app}/{model}/{pk}/delete/",            LOGIN,    403,      403,      403,      ADMIN_MODEL),
    row("POST",   "/admin/users/user/{newcomer_pk}/delete/",      LOGIN,    403,      403,      403,      REDIRECT,
        body={"post": "yes"}),

    # Signing in and out (django-allauth).
    row("GET",    "/accounts/login/",                             200,      REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    row("POST",   "/accounts/login/",                             WRONG,    REDIRECT, REDIRECT, REDIRECT, REDIRECT,
        body={"login": "{member_a}", "password": "not-the-password"}),
    row("GET",    "/accounts/logout/",                            REDIRECT, 200,      200,      200,      200),
    row("POST",   "/accounts/logout/",                            REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    row("GET",    "/accounts/inactive/",                          200,      200,      200,      200,      200),
    row("GET",    "/accounts/signup/",                            200,      REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    row("GET",    "/accounts/reauthenticate/",                    LOGIN,    200,      200,      200,      200),
    row("GET",    "/accounts/email/",                             LOGIN,    200,      200,      200,      200),
    row("GET",    "/accounts/confirm-email/",                     200,      200,      200,      200,      200),
    row("GET",    "/accounts/confirm-email/no-such-key/",         200,      200,      200,      200,      200),
    row("GET",    "/accounts/password/change/",                   LOGIN,    200,      200,      200,      200),
    row("GET",    "/accounts/password/set/",                      LOGIN,    REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    row("GET",    "/accounts/password/reset/",                    200,      200,      200,      200,      200),
    row("GET",    "/accounts/password/reset/done/",               200,      200,      200,      200,      200),
    row("GET",    "/accounts/password/reset/key/1-no-such-key/",  200,      200,      200,      200,      200),
    row("GET",    "/accounts/password/reset/key/done/",           200,      200,      200,      200,      200),
    # Signing in by e-mailed code is off: nothing to confirm.
    row("GET",    "/accounts/login/code/confirm/",                LOGIN,    REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    row("GET",    "/accounts/3rdparty/login/cancelled/",          200,      200,      200,      200,      200),
    row("GET",    "/accounts/3rdparty/login/error/",              401,      401,      401,      401,      401),
    # Only in the middle of an SSO sign-in that needs more details; otherwise back to signing in.
    row("GET",    "/accounts/3rdparty/signup/",                   LOGIN,    LOGIN,    LOGIN,    LOGIN,    LOGIN),
    row("GET",    "/accounts/3rdparty/",                          LOGIN,    200,      200,      200,      200),
    row("GET",    "/accounts/social/login/cancelled/",            REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    row("GET",    "/accounts/social/login/error/",                REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    row("GET",    "/accounts/social/signup/",                     REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    row("GET",    "/accounts/social/connections/",                REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    # Without PORTAL_OIDC_ISSUER there is no provider to sign in with.
    row("GET",    "/accounts/oidc/sso/login/",                    404,      404,      404,      404,      404),
    row("GET",    "/accounts/oidc/sso/login/callback/",           404,      404,      404,      404,      404),
]
# fmt: on

# URL patterns with no row, and why. Nothing else may be missing.
EXCLUDED: dict[str, str] = {}
