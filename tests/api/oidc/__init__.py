"""HTTP tests of the OpenID Provider surfaces (client management, discovery, introspection, revocation)."""
