"""Flows of the OpenID Provider: browser side, token side, client cache."""
