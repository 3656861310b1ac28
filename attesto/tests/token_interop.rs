//! Cross-implementation parity with Python joserfc (seed 003 "Cross-language
//! parity"), for every supported algorithm, in one peer invocation:
//!
//! * joserfc verifies attesto's access and ID tokens with attesto's JWKS
//!   document (typ, kid, claims, at_hash computed independently);
//! * attesto verifies tokens joserfc signs with its own keys;
//! * RFC 7638 thumbprints agree both ways.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// `support/` has no `mod.rs`; include the runner directly.
#[allow(unreachable_pub)]
#[path = "support/interop.rs"]
mod interop;

use std::sync::{Arc, LazyLock};

use attesto::clock::{Clock, SystemClock};
use attesto::jose::{
    Algorithm, AlgorithmSet, Jwk, JwkSet, Keystore, SigningKey, StaticKeystore, UnverifiedJws,
    VerifyingKey,
};
use attesto::token::{
    AccessTokenIssuer, AccessTokenRequest, AccessTokenVerifier, IdTokenExpectations, IdTokenIssuer,
    IdTokenRequest, IdTokenVerifier, IssuedAccessToken, IssuedIdToken, PrincipalKind, SenderProof,
    TrustedKeys, token_hash,
};
use serde_json::{Value, json};

const ISS: &str = "https://as.example";
const AUD: &str = "https://rs.example";
const CLIENT_ID: &str = "app-1";
const NONCE: &str = "n-0S6_WzA2Mj";
const CLIENT: PrincipalKind = PrincipalKind::new("client", "oc_", &[]);

struct Minted {
    alg: Algorithm,
    keystore: Arc<StaticKeystore>,
    access: IssuedAccessToken,
    id: IssuedIdToken,
    jkt: String,
}

struct Run {
    minted: Vec<Minted>,
    /// Claims we asked joserfc to sign, per algorithm.
    asked: Vec<(Algorithm, Value, Value)>,
    peer: Value,
}

fn mint(alg: Algorithm) -> Minted {
    // A second key of another type makes kid selection matter.
    let decoy = if alg == Algorithm::ES256 {
        Algorithm::EdDSA
    } else {
        Algorithm::ES256
    };
    let keystore = Arc::new(
        StaticKeystore::builder()
            .key(SigningKey::generate(decoy).unwrap())
            .key(SigningKey::generate(alg).unwrap())
            .build()
            .unwrap(),
    );
    let jkt = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .verifying_key()
        .thumbprint()
        .to_owned();
    let access = AccessTokenIssuer::builder(ISS, keystore.clone())
        .audience(AUD)
        .principal_kind(CLIENT)
        .signing_alg(alg)
        .build()
        .unwrap()
        .mint(
            AccessTokenRequest::new(&CLIENT.subject(CLIENT_ID).unwrap(), CLIENT_ID)
                .scope(["openid", "documents.read"])
                .dpop_jkt(&jkt)
                .claim("tenant", "acme"),
        )
        .unwrap();
    let id = IdTokenIssuer::builder(ISS, keystore.clone())
        .signing_alg(alg)
        .build()
        .unwrap()
        .mint(
            IdTokenRequest::new("usr_alice", CLIENT_ID)
                .nonce(NONCE)
                .auth_time(SystemClock.now())
                .access_token(access.access_token.expose())
                .sid("sess-1"),
        )
        .unwrap();
    Minted {
        alg,
        keystore,
        access,
        id,
        jkt,
    }
}

static RUN: LazyLock<Option<Run>> = LazyLock::new(|| {
    let minted: Vec<Minted> = Algorithm::ALL.into_iter().map(mint).collect();
    let now = SystemClock.now();
    let asked: Vec<(Algorithm, Value, Value)> = Algorithm::ALL
        .into_iter()
        .map(|alg| {
            let access = json!({
                "iss": ISS, "sub": "oc_py", "aud": AUD, "exp": now + 300, "iat": now,
                "jti": format!("py-{alg}"), "client_id": "py-client", "scope": "documents.read"
            });
            let id = json!({
                "iss": ISS, "sub": "usr_py", "aud": CLIENT_ID, "exp": now + 300, "iat": now,
                "nonce": NONCE
            });
            (alg, access, id)
        })
        .collect();
    let request = json!({
        "verify": minted.iter().map(|m| json!({
            "alg": m.alg.as_str(),
            "jwks": serde_json::from_str::<Value>(m.keystore.jwks().json()).unwrap(),
            "issuer": ISS,
            "audience": AUD,
            "client_id": CLIENT_ID,
            "nonce": NONCE,
            "access_token": m.access.access_token.expose(),
            "id_token": m.id.id_token,
        })).collect::<Vec<_>>(),
        "sign": asked.iter().map(|(alg, access, id)| json!({
            "alg": alg.as_str(),
            "kid": format!("py-{alg}"),
            "access_claims": access,
            "id_claims": id,
        })).collect::<Vec<_>>(),
    });
    let out = interop::run_peer("token_peer.py", &[], &request.to_string())?;
    let peer: Value = serde_json::from_str(&out).expect("peer answers JSON");
    Some(Run {
        minted,
        asked,
        peer,
    })
});

fn run() -> Option<&'static Run> {
    RUN.as_ref()
}

fn peer_case<'a>(run: &'a Run, section: &str, alg: Algorithm) -> &'a Value {
    let case = run.peer[section]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["alg"] == alg.as_str())
        .unwrap_or_else(|| panic!("no {section} answer for {alg}"));
    if let Some(e) = case.get("error") {
        panic!(
            "joserfc {section} {alg} failed: {}",
            e.as_str().unwrap_or_default()
        );
    }
    case
}

