// Foundry-style OAuth2 client credentials with pagination (../shared/seeds/000): the
// token is fetched with the saved grant (and cached for later calls), and every page
// is followed through nextPageToken. Save the secret and the grant first:
//   PUT /api/v1/secrets/api_client_secret {"value": "..."}
//   PUT /api/v1/grants/resource_api {"type": "client_credentials",
//     "token_url": "https://auth.example.com/oauth/token", "client_id": "flowd",
//     "client_secret": {"secret": "api_client_secret"}, "scope": "read", "auth_style": "body"}
// Run with {"url": "https://api.example.com/api/v1/items", "grant": "resource_api"}.
function handler(system, inputs) {
  const child = this.connect({
    connector_type: 'REST',
    url: inputs.url,
    params: {pageSize: 100},
    authentication_method: 'oauth2',
    grant: inputs.grant,
    paginate: {items: 'data', next: 'nextPageToken', param: 'pageToken', max_pages: 50},
  });
  const result = child.get('output_value').json;
  this.log('fetched', result.items.length, 'items from', result.pages, 'pages');
  return {count: result.items.length, pages: result.pages, items: result.items};
}
