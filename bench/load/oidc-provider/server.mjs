// Peer server for attesto's load benchmark (bench/load/run.sh).
//
// node `oidc-provider` configured as close to the attesto demo as it allows:
//   - one static confidential client, client_secret_basic, grant client_credentials only;
//   - an ES256 (P-256) signing key generated at start with node:crypto;
//   - client_credentials issues ES256 JWT access tokens (RFC 9068 `at+jwt`) for the resource
//     server `urn:attesto-bench:api` (oidc-provider only issues JWT access tokens through
//     resourceIndicators with `accessTokenFormat: 'jwt'`; the default is opaque);
//   - token introspection enabled;
//   - a resource endpoint GET /api/me in the same process that verifies the bearer JWT with
//     jose `jwtVerify` against the provider's public JWKS (local, no HTTP fetch).
//
// oidc-provider does not store JWT access tokens, so it cannot introspect them (it answers
// `{"active":false}`). The introspection scenario therefore introspects an opaque access
// token issued to a second client (`bench-opaque`), which oidc-provider keeps in its
// in-memory adapter. This is oidc-provider's fastest valid introspection path.
//
// Usage: node server.mjs [--port 3000]   (binds 127.0.0.1 only)

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';
import { createLocalJWKSet, jwtVerify } from 'jose';

const argPort = process.argv.indexOf('--port');
const PORT = Number(argPort > -1 ? process.argv[argPort + 1] : process.env.PORT || 3000);
const HOST = '127.0.0.1';
const ISSUER = `http://${HOST}:${PORT}`;
const RESOURCE = 'urn:attesto-bench:api';
const SCOPE = 'api.read';

// ES256 signing key, generated at start.
const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const privateJwk = privateKey.export({ format: 'jwk' });
privateJwk.kid = crypto.randomBytes(8).toString('hex');
privateJwk.alg = 'ES256';
privateJwk.use = 'sig';
const { d: _d, ...publicJwk } = privateJwk;
const localJwks = createLocalJWKSet({ keys: [publicJwk] });

const clients = [
  {
    client_id: 'bench',
    client_secret: 'bench-secret-0123456789abcdef0123456789abcdef',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
    scope: SCOPE,
  },
  {
    client_id: 'bench-opaque',
    client_secret: 'bench-opaque-secret-0123456789abcdef0123456789ab',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
    scope: SCOPE,
  },
];

const provider = new Provider(ISSUER, {
  clients,
  jwks: { keys: [privateJwk] },
  scopes: [SCOPE],
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
  ttl: { ClientCredentials: 3600, AccessToken: 3600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Every token of client `bench` is for the API (JWT); `bench-opaque` gets opaque
      // tokens (no resource), which oidc-provider stores and can introspect.
      defaultResource: (_ctx, client, oneOf) => {
        if (oneOf) return oneOf;
        return client?.clientId === 'bench' ? RESOURCE : undefined;
      },
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        if (resourceIndicator !== RESOURCE) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: SCOPE,
          audience: RESOURCE,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});
provider.on('server_error', (_ctx, err) => {
  console.error('server_error', err);
});

const providerCallback = provider.callback();

function json(res, status, body, extraHeaders = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    ...extraHeaders,
  });
  res.end(payload);
}

// Resource server: verify the RFC 9068 JWT access token with jose.
async function apiMe(req, res) {
  const auth = req.headers.authorization || '';
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(auth);
  if (!match) {
    json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer' });
    return;
  }
  try {
    const { payload } = await jwtVerify(match[1], localJwks, {
      issuer: ISSUER,
      audience: RESOURCE,
      algorithms: ['ES256'],
      typ: 'at+jwt',
    });
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    if (!scopes.includes(SCOPE)) {
      json(res, 403, { error: 'insufficient_scope' }, { 'www-authenticate': 'Bearer error="insufficient_scope"' });
      return;
    }
    json(res, 200, { sub: payload.sub, client_id: payload.client_id, scope: payload.scope });
  } catch {
    json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && (req.url === '/api/me' || req.url.startsWith('/api/me?'))) {
    apiMe(req, res);
    return;
  }
  providerCallback(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(PORT, HOST, () => {
  console.log(`oidc-provider ${ISSUER} ready`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