#[test]
fn joserfc_verifies_attesto_access_tokens_with_the_published_jwks() {
    let Some(run) = run() else { return };
    for m in &run.minted {
        let case = peer_case(run, "verify", m.alg);
        let signer = m.keystore.signing_key(m.alg).unwrap();
        assert_eq!(case["access_header"]["typ"], "at+jwt", "{}", m.alg);
        assert_eq!(case["access_header"]["alg"], m.alg.as_str());
        assert_eq!(case["access_header"]["kid"], signer.kid());
        assert_eq!(
            case["access_claims"],
            serde_json::to_value(&m.access.claims).unwrap(),
            "{}",
            m.alg
        );
        assert_eq!(case["access_claims"]["cnf"]["jkt"], m.jkt.as_str());
        assert_eq!(case["access_claims"]["tenant"], "acme");
    }
    assert_eq!(run.minted.len(), Algorithm::ALL.len());
}

#[test]
fn joserfc_verifies_attesto_id_tokens_and_agrees_on_at_hash() {
    let Some(run) = run() else { return };
    for m in &run.minted {
        let case = peer_case(run, "verify", m.alg);
        assert_eq!(case["id_header"]["typ"], "JWT");
        assert_eq!(
            case["id_header"]["kid"],
            m.keystore.signing_key(m.alg).unwrap().kid()
        );
        assert_eq!(
            case["id_claims"],
            serde_json::to_value(&m.id.claims).unwrap()
        );
        // Python's independent at_hash equals attesto's, for this algorithm's hash.
        let ours = token_hash(m.alg, m.access.access_token.expose());
        assert_eq!(case["at_hash"], ours.as_str(), "{}", m.alg);
        assert_eq!(m.id.claims.at_hash.as_deref(), Some(ours.as_str()));
    }
}

#[test]
fn rfc7638_thumbprints_agree_for_attesto_keys() {
    let Some(run) = run() else { return };
    for m in &run.minted {
        let case = peer_case(run, "verify", m.alg);
        let set = JwkSet::from_json(m.keystore.jwks().json()).unwrap();
        assert_eq!(set.keys.len(), 2);
        for jwk in &set.keys {
            let kid = jwk.kid().unwrap();
            assert_eq!(
                case["thumbprints"][kid],
                jwk.thumbprint(),
                "{} {kid}",
                m.alg
            );
        }
    }
}

#[test]
fn attesto_verifies_joserfc_signed_jws_through_its_seam() {
    let Some(run) = run() else { return };
    for (alg, access_claims, _) in &run.asked {
        let case = peer_case(run, "sign", *alg);
        let jwk = Jwk::from_value(&case["jwk"]).unwrap();
        assert_eq!(jwk.alg(), Some(*alg));
        let only = AlgorithmSet::new(&[*alg]);
        let key = VerifyingKey::from_jwk(jwk, only).unwrap();
        let token = case["access_token"].as_str().unwrap();
        let parsed = UnverifiedJws::parse(token, 16 * 1024).unwrap();
        assert_eq!(parsed.header().alg, *alg);
        assert!(parsed.header().typ_is("at+jwt"));
        let verified = parsed.verify(&key, only).unwrap();
        assert_eq!(Value::Object(verified.claims().unwrap()), *access_claims);
    }
}

#[test]
fn rfc7638_thumbprints_agree_for_joserfc_keys() {
    let Some(run) = run() else { return };
    for (alg, _, _) in &run.asked {
        let case = peer_case(run, "sign", *alg);
        let jwk = Jwk::from_value(&case["jwk"]).unwrap();
        assert_eq!(case["thumbprint"], jwk.thumbprint(), "{alg}");
    }
}

#[test]
fn resource_server_verifies_joserfc_access_tokens_with_a_jwk_set() {
    let Some(run) = run() else { return };
    for (alg, _, _) in &run.asked {
        let case = peer_case(run, "sign", *alg);
        let set = JwkSet {
            keys: vec![Jwk::from_value(&case["jwk"]).unwrap()],
        };
        let rs = AccessTokenVerifier::builder(
            ISS,
            TrustedKeys::from_jwk_set(&set, AlgorithmSet::ALL).unwrap(),
        )
        .audience(AUD)
        .principal_kind(CLIENT)
        .build()
        .unwrap();
        let claims = rs
            .verify_presented(case["access_token"].as_str().unwrap(), SenderProof::NONE)
            .unwrap();
        assert_eq!(claims.sub, "oc_py");
        assert_eq!(claims.client_id, "py-client");
        assert_eq!(rs.subject(&claims).unwrap().id(), "py");
    }
}

#[test]
fn relying_party_verifies_joserfc_id_tokens_and_their_at_hash() {
    let Some(run) = run() else { return };
    for (alg, _, _) in &run.asked {
        let case = peer_case(run, "sign", *alg);
        let set = JwkSet {
            keys: vec![Jwk::from_value(&case["jwk"]).unwrap()],
        };
        let rp = IdTokenVerifier::builder(
            ISS,
            CLIENT_ID,
            TrustedKeys::from_jwk_set(&set, AlgorithmSet::ALL).unwrap(),
        )
        .build()
        .unwrap();
        let access = case["access_token"].as_str().unwrap();
        let claims = rp
            .verify(
                case["id_token"].as_str().unwrap(),
                &IdTokenExpectations::default()
                    .nonce(NONCE)
                    .access_token(access),
            )
            .unwrap();
        assert_eq!(claims.at_hash.as_deref(), case["at_hash"].as_str());
        assert_eq!(claims.sub, "usr_py");
    }
}
