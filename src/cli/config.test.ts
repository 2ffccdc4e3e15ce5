// The node's own "network" config section: the --p2p and --follow lists, checked like a flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allModules } from '../modules/index.js';
import { parseNodeConfig } from './config.js';

test('the network section takes p2p and follow lists of multiaddrs, and refuses anything else', () => {
  const follow = ['/ip4/10.0.0.5/tcp/7702/p2p/12D3KooWQK1wnefoLrcVHbbnf5tLzbopUd3K3bFAoJpA7YJgL5pV'];
  const c = parseNodeConfig(JSON.stringify({ network: { p2p: ['/ip4/0.0.0.0/tcp/7702'], follow } }), 'c.json', allModules);
  assert.deepEqual(c.get('network'), { p2p: ['/ip4/0.0.0.0/tcp/7702'], follow });
  assert.throws(() => parseNodeConfig('{"network": {"follow": ["10.0.0.5:7702"]}}', 'c.json', allModules), { code: 'config_invalid', message: /network\.follow\[0\]/ });
  assert.throws(() => parseNodeConfig('{"network": {"peers": []}}', 'c.json', allModules), { code: 'config_invalid', message: /peers is not a known field/ });
});
