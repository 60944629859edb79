// approval: ask a person before going on. The execution is WAITING with the message
// until someone answers in the web UI or with
//   POST /api/v1/executions/<id>/messages {"answer": {"approved": true, "comment": "ok"}}
// Inputs (optional): {"amount": 1200, "timeout": 86400}
function handler(system, inputs) {
  const amount = inputs.amount || 1200;
  let answer;
  try {
    answer = this.message({
      subject: 'Approve a payment of ' + amount + ' EUR?',
      body: 'Requested by the approval example.',
      fields: [
        {name: 'approved', type: 'boolean', label: 'Approve'},
        {name: 'comment', type: 'string', label: 'Comment'},
      ],
      timeout: inputs.timeout || 86400,
    });
  } catch (e) {
    if (e.name === 'TimeoutExceededError') {
      return this.error('nobody answered in time');
    }
    throw e;
  }
  this.log('answer:', answer);
  if (!answer.approved) {
    return this.error('rejected: ' + (answer.comment || 'no comment'));
  }
  return this.success('approved: ' + (answer.comment || ''));
}
