import { CallDetails, CallsCallGet } from '@ringcloud/contracts-calls';
import type { ResponseHeaderDoc, V1Route } from './routes';

/** `POST /v1/calls` answers the new call's id in this header. */
export const X_CALL_ID: ResponseHeaderDoc = {
  name: 'X-Call-Id',
  description: 'The id of the call this request started (`GET /v1/calls/<call_id>`; `call_id` in lists and CRM events).',
  schema: { type: 'string' },
};

/** Calls by id (issue 9). */
export const CALL_ID_ROUTES: readonly V1Route[] = [
  {
    id: 'calls.get',
    method: 'GET',
    path: '/v1/calls/<call_id>',
    summary: 'One call by its id',
    description:
      'Whatever its state: `queued`, `ringing_user` (the employee\'s phone rings), `ringing_customer` (the number is ' +
      'dialled), `answered` (both parties talk), `completed` (ended; `disposition` says how) or `failed` (could not be ' +
      'connected; `reason` says why). Inbound and internal calls have ids too (`<node>:<linkedid>`). Another ' +
      "account's call is 404, like an unknown id.",
    limit: { requests: 1, per_seconds: 1 },
    access: 'RO',
    response: CallDetails,
    handle: ({ key, path }, { rpc }) => rpc.send(CallsCallGet.contract, { account_id: key.account_id, call_id: path.call_id }),
  },
];
