"""The token endpoint's per-worker client cache (IDBB_CLIENT_CACHE_SECONDS): fast, and never stale for long.

An unknown code tells the two outcomes apart: an active client is authenticated and then told
``invalid_grant``; an inactive one is refused as ``invalid_client`` before the code is looked at.
"""

import time
from typing import Any

import pytest
from sqlalchemy import update

from app import create_app
from app.extensions import db
from app.models.clients import Client
from app.services import api_clients
from app.services.oidc import client_lookup
from tests.conftest import ISSUER, ApiClient, bearer, new_ec_key, request_time
from tests.flows.oidc_helpers import REDIRECT, RelyingParty, register_rp

WINDOW = 0.6


def error_of(response: Any) -> str:
    assert response.status_code in (400, 401), response.text
    return str(response.json()["error"])


def deactivate_behind_the_cache(app: Any, client_id: str) -> None:
    """What another worker's update looks like to this one: the row changes, this worker is not told."""
    with app.app.app_context():
        db.session.execute(update(Client).where(Client.client_id == client_id).values(status="inactive"))
        db.session.commit()


def deactivate_through_client_management(http: Any, admin_token: str, rp: RelyingParty) -> None:
    request = {
        "clientName": "Ministry portal",
        "status": "INACTIVE",
        "logoUri": "https://rp.example/logo.png",
        "redirectUris": [REDIRECT],
        "userClaims": ["name"],
        "authContextRefs": ["idbb:acr:static-code"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
    }
    response = http.put(
        f"/client-mgmt/oidc-client/{rp.client_id}",
        headers=bearer(admin_token),
        json={"requestTime": request_time(), "request": request},
    )
    assert response.status_code == 200 and not response.json()["errors"], response.text


@pytest.fixture
def app(make_app):
    yield make_app(client_cache_seconds=WINDOW)


def test_an_update_through_this_worker_is_seen_at_once(client, admin_token):
    rp = register_rp(client, admin_token)
    assert error_of(rp.exchange("no-such-code")) == "invalid_grant"  # cached now
    deactivate_through_client_management(client, admin_token, rp)
    assert error_of(rp.exchange("no-such-code")) == "invalid_client"


def test_another_workers_update_is_seen_within_the_window(app, client, admin_token):
    rp = register_rp(client, admin_token)
    assert error_of(rp.exchange("no-such-code")) == "invalid_grant"
    deactivate_behind_the_cache(app, rp.client_id)
    assert error_of(rp.exchange("no-such-code")) == "invalid_grant"  # this worker's copy, at most WINDOW old
    time.sleep(WINDOW + 0.1)
    assert error_of(rp.exchange("no-such-code")) == "invalid_client"


def test_with_the_cache_off_every_request_reads_the_database(make_app):
    app = make_app(client_cache_seconds=0)
    pem, public = new_ec_key()
    with app.app.app_context():
        api_clients.register("api-nocache", name="api-nocache", scopes=["read_oidc_client"], public_key=public, actor="test")
    caller = ApiClient("api-nocache", pem, public, app.test_client(base_url=ISSUER))
    assert caller.token_response().status_code == 200
    deactivate_behind_the_cache(app, "api-nocache")
    assert error_of(caller.token_response()) == "invalid_client"


@pytest.mark.redis
def test_with_redis_another_workers_update_is_seen_within_half_a_second(make_app):
    """Two workers (two apps) share the database and Redis; the cache alone would keep a copy for 60 s."""
    worker = make_app(client_cache_seconds=60)
    other = create_app(worker.app.extensions["idbb"].settings)
    http = worker.test_client(base_url=ISSUER)
    admin = ApiClient("api-admin-2", *register_admin(worker), http)
    rp = register_rp(http, admin.token())
    assert error_of(rp.exchange("no-such-code")) == "invalid_grant"  # cached in `worker`
    deactivate_through_client_management(other.test_client(base_url=ISSUER), admin.token(), rp)
    time.sleep(client_lookup.GENERATION_CHECK_SECONDS + 0.1)
    assert error_of(rp.exchange("no-such-code")) == "invalid_client"


def register_admin(app: Any) -> tuple[bytes, dict[str, Any]]:
    pem, public = new_ec_key()
    with app.app.app_context():
        api_clients.register(
            "api-admin-2",
            name="api-admin-2",
            public_key=public,
            actor="test",
            scopes=["add_oidc_client", "update_oidc_client", "read_oidc_client"],
        )
    return pem, public
