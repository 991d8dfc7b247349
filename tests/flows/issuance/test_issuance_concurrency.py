"""Concurrent issuance on PostgreSQL never hands out one status index twice (issue 16 acceptance).

Lists of 16 entries make collisions and list roll-over certain; the wallets' credential requests run at once on
separate threads (separate database sessions), as two workers would.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt as pyjwt
import pytest

from tests.flows.issuance_helpers import SD_JWT_PID, Backend, HolderKey, Wallet, code_of
from tests.flows.oidc_helpers import enroll_citizen

pytestmark = pytest.mark.postgres


def test_concurrent_allocation_never_repeats_an_index(make_app):
    cx = make_app(status_list_size=16)
    from app.services.status import allocation
    from app.services.transaction import atomic

    found: list[tuple[str, int]] = []
    lock = threading.Lock()

    def work() -> None:
        with cx.app.app_context():
            for _ in range(6):
                with atomic():
                    ref = allocation.allocate()
                with lock:
                    found.append((ref.list_id, ref.idx))

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(work) for _ in range(8)]:
            future.result()
    assert len(found) == 48 and len(set(found)) == 48
    assert len({list_id for list_id, _ in found}) >= 4  # three quarters of 16 per list: several lists


def test_concurrent_credential_requests_get_distinct_status_references(make_app, api_client):
    cx = make_app(status_list_size=16)
    http = cx.test_client(base_url="https://idbb.test")
    backend = Backend(http, api_client("issuance.write", "issuance.read").token())
    citizen = enroll_citizen(cx)
    wallet = Wallet(http)
    ready: list[tuple[dict[str, Any], list[str]]] = []
    for _ in range(6):
        created = backend.issued(credentialConfigurationId=SD_JWT_PID, subject={"uin": citizen.uin})
        token = wallet.token(code_of(wallet.offer(created["offerUri"])))
        nonce = wallet.c_nonce()
        ready.append((token, [HolderKey().proof(nonce) for _ in range(3)]))

    def request(item: tuple[dict[str, Any], list[str]]) -> list[tuple[str, int]]:
        token, proofs = item
        ident = token["authorization_details"][0]["credential_identifiers"][0]
        response = http.post(
            "/credential",
            json={"credential_identifier": ident, "proofs": {"jwt": proofs}},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert response.status_code == 200, response.text
        refs = []
        for entry in response.json()["credentials"]:
            status = pyjwt.decode(entry["credential"].split("~")[0], options={"verify_signature": False})["status"]
            refs.append((status["status_list"]["uri"], status["status_list"]["idx"]))
        return refs

    with ThreadPoolExecutor(max_workers=6) as pool:
        refs = [r for batch in pool.map(request, ready) for r in batch]
    assert len(refs) == 18 and len(set(refs)) == 18
