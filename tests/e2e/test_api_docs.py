"""The API's browsable documentation renders from this host alone, under the strict CSP."""

import pytest

pytestmark = pytest.mark.e2e


def test_the_api_docs_render_every_operation_with_no_foreign_request(anonymous, live_app, tmp_path):
    page = anonymous.page
    page.goto(live_app.url + "/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/cases/{case_id}" in [p.replace("\u200b", "") for p in paths]
    page.screenshot(path=str(tmp_path / "docs.png"))
    assert anonymous.foreign() == []
    assert not [e for e in anonymous.errors if "Content Security Policy" in e or "Refused" in e], anonymous.errors
