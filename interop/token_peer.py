#!/usr/bin/env python3
"""Independent JOSE peer for attesto's token interop tests (joserfc + cryptography).

Reads one JSON request from stdin and writes one JSON response to stdout, so a
single process handles every algorithm.

Request:
  {"verify": [{"alg", "jwks", "issuer", "audience", "client_id",
               "access_token", "id_token"}],
   "sign":   [{"alg", "kid", "access_claims", "id_claims", "access_token_for_at_hash"}]}

Response:
  {"verify": [{"alg", "access_header", "access_claims", "id_header", "id_claims",
               "at_hash", "thumbprints": {kid: thumbprint}} | {"alg", "error"}],
   "sign":   [{"alg", "jwk", "thumbprint", "access_token", "id_token", "at_hash"} | {"alg", "error"}]}

Every check that fails raises, and the error text is returned for the Rust
side to report; nothing here trusts attesto's own computations.
"""

import base64
import hashlib
import json
import sys
import traceback
import warnings

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from joserfc.jwt import JWTClaimsRegistry

warnings.simplefilter("ignore")

EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def half_hash(alg: str, value: str) -> str:
    """OIDC Core 3.1.3.6 at_hash/c_hash, computed independently of attesto."""
    if alg == "EdDSA":
        digest = hashlib.sha512(value.encode("ascii")).digest()
    else:
        bits = alg[2:]
        digest = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}[bits](
            value.encode("ascii")
        ).digest()
    return b64url(digest[: len(digest) // 2])


def require(cond, msg):
    if not cond:
        raise AssertionError(msg)


def verify_case(case):
    alg = case["alg"]
    keys = KeySet.import_key_set(case["jwks"])
    thumbprints = {}
    for k in case["jwks"]["keys"]:
        key = keys.get_by_kid(k["kid"])
        thumbprints[k["kid"]] = key.thumbprint()
        for private in ("d", "p", "q", "dp", "dq", "qi", "k"):
            require(private not in k, f"private member {private} in JWKS")

    at = jwt.decode(case["access_token"], keys, algorithms=[alg])
    require(at.header.get("typ") == "at+jwt", f"access token typ {at.header.get('typ')!r}")
    require(at.header.get("alg") == alg, "access token alg")
    require(at.header.get("kid") in thumbprints, "access token kid not in JWKS")
    JWTClaimsRegistry(
        iss={"essential": True, "value": case["issuer"]},
        aud={"essential": True, "value": case["audience"]},
        sub={"essential": True},
        jti={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        client_id={"essential": True, "value": case["client_id"]},
    ).validate(at.claims)

    idt = jwt.decode(case["id_token"], keys, algorithms=[alg])
    require(idt.header.get("typ") == "JWT", f"id token typ {idt.header.get('typ')!r}")
    require(idt.header.get("kid") in thumbprints, "id token kid not in JWKS")
    JWTClaimsRegistry(
        iss={"essential": True, "value": case["issuer"]},
        aud={"essential": True, "value": case["client_id"]},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": case["nonce"]},
    ).validate(idt.claims)
    expected_at_hash = half_hash(alg, case["access_token"])
    require(
        idt.claims.get("at_hash") == expected_at_hash,
        f"at_hash {idt.claims.get('at_hash')!r} != {expected_at_hash!r}",
    )
    return {
        "alg": alg,
        "access_header": at.header,
        "access_claims": at.claims,
        "id_header": idt.header,
        "id_claims": idt.claims,
        "at_hash": expected_at_hash,
        "thumbprints": thumbprints,
    }


def generate(alg, kid):
    params = {"kid": kid, "alg": alg, "use": "sig"}
    if alg.startswith(("RS", "PS")):
        return RSAKey.generate_key(2048, parameters=params)
    if alg in EC_CURVES:
        return ECKey.generate_key(EC_CURVES[alg], parameters=params)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", parameters=params)
    raise ValueError(f"unsupported alg {alg}")


def sign_case(case):
    alg, kid = case["alg"], case["kid"]
    key = generate(alg, kid)
    access_token = jwt.encode(
        {"alg": alg, "typ": "at+jwt", "kid": kid}, case["access_claims"], key, algorithms=[alg]
    )
    id_claims = dict(case["id_claims"])
    at_hash = half_hash(alg, access_token)
    id_claims["at_hash"] = at_hash
    id_token = jwt.encode({"alg": alg, "typ": "JWT", "kid": kid}, id_claims, key, algorithms=[alg])
    public = key.as_dict(private=False)
    for private in ("d", "p", "q", "dp", "dq", "qi"):
        require(private not in public, "joserfc exported a private member")
    return {
        "alg": alg,
        "jwk": public,
        "thumbprint": key.thumbprint(),
        "access_token": access_token,
        "id_token": id_token,
        "at_hash": at_hash,
    }


def run(fn, case):
    try:
        return fn(case)
    except Exception as e:  # report, never crash: the Rust side asserts on it
        return {"alg": case.get("alg"), "error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"}


def main():
    request = json.load(sys.stdin)
    response = {
        "verify": [run(verify_case, c) for c in request.get("verify", [])],
        "sign": [run(sign_case, c) for c in request.get("sign", [])],
    }
    json.dump(response, sys.stdout)


if __name__ == "__main__":
    main()
