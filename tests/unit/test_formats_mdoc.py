"""app/formats/mdoc and the mdoc PKI of app/formats/x509, checked by pymdoccbor and, from the standard, by hand.

pymdoccbor (an independent ISO 18013-5 parser) verifies the COSE signature of issuerAuth with the DS certificate
from x5chain, the DS certificate against the IACA, and every IssuerSignedItem digest against the MSO. It reads a
DeviceResponse, so the IssuerSigned is wrapped in one (docType + issuerSigned, no deviceSigned: pymdoccbor does not
check device authentication). What pymdoccbor does not check — the protected header holding only alg, the tag-24
wrapping, tdate/full-date tags, the random length, the COSE_Key device key, the status reference, the certificate
profile — is checked with cbor2 + cryptography from ISO 18013-5 (§8.3.2.1.2.2, §9.1.2.4, Annex B) and RFC 9052.
"""

import base64
import hashlib
from datetime import UTC, date, datetime, timedelta

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from jwcrypto import jwk
from pycose.keys import CoseKey
from pymdoccbor.mdoc.verifier import MdocCbor
from pymdoccbor.mso.verifier import MsoVerifier

from app.formats.errors import CertificateError, MdocError, StatusListError
from app.formats.mdoc import (
    DOCTYPE_PID,
    NAMESPACE_PID,
    issue_mdoc,
    issuer_signed_b64url,
    verify_issuer_signed,
)
from app.formats.status_list import status_reference
from app.formats.x509 import certificate_pem, document_signer_certificate, iaca_certificate

NOW = datetime.now(UTC).replace(microsecond=0)
IACA_KEY = ec.generate_private_key(ec.SECP256R1())
DS_KEY = ec.generate_private_key(ec.SECP256R1())
DEVICE_KEY = ec.generate_private_key(ec.SECP256R1())
IACA_DER = iaca_certificate(
    IACA_KEY,
    common_name="idbb IACA GH",
    country="GH",
    not_before=NOW - timedelta(days=1),
    not_after=NOW + timedelta(days=3650),
    issuer_uri="https://idbb.test/iaca",
    crl_uri="https://idbb.test/iaca.crl",
)
DS_DER = document_signer_certificate(
    IACA_KEY,
    IACA_DER,
    DS_KEY.public_key(),
    common_name="idbb DS 1",
    not_before=NOW - timedelta(hours=1),
    not_after=NOW + timedelta(days=365),
    issuer_uri="https://idbb.test/iaca",
)
STATUS_URI = "https://idbb.test/statuslists/7"
ELEMENTS = {
    "family_name": "Mensah",
    "given_name": "Ama",
    "birth_date": date(1990, 4, 1),
    "issuance_date": date(2026, 12, 1),
    "expiry_date": date(2031, 12, 1),
    "issuing_country": "GH",
    "issuing_authority": "NIA",
    "age_over_18": True,
    "nationality": ["GH"],
}


def issue(**overrides):
    arguments = dict(
        doctype=DOCTYPE_PID,
        namespaces={NAMESPACE_PID: ELEMENTS},
        device_key=DEVICE_KEY.public_key(),
        key=DS_KEY,
        certificate=DS_DER,
        signed=NOW,
        valid_from=NOW,
        valid_until=NOW + timedelta(days=365),
        status=status_reference(33, STATUS_URI),
    )
    arguments.update(overrides)
    return issue_mdoc(**arguments)


def device_response(issuer_signed_bytes):
    return cbor2.dumps(
        {
            "version": "1.0",
            "status": 0,
            "documents": [{"docType": DOCTYPE_PID, "issuerSigned": cbor2.loads(issuer_signed_bytes)}],
        }
    )


