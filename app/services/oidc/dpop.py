"""DPoP at idbb's endpoints (RFC 9449): proof checks, ``jti`` replay, and the server nonce.

The nonce is stateless (an HMAC of the time slot under a KEK-derived key), so any worker can
issue and check it; proofs' ``jti`` go to the shared replay store.
"""

from app.clock import clock
from app.errors import DpopProofError, InvalidDpopProof, UseDpopNonce
from app.extensions import state
from app.formats import FormatError
from app.formats.dpop import DpopNonceError, DpopProof, issue_nonce, verify_proof
from app.services.stored_secrets import digest, purpose_key

NONCE_WINDOW = 60


#: ``invalid_dpop_proof``, or ``use_dpop_nonce`` with the nonce to use (RFC 9449 §7.1, §8); callers read
#: ``.error``, ``.description`` and ``.nonce``
DpopRefused = DpopProofError


def fresh_nonce() -> str:
    return issue_nonce(purpose_key("dpop nonce"), clock.epoch(), NONCE_WINDOW)


def check(
    proof: str | None, *, method: str, url: str, access_token: str | None = None, required: bool = False
) -> DpopProof | None:
    """Verify the ``DPoP`` header of a request; None when absent and not required."""
    if not proof:
        if required:
            raise InvalidDpopProof("A DPoP proof is required.")
        return None
    settings = state().settings
    now = clock.epoch()
    try:
        verified = verify_proof(
            proof,
            method=method,
            url=url,
            now=now,
            max_age=settings.dpop_max_age,
            access_token=access_token,
            nonce_key=purpose_key("dpop nonce") if settings.dpop_require_nonce else None,
            nonce_window=NONCE_WINDOW,
        )
    except DpopNonceError:
        raise UseDpopNonce(nonce=fresh_nonce()) from None
    except FormatError as exc:
        raise InvalidDpopProof(str(exc)) from None
    marker = digest(verified.jkt, verified.jti)
    # kept well past the last moment the proof could pass the iat check (iat may lie up to the leeway in
    # the future, and workers' clocks differ), so a replay never outlives its marker
    ttl = settings.dpop_max_age + 60
    if not state().replay.add_once(f"dpop:{marker}", ttl, clock.now()):  # RFC 9449 §11.1: a proof is used once
        raise InvalidDpopProof("The DPoP proof was already used.")
    return verified
