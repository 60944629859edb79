// joke: fetch a random joke over REST and end with it.
// Inputs (all optional): {"url": "https://..."}; by default flowd's own demo endpoint,
// so this runs without internet access.
function handler(system, inputs) {
  const url = inputs.url || 'http://127.0.0.1:8080/demo/jokes/random';
  const child = this.connect({
    connector_type: 'REST',
    url: url,
  });
  // access a field of the JSON response
  const joke = child.get('output_value').json.value.joke;
  this.log('got joke', child.get('id'));
  // end with a joke
  return this.success(joke);
}