def test_pymdoccbor_verifies_signature_chain_and_digests():
    issued = issue()
    mdoc = MdocCbor()
    mdoc.loads(device_response(issued.encoded))
    iaca = x509.load_der_x509_certificate(IACA_DER)
    assert mdoc.verify(trusted_root_certs=[iaca], verify_hashes=True) is True
    [document] = mdoc.documents
    assert document.hash_verification == {"valid": True, "total": len(ELEMENTS), "verified": len(ELEMENTS), "failed": []}
    disclosed = mdoc.disclosure_map[NAMESPACE_PID]
    assert disclosed["family_name"] == "Mensah" and disclosed["age_over_18"] is True
    assert disclosed["birth_date"] == date(1990, 4, 1)  # pymdoccbor reads the full-date tag (1004) as a date


def test_pymdoccbor_rejects_another_root_and_a_tampered_element():
    issued = issue()
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_root = x509.load_der_x509_certificate(
        iaca_certificate(
            other_key,
            common_name="other",
            country="GH",
            not_before=NOW - timedelta(days=1),
            not_after=NOW + timedelta(days=10),
            issuer_uri="https://other.test",
        )
    )
    mdoc = MdocCbor()
    mdoc.loads(device_response(issued.encoded))
    assert mdoc.verify(trusted_root_certs=[other_root]) is False
    # change one element's value: its digest no longer matches
    structure = cbor2.loads(issued.encoded)
    first = cbor2.loads(structure["nameSpaces"][NAMESPACE_PID][0].value)
    first["elementValue"] = "forged"
    structure["nameSpaces"][NAMESPACE_PID][0] = cbor2.CBORTag(24, cbor2.dumps(first))
    verifier = MsoVerifier(structure["issuerAuth"])
    assert verifier.verify_signature() is True  # the MSO itself is intact
    assert verifier.verify_element_hashes(structure["nameSpaces"])["valid"] is False


