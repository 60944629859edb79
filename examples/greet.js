// greet: a small child flow for fan_out.js.
function handler(system, inputs) {
  if (!inputs.name) {
    throw new Error('greet needs {"name": "..."}');
  }
  return {greeting: 'Hello, ' + inputs.name + '!'};
}
