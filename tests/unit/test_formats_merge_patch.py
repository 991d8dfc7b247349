"""app/formats/merge_patch: every example of RFC 7396 Appendix A and §3, and no mutation of the inputs."""

import copy
import json

import pytest

from app.formats.merge_patch import merge_patch

# RFC 7396 Appendix A, in order, as JSON text exactly as the RFC prints it: (original, patch, result)
APPENDIX_A = [
    ('{"a":"b"}', '{"a":"c"}', '{"a":"c"}'),
    ('{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'),
    ('{"a":"b"}', '{"a":null}', "{}"),
    ('{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'),
    ('{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'),
    ('{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'),
    ('{"a": {"b": "c"}}', '{"a": {"b": "d", "c": null}}', '{"a": {"b": "d"}}'),
    ('{"a": [{"b":"c"}]}', '{"a": [1]}', '{"a": [1]}'),
    ('["a","b"]', '["c","d"]', '["c","d"]'),
    ('{"a":"b"}', '["c"]', '["c"]'),
    ('{"a":"foo"}', "null", "null"),
    ('{"a":"foo"}', '"bar"', '"bar"'),
    ('{"e":null}', '{"a":1}', '{"e":null,"a":1}'),
    ("[1,2]", '{"a":"b","c":null}', '{"a":"b"}'),
    ("{}", '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'),
]


@pytest.mark.parametrize(("original", "patch", "result"), APPENDIX_A)
def test_rfc7396_appendix_a(original, patch, result):
    assert merge_patch(json.loads(original), json.loads(patch)) == json.loads(result)


def test_appendix_a_has_all_fifteen_cases():
    assert len(APPENDIX_A) == 15


def test_rfc7396_section_3_example():
    target = json.loads(
        """{"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
            "tags": ["example", "sample"], "content": "This will be unchanged"}"""
    )
    patch = json.loads(
        '{"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": null}, "tags": ["example"]}'
    )
    assert merge_patch(target, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    }


def test_null_inside_a_new_object_is_not_stored():
    assert merge_patch({}, {"a": {"b": None, "c": 1}}) == {"a": {"c": 1}}
    assert merge_patch({"a": 1}, {"a": {"b": None}}) == {"a": {}}  # non-object target replaced by {}


def test_null_in_arrays_is_kept():
    assert merge_patch({"a": 1}, {"a": [None, {"b": None}]}) == {"a": [None, {"b": None}]}


def test_deleting_a_missing_member_is_a_no_op():
    assert merge_patch({"a": 1}, {"zz": None}) == {"a": 1}


def test_empty_patch_object_keeps_an_object_and_replaces_anything_else():
    assert merge_patch({"a": 1}, {}) == {"a": 1}
    assert merge_patch([1], {}) == {}
    assert merge_patch("x", {}) == {}
    assert merge_patch(None, {"a": 1}) == {"a": 1}


@pytest.mark.parametrize(("original", "patch", "result"), APPENDIX_A)
def test_inputs_are_not_mutated(original, patch, result):
    target, patch_value = json.loads(original), json.loads(patch)
    target_before, patch_before = copy.deepcopy(target), copy.deepcopy(patch_value)
    merge_patch(target, patch_value)
    assert target == target_before
    assert patch_value == patch_before


def test_result_shares_nothing_with_the_inputs():
    target = {"keep": {"deep": [1, 2]}, "change": {"x": 1}}
    patch = {"change": {"y": [3]}, "new": {"z": [4]}}
    result = merge_patch(target, patch)
    assert result == {"keep": {"deep": [1, 2]}, "change": {"x": 1, "y": [3]}, "new": {"z": [4]}}
    result["keep"]["deep"].append(99)
    result["change"]["y"].append(99)
    result["new"]["z"].append(99)
    result["change"]["x"] = 2
    assert target == {"keep": {"deep": [1, 2]}, "change": {"x": 1}}
    assert patch == {"change": {"y": [3]}, "new": {"z": [4]}}


def test_non_object_patch_result_is_a_copy():
    patch = ["c", {"d": 1}]
    result = merge_patch({"a": "b"}, patch)
    result[1]["d"] = 2
    assert patch == ["c", {"d": 1}]
