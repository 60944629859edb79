// Completion data for the flow API (docs/flow-api.md) and the REST
// connector's inputs (docs/rest-connector.md).

export interface Item {
  label: string;
  /** What is inserted; defaults to label. `${}` fields are snippet fields. */
  apply?: string;
  detail?: string;
  info: string;
  type?: string;
  snippet?: boolean;
}

export const thisMembers: Item[] = [
  {
    label: 'connect',
    apply: "connect({\n\tconnector_type: 'REST',\n\turl: '${url}',\n})",
    snippet: true,
    detail: '(inputs) → execution',
    info: "Runs a connector as a child execution of type CONNECTION and waits for it. inputs.connector_type picks the connector ('REST'). Also this.connect(name, overrides) for a saved connector. Throws ExecutionError when the child ends ENDED_ERROR. Pass wait: false to start it and return at once.",
    type: 'method',
  },
  {
    label: 'flow',
    apply: "flow('${name}', {${}})",
    snippet: true,
    detail: '(name, inputs, options?) → execution',
    info: 'Runs another flow as a child execution of type FLOW and waits for it. {wait: false} as third argument starts it and returns at once; then child.wait() or this.wait_for(c1, c2, …).',
    type: 'method',
  },
  { label: 'log', apply: 'log(${})', snippet: true, detail: '(...args)', info: 'Writes a log line of the execution (persisted and streamed live). Objects are logged as JSON.', type: 'method' },
  { label: 'sleep', apply: 'sleep(${seconds})', snippet: true, detail: '(seconds)', info: 'A durable timer: the execution is WAITING, survives restarts, and resumes when it fires.', type: 'method' },
  {
    label: 'message',
    apply: "message({\n\tsubject: '${subject}',\n\tbody: '${}',\n\tfields: {},\n})",
    snippet: true,
    detail: '({subject, body, fields, timeout}) → answer',
    info: 'Asks a person for input: the execution is WAITING until the answer is posted (POST /api/v1/executions/{id}/messages). Returns the answer object. Past timeout seconds it throws TimeoutExceededError.',
    type: 'method',
  },
  { label: 'set_output', apply: "set_output('${key}', ${value})", snippet: true, detail: '(key, value)', info: 'Sets one key of output_value now (visible while running).', type: 'method' },
  { label: 'success', apply: 'success(${message})', snippet: true, detail: '(message)', info: 'Ends the execution at once with ENDED_SUCCESS and that status_message; no catch in the script can stop it.', type: 'method' },
  { label: 'error', apply: 'error(${message})', snippet: true, detail: '(message)', info: 'Ends the execution at once with ENDED_ERROR and that status_message; no catch in the script can stop it.', type: 'method' },
  { label: 'get', apply: "get('${field}')", snippet: true, detail: '(field)', info: "A field of the running execution: 'output_value', 'input_value', 'status', 'status_message', 'id', 'name'.", type: 'method' },
  { label: 'wait_for', apply: 'wait_for(${})', snippet: true, detail: '(...children)', info: 'Waits for several children started with wait: false (fan-out, fan-in).', type: 'method' },
];

export const systemMembers: Item[] = [
  {
    label: 'setting',
    apply: "setting('${name}')",
    snippet: true,
    detail: '(name) → setting',
    info: "A named, persisted JSON value shared between executions. .get('value') reads it (undefined when absent); .save(value) stores it durably.",
    type: 'method',
  },
  {
    label: 'file',
    apply: "file('${name}')",
    snippet: true,
    detail: '(name) → file',
    info: 'A stored file: .get_text_content(), .save_text_content(s), .get_base64_content(), .save_base64_content(s).',
    type: 'method',
  },
  {
    label: 'secret',
    apply: "secret('${name}')",
    snippet: true,
    detail: '(name) → secret handle',
    info: "A stored secret, for any input of this.connect: password: system.secret('crm_password'). The script never sees the value; inside a text write system.secret('api_token').template('Bearer {{secret}}') ({{secret|url}} percent-encodes it). Write the name in the code, not from inputs. An object {secret: 'NAME'} is plain data in flow code.",
    type: 'method',
  },
  {
    label: 'grant',
    apply: "grant('${name}')",
    snippet: true,
    detail: '(name) → grant handle',
    info: "A saved OAuth2 grant, for a REST call with authentication_method: 'oauth2': grant: system.grant('crm_api'). Only the code (or a saved connector) names a grant: a text like grant: 'crm_api' or grant: inputs.grant is refused. Take the url from the code or a setting, not from inputs: the token goes where the call goes.",
    type: 'method',
  },
];

