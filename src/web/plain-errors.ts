import type { NextFunction, Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';

/** Every error page is one line of text/plain: no Express HTML, no stack trace, nothing echoed back. */
export function sendPlain(res: Response, status: number, message: string = STATUS_CODES[status] ?? 'Error'): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).type('text/plain; charset=utf-8').send(`${message}\n`);
}

/** 405 with the methods the path answers, as RFC 9110 asks. */
export function methodNotAllowed(allow: readonly string[]) {
  return (_req: Request, res: Response): void => {
    res.set('Allow', allow.join(', '));
    sendPlain(res, 405, 'Method Not Allowed');
  };
}

export function notFound(_req: Request, res: Response): void {
  sendPlain(res, 404, 'Not Found');
}

/** Express's last error handler: a malformed URL or header becomes its 4xx status, anything else 500. */
export function plainErrorHandler(error: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const status = typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' && error.status >= 400 && error.status < 600 ? error.status : 500;
  sendPlain(res, status);
}
