// url_parts: build the URL from its parts instead of passing `url`.
// The resulting URL is <scheme>://<hostname>:<port>/anything/some/path?query=parameter
// Inputs (all optional): scheme, hostname, port, base_path; by default flowd's own
// demo endpoint (/demo/anything echoes the request, as httpbin.org/anything does).
function handler(system, inputs) {
  const child = this.connect({
    connector_type: 'REST',
    scheme: inputs.scheme || 'http',
    hostname: inputs.hostname || '127.0.0.1',
    port: inputs.port || 8080,
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
