// Peak's Custom Auth (../shared/seeds/003): POST a JSON body with headers to an auth URL,
// read the token from its answer (token_path) and send it as a bearer token. The token
// and the password are shown as [redacted:...] everywhere. Store the password first:
//   PUT /api/v1/secrets/feed_password {"value": "..."}
// Run with {"auth_url": "https://api.example.com/auth/login",
//           "url": "https://api.example.com/get-data", "username": "feeds",
//           "password_secret": "feed_password"}.
function handler(system, inputs) {
  const child = this.connect({
    connector_type: 'REST',
    url: inputs.url,
    params: {from: 1, limit: 1000},
    authentication_method: 'custom',
    auth_url: inputs.auth_url,
    auth_headers: {'X-Client': 'flowd'},
    auth_json: {username: inputs.username, password: {secret: inputs.password_secret}},
    token_path: 'data.token',
  });
  const data = child.get('output_value').json.data;
  this.log('fetched', data.length, 'records');
  return {records: data.length, data: data};
}
