"""Staff UI flows as each role sees them: the current nav item, pages drawn at another address
(a refused launch, a refused export), first-use states and the home page's links."""

from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.factories import (
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    RevenueEntryFactory,
    SurveyFactory,
    UserFactory,
)


class _Parse(HTMLParser):
    """The links, the forms and the main navigation's links of a page."""

    def __init__(self):
        super().__init__()
        self.links, self.forms, self.nav_links, self._in_nav = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "nav" and a.get("aria-label") == "Main":
            self._in_nav += 1
        if tag == "a" and a.get("href"):
            self.links.append(a)
            if self._in_nav:
                self.nav_links.append(a)
        if tag == "form":
            self.forms.append(a)

    def handle_endtag(self, tag):
        if tag == "nav" and self._in_nav:
            self._in_nav -= 1


def parse(response) -> _Parse:
    page = _Parse()
    page.feed(response.content.decode())
    return page


def main_of(response) -> str:
    return response.content.decode().split('<main id="main">')[1]


def next_links(page: _Parse) -> list[str]:
    return [a["href"] for a in page.links if a.get("rel") == "next"]


# --- the current nav item -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,url,current",
    [
        ("analyst", "/", "/"),
        ("analyst", "/customers/", "/customers/"),
        ("analyst", "/imports/", "/imports/"),
        ("analyst", "/surveys/", "/surveys/"),
        ("analyst", "/surveys/new/", "/surveys/"),
        ("analyst", "/responses/", "/responses/"),
        ("viewer", "/reports/nps/", "/reports/nps/"),
        ("viewer", "/reports/earned-growth/", "/reports/earned-growth/"),
        ("viewer", "/reports/cohorts/", "/reports/cohorts/"),
        ("viewer", "/reports/referrals/", "/reports/referrals/"),
    ],
)
def test_it_marks_the_current_sections_nav_link_and_only_it(role, url, current, client, user_with_role):
    client.force_login(user_with_role(role))
    page = parse(client.get(url))
    marked = [a["href"] for a in page.nav_links if a.get("aria-current") == "page"]
    assert marked == [current]


def test_it_marks_the_section_on_a_detail_page(analyst, client):
    customer = CustomerFactory()
    client.force_login(analyst)
    page = parse(client.get(reverse("accounting:customer-detail", args=[customer.pk])))
    assert [a["href"] for a in page.nav_links if a.get("aria-current")] == [reverse("accounting:customer-list")]


# --- a refused launch: the survey page drawn at the POST-only launch URL -------------------------


def test_the_pages_of_a_refused_launch_open_the_survey_page(analyst, client):
    survey = SurveyFactory(status="active")
    InvitationFactory.create_batch(55, survey=survey)  # two pages of invitations
    client.force_login(analyst)
    launch_url = reverse("surveys:survey-launch", args=[survey.pk])

    refused = client.post(launch_url, {})  # the confirmation box not ticked

    assert refused.status_code == 400
    assert "Tick the box to confirm the launch." in refused.content.decode()
    nexts = next_links(parse(refused))
    assert nexts, "the refused page shows the invitations' pagination"
    target = urljoin("http://testserver" + launch_url, nexts[0])
    assert target.split("?")[0].endswith(reverse("surveys:survey-detail", args=[survey.pk]))
    assert client.get(target).status_code == 200


def test_the_survey_pages_links_stay_on_the_survey(analyst, client):
    survey = SurveyFactory(status="active")
    InvitationFactory.create_batch(55, survey=survey)
    client.force_login(analyst)
    detail = reverse("surveys:survey-detail", args=[survey.pk])
    assert next_links(parse(client.get(detail))) == [f"{detail}?page=2"]


def test_the_survey_page_lists_fifty_invitations_a_page(analyst, client):
    survey = SurveyFactory(status="active")
    InvitationFactory.create_batch(55, survey=survey)
    client.force_login(analyst)
    detail = reverse("surveys:survey-detail", args=[survey.pk])
    first, second = client.get(detail), client.get(detail, {"page": 2})
    assert (len(first.context["page_obj"]), len(second.context["page_obj"])) == (50, 5)


# --- a refused export: the response list drawn at the CSV address ---------------------------------


