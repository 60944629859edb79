// NetSuite-style OAuth2 with a signed JWT client assertion (../shared/seeds/000): flowd
// signs a fresh assertion (iss, sub, aud, iat, exp, jti, kid) for each token request.
// Save the private key and the grant first:
//   PUT /api/v1/secrets/netsuite_key {"value": "-----BEGIN PRIVATE KEY-----\n..."}
//   PUT /api/v1/grants/netsuite {"type": "jwt_assertion", "client_id": "...",
//     "token_url": "https://ACCOUNT.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token",
//     "private_key": {"secret": "netsuite_key"}, "kid": "<certificate id>", "alg": "ES256",
//     "scope": "rest_webservices"}
// Run with {"url": "https://ACCOUNT.suitetalk.api.netsuite.com", "grant": "netsuite",
//           "accounts": [{"id": "42", "name": "Cash"}]}.
function handler(system, inputs) {
  const results = [];
  for (const account of inputs.accounts) {
    const child = this.connect({
      connector_type: 'REST',
      url: inputs.url + '/services/rest/record/v1/account/' + encodeURIComponent(account.id),
      method: 'PATCH',
      json: {acctName: account.name},
      authentication_method: 'oauth2',
      grant: inputs.grant,
    });
    this.log('updated account', account.id);
    results.push({account_id: account.id, status_code: child.get('output_value').status_code});
  }
  return {results: results};
}