def test_structure_from_the_standard_with_cbor2():
    issued = issue()
    structure = cbor2.loads(issued.encoded)
    assert set(structure) == {"nameSpaces", "issuerAuth"}
    protected_bytes, unprotected, payload, signature = structure["issuerAuth"]  # §9.1.2.4: untagged COSE_Sign1
    assert protected_bytes == bytes.fromhex("a10126")  # {1: -7}: only the algorithm is protected
    assert unprotected == {33: DS_DER}  # x5chain: the DS certificate
    mso_tag = cbor2.loads(payload)
    assert isinstance(mso_tag, cbor2.CBORTag) and mso_tag.tag == 24  # MobileSecurityObjectBytes
    mso_raw = cbor2.loads(mso_tag.value)
    assert mso_raw["version"] == "1.0" and mso_raw["digestAlgorithm"] == "SHA-256" and mso_raw["docType"] == DOCTYPE_PID
    # tdate = #6.0(tstr), UTC with Z and no fractional seconds: look for the exact encoding (cbor2 decodes tag 0)
    validity = mso_raw["validityInfo"]
    for name, moment in (("signed", NOW), ("validFrom", NOW), ("validUntil", NOW + timedelta(days=365))):
        text = moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        assert bytes([0xC0, 0x60 + len(text)]) + text in mso_tag.value  # tag 0, text string of 20
        assert validity[name] == moment
    assert mso_raw["status"] == {"status_list": {"idx": 33, "uri": STATUS_URI}}  # Token Status List §6.3
    # deviceKey is the holder's key as COSE_Key: pycose reads it, and its coordinates are the device key's
    device_key = mso_raw["deviceKeyInfo"]["deviceKey"]
    numbers = DEVICE_KEY.public_key().public_numbers()
    assert device_key == {1: 2, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    assert CoseKey.from_dict(device_key).crv.identifier == 1
    # every IssuerSignedItemBytes: tag 24, random >= 16 bytes, its SHA-256 (over the tagged bytes) in valueDigests
    digests = mso_raw["valueDigests"][NAMESPACE_PID]
    ids = []
    for tagged in structure["nameSpaces"][NAMESPACE_PID]:
        assert isinstance(tagged, cbor2.CBORTag) and tagged.tag == 24
        item = cbor2.loads(tagged.value)
        assert set(item) == {"digestID", "random", "elementIdentifier", "elementValue"}
        assert len(item["random"]) >= 16
        assert digests[item["digestID"]] == hashlib.sha256(cbor2.dumps(tagged)).digest()
        ids.append(item["digestID"])
        if item["elementIdentifier"] in {"birth_date", "issuance_date", "expiry_date"}:
            text = ELEMENTS[item["elementIdentifier"]].isoformat().encode()
            assert bytes.fromhex("d903ec6a") + text in tagged.value  # full-date: tag 1004 (RFC 8943), tstr of 10
            assert item["elementValue"] == ELEMENTS[item["elementIdentifier"]]
    assert sorted(ids) == list(range(len(ELEMENTS)))
    # RFC 9052 §4.4 by hand: Sig_structure and r||s ES256 with the DS certificate's key
    to_verify = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    ds_public = x509.load_der_x509_certificate(unprotected[33]).public_key()
    der_signature = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    ds_public.verify(der_signature, to_verify, ec.ECDSA(hashes.SHA256()))


def test_base64url_credential_and_own_verifier():
    issued = issue()
    credential = issuer_signed_b64url(issued)
    assert "=" not in credential
    assert base64.urlsafe_b64decode(credential + "=" * (-len(credential) % 4)) == issued.encoded
    verified = verify_issuer_signed(
        credential, trusted_iacas=[IACA_DER], now=NOW + timedelta(minutes=1), doctype=DOCTYPE_PID
    )
    assert verified.elements[NAMESPACE_PID]["birth_date"] == date(1990, 4, 1)
    assert verified.elements[NAMESPACE_PID]["issuing_country"] == "GH"
    with pytest.raises(MdocError):
        verify_issuer_signed(credential, trusted_iacas=[IACA_DER], now=NOW + timedelta(days=400))
    with pytest.raises(MdocError):
        verify_issuer_signed(credential, trusted_iacas=[], now=NOW)


def test_device_key_from_a_jwk_is_the_same_cose_key():
    holder = jwk.JWK.from_pyca(DEVICE_KEY.public_key())
    assert issue(device_key=holder).mso["deviceKeyInfo"] == issue().mso["deviceKeyInfo"]
    with pytest.raises(MdocError):
        issue(device_key=jwk.JWK.from_pyca(DEVICE_KEY))  # a private key


def test_device_key_from_an_imported_proof_key_is_the_same_cose_key():
    """A wallet's proof key reaches issuance as a PublicJwk (imported with cryptography): the same deviceKey."""
    from app.formats.jwk import import_public_signing_jwk

    members = jwk.JWK.from_pyca(DEVICE_KEY.public_key()).export_public(as_dict=True)
    assert issue(device_key=import_public_signing_jwk(members)).mso["deviceKeyInfo"] == issue().mso["deviceKeyInfo"]
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(MdocError):  # ISO 18013-5 §9.1.2.4: an EC or EdDSA COSE_Key, never RSA
        issue(device_key=import_public_signing_jwk(jwk.JWK.from_pyca(rsa_key).export_public(as_dict=True)))


def test_bad_input_is_refused():
    with pytest.raises(MdocError):
        issue(valid_until=NOW - timedelta(days=1))
    with pytest.raises(MdocError):
        issue(signed=NOW.replace(tzinfo=None))
    with pytest.raises(MdocError):
        issue(key=ec.generate_private_key(ec.SECP256R1()))  # not the certificate's key
    with pytest.raises(MdocError):
        issue(namespaces={NAMESPACE_PID: {"x": object()}})
    with pytest.raises(StatusListError):
        issue(status={"idx": 1})
    with pytest.raises(MdocError):  # issuing_country must be the DS certificate's C
        issue(namespaces={NAMESPACE_PID: dict(ELEMENTS, issuing_country="NG")})
    with pytest.raises(MdocError):
        verify_issuer_signed("not base64url!", trusted_iacas=[IACA_DER], now=NOW)


# --- the certificates (ISO 18013-5 Annex B) ------------------------------------------------------------


def test_iaca_profile():
    iaca = x509.load_der_x509_certificate(IACA_DER)
    assert iaca.subject == iaca.issuer
    assert iaca.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "GH"
    constraints = iaca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = iaca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign and not usage.value.digital_signature
    assert iaca.extensions.get_extension_for_class(x509.IssuerAlternativeName)
    assert iaca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert iaca.signature_hash_algorithm.name == "sha256"
    iaca.verify_directly_issued_by(iaca)  # self-signed
    assert certificate_pem(IACA_DER).startswith("-----BEGIN CERTIFICATE-----")


def test_document_signer_profile_and_chain():
    iaca = x509.load_der_x509_certificate(IACA_DER)
    ds = x509.load_der_x509_certificate(DS_DER)
    # the chain by hand with the issuer's public key: name chaining and the signature
    assert ds.issuer == iaca.subject
    IACA_KEY.public_key().verify(ds.signature, ds.tbs_certificate_bytes, ec.ECDSA(ds.signature_hash_algorithm))
    ds.verify_directly_issued_by(iaca)
    assert ds.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == ELEMENTS["issuing_country"]
    eku = ds.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ObjectIdentifier("1.0.18013.5.1.2")]
    usage = ds.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    aki = ds.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == iaca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    with pytest.raises(x509.ExtensionNotFound):
        ds.extensions.get_extension_for_class(x509.BasicConstraints)


