"""GovStack credential management (IDBB §8, ``Credential-Management.yaml``): block / unblock an identity's
credentials, activate / deactivate a UIN, the printable card download, sharing attributes with a partner, and the
events and service history of these requests.

Owns ``app.models.cms.ServiceEvent``. Status changes go through ``app.services.lifecycle``, cards through
``app.services.cards``; partners are client-management clients and consent is ``app.models.grants.Consent``. May
import models, formats, errors and the shared services; never ``flask.request``, Connexion or ``app.api``.
"""
