// incremental_feed: fetch only what is new since the last run, keeping the cursor in a
// setting, which every execution of the flow reads. Run it twice: the second run starts where the
// first one stopped.
// Inputs (optional, declared in incremental_feed.schema.json): {"url": "https://...",
// "setting": "feed_cursor"}; the URL defaults to flowd's own demo endpoint under
// system.base_url.
function handler(system, inputs) {
  const setting = system.setting(inputs.setting || 'feed_cursor');
  const cursor = setting.get('value') || {since: 0};
  const page = this.connect({
    connector_type: 'REST',
    url: inputs.url || system.base_url + '/demo/anything/feed',
    params: {since: String(cursor.since)},
  });
  const asked = Number(page.get('output_value').json.args.since);
  setting.save({since: asked + 10});
  this.log('fetched items after', asked);
  return {fetched_since: asked, next_since: asked + 10};
}