def test_chain_with_cryptography_path_validation():
    """cryptography's RFC 5280 path validation, with the extension policies relaxed to the mdoc profile (the
    default CA/B Forum policies ask for a SAN and a server/client EKU that ISO 18013-5 certificates do not have)."""
    ca_policy = verification.ExtensionPolicy.webpki_defaults_ca()
    ee_policy = verification.ExtensionPolicy.permit_all()
    store = verification.Store([x509.load_der_x509_certificate(IACA_DER)])
    verifier = (
        verification.PolicyBuilder()
        .store(store)
        .time(NOW + timedelta(minutes=1))
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    verified = verifier.verify(x509.load_der_x509_certificate(DS_DER), [])
    assert [c.subject for c in verified.chain] == [
        x509.load_der_x509_certificate(DS_DER).subject,
        x509.load_der_x509_certificate(IACA_DER).subject,
    ]
    assert (
        ExtendedKeyUsageOID.CLIENT_AUTH
        not in x509.load_der_x509_certificate(DS_DER).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )


def test_certificate_input_is_checked():
    with pytest.raises(CertificateError):
        iaca_certificate(
            IACA_KEY,
            common_name="x",
            country="gh",
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
            issuer_uri="https://idbb.test",
        )
    with pytest.raises(CertificateError):  # issuerAltName is mandatory
        iaca_certificate(IACA_KEY, common_name="x", country="GH", not_before=NOW, not_after=NOW + timedelta(days=1))
    with pytest.raises(CertificateError):  # DS C must be the IACA's
        document_signer_certificate(
            IACA_KEY,
            IACA_DER,
            DS_KEY.public_key(),
            common_name="x",
            country="NG",
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
            issuer_uri="https://idbb.test",
        )
    with pytest.raises(CertificateError):  # longer than 457 days
        document_signer_certificate(
            IACA_KEY,
            IACA_DER,
            DS_KEY.public_key(),
            common_name="x",
            not_before=NOW,
            not_after=NOW + timedelta(days=500),
            issuer_uri="https://idbb.test",
        )
    with pytest.raises(CertificateError):  # not the IACA's key
        document_signer_certificate(
            DS_KEY,
            IACA_DER,
            DS_KEY.public_key(),
            common_name="x",
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
            issuer_uri="https://idbb.test",
        )


def test_the_binding_ca_certificate_is_unchanged_by_the_shared_ca_builder():
    """The wallet-binding CA is derived from a seed and pinned by wallets: the shared CA-certificate builder of
    app/formats/x509.py must give the very bytes the CA had before (its to-be-signed part, hashed)."""
    import hashlib

    from cryptography import x509

    from app.services.wallet.binding_ca import build_ca

    cert = build_ca(b"\x07" * 32).certificate
    assert hashlib.sha256(cert.tbs_certificate_bytes).hexdigest() == (
        "47a6900993ca19c72a00563d3b67466a5b329e3b4eb74e76c5675953197afa65"
    )
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
