/** The v1 response envelope: every JSON answer of the gateway has this shape. */
export interface SuccessEnvelope<T> {
  status: 'success';
  message: null;
  data: T;
}
export interface ErrorEnvelope {
  status: 'error';
  message: string;
  data: null;
}

export const success = <T>(data: T): SuccessEnvelope<T> => ({ status: 'success', message: null, data });
export const failure = (message: string): ErrorEnvelope => ({ status: 'error', message, data: null });
