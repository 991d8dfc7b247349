"""The wallet chooser's offers: ``GET /offers/{scope}/{wallet_id}`` (issue 18; seed 000's "offer UI", SUNET apigw's
``/offers/:scope/:wallet_id``).

An anonymous page: it makes a fresh Credential Offer (OpenID4VCI 1.0 §4.1.1) for the document-backed configuration
whose ``scope`` is ``scope``, with only the ``authorization_code`` grant. Its ``issuer_state`` is bound to the
configuration and to no person, and the offer holds no personal data. The wallet fetches it by reference
(§4.1.3), runs the authorization code flow, the citizen logs in, and the credential endpoint issues the document
the person's registry record maps to (:mod:`app.services.issuance.document_claims`). The offer is single use and
expires after ``IDBB_CREDENTIAL_OFFER_TTL``; each source address may open ``IDBB_THROTTLE_PER_SOURCE`` offers per
``IDBB_THROTTLE_WINDOW`` (an anonymous endpoint that writes a row).

The wallet (``IDBB_OFFER_WALLETS``) decides where the offer goes: ``<redirect_uri>?credential_offer_uri=...``
(§4.1.3), ``openid-credential-offer://`` for a native wallet, a web wallet's page otherwise.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from app.clock import clock
from app.extensions import db, state
from app.services import throttle
from app.services.issuance import offers, records
from app.services.issuance.authorization import AUTHORIZATION_CODE_GRANT, PERSON_FREE_CLIENT
from app.services.issuance.configurations import CredentialConfiguration, configured
from app.services.issuance.document_claims import is_document_backed
from app.services.transaction import atomic

#: The throttle's kind of action (per source address, app.services.throttle).
OFFER_PAGE = "offer-page"
MAX_SEGMENT = 100


@dataclass(frozen=True)
class WalletOffer:
    credential_offer: dict[str, Any]
    credential_offer_uri: str
    wallet: dict[str, str]
    expires_at: str

    def as_json(self, *, qr_code: str) -> dict[str, Any]:
        return {
            "credential_offer": self.credential_offer,
            "credential_offer_uri": self.credential_offer_uri,
            "wallet": self.wallet,
            "qr_code": qr_code,
        }


def _configuration(scope: str) -> CredentialConfiguration | None:
    for config in configured().values():
        if config.scope == scope and is_document_backed(config):
            return config
    return None


def create(scope: str, wallet_id: str, *, source: str | None) -> WalletOffer | None:
    """A new person-free offer of ``scope``'s configuration for the wallet ``wallet_id``; None (404) when either is
    unknown. Counted per source address first (``RateLimited``, 429), unknown names included."""
    throttle.check(OFFER_PAGE, source)
    settings = state().settings
    wallet = settings.offer_wallet_map().get(wallet_id) if len(wallet_id) <= MAX_SEGMENT else None
    config = _configuration(scope) if len(scope) <= MAX_SEGMENT else None
    if wallet is None or config is None:
        return None
    with atomic():
        now = clock.now()
        row = records.new_issuance(
            client_id=PERSON_FREE_CLIENT,
            configuration_ids=[config.id],
            subject_uin=None,  # bound to a person only when one logs in (authorization.redeem)
            grant_type=AUTHORIZATION_CODE_GRANT,  # §4.1.1: no pre-authorized code for an anonymous page
            state="offer_sent",
            code_hash=offers.code_hash_for(AUTHORIZATION_CODE_GRANT),
            offer_scheme=offers.SCHEMES[0],
            now=now,
            expires_at=now + timedelta(seconds=settings.credential_offer_ttl),  # offers expire
        )
        issuance_id = row.issuance_id
        records.move(row, "offer_sent", wallet=wallet_id)
        db.session.add(row)
        records.event(row, "offer_created", actor=PERSON_FREE_CLIENT, grant=AUTHORIZATION_CODE_GRANT, wallet=wallet_id)
        reference = offers.reference_uri(issuance_id)
        # §4.1.3: the wallet's endpoint with credential_offer_uri
        url = f"{wallet['redirect_uri']}?{urlencode({'credential_offer_uri': reference}, quote_via=quote)}"
        return WalletOffer(
            credential_offer=offers.offer_object(row),
            credential_offer_uri=reference,
            wallet={"id": wallet_id, "label": wallet["label"], "url": url},
            expires_at=row.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        )


def page_context(offer: WalletOffer) -> dict[str, Any]:
    """The offer page's context (``offer.html``, the look and languages of ``GET /offers/{id}``)."""
    return {
        "qr_svg": offers.qr_svg(offer.wallet["url"]),
        "offer_uri": offer.wallet["url"],
        "wallet_label": offer.wallet["label"],
        "tx_code_length": None,
        "expires": offer.expires_at,
    }


def qr_code(offer: WalletOffer) -> str:
    return offers.qr_data_uri(offer.wallet["url"], kind="svg")
