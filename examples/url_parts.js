// url_parts: build the URL from its parts instead of passing `url`.
// The resulting URL is <scheme>://<hostname>:<port>/anything/some/path?query=parameter
// Inputs (all optional, declared in url_parts.schema.json): scheme, hostname, port,
// base_path; by default the parts of system.base_url, flowd's own demo endpoint
// (/demo/anything echoes the request, as httpbin.org/anything does).
function handler(system, inputs) {
  // system.base_url is like http://127.0.0.1:8080: the URL flowd serves its API on.
  const base = /^(\w+):\/\/([^:/]+)(?::(\d+))?/.exec(system.base_url) || [];
  const child = this.connect({
    connector_type: 'REST',
    scheme: inputs.scheme || base[1] || 'http',
    hostname: inputs.hostname || base[2] || '127.0.0.1',
    port: inputs.port || base[3] || (base[1] === 'https' ? 443 : 80),
    base_path: inputs.base_path || 'demo/anything',
    path: 'some/path',
    params: {
      query: 'parameter',
    },
  });
  const echoed = child.get('output_value').json;
  this.set_output('url', echoed.url);
  this.set_output('args', echoed.args);
  return this.success('all done');
}
