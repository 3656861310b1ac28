#!/usr/bin/env python3
"""A real OAuth 2.0 / OpenID Connect client library (authlib) against the attesto demo.

Usage: client_authlib.py <issuer> [username] [password]

Drives: discovery -> dynamic client registration (RFC 7591) -> authorization
code + PKCE (S256), following the demo's HTML login and consent forms with a
requests.Session as a browser would (CSRF field parsed from the HTML) -> token
-> ID token validation the way authlib's own OIDC client does it (JWKS from
the discovery jwks_uri; iss, aud, exp, iat, nonce, at_hash) -> userinfo ->
the protected API -> refresh -> revoke -> introspect (inactive).

Prints one JSON object describing what was checked; exits non-zero on any failure.
"""

import json
import sys
import warnings
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

warnings.simplefilter("ignore", DeprecationWarning)

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata  # noqa: E402
from authlib.oidc.discovery import OpenIDProviderMetadata  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402
from joserfc import jwt  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402
from joserfc.jws import JWSRegistry  # noqa: E402

REDIRECT_URI = "http://127.0.0.1:9/authlib-callback"
SCOPE = "openid profile email offline_access api.read"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class FormParser(HTMLParser):
    """Collects the first form's action and its hidden inputs."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}
        self.inputs = set()
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._done:
            return
        if tag == "form" and self.action is None:
            self.action = a.get("action")
            self._in_form = True
        elif tag == "input" and self._in_form:
            if a.get("name"):
                self.inputs.add(a["name"])
            if a.get("type") == "hidden" and a.get("name"):
                self.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


def parse_form(html):
    p = FormParser()
    p.feed(html)
    check(p.action, "the page has a form")
    return p


def same_origin(issuer, url):
    a, b = urlparse(issuer), urlparse(urljoin(issuer, url))
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def browse(browser, issuer, url, username, password, steps):
    """Play the browser: follow redirects on the issuer, fill the login and
    consent forms, stop at the redirect to the client. Returns that URL."""
    resp = browser.get(url, allow_redirects=False)
    for _ in range(12):
        if resp.is_redirect:
            loc = resp.headers["Location"]
            if loc.startswith(REDIRECT_URI):
                return loc
            check(same_origin(issuer, loc), f"redirect stays on the issuer: {loc}")
            resp = browser.get(urljoin(issuer, loc), allow_redirects=False)
            continue
        check(resp.status_code == 200, f"page status {resp.status_code}: {resp.text[:300]}")
        form = parse_form(resp.text)
        data = dict(form.fields)
        check("csrf" in data, "the form carries a CSRF token")
        if form.action == "/login":
            check({"username", "password"} <= form.inputs, "login form has username and password")
            data.update(username=username, password=password)
            steps.append("login form")
        elif form.action == "/consent":
            check("authlib interop" in resp.text, "consent page names the client")
            for s in SCOPE.split():
                check(s in resp.text, f"consent page lists {s}")
            data["decision"] = "approve"
            steps.append("consent form")
        else:
            raise Failure(f"unexpected form action {form.action}")
        resp = browser.post(urljoin(issuer, form.action), data=data, allow_redirects=False)
    raise Failure("too many steps before the redirect to the client")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    issuer = sys.argv[1].rstrip("/")
    username = sys.argv[2] if len(sys.argv) > 2 else "alice"
    password = sys.argv[3] if len(sys.argv) > 3 else "wonderland"
    steps = []

    md = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    check(md["issuer"] == issuer, "discovery issuer matches")
    check("S256" in md["code_challenge_methods_supported"], "S256 advertised")
    steps.append("discovery")
    # authlib's own metadata validators (RFC 8414, OIDC Discovery): reported,
    # not fatal, so the flow below still runs.
    findings = []
    as_md = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
    for name, validator in (
        ("rfc8414", AuthorizationServerMetadata(as_md)),
        ("oidc-discovery", OpenIDProviderMetadata(md)),
    ):
        try:
            validator.validate()
        except ValueError as e:
            findings.append(f"{name}: {e}")

    reg = requests.post(
        md["registration_endpoint"],
        json={
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": SCOPE,
            "client_name": "authlib interop",
        },
        timeout=10,
    )
    check(reg.status_code == 201, f"registration 201, got {reg.status_code}: {reg.text}")
    reg = reg.json()
    client_id, client_secret = reg["client_id"], reg["client_secret"]
    steps.append("registration")

    client = OAuth2Session(
        client_id,
        client_secret,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    code_verifier = generate_token(48)
    nonce = generate_token(20)
    auth_url, state = client.create_authorization_url(
        md["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
    )
    callback = browse(requests.Session(), issuer, auth_url, username, password, steps)
    q = parse_qs(urlparse(callback).query)
    check(q.get("iss") == [issuer], f"RFC 9207 iss on the redirect: {q.get('iss')}")
    check(q.get("state") == [state], "state echoed")
    steps.append("authorization response")

    token = client.fetch_token(
        md["token_endpoint"], authorization_response=callback, code_verifier=code_verifier
    )
    check(token["token_type"].lower() == "bearer", "Bearer token")
    check("id_token" in token and "refresh_token" in token, "id_token and refresh_token issued")
    steps.append("token")

    # ID token: as authlib's OpenIDMixin.parse_id_token does it, plus aud.
    jwks = requests.get(md["jwks_uri"], timeout=10).json()
    decoded = jwt.decode(
        token["id_token"],
        KeySet.import_key_set(jwks),
        registry=JWSRegistry(algorithms=md["id_token_signing_alg_values_supported"]),
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "values": [issuer]},
            "aud": {"essential": True, "values": [client_id]},
        },
        {"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate(leeway=30)
    check(claims["nonce"] == nonce, "nonce")
    # OIDC Discovery §3: RS256 is advertised, and the ID token is signed with it.
    check("RS256" in md["id_token_signing_alg_values_supported"], "RS256 advertised for ID tokens")
    check(decoded.header["alg"] == "RS256", f"ID token signed RS256, got {decoded.header['alg']}")
    sub = claims["sub"]
    steps.append("id_token")

    info = client.get(md["userinfo_endpoint"], timeout=10)
    check(info.status_code == 200, f"userinfo 200, got {info.status_code}: {info.text}")
    info = info.json()
    check(info["sub"] == sub, "userinfo sub matches the ID token")
    check(info.get("email") == f"{username}@example.com", "email scope releases email")
    steps.append("userinfo")

    me = client.get(f"{issuer}/api/me", timeout=10)
    check(me.status_code == 200, f"/api/me 200, got {me.status_code}: {me.text}")
    check(me.json()["sub"] == sub, "/api/me sees the same subject")
    steps.append("api")

    old_refresh = token["refresh_token"]
    new = client.refresh_token(md["token_endpoint"], refresh_token=old_refresh)
    check(new["access_token"] != token["access_token"], "a new access token")
    check(new.get("refresh_token") and new["refresh_token"] != old_refresh, "refresh token rotated")
    steps.append("refresh")

    resp = client.revoke_token(
        md["revocation_endpoint"], token=new["refresh_token"], token_type_hint="refresh_token"
    )
    check(resp.status_code == 200, f"revocation 200, got {resp.status_code}: {resp.text}")
    steps.append("revoke")

    resp = client.introspect_token(md["introspection_endpoint"], token=new["refresh_token"])
    check(resp.status_code == 200, f"introspection 200, got {resp.status_code}: {resp.text}")
    check(resp.json().get("active") is False, f"revoked token is inactive: {resp.text}")
    steps.append("introspect")

    print(
        json.dumps(
            {
                "ok": True,
                "client_id": client_id,
                "sub": sub,
                "steps": steps,
                "metadata_findings": findings,
            }
        )
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