export const secretMembers: Item[] = [
  {
    label: 'template',
    apply: "template('Bearer {{secret}}')",
    detail: "('… {{secret}} …') → secret handle",
    info: "The secret inside a text, for a header or a URL: {{secret}} is the value as it is, {{secret|url}} the value percent-encoded. 'Bearer ' + system.secret(...) throws: the script never sees the value.",
    type: 'method',
  },
  { label: 'name', detail: 'string', info: "The secret's name.", type: 'property' },
];

export const grantMembers: Item[] = [{ label: 'name', detail: 'string', info: "The grant's name.", type: 'property' }];

export const settingMembers: Item[] = [
  { label: 'get', apply: "get('value')", detail: "('value')", info: 'The stored JSON value, or undefined when absent.', type: 'method' },
  { label: 'save', apply: 'save(${value})', snippet: true, detail: '(value)', info: "Stores the value; the write is part of the execution's durable history.", type: 'method' },
];

export const fileMembers: Item[] = [
  { label: 'get_text_content', apply: 'get_text_content()', detail: '() → string', info: 'The file as text.', type: 'method' },
  { label: 'save_text_content', apply: 'save_text_content(${text})', snippet: true, detail: '(text)', info: 'Stores text in the file.', type: 'method' },
  { label: 'get_base64_content', apply: 'get_base64_content()', detail: '() → string', info: 'The file as base64.', type: 'method' },
  { label: 'save_base64_content', apply: 'save_base64_content(${base64})', snippet: true, detail: '(base64)', info: 'Stores base64 content in the file.', type: 'method' },
];

export const childMembers: Item[] = [
  { label: 'get', apply: "get('${output_value}')", snippet: true, detail: '(field)', info: "A field of the child execution: 'output_value', 'input_value', 'status', 'status_message', 'id', 'name'.", type: 'method' },
  { label: 'wait', apply: 'wait()', detail: '()', info: 'Waits for a child started with wait: false.', type: 'method' },
];

export const getFields: Item[] = [
  { label: 'output_value', info: 'The execution\'s outputs (for REST: status_code, headers, json, text, …).', type: 'constant' },
  { label: 'input_value', info: 'The inputs the execution was started with.', type: 'constant' },
  { label: 'status', info: 'PENDING, RUNNING, WAITING, ENDED_SUCCESS, ENDED_ERROR, ENDED_CANCELLED.', type: 'constant' },
  { label: 'status_message', info: 'Why it ended as it did.', type: 'constant' },
  { label: 'id', info: 'The execution id.', type: 'constant' },
  { label: 'name', info: 'The flow or connector name.', type: 'constant' },
];

