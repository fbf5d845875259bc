import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, getCiphers, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { ConfigError } from '../config/config.js';
import { oneLine } from '../errors.js';
import type { PemSource, TlsSpec } from './web-config.js';

/** What the server needs for one version of the TLS config: context options and the handshake policy. */
export interface TlsMaterial {
  options: SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean };
  spec: TlsSpec;
  /** Files the material came from, watched for rotation. */
  files: readonly string[];
  /** Problems worth a warning that do not stop the exporter: an expired certificate. */
  warnings: readonly string[];
}

function describe(source: PemSource): string {
  return 'file' in source ? source.file : `inline ${source.key}`;
}

function readPem(configFile: string, source: PemSource, what: string): string {
  if (!('file' in source)) return source.inline;
  try {
    return readFileSync(source.file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--web.config.file ${configFile}: cannot read ${what} ${source.file}: ${oneLine(error)}`);
  }
}

/** Every "BEGIN CERTIFICATE" block of a PEM bundle, each parsed; a block that does not parse fails. */
function parseCertificates(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

function certificatesOrFail(configFile: string, source: PemSource, what: string, text: string): X509Certificate[] {
  let certificates: X509Certificate[];
  try {
    certificates = parseCertificates(text);
  } catch (error) {
    throw new ConfigError(`--web.config.file ${configFile}: ${what} ${describe(source)} holds a certificate that does not parse: ${oneLine(error)}`);
  }
  if (certificates.length === 0) throw new ConfigError(`--web.config.file ${configFile}: ${what} ${describe(source)} holds no PEM certificate`);
  return certificates;
}

function validityWarnings(certificate: X509Certificate, source: PemSource, now: Date): string[] {
  const validTo = new Date(certificate.validTo);
  const validFrom = new Date(certificate.validFrom);
  if (validTo < now) return [`cert_file ${describe(source)} expired on ${validTo.toISOString()}; clients that check it will refuse the connection`];
  if (validFrom > now) return [`cert_file ${describe(source)} is not valid before ${validFrom.toISOString()}`];
  return [];
}

function checkCipherAvailability(configFile: string, ciphers: string): void {
  const available = new Set(getCiphers().map((name) => name.toUpperCase()));
  for (const name of ciphers.split(':')) {
    if (!available.has(name.toUpperCase())) throw new ConfigError(`--web.config.file ${configFile}: tls_server_config.cipher_suites: ${name} is not available in this Node.js's OpenSSL`);
  }
}

/**
 * Reads and checks the certificate, key and client CA, so that bad material stops the exporter
 * at start (or is refused on reload) with one line naming the file, instead of failing every
 * handshake later.
 */
export function loadTlsMaterial(configFile: string, spec: TlsSpec, now: Date = new Date()): TlsMaterial {
  const fail = (message: string): never => {
    throw new ConfigError(`--web.config.file ${configFile}: ${message}`);
  };
  const certText = readPem(configFile, spec.cert, 'cert_file');
  const keyText = readPem(configFile, spec.key, 'key_file');
  const [leaf] = certificatesOrFail(configFile, spec.cert, 'cert_file', certText);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (error) {
    return fail(`key_file ${describe(spec.key)} holds no usable PEM private key: ${oneLine(error)}`);
  }
  if (!leaf!.checkPrivateKey(key)) fail(`cert_file ${describe(spec.cert)} and key_file ${describe(spec.key)} do not match: the key is not the certificate's`);
  const caText = spec.clientCa === undefined ? undefined : readPem(configFile, spec.clientCa, 'client_ca_file');
  if (spec.clientCa !== undefined) certificatesOrFail(configFile, spec.clientCa, 'client_ca_file', caText!);
  if (spec.ciphers !== undefined) checkCipherAvailability(configFile, spec.ciphers);

  const auth = spec.clientAuth;
  const options: TlsMaterial['options'] = {
    cert: certText,
    key: keyText,
    ca: caText,
    minVersion: spec.minVersion,
    maxVersion: spec.maxVersion,
    honorCipherOrder: spec.honorCipherOrder,
    requestCert: auth !== 'NoClientCert',
    // Only RequireAndVerifyClientCert lets OpenSSL refuse; the optional and "any" policies are
    // checked in checkClientCertificate, as Go's crypto/tls does them.
    rejectUnauthorized: auth === 'RequireAndVerifyClientCert',
  };
  if (spec.ciphers !== undefined) options.ciphers = spec.ciphers;
  if (spec.ecdhCurve !== undefined) options.ecdhCurve = spec.ecdhCurve;
  try {
    createSecureContext(options);
  } catch (error) {
    const what = spec.ecdhCurve !== undefined && /curve/i.test(oneLine(error)) ? `curve_preferences ${spec.ecdhCurve} not supported by this Node.js's OpenSSL` : oneLine(error);
    fail(`tls_server_config: ${what}`);
  }
  const files = [spec.cert, spec.key, spec.clientCa].flatMap((source) => (source !== undefined && 'file' in source ? [source.file] : []));
  return { options, spec, files, warnings: validityWarnings(leaf!, spec.cert, now) };
}

/** The SANs of a peer certificate as Go lists them: DNS names, e-mails, IPs, URIs. */
function subjectAltNames(socket: TLSSocket): string[] {
  const text = socket.getPeerCertificate().subjectaltname ?? '';
  return text
    .split(/,\s*/)
    .map((entry) => /^(?:DNS|email|IP Address|URI):"?(.*?)"?$/.exec(entry.trim())?.[1])
    .filter((value): value is string => value !== undefined && value !== '');
}

/**
 * The client-certificate policy, run when the handshake completes and before any HTTP is read.
 * Returns why the connection must be closed, or undefined to let it in.
 */
export function checkClientCertificate(spec: TlsSpec, socket: TLSSocket): string | undefined {
  const certificate = socket.getPeerCertificate();
  const presented = certificate !== undefined && Object.keys(certificate).length > 0;
  switch (spec.clientAuth) {
    case 'NoClientCert':
    case 'RequestClientCert':
      return undefined;
    case 'RequireAnyClientCert':
      if (!presented) return 'no client certificate';
      break;
    case 'VerifyClientCertIfGiven':
      if (presented && !socket.authorized) return `client certificate not verified: ${String(socket.authorizationError)}`;
      break;
    case 'RequireAndVerifyClientCert':
      if (!presented || !socket.authorized) return 'no verified client certificate';
      break;
  }
  if (spec.clientAllowedSans !== undefined) {
    const sans = subjectAltNames(socket);
    if (!sans.some((san) => spec.clientAllowedSans!.includes(san))) return `client certificate SANs ${sans.join(', ') || '(none)'} not in client_allowed_sans`;
  }
  return undefined;
}
