/** Calls the API originated carry calls-service's UUID; the PBX's own calls are `<node>:<linkedid>`. */
export const ORIGINATED_CALL_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

const originated = new RegExp(ORIGINATED_CALL_ID_PATTERN, 'i');
export const isOriginatedCallId = (callId: string) => originated.test(callId);
