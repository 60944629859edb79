// Custom auth, as many feed APIs want it: POST a JSON body with headers to an auth URL,
// read the token from its answer (token_path) and send it as a bearer token. The token
// and the password are shown as [redacted] everywhere.
// The code names the password's secret, and the URLs it and the token go to come from a
// setting that editors save, not from the inputs: whoever runs the flow chooses neither
// which secret is sent nor where. Save both first:
//   PUT /api/v1/secrets/feed_password {"value": "..."}
//   PUT /api/v1/settings/feed_api {"value": {"auth_url": "https://api.example.com/auth/login",
//        "url": "https://api.example.com/get-data", "username": "feeds"}}
// Then run it without inputs.
function handler(system, inputs) {
  const api = system.setting('feed_api').get('value');
  if (!api || !api.auth_url || !api.url) {
    throw new Error('save the setting feed_api first: PUT /api/v1/settings/feed_api ' +
      '{"value": {"auth_url": "https://...", "url": "https://...", "username": "..."}}');
  }
  const child = this.connect({
    connector_type: 'REST',
    url: api.url,
    params: {from: 1, limit: 1000},
    authentication_method: 'custom',
    auth_url: api.auth_url,
    auth_headers: {'X-Client': 'flowd'},
    auth_json: {username: api.username, password: system.secret('feed_password')},
    token_path: 'data.token',
  });
  const data = child.get('output_value').json.data;
  this.log('fetched', data.length, 'records');
  return {records: data.length, data: data};
}
