"""The OpenID Provider: authorization requests and the browser flow, login authentication, consent, grants,
the token, introspection and revocation endpoints, ID tokens, userinfo, PAR, DPoP, SSO sessions, logout,
discovery, relying-party metadata, lookup and authentication, and client management (GovStack IDBB §6-§8,
OIDC Core, RFC 6749).

May import: models, stores, formats, errors, extensions, config, clock, the shared root services
(``keys``, ``audit``, ``stored_secrets``, ``notifier``, ``throttle``, ``transaction``, ``api_clients``,
``credentials``, ``page_outcome``), ``enrollment.registry`` (finding the person who logs in), and
``issuance`` only through the function-level seams where OpenID4VCI plugs into the OAuth server;
never ``wallet`` or ``ops`` (they build on this package). ``tests/contract/test_layering.py`` checks it.
"""
