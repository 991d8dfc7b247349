"""The printable ID card (issue 17): its PDF layout and the use case that makes a person's card.

Owns ``layout`` (fpdf2 drawing from a :class:`app.formats.card_payload.CardData`, a photo and the QR text: no
database) and ``personalized`` (reads the registry and the enrollment photo, signs the QR payload with the
issuer's EC key). May import models, formats, ``app.services.{keys, audit, blobs, transaction}`` and the status
of an identity through the lifecycle service; never Flask's request, Connexion or ``app.api``.
"""
