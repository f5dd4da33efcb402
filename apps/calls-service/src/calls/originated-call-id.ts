/** Calls the API originated carry calls-service's UUID; the PBX's own calls are `<node>:<linkedid>`. */
export const ORIGINATED_CALL_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

const originated = new RegExp(ORIGINATED_CALL_ID_PATTERN, 'i');
export const isOriginatedCallId = (callId: string) => originated.test(callId);

/** The stored spelling of a call id: UUIDs are case-insensitive and stored in lower case; PBX ids are kept as given. */
export const canonicalCallId = (callId: string) => (isOriginatedCallId(callId) ? callId.toLowerCase() : callId);
