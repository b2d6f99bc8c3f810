"""schemathesis against the app's own OpenAPI document, authenticated: no 500, no undocumented status.

Driven through hypothesis directly (schemathesis' pytest plugin does not work with this pytest).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

# Contract checks do not depend on the dialect: SQLite only (PostgreSQL is covered elsewhere).
pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def test_api_conforms_to_its_openapi_document(site):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", site.client.app)
    headers = site.bearer("admin")
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def conforms(case):
            # A schema-valid request may still be refused with a reason the schema cannot express (a pole
            # number that exists on no pole, a point outside the district): 422 is documented for that.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        conforms()
        checked.append(operation.label)
    assert len(checked) == 53, checked
