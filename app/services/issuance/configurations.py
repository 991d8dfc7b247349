"""Credential configurations: YAML data (``IDBB_CREDENTIAL_CONFIG_DIR``), validated once at start-up.

A configuration is one entry of ``credential_configurations_supported`` (OpenID4VCI 1.0 §12.2.4) plus what idbb
needs to fill it: where each claim comes from (a registry attribute ``source``, a ``computed`` value, or the
backend's explicit claims), which claims are selectively disclosable, the validity period. Loading is strict: an
unknown member, a format idbb cannot issue or a claim without a source stops the start-up with the file's name.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from app.config import ConfigError
from app.extensions import state

FORMATS = ("dc+sd-jwt", "mso_mdoc", "jwt_vc_json")  # OpenID4VCI 1.0 Appendix A.3, A.2, A.1.1
COMPUTED = ("age_over_18", "issuing_country", "issuing_authority", "issuance_date", "expiry_date")
TYPES = ("string", "date", "boolean", "integer")
#: Proof signing algorithms idbb verifies (JWS names, RFC 7518); ``none`` and MACs never (1.0 Appendix F.1).
PROOF_ALGS = ("ES256", "ES384", "EdDSA", "PS256", "RS256")
#: COSE algorithm numbers for mso_mdoc (1.0 Appendix A.2.2: credential_signing_alg_values_supported are integers).
COSE_ALGS = {"ES256": -7}
_TOP = {
    "id",
    "format",
    "scope",
    "vct",
    "doctype",
    "credential_definition",
    "validity_days",
    "cryptographic_binding_methods_supported",
    "proof_signing_alg_values_supported",
    "display",
    "claims",
    "authentic_sources",
}
_CLAIM = {"path", "source", "computed", "type", "sd", "mandatory", "display"}


@dataclass(frozen=True)
class ClaimSpec:
    path: tuple[str, ...]
    source: str | None
    computed: str | None
    type: str
    sd: bool
    mandatory: bool
    display: tuple[dict[str, str], ...]

    @property
    def name(self) -> str:
        """The key of this claim in the backend's explicit ``claims`` (the last path element)."""
        return self.path[-1]


@dataclass(frozen=True)
class CredentialConfiguration:
    id: str
    format: str
    scope: str
    vct: str | None
    doctype: str | None
    types: tuple[str, ...]
    validity_days: int
    binding_methods: tuple[str, ...]
    proof_algs: tuple[str, ...]
    display: tuple[dict[str, str], ...]
    claims: tuple[ClaimSpec, ...]
    signing_alg: str = "ES256"
    #: issue 18: the authentic sources whose documents (datastore, seed 000) hold this credential's claims for a
    #: person who logs in; () means any source holding documents of this scope; None: not document-backed
    authentic_sources: tuple[str, ...] | None = None

    def metadata(self) -> dict[str, Any]:
        """This configuration as ``credential_configurations_supported`` lists it (1.0 §12.2.4, Appendix A)."""
        entry: dict[str, Any] = {"format": self.format, "scope": self.scope}
        if self.format == "dc+sd-jwt":
            entry["vct"] = self.vct
        elif self.format == "mso_mdoc":
            entry["doctype"] = self.doctype
        else:
            entry["credential_definition"] = {"type": list(self.types)}
        entry["cryptographic_binding_methods_supported"] = list(self.binding_methods)
        # Appendix A.2.2: for mso_mdoc the values are COSE algorithm identifiers (integers)
        entry["credential_signing_alg_values_supported"] = (
            [COSE_ALGS[self.signing_alg]] if self.format == "mso_mdoc" else [self.signing_alg]
        )
        entry["proof_types_supported"] = {"jwt": {"proof_signing_alg_values_supported": list(self.proof_algs)}}
        entry["credential_metadata"] = {  # §12.2.4: display and claims live in credential_metadata
            "display": [dict(d) for d in self.display],
            "claims": [
                {"path": list(c.path), "mandatory": c.mandatory, "display": [dict(d) for d in c.display]}
                for c in self.claims
            ],
        }
        return entry

    def values(
        self,
        attributes: Mapping[str, Any],
        explicit: Mapping[str, Any] | None,
        *,
        now: datetime,
        issuing_country: str,
        issuing_authority: str,
    ) -> dict[tuple[str, ...], Any]:
        """Every claim's value by path: explicit claims first, then registry attributes, then computed values.

        Raises ``KeyError`` with the claim's path when a mandatory claim has no value (no claim value in it).
        """
        today = now.date()
        expiry = today + timedelta(days=self.validity_days)
        out: dict[tuple[str, ...], Any] = {}
        for claim in self.claims:
            value: Any = None
            if explicit is not None and claim.name in explicit:
                value = explicit[claim.name]
            elif claim.source is not None and explicit is None:
                value = attributes.get(claim.source)
            elif claim.computed == "age_over_18":
                value = _age_over(attributes, explicit, 18, today)
            elif claim.computed == "issuing_country":
                value = issuing_country
            elif claim.computed == "issuing_authority":
                value = issuing_authority
            elif claim.computed == "issuance_date":
                value = today.isoformat()
            elif claim.computed == "expiry_date":
                value = expiry.isoformat()
            if value is None or value == "":
                if claim.mandatory:
                    raise KeyError("/".join(claim.path))
                continue
            out[claim.path] = _typed(value, claim, self.format)
        return out


