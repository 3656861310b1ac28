"""Independent DPoP / private_key_jwt peer for attesto's interop tests.

Reads one JSON request on stdin and, for every requested algorithm, uses
joserfc (an independent JOSE implementation) to generate a key and produce:

* a DPoP proof (RFC 9449 §4.2) with htm, htu, iat, jti, ath and nonce,
  plus the key's RFC 7638 thumbprint as joserfc computes it;
* the same proof with a wrong htu (negative case);
* a private_key_jwt client assertion (RFC 7523 §3) and the client's JWKS.

Usage: dpop_peer.py batch < request.json > response.json
"""

import base64
import hashlib
import json
import secrets
import sys
import warnings

from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

warnings.simplefilter("ignore")  # joserfc flags EdDSA as deprecated by RFC 9864


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def generate(alg: str, kid: str):
    params = {"kid": kid, "use": "sig", "alg": alg}
    if alg.startswith(("RS", "PS")):
        return RSAKey.generate_key(2048, parameters=params)
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=params)
    if alg == "ES384":
        return ECKey.generate_key("P-384", parameters=params)
    if alg == "ES512":
        return ECKey.generate_key("P-521", parameters=params)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", parameters=params)
    raise SystemExit(f"unsupported alg {alg}")


def dpop_proof(key, alg: str, req: dict, htu: str) -> str:
    public = key.as_dict(private=False)
    for member in ("kid", "use", "alg"):
        public.pop(member, None)
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": public}
    claims = {
        "jti": secrets.token_urlsafe(16),
        "htm": req["htm"],
        "htu": htu,
        "iat": req["iat"],
        "ath": b64url(hashlib.sha256(req["access_token"].encode("ascii")).digest()),
        "nonce": req["nonce"],
    }
    return jwt.encode(header, claims, key, algorithms=[alg])


def client_assertion(key, alg: str, req: dict) -> str:
    header = {"alg": alg, "kid": key.kid, "typ": "JWT"}
    claims = {
        "iss": req["client_id"],
        "sub": req["client_id"],
        "aud": req["issuer"],
        "iat": req["iat"],
        "exp": req["iat"] + 60,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(header, claims, key, algorithms=[alg])


def batch(req: dict) -> list:
    out = []
    for alg in req["algs"]:
        key = generate(alg, f"client-{alg}-{secrets.token_hex(4)}")
        out.append(
            {
                "alg": alg,
                "proof": dpop_proof(key, alg, req, req["htu"]),
                "proof_wrong_htu": dpop_proof(key, alg, req, req["htu"] + "/elsewhere"),
                "thumbprint": key.thumbprint(),
                "assertion": client_assertion(key, alg, req),
                "jwks": {"keys": [key.as_dict(private=False)]},
            }
        )
    return out


def main() -> None:
    if sys.argv[1:] != ["batch"]:
        raise SystemExit("usage: dpop_peer.py batch < request.json")
    req = json.load(sys.stdin)
    json.dump(batch(req), sys.stdout)


if __name__ == "__main__":
    main()
