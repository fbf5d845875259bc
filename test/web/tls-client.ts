import { readFileSync } from 'node:fs';
import { connect, type ConnectionOptions } from 'node:tls';

export interface TlsExchange {
  /** The HTTP response text, '' when the server closed the connection without answering. */
  response: string;
  /** Whether the TLS handshake completed. */
  handshake: boolean;
  error: string | undefined;
  peerCertificateSerial: string | undefined;
}

/**
 * One raw HTTPS request with node:tls, so a test sees exactly where the server refused: in the
 * handshake, right after it (closed with no HTTP), or with an HTTP status.
 */
export function tlsRequest(url: string, options: ConnectionOptions & { clientCert?: { cert: string; key: string }; path?: string; headers?: Record<string, string> } = {}): Promise<TlsExchange> {
  const { port } = new URL(url);
  const { clientCert, path = '/-/healthy', headers = {}, ...tlsOptions } = options;
  return new Promise((resolve) => {
    let response = '';
    let handshake = false;
    let error: string | undefined;
    let serial: string | undefined;
    const socket = connect({
      host: '127.0.0.1',
      port: Number(port),
      rejectUnauthorized: false,
      ...(clientCert ? { cert: readFileSync(clientCert.cert), key: readFileSync(clientCert.key) } : {}),
      ...tlsOptions,
    });
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), 5000);
    socket.once('secureConnect', () => {
      handshake = true;
      serial = socket.getPeerCertificate().serialNumber;
      const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${extra}\r\n`);
    });
    socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
    socket.on('error', (e) => (error = e.message));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ response, handshake, error, peerCertificateSerial: serial });
    });
  });
}

export function statusOf(exchange: TlsExchange): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(exchange.response);
  return match ? Number(match[1]) : undefined;
}
