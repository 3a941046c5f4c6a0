/** What a contract test sees of an emulator's answer. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface CallOptions {
  /** The provider's credential; null sends none, undefined the test's default. */
  token?: string | null;
  headers?: Record<string, string>;
  json?: unknown;
  raw?: { contentType: string; body: string };
}

/** One HTTP call as a client makes it: JSON or a raw body out, the status, headers, text and parsed JSON back. */
export async function httpCall(url: string, method: string, auth: Record<string, string>, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json', ...auth, ...options.headers };
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.raw) {
    headers['content-type'] = options.raw.contentType;
    body = options.raw.body;
  }
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}
