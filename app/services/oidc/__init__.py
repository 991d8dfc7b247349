"""The OpenID Provider: authorization requests and the browser flow, login authentication, consent, grants,
the token, introspection and revocation endpoints, ID tokens, userinfo, PAR, DPoP, SSO sessions, logout,
discovery, relying-party metadata, lookup and authentication, and client management (GovStack IDBB §6-§8,
OIDC Core, RFC 6749).

May import: models, stores, formats, errors, extensions, config, clock, the shared root services
(``keys``, ``audit``, ``stored_secrets``, ``notifier``, ``throttle``, ``transaction``, ``api_clients``,
``credentials``, ``page_outcome``), and ``app.services.issuance`` public modules (the OpenID4VCI grants);
never ``wallet``, ``enrollment`` or ``ops`` (they build on this package, not the other way round).
"""
