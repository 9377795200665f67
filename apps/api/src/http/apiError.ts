// ApiError: a refusal made at the HTTP edge (headers, routing, request syntax), with its status; it leaves as `{ code, message }`.

/** An error whose message is safe to show the caller and names the field or header at fault. */
export class ApiError extends Error {
  readonly status: number;
  /** Headers the answer must carry, such as Retry-After. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ApiError';
    this.status = status;
    this.headers = options.headers ?? {};
  }
}

export const badRequest = (message: string) => new ApiError(400, message);
export const unauthorized = (message: string) => new ApiError(401, message);
export const forbidden = (message: string) => new ApiError(403, message);
