// Governance's genesis section: {params: {<name>: <value>}}, parameters a chain starts
// with other than their defaults (a dev chain with a short voting period, say). Each is
// checked against the registry; only the ones given are written to state.
import { decode, isPlainObject, map, object, refuse, unknownValue, withDefault } from '../../core/decode.js';
import { fail } from '../../core/errors.js';
import type { ModuleGenesis } from '../../chain/module.js';
import { inBounds, isParamName, PARAM_NAMES, PARAM_PREFIX, paramKey, PARAMS, type ParamName } from './params.js';

export interface GovernanceGenesis {
  params: Partial<Record<ParamName, number>>;
}

const sectionSchema = object({
  params: withDefault(map(unknownValue, (v, at) => (isPlainObject(v) ? v : refuse(at, 'must be an object of parameter values'))), {}),
});

export const governanceGenesis: ModuleGenesis = {
  // An absent section stays absent (all parameters at their defaults): a chain whose
  // genesis predates governance keeps its genesis hash.
  validate(section) {
    if (section === undefined) return undefined;
    const s = decode(sectionSchema, section ?? {}, 'genesis_invalid', 'governance');
    const out: GovernanceGenesis = { params: {} };
    for (const name of Object.keys(s.params).sort()) {
      const value = s.params[name];
      if (!isParamName(name)) fail('genesis_invalid', `governance.params.${name.slice(0, 64)} is not a governable parameter (known: ${PARAM_NAMES.join(', ')})`);
      if (typeof value !== 'number' || !inBounds(name, value)) fail('genesis_invalid', `governance.params.${name} must be an integer from ${PARAMS[name].min} to ${PARAMS[name].max}`);
      out.params[name] = value;
    }
    return out;
  },
  init(ctx, section) {
    if (section === undefined) return;
    const s = section as GovernanceGenesis;
    for (const name of PARAM_NAMES) {
      const value = s.params[name];
      if (value !== undefined) ctx.state.set(paramKey(name), value);
    }
  },
  defaults: () => undefined,
  /**
   * The parameters in force (those set in state). Proposals, deposits and votes are left
   * out: the ledger's export drops holds, so deposits stay in their depositors' balances.
   */
  export(ctx) {
    const params: Record<string, number> = {};
    for (const [k, v] of ctx.state.entries<number>(PARAM_PREFIX, { limit: PARAM_NAMES.length })) params[k.slice(PARAM_PREFIX.length)] = v;
    return { params };
  },
};
