// Multipart uploads: a value part and a part read
// from a stored file; then the same with a custom content type and boundary, and
// per-part headers overridden or left out (false).
// Run with {"url": "https://httpbin.org/post"}.
function handler(system, inputs) {
  system.file('report.txt').save_text_content(inputs.report || 'quarterly numbers\n');
  const basic = this.connect({
    connector_type: 'REST', url: inputs.url, method: 'POST',
    multipart: {parts: [
      {name: 'string-field', value: 'spam & eggs'},
      {name: 'file', file: 'report.txt'},
    ]},
  });
  const full = this.connect({
    connector_type: 'REST', url: inputs.url, method: 'POST',
    multipart: {
      'content-type': 'application/my-custom-content-type',
      boundary: 'my-custom-boundary',
      parts: [
        {name: 'string-field', value: '<pre>spam & eggs</pre>', 'content-type': 'text/html',
         'content-disposition': false, 'content-length': false},
        {name: 'file', file: 'report.txt', 'content-disposition': 'form-data; filename="report.txt"'},
      ],
    },
  });
  return {basic: basic.get('output_value').status_code, full: full.get('output_value').status_code};
}
