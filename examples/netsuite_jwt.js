// NetSuite-style OAuth2 with a signed JWT client assertion: flowd
// signs a fresh assertion (iss, sub, aud, iat, exp, jti, kid) for each token request.
// The code names the grant, and the account's URL its token goes to comes from a
// setting that editors save: the inputs only say which accounts to update. Save the
// private key, the grant and the setting first:
//   PUT /api/v1/secrets/netsuite_key {"value": "-----BEGIN PRIVATE KEY-----\n..."}
//   PUT /api/v1/grants/netsuite {"type": "jwt_assertion", "client_id": "...",
//     "token_url": "https://ACCOUNT.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token",
//     "private_key": {"secret": "netsuite_key"}, "kid": "<certificate id>", "alg": "ES256",
//     "scope": "rest_webservices"}
//   PUT /api/v1/settings/netsuite {"value": {"url": "https://ACCOUNT.suitetalk.api.netsuite.com"}}
// Run with {"accounts": [{"id": "42", "name": "Cash"}]}.
function handler(system, inputs) {
  const netsuite = system.setting('netsuite').get('value');
  if (!netsuite || !netsuite.url) {
    throw new Error('save the setting netsuite first: PUT /api/v1/settings/netsuite ' +
      '{"value": {"url": "https://ACCOUNT.suitetalk.api.netsuite.com"}}');
  }
  const results = [];
  for (const account of inputs.accounts) {
    const child = this.connect({
      connector_type: 'REST',
      url: netsuite.url + '/services/rest/record/v1/account/' + encodeURIComponent(account.id),
      method: 'PATCH',
      json: {acctName: account.name},
      authentication_method: 'oauth2',
      grant: system.grant('netsuite'),
    });
    this.log('updated account', account.id);
    results.push({account_id: account.id, status_code: child.get('output_value').status_code});
  }
  return {results: results};
}
