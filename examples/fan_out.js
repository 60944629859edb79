// fan_out: start one child flow per item without waiting, then wait for all of them
// (fan-out, fan-in). Save examples/greet.js as the flow "greet" first.
// Inputs (optional): {"names": ["Ada", "Grace"]}
function handler(system, inputs) {
  const names = inputs.names || ['Ada', 'Grace', 'Linus'];
  const children = names.map((name) => this.flow('greet', {name: name}, {wait: false}));
  this.log('started', children.length, 'children');
  const done = this.wait_for(children);
  return {greetings: done.map((c) => c.get('output_value').greeting)};
}
