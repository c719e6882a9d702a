"""The platform's admin stylesheet (static/css/admin.css, through templates/admin/base_site.html,
which extends Django's own): served, hashed by the manifest, allowed by the CSP, after Django's."""

import pathlib

import pytest
from django.contrib.staticfiles import finders

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_stylesheet_is_a_static_file_the_manifest_can_hash():
    assert finders.find("css/admin.css")
    assert "url(" not in (ROOT / "static/css/admin.css").read_text()


@pytest.mark.django_db
def test_admin_pages_link_it_and_csp_allows_it(client, admin):
    client.force_login(admin)
    for path in ("/admin/login/", "/admin/", "/admin/surveys/survey/", "/admin/surveys/survey/add/"):
        client.logout() if path == "/admin/login/" else client.force_login(admin)
        response = client.get(path)
        assert response.status_code == 200, path
        assert '<link rel="stylesheet" href="/static/css/admin.css">' in response.text, path
        assert "style-src 'self'" in response.get("Content-Security-Policy", ""), path
        assert "CX Platform administration" in response.text, path  # Django's branding block, kept
    page = client.get("/admin/surveys/survey/").text
    assert page.index("admin/css/base.css") < page.index("css/admin.css")
