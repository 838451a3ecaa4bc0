// One error type for every refusal the bridge gives, so each answer has a status, a stable code a client
// can branch on, and a message a designer can act on (naming the field when one is at fault).
import type { ApiErrorBody } from '@kirie/core/client/protocol';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) } };
  }
}
