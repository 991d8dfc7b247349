"""Issuing credentials over HTTP for the lifecycle tests (a backend and a wallet from ``issuance_helpers``), and
reading their entries back from the published lists with the tests' own decoder."""

from dataclasses import dataclass
from typing import Any

from tests.flows.issuance_helpers import Backend, HolderKey, Wallet, code_of, status_of_cwt, status_of_jwt


@dataclass(frozen=True)
class Issued:
    issuance_id: str
    credential_id: str
    revocation_id: str
    uri: str
    idx: int
    credential: str
    token: dict[str, Any] | None = None
    notification_id: str | None = None


def issue(backend: Backend, wallet: Wallet, uin: str, config: str) -> Issued:
    """Backend issue → offer → pre-authorized token → nonce → proof → credential; its record from the backend."""
    return collect(backend, wallet, backend.issued(credentialConfigurationId=config, subject={"uin": uin}))


def collect(backend: Backend, wallet: Wallet, created: dict[str, Any]) -> Issued:
    """The wallet collects the credential of an offer the backend created."""
    token = wallet.token(code_of(wallet.offer(created["offerUri"])))
    response = wallet.credential(token, [HolderKey()])
    assert response.status_code == 200, response.text
    [record] = backend.read(created["issuanceId"])["credentials"]
    return Issued(
        created["issuanceId"],
        record["credentialId"],
        record["revocationId"],
        record["status"]["uri"],
        record["status"]["idx"],
        response.json()["credentials"][0]["credential"],
        token,
        response.json()["notification_id"],
    )


def published_status(http: Any, item: Issued) -> int:
    """The entry in the JWT form and the CWT form, which must agree."""
    jwt_value = status_of_jwt(http, item.uri, item.idx)
    cwt_value = status_of_cwt(http, item.uri, item.idx)
    assert jwt_value == cwt_value, "statuslist+jwt and statuslist+cwt disagree"
    return jwt_value
