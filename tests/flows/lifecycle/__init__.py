"""Credential lifecycle flows (issue 17): status changes reaching the published lists, blocks, renewal, bulk."""
