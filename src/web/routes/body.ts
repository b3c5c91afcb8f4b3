// Reading the API's JSON request bodies: an object or nothing, with bounded string fields.
import type { HonoRequest } from 'hono';
import { HTTPException } from 'hono/http-exception';

/** Through Hono's body cache: the CSRF check may already have read a form body of the same request. */
export async function jsonBody(req: HonoRequest): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HTTPException(400, { message: 'Body is not valid JSON' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HTTPException(400, { message: 'Body must be a JSON object' });
  }
  return body as Record<string, unknown>;
}

export function optionalString(body: Record<string, unknown>, key: string, max = 500): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > max) {
    throw new HTTPException(400, { message: `"${key}" must be a string of at most ${max} characters` });
  }
  return value;
}
