import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolOrSkip } from '../helpers/require-tool.js';

export const openssl = toolOrSkip('openssl', 'openssl');

function run(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface KeyPair {
  cert: string;
  key: string;
}

/** Real certificates made by the openssl binary, in a directory of their own. */
export class CertFactory {
  readonly dir = mkdtempSync(join(tmpdir(), 'tcpstate-certs-'));
  private serial = 1;

  /** A self-signed EC certificate valid for a day, with SANs (default DNS:localhost, IP:127.0.0.1). */
  selfSigned(name: string, san = 'DNS:localhost,IP:127.0.0.1'): KeyPair {
    const pair = this.paths(name);
    run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`, '-keyout', pair.key, '-out', pair.cert], this.dir);
    return pair;
  }

  /** A self-signed RSA certificate, for the RSA cipher suites. */
  selfSignedRsa(name: string): KeyPair {
    const pair = this.paths(name);
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', pair.key, '-out', pair.cert], this.dir);
    return pair;
  }

  /** A certificate signed by `ca`, for client-certificate tests. */
  signedBy(ca: KeyPair, name: string, san: string): KeyPair {
    const pair = this.paths(name);
    const csr = join(this.dir, `${name}.csr`);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(ext, `subjectAltName=${san}\n`);
    run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', pair.key, '-out', csr], this.dir);
    run(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(this.serial++), '-days', '1', '-extfile', ext, '-out', pair.cert], this.dir);
    return pair;
  }

  /** A self-signed certificate whose validity ended in 2020. */
  expired(name: string): KeyPair {
    const pair = this.paths(name);
    const csr = join(this.dir, `${name}.csr`);
    const db = mkdtempSync(join(this.dir, 'ca-'));
    writeFileSync(join(db, 'index.txt'), '');
    writeFileSync(join(db, 'serial'), '01\n');
    writeFileSync(join(db, 'ca.cnf'), '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n');
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pair.key], this.dir);
    run(['req', '-new', '-key', pair.key, '-subj', `/CN=${name}`, '-out', csr], this.dir);
    run(['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', pair.key, '-in', csr, '-out', pair.cert, '-startdate', '20200101000000Z', '-enddate', '20200201000000Z'], db);
    return pair;
  }

  private paths(name: string): KeyPair {
    return { cert: join(this.dir, `${name}.crt`), key: join(this.dir, `${name}.key`) };
  }
}
