// @ts-check
/**
 * One HTTP request as the namespace-side helpers (pipeline/http-batch.mjs, faults/http-agent.mjs)
 * make it for the tests: GET, or a form POST when `form` is given, bounded by `timeoutMs`; the
 * body parsed as JSON when it is JSON. Never throws: a failure is `{ error }`.
 * @param {{ url: string, method?: string, form?: Record<string, string>, timeoutMs?: number }} request
 * @returns {Promise<{ status: number, body: unknown } | { error: string }>}
 */
export async function httpRequest(request) {
  try {
    /** @type {RequestInit} */
    const init = { method: request.method ?? 'GET', signal: AbortSignal.timeout(request.timeoutMs ?? 10_000) };
    if (request.form !== undefined) {
      init.method = 'POST';
      init.body = new URLSearchParams(request.form).toString();
      init.headers = { 'content-type': 'application/x-www-form-urlencoded' };
    }
    const response = await fetch(request.url, init);
    const text = await response.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body };
  } catch (error) {
    const e = /** @type {{ cause?: { code?: string }, message?: string }} */ (error);
    return { error: String(e?.cause?.code ?? e?.message ?? error) };
  }
}
