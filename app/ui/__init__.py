"""The browser pages of the OpenID Provider: login, one-time code, consent, logout (server-rendered)."""
