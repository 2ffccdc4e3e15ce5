// The governance module's REST routes on the public listener: thin views over its
// queries, so HTTP, the socket and the CLI answer alike. (The public OpenAPI document
// lists its tags in src/api/openapi.ts: "governance" is to be added there with the module.)
import type { FastifyInstance } from 'fastify';
import type { NodeHandle } from '../../chain/app-module.js';
import { governanceLimits } from './limits.js';

/** Objects keep fields they do not list: the schemas document, they never trim an answer. */
const open = (description: string, properties: Record<string, unknown> = {}) => ({ type: 'object', description, properties, additionalProperties: true });
const idText = { type: 'string', pattern: '^[1-9][0-9]{0,11}$', description: 'a proposal id' };
const STATUSES = ['deposit', 'voting', 'passed', 'rejected', 'vetoed', 'no_quorum', 'expired', 'executed', 'failed'];
const proposalView = open('a proposal: {id, proposer, content, status, submitted, depositEnd, deposit (minor units), depositors, votingStart?, votingEnd?, tally?, deposits?, executeAt?, execution?}', {
  id: { type: 'integer' }, proposer: { type: 'string' }, status: { type: 'string', enum: STATUSES },
  content: open('{kind: "param", name, value} | {kind: "validator", action, key, blsKey?, pop?, power?} | {kind: "text", title, body}'),
  deposit: { type: 'string', description: 'minor units' }, depositors: { type: 'integer' },
});
const badQuery = { 400: { description: 'bad_query: a parameter is malformed' } };

export function governanceRoutes(app: FastifyInstance, node: NodeHandle): void {
  app.get('/v1/governance/proposals', {
    schema: {
      operationId: 'listProposals', tags: ['governance'], summary: 'proposals in id order',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { after: idText, limit: { type: 'string', pattern: '^[0-9]{1,3}$', description: `page size, 1-${governanceLimits.pageMax} (default ${governanceLimits.pageDefault})` } },
      },
      response: {
        200: open('a page', { items: { type: 'array', items: proposalView }, next: { type: ['integer', 'null'], description: 'pass as after= for the next page; null on the last' } }),
        ...badQuery,
      },
    },
  }, async (req) => node.query('governance.proposals', req.query as Record<string, unknown>));
  app.get('/v1/governance/proposals/:id', {
    schema: {
      operationId: 'getProposal', tags: ['governance'], summary: 'one proposal, with its open deposits, its votes and the tally so far',
      params: { type: 'object', required: ['id'], properties: { id: idText } },
      response: {
        200: { ...proposalView, description: 'the proposal with depositAmount, deposits [{account, amount}], votes [{validator, option, account, power, height}], tallySoFar {yes, no, abstain, veto}' },
        ...badQuery,
        404: { description: 'unknown_proposal: no proposal with this id' },
      },
    },
  }, async (req) => node.query('governance.proposal', req.params as Record<string, unknown>));
  app.get('/v1/governance/params', {
    schema: {
      operationId: 'getGovernanceParams', tags: ['governance'], summary: 'every governable chain parameter: value in force, default, bounds, doc',
      response: {
        200: {
          type: 'array',
          items: open('{name, value, default, min, max, doc, amount?}', { name: { type: 'string' }, value: { type: 'integer' }, default: { type: 'integer' }, min: { type: 'integer' }, max: { type: 'integer' }, doc: { type: 'string' } }),
        },
      },
    },
  }, async () => node.query('governance.params', {}));
}
