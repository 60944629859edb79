// joke: fetch a random joke over REST and end with it.
// Inputs (all optional, declared in joke.schema.json): {"url": "https://..."}; by
// default flowd's own demo endpoint under system.base_url (the URL flowd serves its API
// on), so this runs without internet access wherever flowd listens.
function handler(system, inputs) {
  const url = inputs.url || system.base_url + '/demo/jokes/random';
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