def test_a_refused_exports_filter_form_and_pages_go_back_to_the_list(analyst, client):
    survey = SurveyFactory()
    ResponseFactory.create_batch(55, invitation__survey=survey)
    client.force_login(analyst)
    export = reverse("surveys:response-export")
    list_url = reverse("surveys:response-list")

    refused = client.get(export, {"segment": "NoSuchSegment"})

    assert refused.status_code == 400
    page = parse(refused)
    search = [form for form in page.forms if (form.get("method") or "get").lower() == "get"]
    action = urljoin("http://testserver" + export, search[0].get("action") or "")
    assert action.endswith(list_url), f"the filter form submits to {action}"
    nexts = next_links(page)
    assert nexts, "the refused page shows the responses' pagination"
    for href in nexts:
        assert urljoin("http://testserver" + export, href).split("?")[0].endswith(list_url)


def test_the_pagers_of_other_lists_keep_their_relative_links_and_filters(analyst, client):
    CustomerFactory.create_batch(55, segment="SMB")
    client.force_login(analyst)
    page = parse(client.get(reverse("accounting:customer-list"), {"segment": "SMB"}))
    assert next_links(page) == ["?segment=SMB&page=2"]


# --- first-use states ---------------------------------------------------------------------------


def test_an_empty_customer_list_says_there_are_none_and_offers_the_import(analyst, client):
    client.force_login(analyst)
    main = main_of(client.get(reverse("accounting:customer-list")))
    assert "No customers yet." in main
    assert "matches these filters" not in main
    assert f'href="{reverse("accounting:import-list")}">Import customers</a>' in main


def test_an_empty_customer_list_offers_no_import_to_a_user_who_may_only_read(db, client):
    reader = UserFactory()  # no role gives this alone: the link follows the permission, not the role
    reader.user_permissions.add(Permission.objects.get(content_type__app_label="accounting", codename="view_customer"))
    client.force_login(reader)
    main = main_of(client.get(reverse("accounting:customer-list")))
    assert "No customers yet." in main
    assert reverse("accounting:import-list") not in main


def test_a_filtered_customer_list_with_no_match_says_so(analyst, client):
    CustomerFactory(name="Alice")
    client.force_login(analyst)
    main = main_of(client.get(reverse("accounting:customer-list"), {"q": "nobody-by-that-name"}))
    assert "No customer matches these filters." in main
    assert "No customers yet." not in main


@pytest.fixture
def empty_ledger_dashboard(client, django_capture_on_commit_callbacks):
    """The earned-growth page as `user` sees it with customers but no revenue, snapshots computed."""

    def get(user):
        CustomerFactory()
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            client.get(reverse("reports:earned-growth"))
        return main_of(client.get(reverse("reports:earned-growth")))

    return get


def test_an_empty_ledger_points_the_analyst_to_the_revenue_import(analyst, empty_ledger_dashboard):
    main = empty_ledger_dashboard(analyst)
    assert "No revenue recorded yet" in main
    assert f'href="{reverse("accounting:import-list")}">Import revenue</a>' in main


def test_a_viewer_is_told_the_ledger_is_empty_without_an_import_link(viewer, empty_ledger_dashboard):
    main = empty_ledger_dashboard(viewer)
    assert "No revenue recorded yet" in main
    assert reverse("accounting:import-list") not in main


def test_the_dashboard_does_not_call_a_ledger_with_revenue_empty(analyst, client):
    RevenueEntryFactory()
    client.force_login(analyst)
    assert "No revenue recorded yet" not in main_of(client.get(reverse("reports:earned-growth")))


# --- the home page ------------------------------------------------------------------------------

DASHBOARDS = ("reports:nps", "reports:earned-growth", "cohorts:cohorts", "cohorts:referrals")


def test_the_home_page_offers_a_viewer_the_dashboards_it_may_open(viewer, client):
    client.force_login(viewer)
    main = main_of(client.get(reverse("home")))
    for name in DASHBOARDS:
        assert f'href="{reverse(name)}"' in main, name
    assert reverse("accounting:import-list") not in main


def test_the_home_page_offers_no_dashboard_to_a_user_without_a_role(db, client):
    client.force_login(UserFactory())
    main = main_of(client.get(reverse("home")))
    for name in DASHBOARDS:
        assert f'href="{reverse(name)}"' not in main, name
    assert reverse("api-docs") in main