def _age_over(attributes: Mapping[str, Any], explicit: Mapping[str, Any] | None, years: int, today: date) -> Any:
    raw = (explicit or {}).get("birthdate") or (explicit or {}).get("birth_date") or attributes.get("dateOfBirth")
    try:
        born = date.fromisoformat(str(raw))
    except ValueError:
        return None
    return (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) >= years


def _typed(value: Any, claim: ClaimSpec, fmt: str) -> Any:
    if claim.type == "date":
        try:
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError as exc:
            raise KeyError("/".join(claim.path)) from exc
        return day if fmt == "mso_mdoc" else day.isoformat()  # mdoc: full-date (ISO 18013-5 §7.2.1)
    if claim.type == "boolean" and not isinstance(value, bool):
        raise KeyError("/".join(claim.path))
    if claim.type == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        raise KeyError("/".join(claim.path))
    return value


def _display(value: Any, where: str) -> tuple[dict[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: display must be a non-empty list")
    out = []
    for item in value:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("locale"), str)
            or not all(isinstance(v, str) for v in item.values())
        ):
            raise ConfigError(f"{where}: each display entry needs a name and a locale (strings)")
        out.append({str(k): str(v) for k, v in item.items()})
    return tuple(out)


def _strings(value: Any, where: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a non-empty list of strings")
    if allowed is not None and not set(value) <= set(allowed):
        raise ConfigError(f"{where} may only hold {', '.join(allowed)}")
    return tuple(value)


def _claim(raw: Any, where: str, fmt: str) -> ClaimSpec:
    if not isinstance(raw, dict) or set(raw) - _CLAIM:
        raise ConfigError(f"{where}: a claim takes only {', '.join(sorted(_CLAIM))}")
    path = raw.get("path")
    if not isinstance(path, list) or not path or not all(isinstance(p, str) and p for p in path):
        raise ConfigError(f"{where}: path must be a non-empty list of strings (1.0 Appendix C)")
    if fmt == "mso_mdoc" and len(path) != 2:  # Appendix A.2.2: [namespace, element identifier]
        raise ConfigError(f"{where}: an mso_mdoc claim path is [namespace, element]")
    if fmt == "jwt_vc_json" and (len(path) < 2 or path[0] != "credentialSubject"):
        raise ConfigError(f"{where}: a jwt_vc_json claim path starts with credentialSubject")
    sources = [k for k in ("source", "computed") if raw.get(k) is not None]
    if len(sources) != 1:
        raise ConfigError(f"{where}: a claim needs exactly one of source or computed")
    if raw.get("computed") is not None and raw["computed"] not in COMPUTED:
        raise ConfigError(f"{where}: computed must be one of {', '.join(COMPUTED)}")
    kind = raw.get("type", "string")
    if kind not in TYPES:
        raise ConfigError(f"{where}: type must be one of {', '.join(TYPES)}")
    if raw.get("sd") and fmt != "dc+sd-jwt":
        raise ConfigError(f"{where}: only dc+sd-jwt claims are selectively disclosable by `sd`")
    return ClaimSpec(
        path=tuple(path),
        source=raw.get("source"),
        computed=raw.get("computed"),
        type=kind,
        sd=bool(raw.get("sd", False)),
        mandatory=bool(raw.get("mandatory", True)),
        display=_display(raw.get("display"), where),
    )


def parse(raw: Any, where: str) -> CredentialConfiguration:
    """One configuration from its YAML mapping; ``where`` names the file in errors."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a credential configuration is a mapping")
    unknown = set(raw) - _TOP
    if unknown:
        raise ConfigError(f"{where}: unknown member(s) {', '.join(sorted(unknown))}")
    ident, fmt = raw.get("id"), raw.get("format")
    if not isinstance(ident, str) or not ident or len(ident) > 100:
        raise ConfigError(f"{where}: id must be a string of 1 to 100 characters")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format must be one of {', '.join(FORMATS)}")
    types: tuple[str, ...]
    vct, doctype, types = raw.get("vct"), raw.get("doctype"), ()
    if fmt == "dc+sd-jwt" and not (isinstance(vct, str) and vct):  # Appendix A.3.2: vct REQUIRED
        raise ConfigError(f"{where}: a dc+sd-jwt configuration needs vct")
    if fmt == "mso_mdoc" and not (isinstance(doctype, str) and doctype):  # Appendix A.2.2: doctype REQUIRED
        raise ConfigError(f"{where}: an mso_mdoc configuration needs doctype")
    if fmt == "jwt_vc_json":
        definition = raw.get("credential_definition")
        if not isinstance(definition, dict):  # Appendix A.1.1.2: credential_definition REQUIRED
            raise ConfigError(f"{where}: a jwt_vc_json configuration needs credential_definition.type")
        types = _strings(definition.get("type"), f"{where}: credential_definition.type")
        if "VerifiableCredential" not in types:
            raise ConfigError(f"{where}: credential_definition.type must include VerifiableCredential")
    days = raw.get("validity_days", 365)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
        raise ConfigError(f"{where}: validity_days must be between 1 and 3650")
    binding = ("cose_key",) if fmt == "mso_mdoc" else ("jwk",)
    methods = _strings(
        raw.get("cryptographic_binding_methods_supported", list(binding)),
        f"{where}: cryptographic_binding_methods_supported",
        binding,
    )
    algs = _strings(
        raw.get("proof_signing_alg_values_supported", ["ES256"]), f"{where}: proof_signing_alg_values_supported", PROOF_ALGS
    )
    claims_raw = raw.get("claims")
    if not isinstance(claims_raw, list) or not claims_raw:
        raise ConfigError(f"{where}: claims must be a non-empty list")
    claims = tuple(_claim(c, f"{where}: claims[{n}]", fmt) for n, c in enumerate(claims_raw))
    paths = [c.path for c in claims]
    if len(set(paths)) != len(paths):
        raise ConfigError(f"{where}: two claims share a path")
    scope = raw.get("scope", ident)
    if not isinstance(scope, str) or not scope or " " in scope:
        raise ConfigError(f"{where}: scope must be one scope token")
    sources_raw = raw.get("authentic_sources")
    sources: tuple[str, ...] | None = None
    if sources_raw == "*":
        sources = ()
    elif sources_raw is not None:
        sources = _strings(sources_raw, f"{where}: authentic_sources (a list, or '*')")
    return CredentialConfiguration(
        id=ident,
        format=fmt,
        scope=scope,
        vct=vct,
        doctype=doctype,
        types=types,
        validity_days=days,
        binding_methods=methods,
        proof_algs=algs,
        display=_display(raw.get("display"), where),
        claims=claims,
        authentic_sources=sources,
    )


def load(directory: str) -> dict[str, CredentialConfiguration]:
    """Every ``*.yaml`` / ``*.yml`` file of ``directory``, by id; any problem is a :class:`ConfigError`."""
    folder = Path(directory)
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        raise ConfigError(f"IDBB_CREDENTIAL_CONFIG_DIR {directory!r} holds no *.yaml credential configuration")
    found: dict[str, CredentialConfiguration] = {}
    scopes: set[str] = set()
    for path in files:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path.name}: cannot be read as YAML ({type(exc).__name__})") from exc
        config = parse(raw, path.name)
        if config.id in found:
            raise ConfigError(f"{path.name}: configuration id {config.id!r} is defined twice")
        if config.scope in scopes:
            raise ConfigError(f"{path.name}: scope {config.scope!r} is used by another configuration")
        found[config.id] = config
        scopes.add(config.scope)
    return found


def configured() -> dict[str, CredentialConfiguration]:
    """The running app's configurations (loaded and validated by ``create_app`` at start-up)."""
    settings = state().settings
    return state().cached("credential_configurations", lambda: load(settings.credential_config_dir))