/** REST connector inputs: label, default (as shown), description. */
export const restInputs: { name: string; def?: string; info: string; value?: string }[] = [
  { name: 'connector_type', def: "'REST'", info: "Which connector to run. 'REST' calls an HTTP service.", value: "'REST'" },
  { name: 'url', info: 'scheme://host[:port]/path. Either url or hostname is required; url wins when both are set.', value: "'${}'" },
  { name: 'scheme', def: "'https'", info: 'URL in parts: [scheme]://[hostname]:[port]/[base_path]/[path].', value: "'https'" },
  { name: 'hostname', info: 'Host of the URL in parts (used when url is not set).', value: "'${}'" },
  { name: 'port', def: "the scheme's port", info: 'Port of the URL in parts.' },
  { name: 'base_path', info: 'Base path of the URL in parts; slashes are joined cleanly.', value: "'${}'" },
  { name: 'path', info: 'Path of the URL in parts; slashes are joined cleanly.', value: "'${}'" },
  { name: 'method', def: "'GET' ('POST' when a body is given)", info: 'Any HTTP method.', value: "'${GET}'" },
  { name: 'params', info: 'Query parameters, URL-encoded; lists repeat the key.', value: '{${}}' },
  { name: 'headers', info: "Request headers. A secret in a header: {Authorization: system.secret('api_token').template('Bearer {{secret}}')}.", value: '{${}}' },
  { name: 'cookies', info: 'Request cookies.', value: '{${}}' },
  { name: 'json', info: 'JSON body; only with POST, PUT, PATCH, DELETE. At most one body input.', value: '{${}}' },
  { name: 'text', info: 'Text body. At most one body input.', value: "'${}'" },
  { name: 'urlencoded', info: 'application/x-www-form-urlencoded body. At most one body input.', value: '{${}}' },
  { name: 'multipart', info: "{parts: [{name, value}|{name, file}], boundary?, 'content-type'?}; a part may override or drop (false) its content-type, content-disposition, content-length. file names a stored file.", value: '{ parts: [${}] }' },
  { name: 'data', info: 'Deprecated alias of json; still accepted.' },
  { name: 'authentication_method', def: "'none'", info: "'none', 'basic' (username, password), 'bearer' (token), 'api_key' (api_key, api_key_name, api_key_in), 'oauth2' (see grant), 'custom'.", value: "'${none}'" },
  { name: 'username', info: "For authentication_method 'basic'.", value: "'${}'" },
  { name: 'password', info: "For authentication_method 'basic'. A stored secret: system.secret('NAME') (in a saved connector: {\"secret\": \"NAME\"}).", value: "system.secret('${}')" },
  { name: 'token', info: "For authentication_method 'bearer'. A stored secret: system.secret('NAME').", value: "system.secret('${}')" },
  { name: 'api_key', info: "For authentication_method 'api_key'. A stored secret: system.secret('NAME').", value: "system.secret('${}')" },
  { name: 'api_key_name', info: 'Header or query parameter name of the API key.', value: "'${}'" },
  { name: 'api_key_in', def: "'header'", info: "'header' or 'query'.", value: "'${header}'" },
  { name: 'grant', info: "For authentication_method 'oauth2': a saved OAuth2 grant (client credentials or JWT client assertion), named in the code with system.grant('NAME'); a text is refused. Tokens are cached, refreshed before expiry and once on a 401.", value: "system.grant('${}')" },
  { name: 'expected_status_code', def: '[200, 201, 202, 204]', info: 'Any other status ends the connection ENDED_ERROR (outputs still recorded).', value: '[${200}]' },
  { name: 'retry_status_code', def: '[502, 503, 504]', info: 'Statuses that are retried, as are connection errors and timeouts.', value: '[${502, 503, 504}]' },
  { name: 'retry_backoff', def: '{initial: 1, maximum: 60, multiplier: 2, deadline: 600}', info: 'Seconds; the delay between tries is at least 1 s and is clamped to sane bounds.', value: '{ initial: 1, maximum: 60, multiplier: 2, deadline: 600 }' },
  { name: 'connect_timeout', def: 'none', info: 'Seconds; 0 or null disables.' },
  { name: 'read_timeout', def: 'none', info: 'Seconds; 0 or null disables.' },
  { name: 'total_timeout', def: 'none', info: 'Seconds; 0 or null disables.' },
  { name: 'allow_redirects', def: 'true', info: 'Follow redirects. Credentials are never sent to another host after a redirect.' },
  { name: 'max_redirects', def: '10', info: 'Most redirects followed.' },
  { name: 'verify_ssl', def: 'true', info: 'Verify the server certificate.' },
  { name: 'cacert', info: 'A PEM bundle trusted in addition to the system roots (self-signed on-premise servers).', value: "'${}'" },
  { name: 'dst', info: 'Store the response body in a file of that name instead of the outputs.', value: "'${}'" },
  { name: 'paginate', info: "{next: '<json path of the next token or URL>', param: '<query parameter>', items: '<json path of the items>', max_pages}: follows nextPageToken-style APIs; returns all items in json.items.", value: "{ next: '${}', param: '', items: '' }" },
  { name: 'wait', def: 'true', info: 'false starts the connection and returns at once; child.wait() waits for it.' },
];

export const enumValues: Record<string, string[]> = {
  connector_type: ['REST'],
  method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  authentication_method: ['none', 'basic', 'bearer', 'api_key', 'oauth2', 'custom'],
  api_key_in: ['header', 'query'],
  scheme: ['https', 'http'],
};

export const DEFAULT_SCRIPT = `function handler(system, inputs) {
  this.log('started with', inputs);
  return { ok: true };
}
`;
