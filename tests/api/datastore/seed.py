"""Seed 000's example bodies, verbatim (the SIROS ID issuer's documentation)."""

from typing import Any

ALICE_MAPPING: dict[str, Any] = {
    "authentic_source": "hr.example.org",
    "authentic_source_person_id": "EMP-12345",
    "attributes": {"family_name": "Smith", "given_name": "Alice", "birth_date": "1990-05-15"},
}
ALICE_RESOLVE = {
    "authentic_source": "hr.example.org",
    "attributes": {"family_name": "Smith", "given_name": "Alice", "birth_date": "1990-05-15"},
}
BULK_MAPPINGS = {
    "mappings": {
        "emp1": {
            "authentic_source": "hr.example.org",
            "authentic_source_person_id": "EMP-001",
            "attributes": {"family_name": "Smith", "given_name": "Alice", "birth_date": "1990-05-15"},
        },
        "emp2": {
            "authentic_source": "hr.example.org",
            "authentic_source_person_id": "EMP-002",
            "attributes": {"family_name": "Jones", "given_name": "Bob", "birth_date": "1985-03-22"},
        },
    }
}
MAPPING_UPDATE = {
    "authentic_source": "hr.example.org",
    "authentic_source_person_id": "EMP-12345",
    "attributes": {"family_name": "Smith-Jones"},
}
MAPPING_DELETE = {"authentic_source": "hr.example.org", "authentic_source_person_id": "EMP-12345"}
DIPLOMA: dict[str, Any] = {
    "meta": {"authentic_source": "hr.example.org", "scope": "diploma", "document_id": "diploma-2025-001234"},
    "identity_mapping_ids": ["EMP-12345"],
    "document_data": {
        "degree_type": "Bachelor of Science",
        "field_of_study": "Computer Science",
        "issuing_institution": "Example University",
        "graduation_date": "2025-05-15",
        "gpa": "3.8",
        "credits_earned": 120,
    },
}
DIPLOMA_KEY = {"authentic_source": "hr.example.org", "scope": "diploma", "document_id": "diploma-2025-001234"}
DIPLOMA_REPLACE: dict[str, Any] = {
    "meta": {"authentic_source": "hr.example.org", "scope": "diploma", "document_id": "diploma-2025-001234"},
    "identity_mapping_ids": ["EMP-12345"],
    "document_data": {"degree_type": "Bachelor of Science", "field_of_study": "Computer Science", "gpa": "3.9"},
}
LIST = {"authentic_source": "hr.example.org", "identity_mapping_id": "EMP-12345", "scope": "diploma"}
RESOLVE_DOCUMENTS = {
    "authentic_source": "hr.example.org",
    "attributes": {"family_name": "Smith", "given_name": "Alice", "birth_date": "1990-05-15"},
    "scope": "diploma",
}
ADD_IDENTITY = {
    "authentic_source": "hr.example.org",
    "scope": "diploma",
    "document_id": "diploma-2025-001234",
    "identity_mapping_ids": ["EMP-67890"],
}
BULK_DOCUMENTS = {
    "documents": {
        "doc1": {
            "meta": {"authentic_source": "hr.example.org", "scope": "diploma", "document_id": "diploma-001"},
            "identity_mapping_ids": ["EMP-001"],
            "document_data": {"degree": "BSc"},
        },
        "doc2": {
            "meta": {"authentic_source": "hr.example.org", "scope": "diploma", "document_id": "diploma-002"},
            "identity_mapping_ids": ["EMP-002"],
            "document_data": {"degree": "MSc"},
        },
    }
}
