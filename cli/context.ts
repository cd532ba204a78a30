// What every command handler gets: the outside world, and the API client built from the global
// flags on first use.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApiClient } from './api-client.js';
import { configPath, readProfileFile, resolveCredentials, type CredentialFlags } from './credentials.js';
import { CliError, EXIT, type ExitCode } from './errors.js';
import type { Io } from './io.js';

export interface GlobalArgs {
  profile?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
  caFile?: string | undefined;
}

export class Context {
  readonly io: Io;
  #api: ApiClient | undefined;
  #exitCode: ExitCode = EXIT.OK;

  constructor(io: Io) {
    this.io = io;
  }

  get exitCode(): ExitCode {
    return this.#exitCode;
  }

  /** The exit code the command ends with, when it ends without an error. */
  setExitCode(code: ExitCode): void {
    this.#exitCode = code;
  }

  api(a: GlobalArgs): ApiClient {
    if (!this.#api) {
      const flags: CredentialFlags = { profile: a.profile, endpoint: a.endpoint, region: a.region, caFile: a.caFile };
      const creds = resolveCredentials(flags, this.io.env, readProfileFile(configPath(this.io.env, this.io.homeDir)));
      this.#api = new ApiClient(creds, { ca: creds.caFile ? this.#readCa(creds.caFile) : undefined });
    }
    return this.#api;
  }

  /** The CA PEM the API client trusts (for other connections to the control plane: session sockets). */
  caPem(a: GlobalArgs): string | undefined {
    const flags: CredentialFlags = { profile: a.profile, endpoint: a.endpoint, region: a.region, caFile: a.caFile };
    const creds = resolveCredentials(flags, this.io.env, readProfileFile(configPath(this.io.env, this.io.homeDir)));
    return creds.caFile ? this.#readCa(creds.caFile) : undefined;
  }

  /** A path given on the command line, relative to the working directory. */
  path(p: string): string {
    return resolve(this.io.cwd, p);
  }

  close(): void {
    this.#api?.close();
  }

  #readCa(caFile: string): string {
    try {
      return readFileSync(this.path(caFile), 'utf8');
    } catch (e) {
      throw new CliError('CONFIG', `cannot read the CA file ${caFile}: ${(e as Error).message}`, { cause: e });
    }
  }
}
