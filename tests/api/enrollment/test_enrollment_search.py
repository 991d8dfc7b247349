"""Enrollment search: integer values and a bounded, honoured limit (review finding F8 of issue 5)."""

from tests.enrollment_helpers import full_body

# --- F8: search: integer values are refused by the schema, and limit is neither bounded nor honoured ---------------


def test_f8_search_by_an_integer_value(osia):
    assert osia.create("FIND-1", full_body()).status_code == 204
    response = osia.find([{"attributeName": "requestData.priority", "operator": "=", "value": 1}])
    assert response.status_code == 200, response.text  # today: 400 "1 is valid under each of ..."
    assert [e["enrollmentId"] for e in response.json()] == ["FIND-1"]


def test_f8_search_limit_zero_returns_nothing_or_is_refused(osia):
    assert osia.create("FIND-2", full_body()).status_code == 204
    response = osia.find([{"attributeName": "firstName", "operator": "=", "value": "Amina"}], limit=0)
    assert response.status_code == 400 or response.json() == []  # today: 200 with 1 result
