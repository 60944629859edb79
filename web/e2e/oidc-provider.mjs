// A real OpenID Connect provider for the single sign-on tests: oauth2-mock-server
// (discovery, JWKS, /authorize that signs anyone in at once, /token with PKCE), plus
// two control routes for the test that drives it:
//
//   PUT /_control/claims    {"preferred_username": "ada", "groups": ["flowd-editors"]}
//                           merged into every ID token from now on (a null value
//                           removes a claim; iss, aud and nonce can be overridden too)
//   GET /_control/requests  what /authorize and /token received, oldest first
//
// Usage: node web/e2e/oidc-provider.mjs [port]   (0 or none: a free port)
// It prints one JSON line {"issuer": "http://127.0.0.1:<port>"} once it listens, takes
// its first claims from FLOWD_OIDC_MOCK_CLAIMS (JSON), and exits when stdin closes,
// so that it never outlives the test that started it.
import http from 'node:http';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';

const port = Number(process.argv[2] ?? process.env.OIDC_PROVIDER_PORT ?? 0);
let claims = JSON.parse(process.env.FLOWD_OIDC_MOCK_CLAIMS || '{}');
const requests = [];

const issuer = new OAuth2Issuer();
await issuer.keys.generate('RS256');
const service = new OAuth2Service(issuer);

// Both tokens of a code exchange pass here; the access token is the one with a scope.
service.on('beforeTokenSigning', (token) => {
  if ('scope' in token.payload) return;
  for (const [k, v] of Object.entries(claims)) {
    if (v === null) delete token.payload[k];
    else token.payload[k] = v;
  }
});
service.on('beforeAuthorizeRedirect', (_redirect, req) => {
  requests.push({ endpoint: 'authorize', params: { ...req.query } });
});
service.on('beforeResponse', (_response, req) => {
  const { client_secret: _secret, ...params } = req.body ?? {};
  requests.push({ endpoint: 'token', params, basic_auth: (req.headers.authorization ?? '').startsWith('Basic ') });
});

// The control routes come first: the mock answers 404 for any path it does not serve.
const server = http.createServer((req, res) => {
  if (req.method === 'PUT' && req.url === '/_control/claims') {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      try {
        const parsed = JSON.parse(body);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        claims = parsed;
        res.writeHead(204).end();
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'send a JSON object of claims' }));
      }
    });
    return;
  }
  if (req.method === 'GET' && req.url === '/_control/requests') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(requests));
    return;
  }
  service.requestHandler(req, res);
});
await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
issuer.url = `http://127.0.0.1:${server.address().port}`;
process.stdout.write(JSON.stringify({ issuer: issuer.url }) + '\n');

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
