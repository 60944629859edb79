// OAuth2 client credentials with pagination: the
// token is fetched with the saved grant (and cached for later calls), and every page
// is followed through nextPageToken.
// The code names the grant, and the URL its token goes to comes from a setting that
// editors save, not from the inputs: whoever runs the flow chooses neither which
// grant's token is sent nor where. Save the secret, the grant and the setting first:
//   PUT /api/v1/secrets/api_client_secret {"value": "..."}
//   PUT /api/v1/grants/resource_api {"type": "client_credentials",
//     "token_url": "https://auth.example.com/oauth/token", "client_id": "flowd",
//     "client_secret": {"secret": "api_client_secret"}, "scope": "read", "auth_style": "body"}
//   PUT /api/v1/settings/resource_api {"value": {"url": "https://api.example.com/api/v1/items"}}
// Then run it without inputs.
function handler(system, inputs) {
  const api = system.setting('resource_api').get('value');
  if (!api || !api.url) {
    throw new Error('save the setting resource_api first: PUT /api/v1/settings/resource_api ' +
      '{"value": {"url": "https://..."}}');
  }
  const child = this.connect({
    connector_type: 'REST',
    url: api.url,
    params: {pageSize: 100},
    authentication_method: 'oauth2',
    grant: system.grant('resource_api'),
    paginate: {items: 'data', next: 'nextPageToken', param: 'pageToken', max_pages: 50},
  });
  const result = child.get('output_value').json;
  this.log('fetched', result.items.length, 'items from', result.pages, 'pages');
  return {count: result.items.length, pages: result.pages, items: result.items};
}
